"""Domain errors of the wallet. Each carries the HTTP status and code the API answers with."""

from __future__ import annotations


class WalletError(Exception):
    status = 400
    code = "invalid_request"

    def __init__(self, reason: str, **details: object):
        super().__init__(reason)
        self.reason = reason
        self.details = details


class InvalidRequest(WalletError):
    status, code = 400, "invalid_request"


class InsufficientFunds(WalletError):
    status, code = 402, "insufficient_funds"


class AccountLocked(WalletError):
    status, code = 403, "account_locked"


class TierRequired(WalletError):
    status, code = 403, "tier_required"


class NotFound(WalletError):
    status, code = 404, "not_found"


class Conflict(WalletError):
    """The request contradicts recorded state (idempotency key reused for another request,
    a stream that ended, a lower tier bought over a higher one)."""

    status, code = 409, "conflict"


class VelocityExceeded(WalletError):
    status, code = 429, "velocity_limit"

    def __init__(self, reason: str, retry_after_s: int):
        super().__init__(reason, retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s


class BadSignature(WalletError):
    """A payment callback whose signature (or server-side verification) does not hold."""

    status, code = 400, "bad_signature"


class StaleCallback(WalletError):
    status, code = 400, "stale_callback"
