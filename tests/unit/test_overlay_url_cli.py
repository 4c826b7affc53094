"""`giftengine overlay-url CREATOR_ID --json`: the creator's permanent overlay URL, in the
dashboard's form (`<overlay>?creator=<id>&widgets=...`, no stream id)."""

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
    widgets = "alerts%2Ctop%2Cgoal%2Ccombo%2Cround%2Chype%2Cthrone"
    form = f"widgets={widgets}&theme=dark&width=1920&height=1080"
    assert out == {"url": f"{overlay}?creator=uid-1&{form}", "running": False}
    assert "stream" not in out["url"]


def test_ids_are_url_encoded(tmp_path, capsys):
    assert main(["overlay-url", "a b&c", "--state-dir", str(tmp_path)]) == 0
    assert "?creator=a+b%26c&widgets=" in capsys.readouterr().out
