"""`giftengine overlay-url CREATOR_ID --json`: the creator's permanent overlay URL, in the
dashboard's form (`<overlay>?creator=<id>`, no stream id)."""

from __future__ import annotations

import json

from giftengine_dev.cli.main import main
from giftengine_dev.devcloud import stack


def test_prints_the_creators_overlay_url_for_the_local_cloud(tmp_path, capsys):
    state_dir = str(tmp_path / "stack")
    assert main(["overlay-url", "uid 1/é", "--json", "--state-dir", state_dir]) == 2
    capsys.readouterr()
    assert main(["overlay-url", "uid-1", "--json", "--state-dir", state_dir]) == 0
    out = json.loads(capsys.readouterr().out)
    overlay = stack.status(state_dir)["endpoints"]["overlay"]
    assert out == {"url": f"{overlay}?creator=uid-1", "running": False}
    assert "stream" not in out["url"]


def test_ids_are_url_encoded(tmp_path, capsys):
    assert main(["overlay-url", "a b&c", "--state-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip().endswith("?creator=a+b%26c")
