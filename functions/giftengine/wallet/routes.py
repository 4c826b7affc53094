"""HTTPS routes of the wallet's three functions (functions/main.py calls `wallet_api`,
`payments_webhook` and `wallet_jobs`). Thin: parse, call the service, map domain errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, Literal

from flask import Request
from pydantic import BaseModel, ConfigDict, Field

from giftengine import bootstrap
from giftengine.domain.ids import ID_PATTERN, DocId
from giftengine.entrypoints.http import ApiError, Router, authenticate, json_body, parse_body
from giftengine.service.docstore import Contention
from giftengine.wallet.errors import VelocityExceeded, WalletError
from giftengine.wallet.service import GiftSpend

_ID = ID_PATTERN
_KEY = Field(
    min_length=8,
    max_length=100,
    pattern=r"^[A-Za-z0-9_.:-]+$",
    description="Client-chosen idempotency key: a retry with the same key is a replay.",
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


class GiftBody(_Body):
    stream_id: DocId = Field(min_length=1, max_length=200, pattern=_ID)
    creator_id: DocId | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=_ID,
        description="Optional: the stream's ownership record names its creator; if given, it "
        "must be that creator.",
    )
    gift_id: DocId = Field(min_length=1, max_length=100, pattern=_ID)
    count: int = Field(default=1, ge=1, le=10_000)
    idempotency_key: str = _KEY


class KeyBody(_Body):
    idempotency_key: str = _KEY


class StripeCheckoutBody(_Body):
    pack_id: DocId = Field(min_length=1, max_length=100, pattern=_ID)
    idempotency_key: str = _KEY


class NprCheckoutBody(_Body):
    # The range and step are the settings' (checkout.py `_npr_amount` says which, in NPR).
    amount_npr: int = Field(description="NPR, a multiple of the block (10) from 10 to 100,000")
    idempotency_key: str = _KEY


class AdjustBody(_Body):
    uid: DocId = Field(min_length=1, max_length=128, pattern=_ID)
    account: Literal["balance", "bonus_balance"]
    amount: int = Field(ge=-10_000_000, le=10_000_000)
    reason: str = Field(min_length=3, max_length=500)
    idempotency_key: str = _KEY
    unlock: bool = False


def _domain(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Domain errors become their 4xx (or 409 contention) with a JSON reason."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except VelocityExceeded as exc:
            raise ApiError(
                exc.status, exc.code, exc.reason, {"Retry-After": str(exc.retry_after_s)}
            ) from None
        except (WalletError, Contention) as exc:
            raise ApiError(exc.status, exc.code, exc.reason) from None

    return wrapper


def _user(request: Request):
    # Every wallet_api call reads or moves money: disabled and revoked accounts are refused.
    return authenticate(request, bootstrap.project_id(), check_revoked=True)


# ---------------------------------------------------------------------------- wallet_api
api = Router("wallet_api")


@api.route("GET", "/catalog")
def get_catalog(request: Request):
    return bootstrap.wallet_service().catalog.to_json()


@api.route("GET", "/wallet")
@_domain
def get_wallet(request: Request):
    return bootstrap.wallet_service().wallet_view(_user(request).uid)


@api.route("POST", "/gifts")
@_domain
def post_gift(request: Request):
    user = _user(request)
    b = parse_body(request, GiftBody)
    return bootstrap.wallet_service().spend_gift(
        user.uid,
        GiftSpend(b.stream_id, b.creator_id, b.gift_id, b.count, b.idempotency_key),
        user_name=str(user.claims.get("name") or ""),
    )


@api.route("POST", "/tiers/{level}/purchase")
@_domain
def post_tier(request: Request, level: str):
    user = _user(request)
    if not re.fullmatch(r"[1-9][0-9]{0,2}", level):  # a positive number, written plainly
        raise ApiError(400, "invalid_request", f"tier level {level!r} is not a positive number")
    b = parse_body(request, KeyBody)
    return bootstrap.wallet_service().buy_tier(user.uid, int(level), b.idempotency_key)


@api.route("POST", "/checkout/stripe")
@_domain
def post_checkout_stripe(request: Request):
    user = _user(request)
    b = parse_body(request, StripeCheckoutBody)
    return bootstrap.payment_flows().stripe_checkout(user.uid, b.pack_id, b.idempotency_key)


@api.route("POST", "/checkout/esewa")
@_domain
def post_checkout_esewa(request: Request):
    user = _user(request)
    b = parse_body(request, NprCheckoutBody)
    return bootstrap.payment_flows().esewa_start(user.uid, b.amount_npr, b.idempotency_key)


@api.route("POST", "/checkout/khalti")
@_domain
def post_checkout_khalti(request: Request):
    user = _user(request)
    b = parse_body(request, NprCheckoutBody)
    return bootstrap.payment_flows().khalti_start(user.uid, b.amount_npr, b.idempotency_key)


@api.route("POST", "/admin/adjust")
@_domain
def post_admin_adjust(request: Request):
    user = _user(request)
    if not user.is_admin:
        raise ApiError(403, "forbidden", "only admins adjust balances")
    b = parse_body(request, AdjustBody)
    return bootstrap.wallet_service().admin_adjust(
        user.uid,
        b.uid,
        account=b.account,
        amount=b.amount,
        reason=b.reason,
        key=b.idempotency_key,
        unlock=b.unlock,
    )


# ---------------------------------------------------------------------- payments_webhook
webhooks = Router("payments_webhook")
# What a public callback's answer leaves out: anyone holding a Khalti `pidx` (it is in the
# return URL) or an eSewa `data` may call these, so the payer and their wallet are not told
# (the app reads the wallet with the user's token: GET /wallet_api/wallet).
PRIVATE = ("uid", "balance", "locked", "xp_revoked")


def _public(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in PRIVATE}


@webhooks.route("POST", "/stripe")
@_domain
def stripe_webhook(request: Request):
    # The signature covers the exact bytes Stripe sent: never re-serialize before verifying.
    payload = request.get_data(cache=True)
    signature = request.headers.get("Stripe-Signature")
    return _public(bootstrap.payment_flows().stripe_webhook(payload, signature))


# What a provider's callback parameter may be: eSewa's `data` is base64 of a small JSON
# object, Khalti's `pidx` a short token. Anything else is refused before any lookup.
_PARAMS = {
    "data": re.compile(r"[A-Za-z0-9+/=_-]{1,8000}"),
    "pidx": re.compile(r"[A-Za-z0-9_-]{1,64}"),
}


def _param(request: Request, name: str) -> str:
    value = request.args.get(name) or request.form.get(name)
    if not value and request.is_json:
        body = json_body(request)
        value = body.get(name) if isinstance(body, dict) else None
    if not value:
        raise ApiError(400, "invalid_request", f"`{name}` is required")
    if not isinstance(value, str) or not _PARAMS[name].fullmatch(value):
        raise ApiError(400, "invalid_request", f"`{name}` is malformed")
    return value


@webhooks.route("GET", "/esewa")
@_domain
def esewa_get(request: Request):
    value = _param(request, "data")  # checked before any I/O
    return _public(bootstrap.payment_flows().esewa_callback(value))


@webhooks.route("POST", "/esewa")
@_domain
def esewa_post(request: Request):
    value = _param(request, "data")  # checked before any I/O
    return _public(bootstrap.payment_flows().esewa_callback(value))


@webhooks.route("GET", "/khalti")
@_domain
def khalti_get(request: Request):
    value = _param(request, "pidx")  # checked before any I/O
    return _public(bootstrap.payment_flows().khalti_callback(value))


@webhooks.route("POST", "/khalti")
@_domain
def khalti_post(request: Request):
    value = _param(request, "pidx")  # checked before any I/O
    return _public(bootstrap.payment_flows().khalti_callback(value))


# --------------------------------------------------------------------------- wallet_jobs
jobs = Router("wallet_jobs")


@jobs.route("POST", "/daily-bonus")
def job_daily_bonus(request: Request):
    return bootstrap.wallet_service().run_daily_bonus()


@jobs.route("POST", "/reconcile")
def job_reconcile(request: Request):
    return bootstrap.wallet_service().reconcile()


@jobs.route("POST", "/outbox")
def job_outbox(request: Request):
    """Every event outbox (service/outbox.py): in-app gifts, app chat messages and points
    redemptions."""
    total: dict[str, Any] = {"republished": 0, "failed": 0}
    for box in bootstrap.event_outboxes():
        counts = box.flush()
        total["republished"] += counts["republished"]
        total["failed"] += counts["failed"]
        total[box.collection] = counts
    return total


def wallet_api(request: Request):
    return api.dispatch(request)


def payments_webhook(request: Request):
    return webhooks.dispatch(request)


def wallet_jobs(request: Request):
    return jobs.dispatch(request)
