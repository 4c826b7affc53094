"""FirestoreDocStore.transact gives up on a contended transaction after its deadline (a
409 `contention` the client may retry), instead of holding the function's worker."""

from __future__ import annotations

import pytest
from giftengine.adapters import docstore
from giftengine.service.docstore import Contention
from google.api_core import exceptions as gexc

pytestmark = pytest.mark.unit


def test_a_transaction_that_keeps_losing_ends_at_the_deadline(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(docstore.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(docstore.time, "sleep", lambda s: None)
    store = docstore.FirestoreDocStore(client=None, max_attempts=1000, deadline_s=20.0)
    tries = []

    def losing(run):
        tries.append(now[0])
        now[0] += 3.0  # each try waits on the store's locks for seconds
        raise gexc.Aborted("contended")

    monkeypatch.setattr(store, "_attempt", losing)
    with pytest.raises(Contention) as err:
        store.transact(lambda tx: None)
    assert err.value.status == 409 and len(tries) == 7  # tried at 0, 3, ..., 18; 21 >= 20


def test_a_transaction_that_wins_later_returns_its_result(monkeypatch):
    monkeypatch.setattr(docstore.time, "sleep", lambda s: None)
    store = docstore.FirestoreDocStore(client=None)
    outcomes = iter([gexc.Aborted("x"), gexc.Aborted("x"), "done"])

    def attempt(run):
        o = next(outcomes)
        if isinstance(o, Exception):
            raise o
        return o

    monkeypatch.setattr(store, "_attempt", attempt)
    assert store.transact(lambda tx: None) == "done"
