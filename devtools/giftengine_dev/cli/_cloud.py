"""CLI commands talk to whichever cloud the environment names; when no emulator variables
are set and a local stack (`giftengine dev up`) is running, they use that stack."""

from __future__ import annotations

import os

from giftengine import config


def ensure_env() -> config.Settings:
    if not (
        os.environ.get("FIRESTORE_EMULATOR_HOST")
        or os.environ.get("GOOGLE_CLOUD_PROJECT")
        or os.environ.get("GIFTENGINE_PROJECT")
    ):
        from giftengine_dev.devcloud import stack

        st = stack.status()
        if st.get("running"):
            os.environ.update(st["env"])
    return config.load()
