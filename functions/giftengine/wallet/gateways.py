"""eSewa and Khalti adapters (Nepal), as their merchant docs specify.

eSewa ePay v2: the payment form carries an HMAC-SHA256 signature (base64) over
"total_amount=..,transaction_uuid=..,product_code=.." keyed by the merchant secret; the
success redirect carries `data`, base64 JSON whose `signature` covers the fields listed in its
`signed_field_names`, in that order. We recompute it and compare in constant time.

Khalti ePayment (KPG-2): `POST /epayment/initiate/` returns a `pidx`; the return URL's query
is not trusted: the payment is confirmed by a server-side `POST /epayment/lookup/` with the
secret key (`Authorization: Key <secret>`), whose `status` must be "Completed".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import requests

from giftengine.domain import bounded_json
from giftengine.wallet.errors import BadSignature, InvalidRequest

ESEWA_REQUEST_FIELDS = ("total_amount", "transaction_uuid", "product_code")


def esewa_signature(secret: str, fields: dict[str, Any], names: list[str] | tuple[str, ...]) -> str:
    message = ",".join(f"{n}={fields[n]}" for n in names)
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Esewa:
    def __init__(self, secret_key: str, product_code: str, form_url: str):
        self.secret_key, self.product_code, self.form_url = secret_key, product_code, form_url

    def payment_form(
        self, *, transaction_uuid: str, amount_npr: int, success_url: str, failure_url: str
    ) -> dict[str, Any]:
        """The fields the app posts to eSewa's form URL (amounts in rupees)."""
        if not self.secret_key:
            raise RuntimeError("ESEWA_SECRET_KEY is not set")
        fields: dict[str, Any] = {
            "amount": str(amount_npr),
            "tax_amount": "0",
            "total_amount": str(amount_npr),
            "transaction_uuid": transaction_uuid,
            "product_code": self.product_code,
            "product_service_charge": "0",
            "product_delivery_charge": "0",
            "success_url": success_url,
            "failure_url": failure_url,
            "signed_field_names": ",".join(ESEWA_REQUEST_FIELDS),
        }
        fields["signature"] = esewa_signature(self.secret_key, fields, ESEWA_REQUEST_FIELDS)
        return {"url": self.form_url, "method": "POST", "fields": fields}

    def verify_callback(self, data_b64: str) -> dict[str, Any]:
        """Decode and verify eSewa's success `data`; returns the verified fields."""
        if not self.secret_key:
            raise RuntimeError("ESEWA_SECRET_KEY is not set")
        try:
            data = bounded_json.loads(base64.b64decode(data_b64, validate=False), max_depth=4)
        except ValueError:  # binascii.Error, TooComplex
            raise InvalidRequest("`data` is not base64 JSON (a flat object)") from None
        if not isinstance(data, dict):
            raise InvalidRequest("`data` is not a JSON object")
        names = [n for n in str(data.get("signed_field_names", "")).split(",") if n]
        required = {"transaction_uuid", "total_amount", "product_code", "status"}
        if not required <= set(names) or any(n not in data for n in names):
            raise BadSignature(
                "signed_field_names must cover transaction_uuid, total_amount, "
                "product_code and status"
            )
        expected = esewa_signature(self.secret_key, data, names)
        if not hmac.compare_digest(expected, str(data.get("signature", ""))):
            raise BadSignature("eSewa signature does not verify")
        if data["product_code"] != self.product_code:
            raise BadSignature("eSewa product_code is not ours")
        return data


class Khalti:
    def __init__(self, secret_key: str, api_base: str, timeout_s: float = 10.0):
        self.secret_key, self.api_base, self.timeout_s = secret_key, api_base.rstrip("/"), timeout_s
        self._http = requests.Session()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if not self.secret_key:
            raise RuntimeError("KHALTI_SECRET_KEY is not set")
        r = self._http.post(
            f"{self.api_base}{path}",
            json=body,
            timeout=self.timeout_s,
            headers={"Authorization": f"Key {self.secret_key}"},
        )
        if r.status_code == 404 and path.startswith("/epayment/lookup"):
            raise BadSignature("Khalti does not know this pidx")
        if r.status_code >= 400:
            # 4xx from Khalti on our own request is our fault or config: let callers 5xx/retry.
            raise RuntimeError(f"Khalti {path} answered {r.status_code}: {r.text[:300]}")
        return r.json()

    def initiate(
        self,
        *,
        amount_paisa: int,
        purchase_order_id: str,
        purchase_order_name: str,
        return_url: str,
        website_url: str,
    ) -> dict[str, Any]:
        return self._post(
            "/epayment/initiate/",
            {
                "return_url": return_url,
                "website_url": website_url,
                "amount": amount_paisa,
                "purchase_order_id": purchase_order_id,
                "purchase_order_name": purchase_order_name,
            },
        )

    def lookup(self, pidx: str) -> dict[str, Any]:
        return self._post("/epayment/lookup/", {"pidx": pidx})
