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
