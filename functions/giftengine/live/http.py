"""HTTP routes of live interactions (mounted on the public `api` function), the private
`live_jobs` function (Cloud Tasks: tally publish and freeze) and the chat-vote consumer
(called by the `on_comment` function). Parse, call the service, map errors."""

from __future__ import annotations

import base64
import binascii
import math
import re
import secrets

from flask import Request
from pydantic import BaseModel, ConfigDict, Field

from giftengine.bootstrap import live_deps
from giftengine.domain.access import Actor
from giftengine.domain.events import ID_PATTERN, parse_event
from giftengine.domain.ids import DocId
from giftengine.domain.rewards import viewer_id as rewards_viewer_id
from giftengine.domain.text import DisplayText
from giftengine.entrypoints.http import ApiError, Router, authenticate, parse_body
from giftengine.entrypoints.http import StorableText as Text
from giftengine.live import domain, predictions, questions, service
from giftengine.live.domain import PollError, Vote
from giftengine.service.docstore import Contention

_KEY_PATTERN = r"^[A-Za-z0-9_.:-]+$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


class PollBody(_Body):
    question: DisplayText = Field(min_length=1, max_length=200)
    choices: list[DisplayText] = Field(min_length=domain.MIN_CHOICES, max_length=domain.MAX_CHOICES)
    duration_s: int | None = Field(default=None, ge=domain.MIN_DURATION_S, le=domain.MAX_DURATION_S)
    changeable: bool = False
    gift_weighted: bool = False
    gift_choices: dict[DocId, int] | None = Field(
        default=None, max_length=domain.MAX_CHOICES, description="gift id -> 1-based choice"
    )


class VoteBody(_Body):
    choice: int = Field(ge=1, le=domain.MAX_CHOICES, description="1-based")
    idempotency_key: str | None = Field(
        default=None, min_length=8, max_length=100, pattern=_KEY_PATTERN
    )


def _id(value: str, what: str) -> str:
    if not (0 < len(value) <= 200 and re.fullmatch(ID_PATTERN, value)):
        raise ApiError(400, "invalid_request", f"invalid {what}")
    return value


def _actor(request: Request) -> tuple[Actor, dict]:
    who = authenticate(request, live_deps().project_id)
    return Actor.from_claims(who.uid, who.claims), who.claims


def _call(fn, *args):
    try:
        return fn(*args)
    except PollError as exc:
        raise ApiError(exc.status, exc.code, exc.reason) from None
    except Contention as exc:  # store contention: safe to retry
        raise ApiError(exc.status, exc.code, exc.reason) from None


def _choices_ok(body: PollBody) -> None:
    if any(not c.strip() or len(c) > domain.MAX_CHOICE_CHARS for c in body.choices):
        raise ApiError(
            400, "invalid_request", f"choices must be 1-{domain.MAX_CHOICE_CHARS} characters"
        )


def post_poll(request: Request, stream_id: str):
    stream_id = _id(stream_id, "stream id")
    actor, _ = _actor(request)
    body = parse_body(request, PollBody)
    _choices_ok(body)
    return _call(
        service.open_poll,
        live_deps().service,
        actor,
        stream_id,
        body.question,
        body.choices,
        body.duration_s,
        body.changeable,
        body.gift_weighted,
        body.gift_choices,
    ), 201


def post_close(request: Request, stream_id: str, poll_id: str):
    actor, _ = _actor(request)
    return _call(
        service.close_poll,
        live_deps().service,
        actor,
        _id(stream_id, "stream id"),
        _id(poll_id, "poll id"),
    )


def post_vote(request: Request, stream_id: str, poll_id: str):
    stream_id, poll_id = _id(stream_id, "stream id"), _id(poll_id, "poll id")
    actor, claims = _actor(request)
    body = parse_body(request, VoteBody)
    voter = _voter(actor)
    deps = live_deps().service
    vote_id = f"app:{actor.uid}:{body.idempotency_key or secrets.token_hex(8)}"
    vote = Vote(
        occurred_at=deps.clock(), vote_id=vote_id, voter=voter, choice=body.choice - 1, source="app"
    )
    result = _call(service.cast, deps, stream_id, poll_id, vote)
    if not result["counted"]:
        raise ApiError(
            409,
            "already_voted",
            f"your vote for choice {result['choice']} counts; this poll does not allow changing it",
        )
    return result, 201


def get_interactions(request: Request, stream_id: str):
    return service.state(live_deps().service.store, _id(stream_id, "stream id"))


class PredictionBody(_Body):
    title: DisplayText = Field(min_length=1, max_length=200)
    outcomes: list[DisplayText] = Field(min_length=2, max_length=10)
    window_s: int = Field(ge=predictions.MIN_WINDOW_S, le=predictions.MAX_WINDOW_S)


class StakeBody(_Body):
    outcome: int = Field(ge=1, le=10, description="1-based")
    points: int = Field(ge=1, le=1_000_000_000)
    idempotency_key: str = Field(min_length=8, max_length=100, pattern=_KEY_PATTERN)


class ResolveBody(_Body):
    outcome: int = Field(ge=1, le=10, description="1-based")


def post_prediction(request: Request, stream_id: str):
    stream_id = _id(stream_id, "stream id")
    actor, _ = _actor(request)
    body = parse_body(request, PredictionBody)
    if any(len(o) > domain.MAX_CHOICE_CHARS for o in body.outcomes):
        raise ApiError(400, "invalid_request", f"outcomes are 1-{domain.MAX_CHOICE_CHARS} chars")
    return _call(
        predictions.open_prediction,
        live_deps().service,
        actor,
        stream_id,
        body.title,
        body.outcomes,
        body.window_s,
    ), 201


def post_stake(request: Request, stream_id: str, prediction_id: str):
    stream_id, pid = _id(stream_id, "stream id"), _id(prediction_id, "prediction id")
    actor, _ = _actor(request)
    body = parse_body(request, StakeBody)
    # The points are the caller's loyalty points with the stream's creator, under the id the
    # rewards feature keeps them: the app uid (a `tiktok_id` claim does not change it).
    viewer = rewards_viewer_id("app", actor.uid)
    return _call(
        predictions.stake,
        live_deps().service,
        stream_id,
        pid,
        viewer,
        body.outcome,
        body.points,
        f"{actor.uid}:{body.idempotency_key}",
    ), 201


def post_lock(request: Request, stream_id: str, prediction_id: str):
    actor, _ = _actor(request)
    return _call(
        predictions.lock,
        live_deps().service,
        actor,
        _id(stream_id, "stream id"),
        _id(prediction_id, "prediction id"),
    )


def post_resolve(request: Request, stream_id: str, prediction_id: str):
    actor, _ = _actor(request)
    body = parse_body(request, ResolveBody)
    return _call(
        predictions.settle,
        live_deps().service,
        actor,
        _id(stream_id, "stream id"),
        _id(prediction_id, "prediction id"),
        body.outcome,
    )


def post_cancel(request: Request, stream_id: str, prediction_id: str):
    actor, _ = _actor(request)
    return _call(
        predictions.settle,
        live_deps().service,
        actor,
        _id(stream_id, "stream id"),
        _id(prediction_id, "prediction id"),
        None,
    )


class QuestionBody(_Body):
    text: Text = Field(min_length=1, max_length=2000)
    idempotency_key: str = Field(min_length=8, max_length=100, pattern=_KEY_PATTERN)


def _voter(actor: Actor) -> str:
    return domain.voter_key("app", actor.uid, actor.tiktok_id)


def post_question(request: Request, stream_id: str):
    stream_id = _id(stream_id, "stream id")
    actor, claims = _actor(request)
    body = parse_body(request, QuestionBody)
    name = claims.get("name") if isinstance(claims.get("name"), str) else ""
    doc, created = _call(
        questions.submit,
        live_deps().service,
        stream_id,
        _voter(actor),
        name[:64],
        body.text,
        body.idempotency_key,
    )
    return doc, 201 if created else 200


def get_pending(request: Request, stream_id: str):
    actor, _ = _actor(request)
    return {
        "questions": _call(
            questions.pending, live_deps().service, actor, _id(stream_id, "stream id")
        )
    }


def _question_action(action: str):
    def handler(request: Request, stream_id: str, question_id: str):
        stream_id, qid = _id(stream_id, "stream id"), _id(question_id, "question id")
        actor, claims = _actor(request)
        deps = live_deps().service
        if action == "upvote":
            return _call(questions.upvote, deps, stream_id, qid, _voter(actor))
        if action in ("approve", "reject"):
            return _call(questions.review, deps, actor, stream_id, qid, action == "approve")
        return _call(questions.mark, deps, actor, stream_id, qid, action)

    handler.__name__ = f"post_question_{action}"
    return handler


def install(router: Router) -> None:
    """Mounts the routes on the `api` function's router."""
    q = "/streams/{stream_id}/questions"
    router.route("POST", q)(post_question)
    router.route("GET", q + "/pending")(get_pending)
    for action in ("approve", "reject", "upvote", "show", "answered"):
        router.route("POST", q + "/{question_id}/" + action)(_question_action(action))
    pred = "/streams/{stream_id}/predictions"
    router.route("POST", pred)(post_prediction)
    router.route("POST", pred + "/{prediction_id}/stakes")(post_stake)
    router.route("POST", pred + "/{prediction_id}/lock")(post_lock)
    router.route("POST", pred + "/{prediction_id}/resolve")(post_resolve)
    router.route("POST", pred + "/{prediction_id}/cancel")(post_cancel)
    router.route("POST", "/streams/{stream_id}/polls")(post_poll)
    router.route("POST", "/streams/{stream_id}/polls/{poll_id}/close")(post_close)
    router.route("POST", "/streams/{stream_id}/polls/{poll_id}/votes")(post_vote)
    router.route("GET", "/streams/{stream_id}/interactions")(get_interactions)


# ---- live_jobs: Cloud Tasks target -----------------------------------------------------------
jobs = Router("live_jobs")


def _task_args(request: Request) -> tuple[str, str, float]:
    stream_id = _id(request.args.get("stream_id", ""), "stream id")
    poll_id = _id(request.args.get("poll_id", ""), "poll id")
    try:
        at = float(request.args.get("at", ""))
    except ValueError:
        raise ApiError(400, "invalid_request", "`at` must be epoch seconds") from None
    if not math.isfinite(at):
        raise ApiError(400, "invalid_request", "`at` must be epoch seconds")
    return stream_id, poll_id, at


@jobs.route("POST", "/polls/flush")
def job_flush(request: Request):
    stream_id, poll_id, at = _task_args(request)
    return {"wrote": service.flush(live_deps().service, stream_id, poll_id, math.floor(at))}


@jobs.route("POST", "/polls/freeze")
def job_freeze(request: Request):
    stream_id, poll_id, _ = _task_args(request)
    try:
        doc = service.freeze(live_deps().service, stream_id, poll_id)
    except service.NotDue as exc:  # Cloud Tasks retries a 503
        raise ApiError(503, "not_due", str(exc), {"Retry-After": "1"}) from None
    return {"frozen": bool(doc and doc.get("frozen"))}


@jobs.route("POST", "/polls/start")
def job_start(request: Request):
    """A command gift's poll start (decision 077); `poll_id` is its execution id."""
    stream_id, execution_id, at = _task_args(request)
    try:
        req = _call(service.start_from_command, live_deps().service, stream_id, execution_id, at)
    except service.NotRecorded as exc:  # its rollup has not committed: Cloud Tasks retries
        raise ApiError(503, "not_recorded", str(exc), {"Retry-After": "1"}) from None
    return {k: req.get(k) for k in ("status", "poll_id", "reason")}


def live_jobs(request: Request):
    return jobs.dispatch(request)


# ---- on_comment: chat votes ------------------------------------------------------------------
def on_comment(cloud_event) -> None:
    """A comment event that votes in its stream's active poll. Undecodable messages are
    ignored (the gift pipeline dead-letters them); store errors raise so Pub/Sub retries,
    and the retry is a no-op (the vote is keyed by viewer, its event id breaks ties)."""
    message = (cloud_event.data or {}).get("message") or {}
    if (message.get("attributes") or {}).get("kind") not in (None, "comment"):
        return
    try:
        event = parse_event(base64.b64decode(message.get("data") or "", validate=True))
    except (binascii.Error, ValueError, TypeError):
        return
    if event.kind != "comment" or event.user is None:
        return
    service.chat_vote(
        live_deps().service,
        event.stream_id,
        event.text,
        event.source,
        event.user.id,
        event.event_id,
        event.occurred_ts,
        event.user.linked_tiktok_id,
    )
