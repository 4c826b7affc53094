"""Shared HTTP plumbing for the HTTPS functions: routing, JSON bodies, error mapping.

Every HTTPS function answers bad input with a 4xx and `{"error", "reason"}`; an unexpected
exception becomes a logged 500 (callers such as Cloud Tasks and Stripe then retry).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

from flask import Request, Response
from pydantic import AfterValidator, BaseModel, ValidationError

from giftengine.adapters.auth import Principal, Unauthenticated, verify_bearer
from giftengine.domain import bounded_json, ids
from giftengine.domain.events import validation_reason

log = logging.getLogger("giftengine.http")
M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    """An expected failure with its HTTP status and a reason the caller can act on."""

    def __init__(self, status: int, code: str, reason: str, headers: dict[str, str] | None = None):
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason
        self.headers = headers or {}


def _json_default(value: Any) -> Any:
    """Dates as RFC 3339 (`2026-12-03T21:44:17.989093+00:00`), never Python's str()."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, default=_json_default),
        status=status,
        headers=headers,
        mimetype="application/json",
    )


def error_response(status: int, code: str, reason: str, headers: dict[str, str] | None = None):
    return json_response({"error": code, "reason": reason}, status, headers)


def unrouted(path: str):
    """The answer to a path the framework routes nowhere (a line break in a path segment
    does not match its catch-all route): JSON with a reason, not Flask's HTML page."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        return error_response(400, "invalid_request", "the path contains a control character")
    return error_response(404, "not_found", "no such path")


MAX_BODY_BYTES = bounded_json.MAX_BYTES


def _raw_body(request: Request) -> bytes:
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise ApiError(413, "too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")
    return raw


def json_body(request: Request) -> Any:
    """A raw JSON body within bounds (size, depth), or None when there is none or it is not
    JSON; bounds exceeded answer 4xx."""
    raw = _raw_body(request)
    if not raw:
        return None
    try:
        return bounded_json.loads(raw)
    except bounded_json.TooComplex as exc:
        if "deeper" in str(exc):
            raise ApiError(400, "invalid_request", str(exc)) from None
        return None


def query_flag(request: Request, name: str) -> bool:
    """A yes/no query parameter: absent, `0`/`false` or `1`/`true`; anything else is 400."""
    value = request.args.get(name)
    if value is None or value in ("0", "false"):
        return False
    if value in ("1", "true"):
        return True
    raise ApiError(400, "invalid_request", f"`{name}` must be 1, true, 0 or false")


def parse_body(request: Request, model: type[M]) -> M:
    """The body as `model`, in pydantic's strict JSON mode: the types docs/openapi.yaml
    states, no coercion (`"2"`, `true` or `2.0` for an integer, `1` or `"yes"` for a boolean
    are 400s; RFC 3339 strings still parse as date-times). pydantic's JSON parser bounds
    nesting itself (a ValidationError, so a 400)."""
    raw = _raw_body(request)
    if not raw:
        raise ApiError(400, "invalid_request", "a JSON body is required")
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise ApiError(400, "invalid_request", validation_reason(exc)) from None


def authenticate(request: Request, project_id: str, check_revoked: bool = False) -> Principal:
    try:
        return verify_bearer(request.headers.get("Authorization"), project_id, check_revoked)
    except Unauthenticated as exc:
        raise ApiError(401, "unauthenticated", str(exc)) from None


Handler = Callable[..., Response | tuple | dict]


def _storable(value: str) -> str:
    """Firestore stores UTF-8: lone surrogates (valid in JSON escapes) cannot be stored."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


# Free text in a request body (titles, reasons, notes): storable as sent.
StorableText = Annotated[str, AfterValidator(_storable)]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    free: tuple[str, ...] = ()  # path parameters that are not document ids
    before: bool = True  # run the router's `before` step (False: the handler runs its own)


class Router:
    """Method + path routing for one function. Paths may carry a `/<function>` prefix (the
    production URL shape); it is stripped before matching."""

    def __init__(
        self, function_name: str, before: Callable[[Request], Response | None] | None = None
    ):
        """`before` runs after the route and its path ids are checked, before the handler
        (e.g. a rate limiter); a Response it returns is the answer."""
        self.prefix = "/" + function_name
        self.routes: list[Route] = []
        self.before = before

    def route(
        self, method: str, path: str, free: tuple[str, ...] = (), before: bool = True
    ) -> Callable[[Handler], Handler]:
        """Every path parameter is a document id checked before the handler runs (a 400
        otherwise), except those named in `free`, which the handler validates itself.
        `before=False`: the router's `before` step is skipped; the handler takes its place
        (e.g. a rate limiter with the route's own budget)."""
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path.rstrip("/") or "/") + "/?$"

        def deco(fn: Handler) -> Handler:
            self.routes.append(Route(method.upper(), re.compile(regex), fn, free, before))
            return fn

        return deco

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path == self.prefix or path.startswith(self.prefix + "/"):
            path = path[len(self.prefix) :] or "/"
        allowed = []
        for r in self.routes:
            m = r.pattern.match(path)
            if not m:
                continue
            if r.method != request.method:
                allowed.append(r.method)
                continue
            params = m.groupdict()
            for name, value in params.items():
                problem = None if name in r.free else ids.id_problem(value)
                if problem is not None:
                    return error_response(400, "invalid_request", f"{name}: {problem}")
            early = self.before(request) if r.before and self.before is not None else None
            if early is not None:
                return early
            return _call(r.handler, request, params)
        if allowed:
            return error_response(
                405,
                "method_not_allowed",
                f"use {', '.join(sorted(set(allowed)))}",
                {"Allow": ", ".join(sorted(set(allowed)))},
            )
        return error_response(404, "not_found", f"no route for {request.method} {path}")


def _call(handler: Handler, request: Request, params: dict[str, str]) -> Response:
    try:
        result = handler(request, **params)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.reason, exc.headers)
    except Exception:
        log.exception("unhandled error in %s", getattr(handler, "__name__", handler))
        return error_response(500, "internal", "internal error; safe to retry")
    if isinstance(result, Response):
        return result
    if isinstance(result, tuple):
        return json_response(result[0], result[1])
    return json_response(result)
