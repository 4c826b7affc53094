"""Q&A on the in-memory store: review before anything is shown, one upvote per viewer, the
question on screen, answered mark."""

from __future__ import annotations

import pytest
from giftengine.domain.access import Actor
from giftengine.live import questions as qa
from giftengine.live import service
from giftengine.live.domain import PollError

from tests.live.test_service import CREATOR, make


def test_questions_are_reviewed_upvoted_once_shown_and_answered():
    deps = make()
    q, created = qa.submit(
        deps, "s1", "tiktok:1", "Ana", "<b>When</b> is the next stream?", "key-0001"
    )
    assert created and q["text"] == "When is the next stream?" and q["status"] == "pending"
    assert qa.submit(deps, "s1", "tiktok:1", "Ana", "changed", "key-0001") == (q, False)
    with pytest.raises(PollError):
        qa.submit(deps, "s1", "tiktok:1", "Ana", "<i></i>", "key-0002")
    with pytest.raises(service.NotFound):
        qa.upvote(deps, "s1", q["question_id"], "app:x")  # not approved: not public
    with pytest.raises(service.Forbidden):
        qa.review(deps, Actor("viewer"), "s1", q["question_id"], True)
    assert [p["question_id"] for p in qa.pending(deps, CREATOR, "s1")] == [q["question_id"]]
    qa.review(deps, CREATOR, "s1", q["question_id"], True)
    assert qa.pending(deps, CREATOR, "s1") == []
    assert qa.upvote(deps, "s1", q["question_id"], "app:x") == {"counted": True, "votes": 1}
    assert qa.upvote(deps, "s1", q["question_id"], "app:x") == {"counted": False, "votes": 1}
    qa.upvote(deps, "s1", q["question_id"], "tiktok:2")
    qa.mark(deps, CREATOR, "s1", q["question_id"], "show")
    state = service.state(deps.store, "s1")
    assert state["current_question"]["text"] == "When is the next stream?"
    assert [(x["question_id"], x["votes"]) for x in state["question_queue"]] == [
        (q["question_id"], 2)
    ]
    qa.mark(deps, CREATOR, "s1", q["question_id"], "answered")
    state = service.state(deps.store, "s1")
    assert state["current_question"] is None and state["question_queue"] == []
    rejected, _ = qa.submit(deps, "s1", "tiktok:3", "Bo", "spam spam", "key-0003")
    qa.review(deps, CREATOR, "s1", rejected["question_id"], False)
    assert deps.store.get(qa.question_path("s1", rejected["question_id"])) is None


def test_a_review_is_final_a_retry_answers_the_same_and_the_other_decision_is_409():
    """Seen over HTTP: an answered question with votes could be rejected, then approved
    again with its votes back at 0 (and its voters unable to vote again)."""
    deps = make()
    q, _ = qa.submit(deps, "s1", "tiktok:1", "Ana", "What is next?", "key-0101")
    qid = q["question_id"]
    qa.review(deps, CREATOR, "s1", qid, True)
    qa.upvote(deps, "s1", qid, "app:x")
    qa.mark(deps, CREATOR, "s1", qid, "answered")
    again = qa.review(deps, CREATOR, "s1", qid, True)  # a retry changes nothing
    assert (again["status"], again["votes"]) == ("answered", 1)
    with pytest.raises(PollError, match="answered"):  # off the queue: its votes are final
        qa.upvote(deps, "s1", qid, "app:late")
    assert qa.upvote(deps, "s1", qid, "app:x") == {"counted": False, "votes": 1}  # a retry
    with pytest.raises(service.NotFound, match="no ownership record"):
        qa.submit(deps, "nosuch", "tiktok:9", "Cy", "Anyone?", "key-0103")
    with pytest.raises(PollError) as err:
        qa.review(deps, CREATOR, "s1", qid, False)
    assert err.value.status == 409 and "already approved" in err.value.reason
    public = deps.store.get(qa.question_path("s1", qid))
    assert (public["status"], public["votes"]) == ("answered", 1)
    no, _ = qa.submit(deps, "s1", "tiktok:2", "Bo", "spam", "key-0102")
    qa.review(deps, CREATOR, "s1", no["question_id"], False)
    with pytest.raises(PollError, match="already rejected"):
        qa.review(deps, CREATOR, "s1", no["question_id"], True)
    assert deps.store.get(qa.question_path("s1", no["question_id"])) is None
