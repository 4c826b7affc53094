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
from typing import Any, TypeVar

from flask import Request, Response
from pydantic import BaseModel, ValidationError

from giftengine.adapters.auth import Principal, Unauthenticated, verify_bearer
from giftengine.domain.events import validation_reason

log = logging.getLogger("giftengine.http")
M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    """An expected failure with its HTTP status and a reason the caller can act on."""

    def __init__(self, status: int, code: str, reason: str, headers: dict[str, str] | None = None):
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason
        self.headers = headers or {}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, default=str), status=status, headers=headers, mimetype="application/json"
    )


def error_response(status: int, code: str, reason: str, headers: dict[str, str] | None = None):
    return json_response({"error": code, "reason": reason}, status, headers)


def parse_body(request: Request, model: type[M]) -> M:
    raw = request.get_data(cache=True)
    if not raw:
        raise ApiError(400, "invalid_request", "a JSON body is required")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise ApiError(400, "invalid_request", validation_reason(exc)) from None


def authenticate(request: Request, project_id: str) -> Principal:
    try:
        return verify_bearer(request.headers.get("Authorization"), project_id)
    except Unauthenticated as exc:
        raise ApiError(401, "unauthenticated", str(exc)) from None


Handler = Callable[..., Response | tuple | dict]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    """Method + path routing for one function. Paths may carry a `/<function>` prefix (the
    production URL shape); it is stripped before matching."""

    def __init__(self, function_name: str):
        self.prefix = "/" + function_name
        self.routes: list[Route] = []

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path.rstrip("/") or "/") + "/?$"

        def deco(fn: Handler) -> Handler:
            self.routes.append(Route(method.upper(), re.compile(regex), fn))
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
            return _call(r.handler, request, m.groupdict())
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
