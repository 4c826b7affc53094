"""Every CLI command finds its local cloud the same way (issue 14: `giftengine wallet UID
--json` without --state-dir crashed with DefaultCredentialsError)."""

from __future__ import annotations

import pytest
from giftengine_dev.cli import _cloud
from giftengine_dev.cli.main import build_parser

pytestmark = pytest.mark.unit

CLOUD_VARS = (
    "FIRESTORE_EMULATOR_HOST",
    "GOOGLE_CLOUD_PROJECT",
    "GIFTENGINE_PROJECT",
    "GIFTENGINE_CLI_STATE_DIR",
)


def test_every_command_takes_state_dir():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name, p in sub.choices.items():
        assert any("--state-dir" in a.option_strings for a in p._actions), name


def test_no_running_cloud_is_a_clear_message_not_a_credentials_crash(monkeypatch, tmp_path):
    for var in CLOUD_VARS:
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(SystemExit) as exc:
        _cloud.ensure_env(str(tmp_path / "nothing-here"))
    assert "no local cloud is running" in str(exc.value) and "--state-dir" in str(exc.value)


def test_a_running_stack_elsewhere_is_found(monkeypatch, tmp_path):
    from giftengine_dev.devcloud import stack

    for var in CLOUD_VARS:
        monkeypatch.delenv(var, raising=False)
    other = tmp_path / "other"
    monkeypatch.setattr(_cloud, "_candidates", lambda state_dir: [None, other])
    env = {"FIRESTORE_EMULATOR_HOST": "127.0.0.1:1", "GIFTENGINE_PROJECT": "demo-x"}
    monkeypatch.setattr(
        stack,
        "status",
        lambda d=None, *a, **k: {"running": d == other, "state_dir": str(d), "env": env},
    )
    assert _cloud.ensure_env().project_id == "demo-x"


@pytest.mark.parametrize(
    "argv,says",
    [
        (["state", "a/b", "--json"], "invalid stream id 'a/b'"),
        (["report", "__x__", "--json"], "invalid stream id '__x__'"),
        (["state", "s1", "--board", "a/b", "--json"], "invalid board 'a/b'"),
        (["wallet", "..", "--json"], "invalid uid '..'"),
        (["state", "s1", "--limit", "-1", "--json"], "--limit must be 0 or more"),
        (["replay", "x.jsonl", "--rate", "0"], "--rate must be at least 0.01"),
        (["replay", "x.jsonl", "--rate", "nan"], "--rate must be at least 0.01"),
        (["replay", "x.jsonl", "--stream", ""], "invalid stream ''"),
    ],
)
def test_bad_arguments_are_refused_before_any_io_with_json_errors(monkeypatch, capsys, argv, says):
    from giftengine_dev.cli import main

    monkeypatch.setattr(_cloud, "ensure_env", lambda *a, **k: pytest.fail("reached the cloud"))
    assert main.main(argv) == 2
    out, err = capsys.readouterr()
    assert says in err
    if "--json" in argv:
        import json

        assert says in json.loads(out)["error"]


def test_a_file_that_cannot_be_read_is_a_one_line_error_not_a_traceback(
    monkeypatch, capsys, tmp_path
):
    from types import SimpleNamespace

    from giftengine.adapters import pubsub
    from giftengine_dev.cli import main, replay

    class Publisher:  # reads the file as the real one does, publishes nothing
        def __init__(self, project_id):
            pass

        def publish_paced(self, events, rate, on_sent=None):
            return [e for e in events]

        def close(self):
            pass

    monkeypatch.setattr(replay, "ensure_env", lambda *a, **k: SimpleNamespace(project_id="p"))
    monkeypatch.setattr(pubsub, "EventPublisher", Publisher)
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    for target in ("missing.jsonl", ".", "bin.jsonl"):
        assert main.main(["replay", str(tmp_path / target)]) == 2, target
        err = capsys.readouterr().err
        assert err.startswith("giftengine replay: ") and err.count("\n") == 1, err


def test_report_refuses_a_stream_and_a_creator_together_and_a_file_for_out(capsys, tmp_path):
    from giftengine_dev.cli import main

    assert main.main(["report", "s1", "--creator", "c1", "--json"]) == 2
    assert "not both" in capsys.readouterr().err
    (tmp_path / "f").write_text("x")
    assert main.main(["report", "s1", "--out", str(tmp_path / "f")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_json_dates_are_rfc_3339():
    from datetime import UTC, datetime

    from giftengine_dev.cli._cloud import json_default

    at = datetime(2026, 12, 5, 2, 6, 31, 454003, tzinfo=UTC)
    assert json_default(at) == "2026-12-05T02:06:31.454003+00:00"
