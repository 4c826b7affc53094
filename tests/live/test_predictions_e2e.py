"""Predictions stake real loyalty points on the local cloud (decision 071): two viewers buy
coins (Stripe webhook) and send in-app gifts on a creator's stream; the wallet's events go
through Pub/Sub, the pipeline and the rollup, whose rewards feature writes their points
with the creator. Then, through the `api` function with Auth emulator ID tokens, they stake
them (a retry is a replay; above the balance is 409 with the balance), the creator locks and
resolves (exactly once) and cancels a second prediction; the balances the rewards API and
`giftengine viewer --json` show are exact, and the viewer's ledger holds one entry per
stake, payout and refund."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from tests.e2e.test_rewards import auth
from tests.support import create_stream, id_token, poll, stripe_post
from tests.wallet import stripe_events as se

pytestmark = [pytest.mark.e2e, pytest.mark.emulator]


class Api:
    def __init__(self, base: str, uid: str):
        self.base = base
        self.headers = {"Authorization": f"Bearer {id_token(uid)}"}

    def post(self, path: str, body: dict | None = None):
        return requests.post(self.base + path, json=body, headers=self.headers, timeout=30)

    def get(self, path: str):
        return requests.get(self.base + path, headers=self.headers, timeout=30)


def buy_and_gift(cloud, uid: str, stream: str, units: int, n: str) -> None:
    """350 coins bought through the Stripe webhook, then `units` caps (99 coins each) sent
    in the app twice with one idempotency key (one spend, one event), as in test_rewards."""
    assert stripe_post(
        cloud["endpoints"], se.session_completed(f"evt_{uid}", uid, f"pi_{uid}", 350, 499)
    ).ok
    gift = {"stream_id": stream, "gift_id": "cap", "count": units, "idempotency_key": f"g-{n}"}
    url = f"{cloud['endpoints']['wallet_api']}/wallet_api/gifts"
    for _ in range(2):
        r = requests.post(url, json=gift, headers=auth(uid), timeout=30)
        assert r.status_code in (200, 201), r.text


def test_predictions_stake_pay_and_refund_points_earned_through_the_pipeline(cloud, capsys):
    from giftengine.live import predictions as pr
    from giftengine.service import rewards
    from giftengine_dev.cli.main import main
    from google.cloud import firestore

    n = uuid.uuid4().hex[:8]
    stream, creator, fa, fb = f"s-pe-{n}", f"cr-pe-{n}", f"fa-{n}", f"fb-{n}"
    base = cloud["endpoints"]["api"]
    create_stream(cloud, creator, stream)
    buy_and_gift(cloud, fa, stream, 3, f"a-{n}")  # 297 coins: 297 XP + 1 presence minute
    buy_and_gift(cloud, fb, stream, 1, f"b-{n}")  # 99 coins: 99 XP + 1 presence minute
    api = {u: Api(base, u) for u in (creator, fa, fb, f"fc-{n}")}

    def points(uid: str) -> dict:
        r = api[uid].get(f"/viewers/{uid}/creators/{creator}")
        assert r.status_code == 200, r.text
        return r.json()["points"]

    poll(lambda: points(fa)["earned"] >= 298 and points(fb)["earned"] >= 100, timeout=150)
    assert (points(fa)["balance"], points(fb)["balance"]) == (298, 100)

    r = api[creator].post(
        f"/streams/{stream}/predictions",
        {"title": "Win?", "outcomes": ["Yes", "No"], "window_s": 300},
    )
    assert r.status_code == 201, r.text
    pid = r.json()["prediction_id"]
    assert r.json()["creator_id"] == creator
    path = f"/streams/{stream}/predictions/{pid}"

    def stake(uid, outcome, pts, key):
        body = {"outcome": outcome, "points": pts, "idempotency_key": key}
        return api[uid].post(f"{path}/stakes", body)

    s = stake(fa, 1, 200, f"stake-a-{n}")
    assert s.status_code == 201 and s.json() == {"outcome": 1, "points": 200, "balance": 98}
    again = stake(fa, 1, 200, f"stake-a-{n}")  # the client's retry
    assert again.status_code == 201 and again.json()["replay"] is True
    over = stake(fa, 1, 99, f"stake-a2-{n}")
    assert over.status_code == 409 and over.json()["error"] == "insufficient_points"
    assert "balance 98" in over.json()["reason"]
    assert stake(fb, 2, 100, f"stake-b-{n}").json()["balance"] == 0
    broke = stake(f"fc-{n}", 1, 1, f"stake-c-{n}")  # never earned anything here
    assert broke.status_code == 409 and "balance 0" in broke.json()["reason"]
    assert stake(creator, 1, 1, f"stake-cr-{n}").status_code == 400  # on their own stream
    assert api[fa].post(f"{path}/lock").status_code == 403
    assert api[creator].post(f"{path}/lock").status_code == 200
    late = stake(fb, 2, 1, f"stake-b2-{n}")
    assert late.status_code == 409 and late.json()["error"] == "prediction_locked"
    done = api[creator].post(f"{path}/resolve", {"outcome": 1})
    assert done.status_code == 200 and done.json()["paid"] == 300
    assert api[creator].post(f"{path}/resolve", {"outcome": 2}).status_code == 409
    assert points(fa) == {
        "earned": 298,
        "rewarded": 0,
        "spent": 0,
        "staked": 200,
        "won": 300,
        "revoked": 0,
        "refunded": 0,
        "balance": 398,
    }
    assert points(fb)["balance"] == 0 and points(fb)["staked"] == 100

    # A second prediction, canceled: the stake comes back, once.
    r = api[creator].post(
        f"/streams/{stream}/predictions",
        {"title": "Again?", "outcomes": ["A", "B"], "window_s": 60},
    )
    path2 = f"/streams/{stream}/predictions/{r.json()['prediction_id']}"
    s = api[fa].post(f"{path2}/stakes", {"outcome": 2, "points": 50, "idempotency_key": f"x-{n}"})
    assert s.status_code == 201 and s.json()["balance"] == 348
    assert api[creator].post(f"{path2}/cancel").status_code == 200
    assert api[creator].post(f"{path2}/cancel").status_code == 409
    assert points(fa)["balance"] == 398

    capsys.readouterr()
    assert main(["viewer", fa, "--creator", creator, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["points"]
    assert (shown["balance"], shown["staked"], shown["won"]) == (398, 250, 350)
    db = firestore.Client(project=cloud["project_id"])
    entries = [d.to_dict() for d in db.collection(rewards.predictions_ledger(fa, creator)).stream()]
    assert sorted((e["type"], e["points"]) for e in entries) == [
        ("payout", 300),
        ("refund", 50),
        ("stake", 50),
        ("stake", 200),
    ]
    assert not db.collection(f"streams/{stream}/points").get()  # no per-stream balance
    stakes = db.collection(f"{pr.prediction_path(stream, pid)}/stakes").get()
    assert sorted(d.id for d in stakes) == sorted([fa, fb])  # keyed by the rewards' viewer id

    # A dozen stakes of one viewer sent at once (seen from outside: they held every worker
    # of the `api` function for minutes): each is applied once, and the function still
    # answers other requests.
    from concurrent.futures import ThreadPoolExecutor

    r = api[creator].post(
        f"/streams/{stream}/predictions",
        {"title": "Burst?", "outcomes": ["A", "B"], "window_s": 300},
    )
    path3 = f"/streams/{stream}/predictions/{r.json()['prediction_id']}"

    def burst(i: int):
        body = {"outcome": 1, "points": 10, "idempotency_key": f"burst-{i:02d}-{n}"}
        return api[fa].post(f"{path3}/stakes", body)

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(burst, range(12)))
    codes = sorted(a.status_code for a in answers)
    assert set(codes) <= {201, 409}, [a.text for a in answers]
    taken = codes.count(201)
    assert taken >= 1 and all(
        a.json()["error"] == "contention" for a in answers if a.status_code == 409
    )
    assert requests.get(f"{base}/health", timeout=30).status_code == 200
    doc = db.document(pr.prediction_path(stream, path3.rsplit("/", 1)[1])).get().to_dict()
    assert doc["pools"] == [10 * taken, 0] and points(fa)["balance"] == 398 - 10 * taken
