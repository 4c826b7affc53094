"""How every CLI command finds the cloud it talks to, the same way for all of them:

1. the emulator / project variables already in the environment, else
2. the local stack recorded in `--state-dir` (or GIFTENGINE_STATE_DIR, default
   .giftengine/dev) when it runs, else
3. the one running stack recorded anywhere under .giftengine/ (e.g. a stack started with
   another --state-dir, or the test stack),
and otherwise stops with a message that says how to start one, instead of falling through to
Google's default credentials (which crashed `giftengine wallet UID --json`).
"""

from __future__ import annotations

import os
from pathlib import Path

from giftengine import config, settings


class NoCloud(SystemExit):
    pass


def _candidates(state_dir: str | None) -> list[Path | None]:
    from giftengine_dev.devcloud.layout import ROOT

    first: list[Path | None] = [Path(state_dir).resolve()] if state_dir else [None]
    found = sorted(p.parent for p in (ROOT / ".giftengine").glob("*/stack.json"))
    return first + [p for p in found if p not in first]


def ensure_env(state_dir: str | None = None) -> config.Settings:
    if not (
        os.environ.get("FIRESTORE_EMULATOR_HOST")
        or os.environ.get("GOOGLE_CLOUD_PROJECT")
        or os.environ.get("GIFTENGINE_PROJECT")
    ):
        from giftengine_dev.devcloud import stack

        state_dir = state_dir or os.environ.get("GIFTENGINE_CLI_STATE_DIR")
        tried = []
        for candidate in _candidates(state_dir):
            st = stack.status(candidate)
            tried.append(st["state_dir"])
            if st.get("running"):
                os.environ.update(st["env"])
                break
            if state_dir:  # an explicit --state-dir is the only one to use
                break
        else:
            st = {}
        if not st.get("running"):
            raise NoCloud(
                "giftengine: no local cloud is running (looked in "
                f"{', '.join(tried)}) and no emulator or project variables are set. Start one "
                "with `giftengine dev up [--state-dir DIR]`, pass --state-dir, or export "
                "FIRESTORE_EMULATOR_HOST / GOOGLE_CLOUD_PROJECT."
            )
    return settings.load().pipeline


class CliError(Exception):
    """A refusal the user can act on: `main` prints it on one line (and as JSON with
    --json) and exits with `code`."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def json_default(value: object) -> str:
    """`json.dumps(default=...)` for the CLI's --json: dates and times in RFC 3339
    (`2026-12-05T02:06:31.454003+00:00`, not `str()`'s space), anything else as text."""
    from datetime import date, datetime

    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
