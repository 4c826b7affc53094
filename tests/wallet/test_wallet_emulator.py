"""The wallet on the local cloud: Firestore emulator transactions under contention, and the
wallet_api / payments_webhook / wallet_jobs functions over HTTP with Auth emulator tokens."""

from __future__ import annotations

import base64
import json
import random
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from giftengine.adapters.clients import firestore_client
from giftengine.adapters.docstore import FirestoreDocStore
from giftengine.wallet import catalog_file
from giftengine.wallet.errors import InsufficientFunds
from giftengine.wallet.gateways import esewa_signature
from giftengine.wallet.service import GiftSpend, WalletService
from giftengine.wallet.settings import WalletSettings
from google.cloud import firestore

from tests.support import id_token, stripe_post
from tests.wallet import stripe_events as se
from tests.wallet.helpers import completed

pytestmark = pytest.mark.emulator


@pytest.fixture
def uid() -> str:
    return f"w-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def svc(cloud) -> WalletService:
    return WalletService(
        FirestoreDocStore(firestore_client(cloud["project_id"])),
        settings=WalletSettings(),
        catalog=catalog_file.load(),
    )


@pytest.fixture
def urls(cloud) -> dict[str, str]:
    return cloud["endpoints"]


def own(cloud, stream: str, creator: str) -> None:
    """The stream's ownership record (its creator's POST /api/streams, in production)."""
    firestore_client(cloud["project_id"]).document(f"stream_owners/{stream}").set(
        {"stream_id": stream, "creator_id": creator, "source": "app"}
    )


@pytest.fixture(autouse=True)
def owned_streams(cloud) -> None:
    for stream, creator in [
        ("s-race", "creator-race"),
        ("s-devices", "creator-d"),
        ("s-og", "creator-og"),
        ("s-rc", "creator-rc"),
    ]:
        own(cloud, stream, creator)


def auth(uid: str, **claims) -> dict[str, str]:
    return {"Authorization": f"Bearer {id_token(uid, claims or None)}"}


def fund(urls, uid: str, coins: int, amount: int | None = None) -> str:
    pi = f"pi_{uuid.uuid4().hex[:16]}"
    r = stripe_post(urls, se.session_completed(f"evt_{pi}", uid, pi, coins, amount or coins))
    assert r.status_code == 200, r.text
    return pi


def test_parallel_spends_of_the_last_coins_one_wins(cloud, svc, uid):
    """Four service instances (as four function instances would) race for 100 coins, each
    wanting 60, in Firestore transactions on the emulator: exactly one commits."""
    svc.apply_payment(completed(f"pi_{uid}", uid, 100, 100, event_id=f"evt_{uid}"))
    outcomes: list[str] = []
    n = 4
    barrier = threading.Barrier(n)

    def spend(i: int) -> None:
        instance = WalletService(
            FirestoreDocStore(firestore.Client(project=cloud["project_id"])),
            settings=WalletSettings(),
            catalog=catalog_file.load(),
        )
        barrier.wait()
        try:
            instance.spend_gift(
                uid, GiftSpend("s-race", "creator-race", "donut", 2, f"race-{i:04d}")
            )
            outcomes.append("ok")
        except InsufficientFunds:
            outcomes.append("402")

    threads = [threading.Thread(target=spend, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["402"] * (n - 1) + ["ok"]
    w = svc.wallet_view(uid)
    assert (w["balance"], w["total_spent"]) == (40, 60)
    assert len(svc.history(uid)) == 2  # the purchase and one gift


def test_two_devices_spend_the_last_coins_over_http(urls, uid):
    fund(urls, uid, 100)
    headers = auth(uid)
    barrier = threading.Barrier(2)

    def device(key: str) -> requests.Response:
        barrier.wait()
        return requests.post(
            f"{urls['wallet_api']}/wallet_api/gifts",
            headers=headers,
            json={
                "stream_id": "s-devices",
                "creator_id": "creator-d",
                "gift_id": "donut",
                "count": 3,
                "idempotency_key": key,
            },
            timeout=30,
        )

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(device, ["phone-0001", "tablet-0001"])
    assert sorted([a.status_code, b.status_code]) == [200, 402], (a.text, b.text)
    loser = a if a.status_code == 402 else b
    assert loser.json()["error"] == "insufficient_funds" and "90" in loser.json()["reason"]
    winner = a if a.status_code == 200 else b
    assert winner.json()["balance"] == 10
    # A retry of the winner replays; a retry of the loser is still refused.
    key = "phone-0001" if winner is a else "tablet-0001"
    again = requests.post(
        f"{urls['wallet_api']}/wallet_api/gifts",
        headers=headers,
        json={
            "stream_id": "s-devices",
            "creator_id": "creator-d",
            "gift_id": "donut",
            "count": 3,
            "idempotency_key": key,
        },
        timeout=30,
    )
    assert again.status_code == 200 and again.json()["replayed"] is True


def test_gift_requires_a_token_and_a_valid_body(urls, uid):
    url = f"{urls['wallet_api']}/wallet_api/gifts"
    assert requests.post(url, json={}, timeout=10).status_code == 401
    r = requests.post(url, headers=auth(uid), json={"gift_id": "rose"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = requests.post(
        url,
        headers=auth(uid),
        timeout=10,
        json={
            "stream_id": "s",
            "creator_id": "c",
            "gift_id": "nope",
            "idempotency_key": "k-000001",
        },
    )
    assert r.status_code == 404


def test_in_app_gift_publishes_its_engagement_event(cloud, urls, uid):
    from google.cloud import pubsub_v1

    sub = pubsub_v1.SubscriberClient()
    topic = f"projects/{cloud['project_id']}/topics/engagement-events"
    sub_path = sub.subscription_path(cloud["project_id"], f"wallet-test-{uid}")
    sub.create_subscription(name=sub_path, topic=topic)
    try:
        fund(urls, uid, 100)
        own(cloud, f"s-{uid}", "creator-e")
        r = requests.post(
            f"{urls['wallet_api']}/wallet_api/gifts",
            headers=auth(uid),
            json={
                "stream_id": f"s-{uid}",
                "creator_id": "creator-e",
                "gift_id": "heart",
                "count": 4,
                "idempotency_key": "pub-00000001",
            },
            timeout=30,
        )
        assert r.status_code == 200, r.text
        deadline, found = time.monotonic() + 30, None
        while found is None and time.monotonic() < deadline:
            resp = sub.pull(subscription=sub_path, max_messages=50, timeout=10)
            for m in resp.received_messages:
                data = json.loads(m.message.data)
                if data["event_id"] == f"app:{uid}:pub-00000001":
                    found = data
        assert found is not None
        assert (found["source"], found["kind"], found["repeat_count"]) == ("app", "gift", 4)
        assert found["gift"]["id"] == "heart" and found["creator_id"] == "creator-e"
    finally:
        sub.delete_subscription(subscription=sub_path)


def test_webhook_rejects_bad_signatures_and_stale_timestamps(urls, uid):
    evt = se.session_completed(f"evt_{uid}", uid, f"pi_{uid}", 350, 499)
    r = stripe_post(urls, evt, secret="whsec_wrong")
    assert r.status_code == 400 and r.json()["error"] == "bad_signature"
    r = stripe_post(urls, evt, timestamp=int(time.time()) - 600)
    assert r.status_code == 400 and r.json()["error"] == "stale_callback"
    r = requests.post(f"{urls['payments_webhook']}/payments_webhook/stripe", data=b"{}", timeout=10)
    assert r.status_code == 400
    assert stripe_post(urls, evt).json()["credited"] == 350
    assert stripe_post(urls, evt).json()["duplicate"] is True


def test_refund_before_completion_and_dispute(urls, svc, uid):
    pi = f"pi_{uid}"
    assert stripe_post(urls, se.charge_refunded(f"evt_r_{uid}", pi, 499, 499)).status_code == 200
    r = stripe_post(urls, se.session_completed(f"evt_c_{uid}", uid, pi, 350, 499)).json()
    assert r["credited"] == 0
    fund(urls, uid, 70, 99)
    pi2 = f"pi2_{uid}"
    stripe_post(urls, se.session_completed(f"evt_c2_{uid}", uid, pi2, 350, 499))
    r = stripe_post(urls, se.dispute_created(f"evt_d_{uid}", pi2, 499)).json()
    assert r["status"] == "disputed" and not {"uid", "balance", "locked"} & set(r)  # public
    w = svc.wallet_view(uid)
    assert (w["balance"], w["locked"]) == (70, True)


def test_200_deliveries_of_20_events_in_random_order_concurrently(urls, uid):
    users = [f"{uid}-{k}" for k in range(3)]
    events, expected = [], dict.fromkeys(users, 0)
    for i in range(12):
        events.append(
            se.session_completed(f"evt_{uid}_c{i}", users[i % 3], f"pi_{uid}_{i}", 1400, 2000)
        )
        expected[users[i % 3]] += 1400
    for i in range(6):  # a quarter refunded: ceil(1400 * 500 / 2000) = 350
        events.append(se.charge_refunded(f"evt_{uid}_r{i}", f"pi_{uid}_{i}", 2000, 500))
        expected[users[i % 3]] -= 350
    for i in (6, 7):  # fully disputed
        events.append(se.dispute_created(f"evt_{uid}_d{i}", f"pi_{uid}_{i}", 2000))
        expected[users[i % 3]] -= 1400
    assert len(events) == 20
    deliveries = [e for e in events for _ in range(10)]
    random.Random(uid).shuffle(deliveries)
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda e: stripe_post(urls, e).status_code, deliveries))
    assert codes == [200] * 200
    for u in users:
        out = subprocess.run(
            [sys.executable, "-m", "giftengine_dev.cli.main", "wallet", u, "--json"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        w = json.loads(out)
        assert w["balance"] == expected[u], (u, w)
        assert {"balance", "bonus_balance", "total_earned", "total_spent"} <= set(w)


def test_tiers_daily_bonus_and_jobs_over_http(urls, svc, uid):
    fund(urls, uid, 3000)
    api = f"{urls['wallet_api']}/wallet_api"
    r = requests.post(
        f"{api}/tiers/1/purchase",
        headers=auth(uid),
        json={"idempotency_key": "tier-0000001"},
        timeout=30,
    )
    assert r.status_code == 200 and r.json()["daily_bonus"] == 60, r.text
    jobs = f"{urls['wallet_jobs']}/wallet_jobs"
    for _ in range(2):  # the scheduler fired twice
        assert requests.post(f"{jobs}/daily-bonus", timeout=120).status_code == 200
    w = svc.wallet_view(uid)
    assert (w["balance"], w["bonus_balance"], w["tier"]["level"]) == (0, 60, 1)
    r = requests.post(
        f"{api}/gifts",
        headers=auth(uid),
        timeout=30,
        json={
            "stream_id": "s-og",
            "creator_id": "creator-og",
            "gift_id": "og-crown",
            "idempotency_key": "og-0000001",
        },
    )
    assert r.status_code == 402  # 60 bonus coins < 100: the tier gate passed, funds did not
    report = requests.post(f"{jobs}/reconcile", timeout=300).json()
    assert report["ok"], report["problems"]


def test_admin_adjust_is_admin_only_and_audited(urls, svc, uid):
    api = f"{urls['wallet_api']}/wallet_api/admin/adjust"
    body = {
        "uid": uid,
        "account": "balance",
        "amount": 25,
        "reason": "goodwill credit",
        "idempotency_key": "adj-0000001",
    }
    assert requests.post(api, headers=auth(uid), json=body, timeout=30).status_code == 403
    r = requests.post(api, headers=auth("admin-w", admin=True), json=body, timeout=30)
    assert r.status_code == 200 and r.json()["balance"] == 25, r.text
    assert svc.store.get(f"audit_log/adjust:{uid}:adj-0000001")["actor"] == "admin-w"
    assert svc.wallet_view(uid)["balance"] == 25


def test_esewa_payment_round_trip(urls, svc, uid):
    r = requests.post(
        f"{urls['wallet_api']}/wallet_api/checkout/esewa",
        headers=auth(uid),
        json={"amount_npr": 10, "idempotency_key": "esewa-00001"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    start = r.json()
    assert start["coins"] == 500
    names = "transaction_code,status,total_amount,transaction_uuid,product_code,signed_field_names"
    data = {
        "transaction_code": "000AWEO",
        "status": "COMPLETE",
        "total_amount": "10.0",
        "transaction_uuid": start["transaction_uuid"],
        "product_code": "EPAYTEST",
        "signed_field_names": names,
    }
    data["signature"] = esewa_signature("8gBm/:&EnhH.1/q", data, names.split(","))
    encoded = base64.b64encode(json.dumps(data).encode()).decode()
    url = f"{urls['payments_webhook']}/payments_webhook/esewa"
    tampered = base64.b64encode(json.dumps({**data, "total_amount": "1000.0"}).encode()).decode()
    assert requests.get(url, params={"data": tampered}, timeout=30).status_code == 400
    ok = requests.get(url, params={"data": encoded}, timeout=30)
    assert ok.status_code == 200 and ok.json()["credited"] == 500, ok.text
    assert requests.get(url, params={"data": encoded}, timeout=30).json()["duplicate"] is True
    assert svc.wallet_view(uid)["balance"] == 500


def test_stripe_checkout_end_to_end_through_the_local_stand_in(cloud, urls, svc, uid):
    """Checkout Session created with the stripe library against the stand-in, the user "pays"
    on its hosted page, the stand-in delivers the signed webhook to payments_webhook, and the
    wallet is credited once; a refund from the stand-in claws it back."""
    from giftengine.wallet.checkout import PaymentFlows
    from giftengine.wallet.gateways import Esewa, Khalti
    from giftengine.wallet.stripe_gateway import StripeGateway
    from giftengine_dev.wallet import stripe_fake

    port = 9847  # this engineer's port range (9800-9849)
    hook = f"{urls['payments_webhook']}/payments_webhook/stripe"
    server = stripe_fake.serve(port, webhook_url=hook, webhook_secret=se.SECRET)
    try:
        base = f"http://127.0.0.1:{port}"
        flows = PaymentFlows(
            svc,
            stripe_gw=StripeGateway("sk_test_local", se.SECRET, base),
            esewa=Esewa("", "EPAYTEST", ""),
            khalti=Khalti("", base),
        )
        session = flows.stripe_checkout(uid, "coins-1400", "e2e-0000001")
        assert svc.store.get(f"customers/{uid}/checkout_sessions/{session['sessionId']}")
        paid = requests.post(session["url"], allow_redirects=False, timeout=30)
        assert paid.status_code == 303, paid.text
        assert svc.wallet_view(uid)["balance"] == 1400
        pi = server.RequestHandlerClass.state.sessions[session["sessionId"]]["payment_intent"]
        assert svc.store.get(f"customers/{uid}/payments/{pi}")["status"] == "succeeded"
        requests.post(f"{base}/_fake/refund/{session['sessionId']}", timeout=30)
        assert svc.wallet_view(uid)["balance"] == 0
        assert svc.store.get(f"customers/{uid}/payments/{pi}")["status"] == "refunded"
    finally:
        server.shutdown()
        server.server_close()


def test_checkout_offline_through_the_functions(urls, svc, uid):
    """On the local cloud the functions use the payments stand-in by themselves: Stripe
    checkout -> hosted page -> signed webhook -> coins; Khalti initiate -> pay -> lookup;
    eSewa signed form -> signed success data -> coins."""
    api = f"{urls['wallet_api']}/wallet_api"
    r = requests.post(
        f"{api}/checkout/stripe",
        headers=auth(uid),
        timeout=30,
        json={"pack_id": "coins-70", "idempotency_key": "offline-0001"},
    )
    assert r.status_code == 200, r.text
    assert requests.post(r.json()["url"], allow_redirects=False, timeout=30).status_code == 303
    assert svc.wallet_view(uid)["balance"] == 70

    r = requests.post(
        f"{api}/checkout/khalti",
        headers=auth(uid),
        timeout=30,
        json={"amount_npr": 10, "idempotency_key": "offline-0002"},
    )
    assert r.status_code == 200, r.text
    start = r.json()
    back = requests.get(start["payment_url"], allow_redirects=False, timeout=30)
    assert back.status_code == 303 and f"pidx={start['pidx']}" in back.headers["Location"]
    hook = f"{urls['payments_webhook']}/payments_webhook/khalti"
    done = requests.get(hook, params={"pidx": start["pidx"]}, timeout=30)
    assert done.status_code == 200 and done.json()["credited"] == 500, done.text
    # No token needed here (the pidx is in the return URL): the payer and wallet stay unsaid.
    assert not {"uid", "balance", "locked"} & set(done.json())
    assert svc.wallet_view(uid)["balance"] == 570

    r = requests.post(
        f"{api}/checkout/esewa",
        headers=auth(uid),
        timeout=30,
        json={"amount_npr": 20, "idempotency_key": "offline-0003"},
    )
    assert r.status_code == 200, r.text
    form = r.json()["form"]
    paid = requests.post(form["url"], data=form["fields"], allow_redirects=False, timeout=30)
    assert paid.status_code == 303, paid.text
    data = dict(parse_qsl(urlsplit(paid.headers["Location"]).query))["data"]
    hook = f"{urls['payments_webhook']}/payments_webhook/esewa"
    done = requests.get(hook, params={"data": data}, timeout=30)
    assert done.status_code == 200 and done.json()["credited"] == 1000, done.text
    assert svc.wallet_view(uid)["balance"] == 1570


def test_recheck_reads_one_wallet_on_a_consistent_snapshot(svc, uid):
    svc.apply_payment(completed(f"pi_{uid}", uid, 100, 100, event_id=f"evt_{uid}"))
    svc.spend_gift(uid, GiftSpend("s-rc", "creator-rc", "donut", 1, "recheck-0001"))
    assert svc._recheck(uid) is None
    svc.store.set(f"wallets/{uid}", {"balance": 5}, merge=True)  # tamper
    try:
        found = svc._recheck(uid)
        assert found["fields"]["balance"] == {"wallet": 5, "ledger": 70}
    finally:
        svc.store.set(f"wallets/{uid}", {"balance": 70}, merge=True)
    assert svc._recheck(uid) is None


def test_a_refund_takes_back_the_gift_xp_once_in_its_transaction(cloud, svc, uid):
    """The revocation (domain/xp.py) on Firestore: the viewer's postings listed and the XP
    documents incremented inside the payment event's transaction; a duplicate adds nothing."""
    stream, creator = f"s-{uid}", f"c-{uid}"
    own(cloud, stream, creator)
    from tests.wallet.helpers import refunded

    svc.apply_payment(completed(f"pi_{uid}", uid, 350, 499, event_id=f"evt_c_{uid}"))
    svc.spend_gift(uid, GiftSpend(stream, creator, "cap", 3, "xp-rev-0001"))  # 297
    r = svc.apply_payment(refunded(f"pi_{uid}", 499, event_id=f"evt_r_{uid}"))
    assert r["xp_revoked"] == 297
    assert svc.apply_payment(refunded(f"pi_{uid}", 499, event_id=f"evt_r_{uid}"))["duplicate"]
    db = firestore_client(cloud["project_id"])
    glob = db.document(f"xp/{uid}").get().to_dict()
    assert (glob["xp"], glob["coins_revoked"]) == (-297, 297)
    per = db.document(f"xp/{uid}/creators/{creator}").get().to_dict()
    assert (per["xp_gifts"], per["points_revoked"]) == (-297, 297)
    assert db.document(f"xp/{creator}").get().to_dict() == {"creator_xp": -297}
