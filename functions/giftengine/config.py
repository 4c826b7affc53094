"""Runtime settings, read once from the environment.

Every tunable number of the pipeline lives here with its default; docs/configuration.md
lists them. Production sets them through Terraform (function environment variables).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from giftengine import manifest as manifest_mod


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value in (None, "") else value


@dataclass(frozen=True)
class Settings:
    project_id: str
    region: str
    # Streak settlement
    streak_idle_timeout_s: float = 10.0
    settled_streak_retention_s: float = 3600.0
    # Rollup cadence: the live documents of one stream are written at most once per
    # `rollup_min_interval_s`; per-user leaderboard entries at most once per flush interval.
    rollup_min_interval_s: float = 1.0
    board_flush_interval_s: float = 10.0  # stream session leaderboard entries
    # creator/global period leaderboard entries: not live boards, and a quiet stream pays six
    # entry writes per gifter per flush (decision 042); all of them at the stream's end.
    period_flush_interval_s: float = 300.0
    # Follow-up tasks are named per tick (Cloud Tasks keeps a name taken after its task
    # ran); a rollup asks for its follow-up at least one tick later than itself.
    followup_tick_s: float = 0.1
    rollup_max_events: int = 400  # records (messages: one event or a batch) per rollup read
    inline_rollup: bool = True  # leading-edge rollup in the delivery that recorded the event
    # A quiet stream's message arriving less than an interval after the last live write waits
    # this long at most for it, and is then recorded and applied in one commit (the fast
    # path) instead of waiting for a follow-up rollup (decision 044).
    fast_path_wait_s: float = 0.5
    flush_max_users: int = 30
    state_shards: int = 8
    top_n: int = 10
    default_timezone: str = "UTC"
    # Battles (docs/engagement.md): settlement grace after the end (above the streak idle
    # timeout, so in-window streaks settle), and the delay from the accept to the start.
    battle_grace_s: int = 15
    battle_start_delay_s: int = 3
    # Wiring
    endpoints: dict[str, str] = field(default_factory=dict)  # function name -> URL
    tasks_invoker_service_account: str = ""
    write_log: str = ""  # dev/bench only: JSONL of every Firestore document write

    def endpoint(self, function: str) -> str:
        try:
            return self.endpoints[function]
        except KeyError:
            env = f"GIFTENGINE_URL_{function.upper()}"
            raise RuntimeError(f"no URL configured for function {function!r}; set {env}") from None


def load() -> Settings:
    m = manifest_mod.load()
    project = (
        os.environ.get("GIFTENGINE_PROJECT")
        or os.environ.get("GOOGLE_CLOUD_PROJECT")
        or os.environ.get("GCLOUD_PROJECT")
        or m.project_id_default
    )
    endpoints = {
        name: os.environ[f"GIFTENGINE_URL_{name.upper()}"]
        for name in m.functions
        if os.environ.get(f"GIFTENGINE_URL_{name.upper()}")
    }
    return Settings(
        project_id=project,
        region=_env("GIFTENGINE_REGION", m.region),
        streak_idle_timeout_s=float(_env("GIFTENGINE_STREAK_IDLE_TIMEOUT_S", "10")),
        settled_streak_retention_s=float(_env("GIFTENGINE_STREAK_RETENTION_S", "3600")),
        rollup_min_interval_s=float(_env("GIFTENGINE_ROLLUP_MIN_INTERVAL_S", "1")),
        board_flush_interval_s=float(_env("GIFTENGINE_BOARD_FLUSH_INTERVAL_S", "10")),
        period_flush_interval_s=float(_env("GIFTENGINE_PERIOD_FLUSH_INTERVAL_S", "300")),
        rollup_max_events=int(_env("GIFTENGINE_ROLLUP_MAX_EVENTS", "400")),
        inline_rollup=_env("GIFTENGINE_INLINE_ROLLUP", "1") not in ("0", "false", "no"),
        fast_path_wait_s=float(_env("GIFTENGINE_FAST_PATH_WAIT_S", "0.5")),
        flush_max_users=int(_env("GIFTENGINE_FLUSH_MAX_USERS", "30")),
        state_shards=int(_env("GIFTENGINE_STATE_SHARDS", "8")),
        top_n=int(_env("GIFTENGINE_TOP_N", "10")),
        default_timezone=_env("GIFTENGINE_DEFAULT_TIMEZONE", "UTC"),
        battle_grace_s=int(_env("GIFTENGINE_BATTLE_GRACE_S", "15")),
        battle_start_delay_s=int(_env("GIFTENGINE_BATTLE_START_DELAY_S", "3")),
        endpoints=endpoints,
        tasks_invoker_service_account=_env("GIFTENGINE_TASKS_SA", ""),
        write_log=_env("GIFTENGINE_WRITE_LOG", ""),
    )
