"""Wires the adapters once per process; entry points ask for `deps()`."""

from __future__ import annotations

import logging
import os
from functools import lru_cache

from giftengine import config
from giftengine.adapters.clients import firestore_client
from giftengine.adapters.firestore_store import FirestoreStore
from giftengine.adapters.pubsub import RawPublisher
from giftengine.adapters.tasks import TaskScheduler
from giftengine.service.pipeline import Deps


def _logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=os.environ.get("GIFTENGINE_LOG_LEVEL", "INFO"),
            format="%(asctime)s %(levelname)s %(name)s %(message)s",
        )


@lru_cache(maxsize=1)
def deps() -> Deps:
    _logging()
    s = config.load()
    store = FirestoreStore(
        firestore_client(s.project_id), shards=s.state_shards, write_log=s.write_log
    )
    return Deps(
        settings=s,
        store=store,
        scheduler=TaskScheduler(s, meter=store.writes.count),
        dead_letters=RawPublisher(s.project_id, "dead_letter"),
    )


@lru_cache(maxsize=1)
def ownership():
    """Stream ownership records and creators' moderators (service.streams.OwnershipRepo)."""
    from giftengine.adapters.ownership import FirestoreOwnership

    return FirestoreOwnership(firestore_client(config.load().project_id))


class _Live:
    """Live interactions (polls): the service's dependencies, wired on first use."""

    def __init__(self) -> None:
        from giftengine.live.service import Deps as LiveDeps
        from giftengine.live.tasks import PollTasks
        from giftengine.wallet.firestore_store import FirestoreStore as DocStore

        s = config.load()
        self.project_id = s.project_id
        self.service = LiveDeps(store=DocStore(firestore_client(s.project_id)),
                                scheduler=PollTasks(s), ownership=ownership())


@lru_cache(maxsize=1)
def live_deps() -> _Live:
    _logging()
    return _Live()
