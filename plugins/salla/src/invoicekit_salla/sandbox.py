"""A Salla sandbox: a real HTTP server on loopback that behaves like Salla's invoice API.

```python
from invoicekit_salla.sandbox import SallaSandbox

with SallaSandbox() as sandbox:
    gw = invoicekit.connect("salla", **sandbox.settings())
    ...
```

From a shell: `invoicekit sandbox salla --port 8080` (or `python -m invoicekit_salla.sandbox`);
in pytest, the `salla_sandbox` fixture.

What it emulates, from Salla's published documents:

* the four endpoints (`POST /orders/invoices` with JSON or multipart, `GET
  /orders/invoices/{id}`, `GET /orders/invoices`, `POST /orders/{id}/send-invoice`) under
  `/admin/v2`, in Salla's `{status, success, data}` / `{..., error: {code, message,
  fields}}` envelopes, with the quirks of the published examples (`sub_total` here,
  `subtotal` there, numbers and numeric strings, `"ر.س"` as a currency, `type` labels,
  list entries without `uuid`/`qr_code`, `pagination.links` as `[]` or an object);
* the validation rules and their Arabic messages (English with `Accept-Language: en`):
  required fields per `data_type`, `.pdf` URLs, PDF uploads, one tax invoice per order,
  no credit note before a tax invoice, unique invoice numbers per store, the store's
  issuance setting (`issuance="salla"` or `"custom"`);
* tokens with scopes (`orders.read`, `orders.read_write`), expiry and revocation, and the
  OAuth token endpoint at `/oauth2/token` with single-use refresh tokens (reusing one
  revokes the whole chain, as Salla does);
* seeded stores and orders whose customers have emails, except `NO_EMAIL_ORDER`, whose
  send fails with Salla's documented 422;
* Salla's leaky-bucket rate limit with `X-RateLimit-*`/`Retry-After` headers: the bucket
  holds the plan's per-minute allowance (`basic` 120, `plus` 360, `pro` 720) and drains
  one request per second;
* fault injection from the base class (`sandbox.faults.push(Fault.status_code(503))`).

Choices where Salla's documents are silent are listed in `docs/providers/salla.md`.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import secrets
import sys
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import attrs

from invoicekit import Customer, InvoiceDraft, LineItem, Money
from invoicekit.provider import json_body
from invoicekit.testing.sandbox import (
    RateLimit,
    Route,
    SandboxError,
    SandboxRequest,
    SandboxResponse,
    SandboxServer,
    UploadedFile,
)

from ._rules import CURRENCY, DATA_FIELDS, SALLA_ID, is_pdf_url
from .zatca import ZatcaQr, encode_qr

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_STORE",
    "DEFAULT_TOKEN",
    "MESSAGES",
    "NO_EMAIL_ORDER",
    "PLANS",
    "READ_ONLY_TOKEN",
    "SallaSandbox",
    "SentInvoice",
    "main",
]

DEFAULT_STORE = "1305146709"
"""The seeded store."""
DEFAULT_TOKEN = "salla_sandbox_rw_6c1f0e9b"  # noqa: S105 (a sandbox token, public by design)
"""An access token of the default store with `orders.read` and `orders.read_write`."""
READ_ONLY_TOKEN = "salla_sandbox_ro_3a7d2c41"  # noqa: S105
"""An access token of the default store with `orders.read` only."""
DEFAULT_CLIENT_ID = "sandbox-client"
"""The OAuth client the sandbox knows."""
DEFAULT_CLIENT_SECRET = "sandbox-client-secret-5e2a"  # noqa: S105
"""Its client secret."""
FIRST_ORDER = 1_000_001
"""The id of the first seeded order; orders follow consecutively."""
SEEDED_ORDERS = 30
NO_EMAIL_ORDER = str(FIRST_ORDER + SEEDED_ORDERS - 1)
"""A seeded order whose customer has no email: sending its invoice fails."""
PLANS: Mapping[str, int] = {"basic": 120, "plus": 360, "pro": 720}
"""Requests per minute (the bucket's size) by Salla plan."""

READ, WRITE = "orders.read", "orders.read_write"
_RIYADH = dt.timezone(dt.timedelta(hours=3))
_CENT = Decimal("0.01")

MESSAGES: Mapping[str, tuple[str, str]] = {
    "invalid_fields": ("alert.invalid_fields", "alert.invalid_fields"),
    "required.order_id": ("حقل order id مطلوب.", "The order id field is required."),
    "required.type": ("حقل نوع الفاتورة مطلوب.", "The invoice type field is required."),
    "required.data_type": ("حقل نوع بيانات الفاتورة  مطلوب.",
                           "The invoice data type field is required."),
    "invalid.type": ("حقل نوع الفاتورة غير صالحٍ", "The selected invoice type is invalid."),
    "invalid.data_type": ("حقل نوع بيانات الفاتورة غير صالحٍ",
                          "The selected invoice data type is invalid."),
    "wrong.order_id": ("رقم الطلب خاطئ . ", "The order id is wrong."),
    "required.invoice_number": (
        "حقل ر قم الفاتورة مطلوب في حال ما إذا كان نوع بيانات الفاتورة  يساوي data.",
        "The invoice number field is required when invoice data type is data."),
    "required.total": (
        "حقل الاجمالي الكلي مطلوب في حال ما إذا كان نوع بيانات الفاتورة  يساوي data.",
        "The total field is required when invoice data type is data."),
    "required.sub_total": (
        "حقل الاجمالي  مطلوب في حال ما إذا كان نوع بيانات الفاتورة  يساوي data.",
        "The sub total field is required when invoice data type is data."),
    "required.shipping_cost": (
        "حقل سعر الشحن مطلوب في حال ما إذا كان نوع بيانات الفاتورة  يساوي data.",
        "The shipping cost field is required when invoice data type is data."),
    "required.cash_on_delivery_cost": (
        "حقل سعر الدفع عند الإستلام مطلوب في حال ما إذا كان نوع بيانات الفاتورة  يساوي data.",
        "The cash on delivery cost field is required when invoice data type is data."),
    "required.tax": ("حقل نسبة الضريبة مطلوب في حال ما إذا كان نوع بيانات الفاتورة  يساوي data.",
                     "The tax field is required when invoice data type is data."),
    "required.tax_value": (
        "حقل قيمة الضريبة مطلوب في حال ما إذا كان نوع بيانات الفاتورة  يساوي data.",
        "The tax value field is required when invoice data type is data."),
    "numeric": ("يجب على الحقل {field} أن يكون رقمًا غير سالب.",
                "The {field} must be a non-negative number."),
    "required.url": ("حقل عنوان (url) مطلوب في حال ما إذا كان نوع بيانات الفاتورة  يساوي url.",
                     "The url field is required when invoice data type is url."),
    "pdf.url": ("يجب أن ينتهي  عنوان (url)  بأحد القيم التالية: .pdf",
                "The url must end with one of the following: .pdf"),
    "pdf.file": ("يجب أن يكون حقل ملفًا من نوع : pdf.", "The file must be a file of type: pdf."),
    "already_issued": ("تم اصدار فاتورة للطلب سابقا",
                       "An invoice has already been issued for this order"),
    "duplicate_number": ("رقم الفاتورة مكرر", "The invoice number is duplicated"),
    "credit_first": ("لايمكن إصدار فاتورة مسترجع لطلب ليس لديه فاتورة ضرريبية",
                     "A credit note cannot be issued for an order without a tax invoice"),
    "issuance.salla": (
        "لا يمكن اضافة فاتورة للطلب , اعدادات اصدار الفواتير في المتجر تتبع المزود الافتراضي ",
        "An invoice cannot be added: the store issues its invoices through the default "
        "provider"),
    "issuance.custom": ("هذا النوع لايتناسب مع إعدادات طريقة إصدار الفواتير في متجرك . ",
                        "This data type does not match the store's invoice issuance settings."),
    "not_found": ("المحتوى الذي تحاول الوصول اليه غير متوفر",
                  "The content you are trying to reach is not available"),
    "send_failed": ("حصل خطأ غير متوقع يرجى إعادة المُحاولة لاحقاً",
                    "An unexpected error occurred, please try again later"),
    "sent": ("تم ارسال رسالة الفاتورة بنجاح", "The invoice message was sent successfully"),
    "date": ("حقل {field} ليس تاريخًا صحيحًا.", "The {field} is not a valid date."),
    "page": ("يجب أن تكون قيمة الحقل {field} عددًا صحيحًا أكبر من صفر.",
             "The {field} must be a positive integer."),
    "token": ("The access token is invalid or has expired.",
              "The access token is invalid or has expired."),
    "scope": ("The access token should have access to one of those scopes: {scope}",
              "The access token should have access to one of those scopes: {scope}"),
    "rate_limited": ("Too Many Attempts.", "Too Many Attempts."),
}
"""Every message the sandbox sends, `(Arabic, English)`. The Arabic texts that appear in
Salla's published examples are copied verbatim (their double spaces included); the
others, and every English text, are the sandbox's own wording."""


@attrs.frozen(slots=True)
class SentInvoice:
    """One invoice email the sandbox "sent"."""

    order_id: str
    invoice_id: str
    to: str


@attrs.define
class _Token:
    store: str
    scopes: frozenset[str]
    expires: float | None = None
    revoked: bool = False
    chain: str | None = None


@attrs.define
class _Refresh:
    store: str
    client_id: str
    scopes: frozenset[str]
    chain: str
    used: bool = False


def _money(value: Decimal) -> Decimal:
    return value.quantize(_CENT)


def _number(value: Any) -> Decimal | None:
    """A JSON number or numeric string (Laravel's `numeric`), non-negative, or `None`."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() and number >= 0 else None


def _json(status: int, data: Any, headers: Mapping[str, str] | None = None) -> SandboxResponse:
    # `json_body` writes Decimals as exact JSON numbers, as Salla's PHP backend does.
    return SandboxResponse(status, json_body(data),
                           {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


class SallaSandbox(SandboxServer):
    """An in-memory Salla merchant API on `http://127.0.0.1:PORT/admin/v2`.

    `plan` (`basic`, `plus`, `pro`) turns on Salla's rate limit for that plan; `rate_limit`
    sets any other limit. `issuance` is the store's invoice setting: `"any"` (accept every
    `data_type`), `"salla"` (only `order`) or `"custom"` (only `data`, `url`, `file`).
    """

    name: ClassVar[str] = "salla"
    base_path: ClassVar[str] = ""
    api_path: ClassVar[str] = "/admin/v2"
    """Where the merchant API lives; the token endpoint is `/oauth2/token` beside it."""
    default_port: ClassVar[int] = 8080

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """`--plan` (Salla's rate limit, basic by default) and `--issuance`."""
        parser.add_argument("--plan", choices=[*PLANS, "none"], default="basic",
                            help="Salla plan whose rate limit to apply (none: unlimited)")
        parser.add_argument("--issuance", choices=("any", "salla", "custom"), default="any",
                            help="the store's invoice issuance setting")

    @classmethod
    def from_arguments(cls, args: argparse.Namespace, *, host: str, port: int
                       ) -> SallaSandbox:
        """The sandbox the command-line options describe."""
        return cls(host=host, port=port, plan=None if args.plan == "none" else args.plan,
                   issuance=args.issuance)

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        plan: str | None = None,
        rate_limit: RateLimit | None = None,
        issuance: str = "any",
        default_page_size: int = 15,
        token_lifetime: int = 14 * 24 * 3600,
    ) -> None:
        if plan is not None and plan not in PLANS:
            raise ValueError(f"plan must be one of {', '.join(PLANS)}")
        if issuance not in ("any", "salla", "custom"):
            raise ValueError("issuance must be 'any', 'salla' or 'custom'")
        if rate_limit is None and plan is not None:
            # A bucket of the plan's allowance that drains one request per second.
            rate_limit = RateLimit(PLANS[plan], PLANS[plan], model="leaky")
        super().__init__(host=host, port=port, rate_limit=rate_limit)
        self.plan = plan
        self.default_page_size = default_page_size
        self.token_lifetime = token_lifetime
        self.today: dt.date | None = None
        """Set to issue invoices on a fixed date (for date-filter tests)."""
        self.stores: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, _Token] = {}
        self.refresh_tokens: dict[str, _Refresh] = {}
        self.clients: dict[str, str] = {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
        self.orders: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.sent: list[SentInvoice] = []
        self._next_invoice = 1_100_000_001
        self._next_order = FIRST_ORDER
        self.add_store(DEFAULT_STORE, "متجر التجربة", issuance=issuance)
        self.add_token(DEFAULT_TOKEN, scopes=(READ, WRITE))
        self.add_token(READ_ONLY_TOKEN, scopes=(READ,))
        for n in range(SEEDED_ORDERS):
            last = n == SEEDED_ORDERS - 1
            self.add_order(email=None if last else f"customer{n + 1}@example.sa",
                           customer=f"عميل {n + 1}")

    # ---- setup and observation (tests, the demo) ------------------------------------------------
    def add_store(self, store_id: str, name: str, *, vat_number: str = "310122393500003",
                  issuance: str = "any") -> str:
        """Create a store (its invoices are numbered and limited separately)."""
        with self.lock:
            self.stores[store_id] = {"id": store_id, "name": name, "vat_number": vat_number,
                                     "issuance": issuance}
            return store_id

    def add_token(self, token: str | None = None, *, store: str = DEFAULT_STORE,
                  scopes: Iterable[str] = (READ, WRITE), expires: float | None = None) -> str:
        """Accept *token* (or a new one) for *store* with *scopes*; returns the token."""
        with self.lock:
            value = token or f"salla_at_{secrets.token_hex(12)}"
            self.tokens[value] = _Token(store, frozenset(scopes), expires)
            return value

    def expire_token(self, token: str = DEFAULT_TOKEN) -> None:
        """Make *token* expired: requests with it get 401 from now on."""
        with self.lock:
            self.tokens[token].expires = time.time() - 1

    def grant(self, *, store: str = DEFAULT_STORE, scopes: Iterable[str] = (READ, WRITE),
              client_id: str = DEFAULT_CLIENT_ID, lifetime: int | None = None
              ) -> dict[str, Any]:
        """What an app gets when a merchant authorises it: a new token chain.

        Returns `access_token`, `refresh_token`, `expires` (Unix time) and `scope`.
        """
        with self.lock:
            return self._issue(store, client_id, frozenset(scopes), uuid.uuid4().hex, lifetime)

    def _issue(self, store: str, client_id: str, scopes: frozenset[str], chain: str,
               lifetime: int | None) -> dict[str, Any]:
        expires = int(time.time()) + (self.token_lifetime if lifetime is None else lifetime)
        access = f"salla_at_{secrets.token_hex(16)}"
        refresh = f"salla_rt_{secrets.token_hex(16)}"
        self.tokens[access] = _Token(store, scopes, expires, chain=chain)
        self.refresh_tokens[refresh] = _Refresh(store, client_id, scopes, chain)
        return {"access_token": access, "token_type": "bearer", "expires": expires,
                "refresh_token": refresh, "scope": " ".join(sorted(scopes))}

    def add_order(self, *, store: str = DEFAULT_STORE, email: str | None = "buyer@example.sa",
                  customer: str = "عميل التجربة", items: Sequence[Mapping[str, Any]] | None = None,
                  shipping: Decimal = Decimal("23"), cod: Decimal = Decimal("0"),
                  tax_percent: Decimal = Decimal("15")) -> str:
        """Create an order (the thing Salla invoices belong to); returns its id."""
        lines = [dict(i) for i in items] if items is not None else [
            {"name": "شاحن آنكر 1000", "sku": "PRO-001", "product_id": "977135276",
             "quantity": 1, "price": Decimal("130")}]
        with self.lock:
            order_id = str(self._next_order)
            self._next_order += 1
            self.orders[order_id] = {
                "id": order_id, "store": store, "customer": {"name": customer, "email": email},
                "items": lines, "shipping": shipping, "cod": cod, "tax_percent": tax_percent,
                "payment_method": "bank",
            }
            return order_id

    def sample_draft(self, n: int = 1) -> InvoiceDraft:
        """A valid, sendable draft for this platform, unique for each *n*.

        It creates what the draft needs here first: a new order of the default store
        whose customer has an email (so sending works), with one line of two items at
        100.00 SAR. The draft is a data-form tax invoice for that order, numbered
        `F-{n:05d}`, its amounts consistent with each other and with the order
        (subtotal 200.00, 15% tax 30.00, total 230.00, no shipping or cash on delivery),
        issued on `today` (or the sandbox's current date). The fake's `salla` profile
        serves it as its `sample_draft()`.
        """
        price = Decimal("100.00")
        quantity = 2
        name = f"منتج {n}"
        email = f"customer{n}@example.sa"
        order_id = self.add_order(
            email=email, customer=f"عميل {n}", shipping=Decimal("0"),
            items=[{"name": name, "sku": f"SKU-{n}", "product_id": str(5_000_000 + n),
                    "quantity": quantity, "price": price}])
        unit = Money(price, CURRENCY)
        subtotal = unit * quantity
        tax = (subtotal * Decimal("0.15")).quantize()
        zero = Money(0, CURRENCY)
        return InvoiceDraft(
            order_id=order_id, number=f"F-{n:05d}",
            customer=Customer(name=f"عميل {n}", email=email),
            currency=CURRENCY, issue_date=self._today(),
            items=(LineItem(name=name, quantity=quantity, unit_price=unit, total=subtotal,
                            tax_rate=Decimal(15), sku=f"SKU-{n}"),),
            subtotal=subtotal, shipping=zero, cash_on_delivery=zero,
            tax_rate=Decimal(15), tax=tax, total=subtotal + tax,
        )

    def settings(self, token: str = DEFAULT_TOKEN) -> dict[str, str]:
        """`connect("salla", **sandbox.settings())` keyword arguments."""
        return {"token": token, "base_url": self.url}

    def oauth_settings(self, *, lifetime: int | None = None,
                       scopes: Iterable[str] = (READ, WRITE)) -> dict[str, Any]:
        """Settings for a gateway that renews its tokens against this sandbox."""
        grant = self.grant(lifetime=lifetime, scopes=scopes)
        return {"token": grant["access_token"], "refresh_token": grant["refresh_token"],
                "expires": grant["expires"], "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET, "token_url": self.token_url,
                "base_url": self.url}

    @property
    def url(self) -> str:
        """The API base URL (`.../admin/v2`): pass it as `base_url`."""
        return super().url + self.api_path

    @property
    def token_url(self) -> str:
        """The OAuth token endpoint: pass it as `token_url`."""
        return super().url + "/oauth2/token"

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the state, to assert that a refused call changed nothing."""
        with self.lock:
            return copy.deepcopy({"invoices": self.invoices, "files": self.files,
                                  "sent": list(self.sent), "orders": self.orders})

    def invoices_of(self, order_id: str) -> list[dict[str, Any]]:
        """The invoices issued for *order_id*, oldest first."""
        with self.lock:
            return [copy.deepcopy(i) for i in self.invoices.values()
                    if str(i["order_id"]) == order_id]

    def describe(self) -> str:
        """Connection details (what `invoicekit sandbox salla` prints)."""
        plan = self.plan or "none"
        return (f"Salla sandbox at {self.url}\n  token:      {DEFAULT_TOKEN}\n"
                f"  read-only:  {READ_ONLY_TOKEN}\n  token_url:  {self.token_url}\n"
                f"  orders:     {FIRST_ORDER}..{FIRST_ORDER + SEEDED_ORDERS - 1} "
                f"({NO_EMAIL_ORDER} has no customer email)\n  rate limit: plan {plan}")

    # ---- the base class's hooks -----------------------------------------------------------------
    def routes(self) -> Iterable[Route]:
        """Salla's invoice endpoints, the token endpoint, and uploaded PDFs."""
        api = self.api_path
        digits = SALLA_ID.regex  # any other id is not found, as on Salla
        return (
            Route("POST", rf"{api}/orders/invoices", self._route_create),
            Route("GET", rf"{api}/orders/invoices", self._route_list),
            Route("GET", rf"{api}/orders/invoices/(?P<invoice_id>{digits})", self._route_details),
            Route("POST", rf"{api}/orders/(?P<order_id>{digits})/send-invoice", self._route_send),
            Route("POST", r"/oauth2/token", self._route_token),
            Route("GET", r"/files/(?P<invoice_id>[0-9]+)\.pdf", self._route_file),
        )

    def rate_limit_key(self, request: SandboxRequest) -> str:
        """Salla limits per store."""
        token = self.tokens.get(request.bearer_token or "")
        return f"store:{token.store}" if token is not None else "anonymous"

    def rate_limited(self, request: SandboxRequest, headers: Mapping[str, str]
                     ) -> SandboxResponse:
        """Salla's 429 envelope."""
        return _json(429, self._error_envelope(429, "Too Many Requests",
                                               self._t(request, "rate_limited")), headers)

    def not_found(self, request: SandboxRequest) -> SandboxResponse:
        """Salla's 404 envelope, message in the request's language."""
        return _json(404, self._error_envelope(404, "error", self._t(request, "not_found")))

    def error_body(self, status: int, body: Any) -> SandboxResponse:
        """Errors raised by the base class (bad JSON) in Salla's envelope."""
        if isinstance(body, dict) and "success" in body:
            return _json(status, body)
        text = body.get("error") if isinstance(body, dict) else None
        return _json(status, self._error_envelope(status, "error", str(text or body)))

    def internal_error(self, exc: Exception) -> SandboxResponse:
        """A 500 in Salla's envelope."""
        return _json(500, self._error_envelope(500, "error", MESSAGES["send_failed"][0]))

    # ---- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _lang(request: SandboxRequest) -> int:
        return 1 if request.headers.get("accept-language", "").lower().startswith("en") else 0

    def _t(self, request: SandboxRequest, key: str, **values: str) -> str:
        return MESSAGES[key][self._lang(request)].format(**values)

    @staticmethod
    def _error_envelope(status: int, code: str, message: str,
                        fields: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {"code": code, "message": message}
        if fields is not None:
            error["fields"] = dict(fields)
        return {"status": status, "success": False, "error": error}

    def _fail(self, status: int, code: str, message: str,
              fields: Mapping[str, list[str]] | None = None) -> SandboxError:
        return SandboxError(status, self._error_envelope(status, code, message, fields))

    def _invalid(self, request: SandboxRequest, fields: Mapping[str, list[str]]) -> SandboxError:
        return self._fail(422, "error", self._t(request, "invalid_fields"), fields)

    @staticmethod
    def _ok(data: Any, **extra: Any) -> SandboxResponse:
        return _json(200, {"status": 200, "success": True, "data": data, **extra})

    def _auth(self, request: SandboxRequest, scope: str) -> _Token:
        token = self.tokens.get(request.bearer_token or "")
        if token is None or token.revoked or (token.expires is not None
                                              and token.expires <= time.time()):
            raise self._fail(401, "Unauthorized", self._t(request, "token"))
        allowed = {READ: (READ, WRITE), WRITE: (WRITE,)}[scope]
        if not token.scopes.intersection(allowed):
            raise self._fail(401, "Unauthorized", self._t(request, "scope", scope=scope))
        return token

    def _today(self) -> dt.date:
        return self.today or dt.datetime.now(_RIYADH).date()

    @staticmethod
    def _amount(value: Decimal | str, currency: str = "SAR", **extra: Any) -> dict[str, Any]:
        return {"amount": value, "currency": currency, **extra}

    # ---- POST /orders/invoices ------------------------------------------------------------------
    def _body(self, request: SandboxRequest) -> tuple[dict[str, Any], UploadedFile | None]:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            fields, files = request.form()
            return dict(fields), files.get("file")
        if not request.body.strip():
            return {}, None
        try:
            body = json.loads(request.body.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, ValueError):
            raise self._fail(400, "error", "body is not valid JSON") from None
        if not isinstance(body, dict):
            raise self._fail(400, "error", "body must be a JSON object")
        return body, None

    def _route_create(self, request: SandboxRequest) -> SandboxResponse:
        token = self._auth(request, WRITE)
        body, upload = self._body(request)
        store = self.stores[token.store]
        problems: dict[str, list[str]] = {}

        def add(name: str, key: str, **values: str) -> None:
            problems.setdefault(name, []).append(self._t(request, key, **values))

        kind, data_type = body.get("type"), body.get("data_type")
        raw_order = body.get("order_id")
        if raw_order in (None, ""):
            add("order_id", "required.order_id")
        if kind in (None, ""):
            add("type", "required.type")
        elif kind not in ("tax_invoice", "credit_note"):
            add("type", "invalid.type")
        if data_type in (None, ""):
            add("data_type", "required.data_type")
        elif data_type not in ("data", "url", "file", "order"):
            add("data_type", "invalid.data_type")
        if problems:
            raise self._invalid(request, problems)

        with self.lock:
            # Salla's order ids are digits (a JSON integer, or the same as a form field).
            order_key = str(raw_order) if isinstance(raw_order, int | str) else ""
            order = self.orders.get(order_key) if SALLA_ID.matches(order_key) else None
            if order is None or order["store"] != token.store or isinstance(raw_order, bool):
                raise self._invalid(request, {"order_id": [self._t(request, "wrong.order_id")]})
            issuance = store["issuance"]
            if issuance == "salla" and data_type != "order":
                raise self._invalid(request,
                                    {"invoice_provider": [self._t(request, "issuance.salla")]})
            if issuance == "custom" and data_type == "order":
                raise self._invalid(request,
                                    {"data_type": [self._t(request, "issuance.custom")]})
            values: dict[str, Decimal] = {}
            if data_type == "data":
                for field in DATA_FIELDS:
                    if body.get(field.wire) in (None, ""):
                        add(field.wire, f"required.{field.wire}")
                    elif field.amount:
                        number = _number(body[field.wire])
                        if number is None:
                            add(field.wire, "numeric", field=field.wire)
                        else:
                            values[field.wire] = number
            elif data_type == "url":
                url = body.get("url")
                if not isinstance(url, str) or not url:
                    add("url", "required.url")
                elif not is_pdf_url(url):
                    add("url", "pdf.url")
            elif data_type == "file" and (upload is None or not upload.data.startswith(b"%PDF-")):
                add("file", "pdf.file")
            existing = [i for i in self.invoices.values() if i["order_id"] == int(order_key)]
            has_tax = any(i["type"] == "Tax Invoice" for i in existing)
            has_credit = any(i["type"] == "Credit Note" for i in existing)
            if kind == "tax_invoice" and has_tax:
                add("type", "already_issued")
            if kind == "credit_note":
                if not has_tax:
                    add("type", "credit_first")
                elif has_credit:
                    add("type", "already_issued")
            number = body.get("invoice_number")
            if data_type == "data" and number not in (None, "") and any(
                i.get("invoice_number") == str(number) for i in self.invoices.values()
                if i["store"] == token.store
            ):
                add("invoice_number", "duplicate_number")
            if problems:
                raise self._invalid(request, problems)
            invoice = self._record(store, order, str(kind), str(data_type), body, values, upload)
        return self._ok(self._create_answer(invoice))

    def _record(self, store: dict[str, Any], order: dict[str, Any], kind: str, data_type: str,
                body: Mapping[str, Any], values: Mapping[str, Decimal],
                upload: UploadedFile | None) -> dict[str, Any]:
        invoice_id = str(self._next_invoice)
        self._next_invoice += 1
        subtotal = _money(sum((Decimal(i["quantity"]) * i["price"] for i in order["items"]),
                              Decimal(0)))
        percent = order["tax_percent"]
        tax_value = _money((subtotal + order["shipping"]) * percent / 100)
        amounts = {
            "sub_total": subtotal, "shipping_cost": order["shipping"],
            "cash_on_delivery_cost": order["cod"], "tax": percent, "tax_value": tax_value,
            "total": subtotal + order["shipping"] + order["cod"] + tax_value,
        }
        if data_type == "data":
            amounts.update(values)
        issued = self._today()
        # Salla's schema has `invoice_number` as a string on every invoice: a data invoice
        # carries the merchant's, the others the store's next free sequence number.
        number = (str(body["invoice_number"]) if data_type == "data"
                  else self._next_number(store["id"]))
        url = None
        if data_type == "url":
            url = str(body["url"])
        elif data_type == "file" and upload is not None:
            self.files[invoice_id] = upload.data
            url = f"{super().url}/files/{invoice_id}.pdf"
        qr = None
        if data_type in ("data", "order"):
            stamp = dt.datetime.combine(issued, dt.time(12, 0), tzinfo=dt.UTC)
            qr = encode_qr(ZatcaQr(store["name"], store["vat_number"], stamp,
                                   _money(amounts["total"]), _money(amounts["tax_value"])))
        invoice = {
            "id": int(invoice_id), "store": store["id"], "order_id": int(order["id"]),
            "type": "Tax Invoice" if kind == "tax_invoice" else "Credit Note",
            "data_type": data_type, "invoice_number": number, "uuid": str(uuid.uuid4()),
            "date": issued.isoformat(), "qr_code": qr, "url": url,
            "payment_method": order["payment_method"], "amounts": amounts,
            "items": copy.deepcopy(order["items"]),
        }
        self.invoices[invoice_id] = invoice
        return invoice

    def _next_number(self, store_id: str) -> str:
        # The store's invoice count plus one, skipping numbers the merchant already used.
        taken = {i["invoice_number"] for i in self.invoices.values() if i["store"] == store_id}
        n = len(taken) + 1
        while str(n) in taken:
            n += 1
        return str(n)

    def _create_answer(self, inv: Mapping[str, Any]) -> dict[str, Any]:
        """The create endpoint's answer, shaped like Salla's examples for each data_type."""
        head = {"id": inv["id"], "order_id": inv["order_id"], "type": inv["type"]}
        if inv["data_type"] in ("url", "file"):
            return {**head, "url": inv["url"], "date": inv["date"]}
        a = inv["amounts"]
        riyal = "ر.س"  # the create example's currency
        return {
            **head, "invoice_number": inv["invoice_number"],
            "sub_total": self._amount(a["sub_total"], riyal),
            "shipping_cost": self._amount(a["shipping_cost"], riyal),
            "cod_cost": self._amount(a["cash_on_delivery_cost"], riyal),
            "discount": self._amount(Decimal(0), riyal),
            "tax": {"percent": a["tax"], "amount": self._amount(a["tax_value"], riyal)},
            "total": self._amount(a["total"], riyal),
            "date": inv["date"],
            "items": [self._item(i, a["tax"], as_strings=True) for i in inv["items"]],
        }

    def _item(self, item: Mapping[str, Any], percent: Decimal, *, as_strings: bool
              ) -> dict[str, Any]:
        qty = Decimal(item["quantity"])
        price = item["price"]
        tax = _money(price * qty * percent / 100)

        def amount(value: Decimal) -> dict[str, Any]:
            # The create example writes item amounts as strings ("90.50"), details as numbers.
            return self._amount(str(_money(value)) if as_strings else value)

        return {
            "name": item["name"], "sku": item.get("sku"), "product_id": item.get("product_id"),
            "quantity": item["quantity"], "type": "product", "price": amount(price),
            "discount": amount(Decimal(0)),
            "tax": {"percent": str(_money(percent)) if as_strings else percent,
                    "amount": amount(tax)},
            "total": self._amount(_money(price * qty) + tax),
        }

    def _details_answer(self, inv: Mapping[str, Any], *, listing: bool = False
                        ) -> dict[str, Any]:
        """The details endpoint's shape (`sub_total`); list entries use `subtotal`, leave out
        `uuid` and `qr_code`, and `invoice_number` when there is none."""
        a = inv["amounts"]
        answer: dict[str, Any] = {
            "id": inv["id"], "invoice_number": inv["invoice_number"], "uuid": inv["uuid"],
            "order_id": inv["order_id"], "invoice_reference_id": None, "type": inv["type"],
            "date": inv["date"], "qr_code": inv["qr_code"],
            "payment_method": inv["payment_method"],
            "sub_total": self._amount(a["sub_total"]),
            "shipping_cost": self._amount(a["shipping_cost"], taxable=True),
            "cod_cost": self._amount(a["cash_on_delivery_cost"], taxable=True),
            "discount": self._amount(Decimal(0)),
            "tax": {"percent": a["tax"], "amount": self._amount(a["tax_value"])},
            "total": self._amount(a["total"]),
            "items": [self._item(i, a["tax"], as_strings=False) for i in inv["items"]],
        }
        if inv["url"] is not None:
            answer["url"] = inv["url"]
        if listing:
            answer["subtotal"] = answer.pop("sub_total")
            del answer["uuid"]
            del answer["qr_code"]
            if answer["invoice_number"] is None:
                del answer["invoice_number"]
        return answer

    # ---- GET /orders/invoices/{id} --------------------------------------------------------------
    def _route_details(self, request: SandboxRequest, invoice_id: str) -> SandboxResponse:
        token = self._auth(request, READ)
        with self.lock:
            inv = self.invoices.get(invoice_id)
            if inv is None or inv["store"] != token.store:
                raise self._fail(404, "error", self._t(request, "not_found"))
            return self._ok(self._details_answer(inv))

    # ---- GET /orders/invoices -------------------------------------------------------------------
    def _route_list(self, request: SandboxRequest) -> SandboxResponse:
        token = self._auth(request, READ)
        problems: dict[str, list[str]] = {}
        numbers: dict[str, int] = {}
        for field, default in (("page", 1), ("per_page", self.default_page_size)):
            text = request.param(field)
            if text is None:
                numbers[field] = default
            elif text.isdigit() and int(text) > 0:
                numbers[field] = min(int(text), 100) if field == "per_page" else int(text)
            else:
                problems[field] = [self._t(request, "page", field=field)]
        dates: dict[str, str] = {}
        for field in ("from_date", "to_date"):
            text = request.param(field)
            if text is None:
                continue
            try:
                dates[field] = dt.date.fromisoformat(text).isoformat()
            except ValueError:
                problems[field] = [self._t(request, "date", field=field)]
        order_id = request.param("order_id")
        if problems:
            raise self._invalid(request, problems)
        with self.lock:
            chosen = [
                inv for inv in sorted(self.invoices.values(), key=lambda i: -int(i["id"]))
                if inv["store"] == token.store
                and (order_id is None or str(inv["order_id"]) == order_id)
                and inv["date"] >= dates.get("from_date", "")
                and inv["date"] <= dates.get("to_date", "9999-12-31")
            ]
            page, per_page = numbers["page"], numbers["per_page"]
            pages = max(1, -(-len(chosen) // per_page))
            window = chosen[(page - 1) * per_page: page * per_page]
            data = [self._details_answer(inv, listing=True) for inv in window]
        links: dict[str, str] = {}
        base = f"{self.url}/orders/invoices?page="
        if page < pages:
            links["next"] = f"{base}{page + 1}"
        if page > 1:
            links["previous"] = f"{base}{page - 1}"
        pagination: dict[str, Any] = {
            "count": len(data), "total": len(chosen), "perPage": per_page,
            "currentPage": page, "totalPages": pages,
            # PHP sends an empty map as a list: `[]` when there is no link, else an object.
            "links": links or [],
        }
        return self._ok(data, pagination=pagination)

    # ---- POST /orders/{order_id}/send-invoice ---------------------------------------------------
    def _route_send(self, request: SandboxRequest, order_id: str) -> SandboxResponse:
        token = self._auth(request, WRITE)
        with self.lock:
            order = self.orders.get(order_id)
            if order is None or order["store"] != token.store:
                raise self._fail(404, "error", self._t(request, "not_found"))
            issued = [i for i in self.invoices.values() if str(i["order_id"]) == order_id]
            email = order["customer"]["email"]
            if not issued or not email:
                # Salla's documented answer: a bare message, no code, no fields.
                raise SandboxError(422, {"status": 422, "success": False,
                                         "error": {"message": self._t(request, "send_failed")}})
            self.sent.append(SentInvoice(order_id, str(issued[-1]["id"]), email))
        return self._ok({"message": self._t(request, "sent")})

    # ---- POST /oauth2/token ---------------------------------------------------------------------
    def _route_token(self, request: SandboxRequest) -> SandboxResponse:
        fields, _ = request.form()
        if not fields and request.body.strip():
            try:
                loaded = json.loads(request.body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                loaded = {}
            fields = {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}

        def oauth_error(status: int, error: str, description: str) -> SandboxResponse:
            # The token endpoint answers in OAuth's shape, not in the API's envelope.
            return _json(status, {"error": error, "error_description": description})

        if fields.get("grant_type") != "refresh_token":
            return oauth_error(400, "unsupported_grant_type",
                               "The authorization grant type is not supported.")
        client_id = fields.get("client_id", "")
        secret = self.clients.get(client_id)
        if secret is None or not secrets.compare_digest(secret, fields.get("client_secret", "")):
            return oauth_error(401, "invalid_client", "Client authentication failed")
        with self.lock:
            refresh = self.refresh_tokens.get(fields.get("refresh_token", ""))
            if refresh is None or refresh.client_id != client_id:
                return oauth_error(400, "invalid_grant", "The refresh token is invalid.")
            if refresh.used:
                # Reuse of a spent refresh token: revoke the whole chain, as Salla does.
                for tok in self.tokens.values():
                    if tok.chain == refresh.chain:
                        tok.revoked = True
                for other in self.refresh_tokens.values():
                    if other.chain == refresh.chain:
                        other.used = True
                return oauth_error(400, "invalid_grant", "The refresh token has been revoked.")
            refresh.used = True
            for tok in self.tokens.values():
                if tok.chain == refresh.chain:
                    tok.revoked = True
            issued = self._issue(refresh.store, client_id, refresh.scopes, refresh.chain, None)
        return _json(200, issued, {"Cache-Control": "no-store"})

    def _route_file(self, request: SandboxRequest, invoice_id: str) -> SandboxResponse:
        with self.lock:
            data = self.files.get(invoice_id)
        if data is None:
            return self.not_found(request)
        return SandboxResponse(200, data, {"Content-Type": "application/pdf"})


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m invoicekit_salla.sandbox [--port N] [--plan basic] [--issuance any]`."""
    from invoicekit.cli import main as cli

    return cli(["sandbox", SallaSandbox.name, *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    raise SystemExit(main())
