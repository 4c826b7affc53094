"""A local stand-in for the few payment-provider APIs giftengine calls, for offline dev/tests.

    python -m giftengine_dev.wallet.stripe_fake --port 9845 \
        [--webhook-url http://127.0.0.1:PORT/payments_webhook/stripe] [--webhook-secret whsec_..]

Stripe (point the library at it with STRIPE_API_BASE=http://127.0.0.1:9845):
- POST /v1/checkout/sessions       form-encoded, as the stripe library sends it; honours
                                   Idempotency-Key; answers a `checkout.session` object.
- GET  /v1/checkout/sessions/{id}
- GET  /pay/{session_id}           the "hosted checkout page": a form with a Pay button.
- POST /pay/{session_id}           pays: sends a signed `checkout.session.completed` webhook
                                   (Stripe's v1 signature scheme) and redirects to success_url.
- POST /_fake/refund/{session_id}  sends a signed `charge.refunded` (full refund).
Khalti (KHALTI_API_BASE=http://127.0.0.1:9845):
- POST /epayment/initiate/, POST /epayment/lookup/ (`Authorization: Key ...`)
- GET  /khalti/pay/{pidx}          completes the payment and redirects to return_url.
- POST /_fake/khalti/{pidx}?status=Refunded   sets a payment's status.
eSewa (ESEWA_FORM_URL=http://127.0.0.1:9845/esewa/form):
- POST /esewa/form                 the ePay v2 form: checks the request signature, pays, and
                                   redirects to success_url?data=<signed base64 JSON>.
Error bodies follow Stripe's `{"error": {"type", "message"}}` shape.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
import stripe


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (a[b][0][c]=v) back into JSON-like structures."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        cur = root
        for part in parts[:-1]:
            cur = cur.setdefault(part, {})
        cur[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node


class FakeState:
    def __init__(self, base_url: str, webhook_url: str, webhook_secret: str, esewa_secret: str):
        self.base_url, self.webhook_url, self.webhook_secret = base_url, webhook_url, webhook_secret
        self.esewa_secret = esewa_secret
        self.sessions: dict[str, dict] = {}
        self.idempotency: dict[str, dict] = {}
        self.khalti: dict[str, dict] = {}
        self.lock = threading.Lock()

    def create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        sid = "cs_test_" + secrets.token_hex(12)
        items = params.get("line_items") or []
        amount = sum(int(i["price_data"]["unit_amount"]) * int(i.get("quantity", 1)) for i in items)
        session = {
            "id": sid,
            "object": "checkout.session",
            "mode": params.get("mode", "payment"),
            "amount_total": amount,
            "currency": (items[0]["price_data"]["currency"] if items else "usd"),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata") or {},
            "payment_status": "unpaid",
            "status": "open",
            "payment_intent": None,
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "created": int(time.time()),
            "livemode": False,
            "url": f"{self.base_url}/pay/{sid}",
        }
        self.sessions[sid] = session
        return session

    def send(self, etype: str, obj: dict[str, Any]) -> int:
        event = {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "type": etype,
            "created": int(time.time()),
            "livemode": False,
            "api_version": "2025-01-27",
            "data": {"object": obj},
        }
        body = json.dumps(event)
        header = stripe.WebhookSignature.generate_signature_header(body, self.webhook_secret)
        r = requests.post(
            self.webhook_url,
            data=body.encode(),
            timeout=30,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )
        return r.status_code


class Handler(BaseHTTPRequestHandler):
    state: FakeState
    server_version = "stripe-fake/1"

    def log_message(self, *args: Any) -> None:
        pass

    def _json(self, body: Any, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, etype: str = "invalid_request_error") -> None:
        self._json({"error": {"type": etype, "message": message}}, status)

    def _redirect(self, url: str) -> None:
        self.send_response(303)
        self.send_header("Location", url)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        st, path = self.state, urlsplit(self.path).path
        if m := re.fullmatch(r"/v1/checkout/sessions/([\w-]+)", path):
            if not self._stripe_auth():
                return
            s = st.sessions.get(m[1])
            return self._json(s) if s else self._error(404, f"No such checkout.session: {m[1]}")
        if m := re.fullmatch(r"/pay/([\w-]+)", path):
            s = st.sessions.get(m[1])
            if not s:
                return self._error(404, "no such session")
            html = (
                f"<html><body><h1>Pay {s['amount_total']} {s['currency']}</h1>"
                f"<form method=post><button>Pay</button></form></body></html>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)
            return None
        if m := re.fullmatch(r"/khalti/pay/([\w-]+)", path):
            p = st.khalti.get(m[1])
            if not p:
                return self._error(404, "no such pidx")
            p["status"], p["transaction_id"] = "Completed", "KT" + secrets.token_hex(6)
            q = urlencode(
                {
                    "pidx": m[1],
                    "status": "Completed",
                    "amount": p["total_amount"],
                    "purchase_order_id": p["purchase_order_id"],
                }
            )
            return self._redirect(f"{p['return_url']}?{q}")
        return self._error(404, f"Unrecognized request URL (GET: {path})")

    def do_POST(self) -> None:
        st, path = self.state, urlsplit(self.path).path
        if path == "/v1/checkout/sessions":
            if not self._stripe_auth():
                return None
            params = _nest(parse_qsl(self._body().decode(), keep_blank_values=True))
            key = self.headers.get("Idempotency-Key")
            with st.lock:
                if key and key in st.idempotency:
                    return self._json(st.idempotency[key])
                try:
                    session = st.create_session(params)
                except (KeyError, ValueError, TypeError) as exc:
                    return self._error(400, f"Invalid line_items: {exc}")
                if key:
                    st.idempotency[key] = session
            return self._json(session)
        if m := re.fullmatch(r"/pay/([\w-]+)", path):
            s = st.sessions.get(m[1])
            if not s:
                return self._error(404, "no such session")
            if s["payment_status"] != "paid":
                s.update(
                    payment_status="paid",
                    status="complete",
                    payment_intent="pi_" + secrets.token_hex(12),
                )
            code = st.send("checkout.session.completed", s)
            if code >= 300:
                return self._error(502, f"webhook answered {code}", "api_error")
            return self._redirect(s["success_url"] or "/")
        if m := re.fullmatch(r"/_fake/refund/([\w-]+)", path):
            s = st.sessions.get(m[1])
            if not s or not s.get("payment_intent"):
                return self._error(404, "no paid session")
            charge = {
                "id": "ch_" + s["payment_intent"][3:],
                "object": "charge",
                "payment_intent": s["payment_intent"],
                "amount": s["amount_total"],
                "amount_refunded": s["amount_total"],
                "refunded": True,
            }
            return self._json({"webhook_status": st.send("charge.refunded", charge)})
        if path in ("/epayment/initiate/", "/epayment/lookup/"):
            if not (self.headers.get("Authorization") or "").startswith("Key "):
                return self._json(
                    {"detail": "Authentication credentials were not provided.", "status_code": 401},
                    401,
                )
            try:
                body = json.loads(self._body() or b"{}")
            except ValueError:
                return self._json({"detail": "bad json"}, 400)
            return self._khalti(path, body)
        if path == "/esewa/form":
            return self._esewa_form(dict(parse_qsl(self._body().decode(), keep_blank_values=True)))
        if m := re.fullmatch(r"/_fake/khalti/([\w-]+)", path):
            p = st.khalti.get(m[1])
            if not p:
                return self._error(404, "no such pidx")
            p["status"] = dict(parse_qsl(urlsplit(self.path).query)).get("status", "Completed")
            return self._json(p)
        return self._error(404, f"Unrecognized request URL (POST: {path})")

    def _khalti(self, path: str, body: dict[str, Any]) -> None:
        st = self.state
        if path == "/epayment/initiate/":
            missing = [
                k
                for k in (
                    "return_url",
                    "website_url",
                    "amount",
                    "purchase_order_id",
                    "purchase_order_name",
                )
                if not body.get(k)
            ]
            if missing:
                return self._json(
                    {k: ["This field is required."] for k in missing}
                    | {"error_key": "validation_error"},
                    400,
                )
            pidx = secrets.token_urlsafe(16).replace("-", "x").replace("_", "y")
            st.khalti[pidx] = {
                "pidx": pidx,
                "total_amount": int(body["amount"]),
                "status": "Initiated",
                "transaction_id": None,
                "fee": 0,
                "refunded": False,
                "return_url": body["return_url"],
                "purchase_order_id": body["purchase_order_id"],
            }
            return self._json(
                {
                    "pidx": pidx,
                    "payment_url": f"{st.base_url}/khalti/pay/{pidx}",
                    "expires_at": "",
                    "expires_in": 1800,
                }
            )
        p = st.khalti.get(str(body.get("pidx")))
        if not p:
            return self._json({"detail": "Not found.", "error_key": "validation_error"}, 404)
        return self._json(
            {k: p[k] for k in ("pidx", "total_amount", "status", "transaction_id", "fee")}
            | {"refunded": p["status"] == "Refunded"}
        )

    def _esewa_form(self, form: dict[str, str]) -> None:
        """eSewa's ePay v2 form: check the request signature, "pay", and redirect to the
        success URL with `data` = base64 JSON signed over its signed_field_names."""
        from giftengine.wallet.gateways import ESEWA_REQUEST_FIELDS, esewa_signature

        key = self.state.esewa_secret
        if any(f not in form for f in (*ESEWA_REQUEST_FIELDS, "signature", "success_url")):
            return self._json({"error": "missing form fields"}, 400)
        if esewa_signature(key, form, ESEWA_REQUEST_FIELDS) != form["signature"]:
            return self._json({"error": "invalid signature"}, 400)
        names = (
            "transaction_code,status,total_amount,transaction_uuid,product_code,signed_field_names"
        )
        data = {
            "transaction_code": secrets.token_hex(4).upper(),
            "status": "COMPLETE",
            "total_amount": f"{float(form['total_amount']):.1f}",
            "transaction_uuid": form["transaction_uuid"],
            "product_code": form["product_code"],
            "signed_field_names": names,
        }
        data["signature"] = esewa_signature(key, data, names.split(","))
        encoded = base64.b64encode(json.dumps(data).encode()).decode()
        sep = "&" if "?" in form["success_url"] else "?"
        return self._redirect(f"{form['success_url']}{sep}{urlencode({'data': encoded})}")

    def _stripe_auth(self) -> bool:
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Bearer sk_"):
            self._error(401, "Invalid API Key provided")
            return False
        return True


def serve(
    port: int,
    webhook_url: str = "",
    webhook_secret: str = "",
    host: str = "127.0.0.1",
    esewa_secret: str = "8gBm/:&EnhH.1/q",
) -> ThreadingHTTPServer:
    """Start the fake in a background thread; returns the server (call .shutdown())."""
    state = FakeState(f"http://{host}:{port}", webhook_url, webhook_secret, esewa_secret)
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> None:
    import os

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=int(os.environ.get("STRIPE_FAKE_PORT", "12111")))
    ap.add_argument("--webhook-url", default=os.environ.get("STRIPE_FAKE_WEBHOOK_URL", ""))
    ap.add_argument("--webhook-secret", default=os.environ.get("STRIPE_WEBHOOK_SECRET", ""))
    ap.add_argument("--esewa-secret", default=os.environ.get("ESEWA_SECRET_KEY", "8gBm/:&EnhH.1/q"))
    args = ap.parse_args(argv)
    server = serve(args.port, args.webhook_url, args.webhook_secret, args.host, args.esewa_secret)
    print(f"stripe-fake listening on http://{args.host}:{args.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
