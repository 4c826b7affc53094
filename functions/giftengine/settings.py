"""One settings object for every subsystem, read from the environment in one call.

`load()` reads the process environment into `Settings`; the composition root
(giftengine.bootstrap) calls it once per process and hands each subsystem its section.
Each section's fields, defaults and environment variables are declared beside the code
that uses them (docs/configuration.md and the subsystems' docs list them):

- `pipeline`: giftengine.config.Settings (GIFTENGINE_* of the rollup, streaks, boards, ...)
- `wallet`: giftengine.wallet.settings.WalletSettings (GIFTENGINE_WALLET_*, STRIPE_*, ESEWA_*,
  KHALTI_*)
- `chat`: giftengine.moderation.policy.ChatSettings (GIFTENGINE_CHAT_*), and `ip_hash_key`
  (GIFTENGINE_IP_HASH_KEY)
- `ingest`: giftengine.ingest.settings.IngestSettings (GIFTENGINE_INGEST_*,
  TIKTOK_SIGN_API_KEY)
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict

from giftengine import config
from giftengine.ingest import settings as ingest_settings
from giftengine.ingest.settings import IngestSettings
from giftengine.moderation.policy import ChatSettings
from giftengine.wallet import settings as wallet_settings
from giftengine.wallet.settings import WalletSettings


class Settings(BaseModel):
    """Everything a process of giftengine is configured with."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    project_id: str
    log_level: str = "INFO"
    pipeline: config.Settings
    wallet: WalletSettings
    chat: ChatSettings
    ingest: IngestSettings
    # Key of the keyed hash that stores chat senders' IP addresses (moderation).
    ip_hash_key: bytes


def load() -> Settings:
    pipeline = config.load()
    project = pipeline.project_id
    return Settings(
        project_id=project,
        log_level=os.environ.get("GIFTENGINE_LOG_LEVEL") or "INFO",
        pipeline=pipeline,
        wallet=wallet_settings.load(),
        chat=ChatSettings.from_env(dict(os.environ)),
        ingest=ingest_settings.load(),
        ip_hash_key=(os.environ.get("GIFTENGINE_IP_HASH_KEY") or f"giftengine:{project}").encode(),
    )
