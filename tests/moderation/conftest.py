"""Fixtures for the moderation tests: a Firestore client on the local cloud's emulator and
service dependencies with a controllable clock."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture(scope="session")
def chat_project(cloud) -> str:
    return cloud["project_id"]


@pytest.fixture(scope="session")
def chat_db(chat_project):
    from google.cloud import firestore

    return firestore.Client(project=chat_project)


class Clock:
    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_deps(chat_db, clock):
    from giftengine.moderation.policy import ChatSettings
    from giftengine.moderation.profanity import default_scorer
    from giftengine.moderation.repo import ChatRepo
    from giftengine.moderation.service import Deps

    def make(**settings) -> Deps:
        return Deps(repo=ChatRepo(chat_db), scorer=default_scorer(),
                    settings=ChatSettings(**settings), clock=clock, shard=lambda n: 0)

    return make


@pytest.fixture
def stream(chat_db) -> str:
    """A fresh stream whose creator is `creator-<id>`."""
    stream_id = "s-" + uuid.uuid4().hex[:12]
    chat_db.collection("streams").document(stream_id).set(
        {"stream_id": stream_id, "creator_id": f"creator-{stream_id}"})
    return stream_id
