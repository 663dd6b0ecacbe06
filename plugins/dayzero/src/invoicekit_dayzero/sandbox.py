"""A DayZero sandbox: a real HTTP server on loopback that follows DayZero's documented API.

```python
from invoicekit_dayzero.sandbox import DayZeroSandbox

with DayZeroSandbox() as sandbox:
    gw = invoicekit.connect("dayzero", **sandbox.settings())
    ...
```

From a shell: `invoicekit sandbox dayzero --port 8081` (or
`python -m invoicekit_dayzero.sandbox --port 8081`); in pytest, the `dayzero_sandbox`
fixture. It keeps businesses, API tokens (which can expire), customers and invoices in
memory and enforces DayZero's rules: the draft -> open -> paid/void lifecycle, numbers
assigned at finalize, drafts that cannot be sent, only open invoices voidable, cursor
paging with `next_cursor` and `has_next` (or `has_more`), responses bare or wrapped in
`{success, message, code, data}`, and FastAPI-shaped errors (`{"detail": "..."}` and
`{"detail": [{loc, msg, type}]}`). Sends are recorded (`sandbox.sent`) with their cc and
PDF flags. Rate limiting and fault injection come from `invoicekit.testing.sandbox`.
"""

from __future__ import annotations

import argparse
import base64
import copy
import datetime as dt
import secrets
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import attrs

from invoicekit import Customer, InvoiceDraft, LineItem, Money
from invoicekit.testing.sandbox import (
    RateLimit,
    Route,
    SandboxError,
    SandboxRequest,
    SandboxResponse,
    SandboxServer,
    json_response,
)

from ._rules import DAYZERO_ID, SUPPORTED_CURRENCIES
from ._wire import SendBody

__all__ = ["DEFAULT_BUSINESS_ID", "DEFAULT_TOKEN", "DayZeroSandbox", "SentEmail", "main"]

DEFAULT_TOKEN = "dz_sandbox_4f1c9a7e2b6d"  # noqa: S105 (a sandbox token, public by design)
"""The API token a new sandbox accepts for its default business."""
DEFAULT_BUSINESS_ID = "5b1f2a3c-0d4e-4f6a-8b9c-1d2e3f405162"
"""The default business of a new sandbox."""

_SEND_ALIASES: Mapping[str, Sequence[str]] = {
    "cc_sender": ("cc_sender", "cc", "cc_self"),
    "attach_pdf": ("attach_pdf", "include_pdf", "pdf"),
}
"""The send body's field names are undocumented: the sandbox accepts these alternatives."""
_UUID_MSG = "Input should be a valid UUID, invalid character: expected an optional prefix of " \
    "`urn:uuid:` followed by [0-9a-fA-F-]"
_CURRENCY_MSG = "Input should be " + ", ".join(
    f"'{c}'" for c in SUPPORTED_CURRENCIES[:-1]) + f" or '{SUPPORTED_CURRENCIES[-1]}'"
_STATUSES = ("draft", "open", "partially_paid", "stripe_paid", "manual_paid", "void",
             "uncollectible")


@attrs.frozen(slots=True)
class SentEmail:
    """One invoice email the sandbox "sent"."""

    invoice_id: str
    to: str
    cc: str | None
    pdf_attached: bool
    message_id: str


@attrs.define
class _Token:
    businesses: set[str]
    expired: bool = False


def _issue(loc: Sequence[str | int], msg: str, kind: str, value: Any = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": kind, "loc": list(loc), "msg": msg}
    if value is not None:
        entry["input"] = value
    return entry


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DayZeroSandbox(SandboxServer):
    """An in-memory DayZero API on `http://127.0.0.1:PORT/api/v1`.

    `settings()` gives what `invoicekit.connect("dayzero", ...)` needs for the default
    business. `wrap_responses=True` wraps every success in `{success, message, code,
    data}`; `more_field="has_more"` names the paging flag as DayZero's guide does;
    `rate_limit=RateLimit(100, 60, model="window")` limits each token. For tests,
    `sample_draft(n)` gives a valid, sendable draft and `today` fixes the issue date of new
    invoices. Ids and currencies are refused with the plugin's own rules (`_rules`).
    """

    name: ClassVar[str] = "dayzero"
    base_path: ClassVar[str] = "/api/v1"
    default_port: ClassVar[int] = 8081

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """`--rate-limit N` (per minute, per token) and `--wrap` for the command line."""
        parser.add_argument("--rate-limit", type=int, default=0,
                            help="requests per minute per token (0: unlimited)")
        parser.add_argument("--wrap", action="store_true",
                            help="wrap responses in {success, message, code, data}")

    @classmethod
    def from_arguments(cls, args: argparse.Namespace, *, host: str, port: int
                       ) -> DayZeroSandbox:
        """The sandbox the command-line options describe."""
        limit = RateLimit(args.rate_limit, 60.0, model="window") if args.rate_limit > 0 else None
        return cls(host=host, port=port, rate_limit=limit, wrap_responses=args.wrap)

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: RateLimit | None = None,
        wrap_responses: bool = False,
        more_field: str = "has_next",
        default_page_size: int = 50,
    ) -> None:
        if more_field not in ("has_next", "has_more"):
            raise ValueError("more_field must be 'has_next' or 'has_more'")
        super().__init__(host=host, port=port, rate_limit=rate_limit)
        self.wrap_responses = wrap_responses
        self.more_field = more_field
        self.default_page_size = default_page_size
        self.today: dt.date | None = None
        """Set to issue new invoices on a fixed date when the request names none (for
        date-filter tests); `None`: today in UTC."""
        self.businesses: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, _Token] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.sent: list[SentEmail] = []
        self._sequence = 0
        self._numbers: dict[str, int] = {}
        self.add_business("Sandbox Studio", owner_email="owner@sandbox.example",
                          business_id=DEFAULT_BUSINESS_ID, token=DEFAULT_TOKEN)

    # ---- setup and observation (for tests and the demo) --------------------------------
    def add_business(self, name: str, *, owner_email: str = "owner@sandbox.example",
                     business_id: str | None = None, token: str | None = None) -> str:
        """Create a business (and give *token*, or a new one, access); return its id."""
        with self.lock:
            bid = business_id or str(uuid.uuid4())
            self.businesses[bid] = {"id": bid, "name": name, "owner_email": owner_email}
            self._numbers[bid] = 0
            self.add_token(token or f"dz_test_{secrets.token_hex(12)}", [bid])
            return bid

    def add_token(self, token: str, business_ids: Iterable[str], *, expired: bool = False
                  ) -> str:
        """Accept *token* for *business_ids* (an expired token is refused with 401)."""
        with self.lock:
            entry = self.tokens.setdefault(token, _Token(set()))
            entry.businesses.update(business_ids)
            entry.expired = expired
            return token

    def expire_token(self, token: str = DEFAULT_TOKEN) -> None:
        """Make *token* expired: every request with it gets 401 from now on."""
        with self.lock:
            self.tokens[token].expired = True

    def settings(self, business_id: str = DEFAULT_BUSINESS_ID) -> dict[str, str]:
        """`connect("dayzero", **sandbox.settings())` keyword arguments for a business."""
        with self.lock:
            token = next((t for t, info in self.tokens.items()
                          if business_id in info.businesses and not info.expired), DEFAULT_TOKEN)
        return {"token": token, "business_id": business_id, "base_url": self.url}

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the whole state, to assert that a refused call changed nothing."""
        with self.lock:
            return copy.deepcopy({"customers": self.customers, "invoices": self.invoices,
                                  "sent": list(self.sent), "numbers": self._numbers})

    def mark_paid(self, invoice_id: str, *, via: str = "manual", amount: int | None = None
                  ) -> dict[str, Any]:
        """Record a payment of *amount* cents (default: the balance) on an open invoice.

        A full payment makes it `manual_paid` (or `stripe_paid` with `via="stripe"`), a
        partial one `partially_paid`. Returns the invoice as the API would show it.
        """
        if via not in ("manual", "stripe"):
            raise ValueError("via must be 'manual' or 'stripe'")
        with self.lock:
            inv = self.invoices[invoice_id]
            if inv["status"] not in ("open", "partially_paid"):
                raise ValueError(f"invoice {invoice_id} is {inv['status']}, not open")
            paid = inv["balance_due"] if amount is None else amount
            if paid <= 0 or paid > inv["balance_due"]:
                raise ValueError("the payment must be positive and at most the balance due")
            inv["total_paid"] += paid
            inv["balance_due"] -= paid
            inv["status"] = f"{via}_paid" if inv["balance_due"] == 0 else "partially_paid"
            return copy.deepcopy(inv)

    def sample_draft(self, n: int = 1) -> InvoiceDraft:
        """A valid, sendable draft for this platform, unique for each *n*.

        Its customer (`Customer {n}`, `customer{n}@example.com`) is created here, directly
        in the default business, so the draft names it by id: creating the draft is one
        request. The draft is in USD, issued `today` (see `self.today`) and due 30 days
        later, described `Order {n}`, with one line item `Item {n}` of 2 x 12.50 USD.
        """
        with self.lock:
            record = self._add_customer(DEFAULT_BUSINESS_ID, f"Customer {n}",
                                        f"customer{n}@example.com")
        customer = Customer(id=record["id"], name=record["name"], email=record["email"])
        today = self._today()
        price = Money("12.50", "USD")
        return InvoiceDraft(
            customer=customer, currency="USD", issue_date=today,
            due_date=today + dt.timedelta(days=30), description=f"Order {n}",
            items=(LineItem(name=f"Item {n}", quantity=2, unit_price=price,
                            total=price * 2),),
        )

    def set_status(self, invoice_id: str, status: str) -> None:
        """Force an invoice's status (to try statuses the API reaches by other paths)."""
        with self.lock:
            self.invoices[invoice_id]["status"] = status

    def seed(self, count: int) -> list[str]:
        """The base class's seed (invoices from `sample_draft`, created through the plugin's
        own gateway), then two in three finalized: a first `invoicekit list` shows open
        invoices and drafts, as a real business has."""
        import invoicekit

        ids = super().seed(count)
        with invoicekit.connect(self.name, **self.settings()) as gw:
            for n, invoice_id in enumerate(ids, start=1):
                if n % 3:
                    gw.finalize_invoice(invoice_id)
        return ids

    def describe(self) -> str:
        """Human-readable connection details (what `invoicekit sandbox dayzero` prints)."""
        s = self.settings()
        return (f"DayZero sandbox at {s['base_url']}\n  token:       {s['token']}\n"
                f"  business_id: {s['business_id']}")

    # ---- the base class's hooks --------------------------------------------------------
    def routes(self) -> Iterable[Route]:
        """DayZero's documented endpoints."""
        uid = r"(?P<invoice_id>[^/]+)"
        return (
            Route("POST", r"/customers", self._route_create_customer),
            Route("POST", r"/invoices", self._route_create_invoice),
            Route("GET", r"/invoices", self._route_list_invoices),
            Route("POST", rf"/invoices/{uid}/finalize", self._route_finalize),
            Route("PUT", rf"/invoices/{uid}/void", self._route_void),
            Route("POST", rf"/invoices/{uid}/send", self._route_send),
            Route("GET", rf"/invoices/{uid}/pdf", self._route_pdf),
        )

    def rate_limit_key(self, request: SandboxRequest) -> str:
        """Limits count per token and business."""
        return f"{request.bearer_token}:{request.headers.get('x-business-id')}"

    def rate_limited(self, request: SandboxRequest, headers: Mapping[str, str]
                     ) -> SandboxResponse:
        """FastAPI-style 429."""
        return json_response(429, {"detail": "Rate limit exceeded. Try again later."}, headers)

    def not_found(self, request: SandboxRequest) -> SandboxResponse:
        """FastAPI's answer for an unknown path."""
        return json_response(404, {"detail": "Not Found"})

    def error_body(self, status: int, body: Any) -> SandboxResponse:
        """Errors in FastAPI's `{"detail": ...}` shape (the base's `{"error"}` converted)."""
        if isinstance(body, dict) and "detail" not in body and "error" in body:
            body = {"detail": body["error"]}
        return json_response(status, body)

    def internal_error(self, exc: Exception) -> SandboxResponse:
        """A 500 as FastAPI sends it."""
        return json_response(500, {"detail": "Internal Server Error"})

    # ---- request helpers ----------------------------------------------------------------
    def _ok(self, status: int, data: Any) -> SandboxResponse:
        if self.wrap_responses:
            data = {"success": True, "message": "OK", "code": status, "data": data}
        return json_response(status, data)

    def _auth(self, request: SandboxRequest) -> str:
        """The business a request acts on, or the FastAPI error DayZero answers with."""
        token = request.bearer_token
        if token is None:
            raise SandboxError(401, {"detail": "Not authenticated"},
                               {"WWW-Authenticate": "Bearer"})
        info = self.tokens.get(token)
        if info is None:
            raise SandboxError(401, {"detail": "Invalid API token"},
                               {"WWW-Authenticate": "Bearer"})
        if info.expired:
            raise SandboxError(401, {"detail": "API token has expired"},
                               {"WWW-Authenticate": "Bearer"})
        bid = request.headers.get("x-business-id")
        if bid is None:
            raise SandboxError(422, {"detail": [
                _issue(["header", "x-business-id"], "Field required", "missing")]})
        if not DAYZERO_ID.matches(bid):
            raise SandboxError(422, {"detail": [
                _issue(["header", "x-business-id"], _UUID_MSG, "uuid_parsing", bid)]})
        if bid not in info.businesses or bid not in self.businesses:
            raise SandboxError(403, {"detail": "You do not have access to this business"})
        return bid

    def _json_object(self, request: SandboxRequest, *, optional: bool = False) -> dict[str, Any]:
        try:
            data = request.json()
        except SandboxError:
            raise SandboxError(422, {"detail": [
                _issue(["body"], "JSON decode error", "json_invalid")]}) from None
        if data is None and optional:
            return {}
        if not isinstance(data, dict):
            raise SandboxError(422, {"detail": [
                _issue(["body"], "Input should be a valid dictionary or object to extract "
                                 "fields from", "model_attributes_type")]})
        return data

    def _invoice(self, business_id: str, invoice_id: str) -> dict[str, Any]:
        if not DAYZERO_ID.matches(invoice_id):
            raise SandboxError(422, {"detail": [
                _issue(["path", "invoice_id"], _UUID_MSG, "uuid_parsing", invoice_id)]})
        inv = self.invoices.get(invoice_id.lower())
        if inv is None or inv["_business"] != business_id:
            raise SandboxError(404, {"detail": "Invoice not found"})
        return inv

    def _today(self) -> dt.date:
        return self.today or _now().date()

    def _add_customer(self, business_id: str, name: str | None, email: str | None,
                      tax_id: str | None = None, phone: str | None = None) -> dict[str, Any]:
        """Store a new customer of *business_id* (under `self.lock`); return its record."""
        cid = str(uuid.uuid4())
        customer = {"id": cid, "name": name, "email": email, "tax_id": tax_id,
                    "phone": phone, "created_at": _now().isoformat(), "_business": business_id}
        self.customers[cid] = customer
        return customer

    @staticmethod
    def _public(inv: Mapping[str, Any]) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in inv.items() if not k.startswith("_")}

    # ---- validation as FastAPI/pydantic would report it ----------------------------------
    @staticmethod
    def _int(value: Any, loc: list[str | int], problems: list[dict[str, Any]], *,
             minimum: int | None = None) -> int:
        number: int
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            problems.append(_issue(loc, "Input should be a valid integer", "int_type", value))
            return 0
        if isinstance(value, float):
            if not value.is_integer():
                problems.append(_issue(
                    loc, "Input should be a valid integer, got a number with a fractional part",
                    "int_from_float", value))
                return 0
            number = int(value)
        elif isinstance(value, str):
            if not value.strip().lstrip("-").isdigit():
                problems.append(_issue(
                    loc, "Input should be a valid integer, unable to parse string as an integer",
                    "int_parsing", value))
                return 0
            number = int(value)
        else:
            number = value
        if minimum is not None and number < minimum:
            problems.append(_issue(loc, f"Input should be greater than or equal to {minimum}",
                                   "greater_than_equal", value))
        return number

    @staticmethod
    def _str(value: Any, loc: list[str | int], problems: list[dict[str, Any]], *,
             required: bool = True) -> str | None:
        if value is None:
            if required:
                problems.append(_issue(loc, "Field required", "missing"))
            return None
        if not isinstance(value, str):
            problems.append(_issue(loc, "Input should be a valid string", "string_type", value))
            return None
        if required and not value.strip():
            problems.append(_issue(loc, "String should have at least 1 character",
                                   "string_too_short", value))
        return value

    @staticmethod
    def _date(value: Any, loc: list[str | int], problems: list[dict[str, Any]], *,
              required: bool) -> str | None:
        if value is None:
            if required:
                problems.append(_issue(loc, "Field required", "missing"))
            return None
        if isinstance(value, str) and len(value) == 10:
            try:
                return dt.date.fromisoformat(value).isoformat()
            except ValueError:
                pass
        problems.append(_issue(loc, "Input should be a valid date in the format YYYY-MM-DD",
                               "date_parsing", value))
        return None

    # ---- routes ---------------------------------------------------------------------------
    def _route_create_customer(self, request: SandboxRequest) -> SandboxResponse:
        bid = self._auth(request)
        body = self._json_object(request)
        problems: list[dict[str, Any]] = []
        name = self._str(body.get("name"), ["body", "name"], problems)
        email = self._str(body.get("email"), ["body", "email"], problems)
        if email and "@" not in email:
            problems.append(_issue(["body", "email"], "value is not a valid email address: "
                                   "An email address must have an @-sign.", "value_error",
                                   email))
        tax_id = self._str(body.get("tax_id"), ["body", "tax_id"], problems, required=False)
        phone = self._str(body.get("phone"), ["body", "phone"], problems, required=False)
        if problems:
            raise SandboxError(422, {"detail": problems})
        with self.lock:
            customer = self._add_customer(bid, name, email, tax_id, phone)
            return self._ok(201, self._public(customer))

    def _route_create_invoice(self, request: SandboxRequest) -> SandboxResponse:
        bid = self._auth(request)
        body = self._json_object(request)
        problems: list[dict[str, Any]] = []
        customer_id = self._str(body.get("customer_id"), ["body", "customer_id"], problems)
        if customer_id and not DAYZERO_ID.matches(customer_id):
            problems.append(_issue(["body", "customer_id"], _UUID_MSG, "uuid_parsing",
                                   customer_id))
        raw_items = body.get("line_items")
        items: list[dict[str, Any]] = []
        if raw_items is None:
            problems.append(_issue(["body", "line_items"], "Field required", "missing"))
        elif not isinstance(raw_items, list):
            problems.append(_issue(["body", "line_items"], "Input should be a valid list",
                                   "list_type", raw_items))
        elif not raw_items:
            problems.append(_issue(["body", "line_items"],
                                   "List should have at least 1 item after validation, not 0",
                                   "too_short", raw_items))
        else:
            for i, raw in enumerate(raw_items):
                loc: list[str | int] = ["body", "line_items", i]
                if not isinstance(raw, dict):
                    problems.append(_issue(loc, "Input should be a valid dictionary",
                                           "dict_type", raw))
                    continue
                desc = self._str(raw.get("description"), [*loc, "description"], problems)
                qty = self._int(raw.get("quantity"), [*loc, "quantity"], problems, minimum=1)
                if raw.get("unit_price") is None:
                    problems.append(_issue([*loc, "unit_price"], "Field required", "missing"))
                price = self._int(raw.get("unit_price"), [*loc, "unit_price"], problems)
                variant = self._str(raw.get("variant_id"), [*loc, "variant_id"], problems,
                                    required=False)
                items.append({"id": str(uuid.uuid4()), "description": desc, "quantity": qty,
                              "unit_price": price, "amount": qty * price,
                              "variant_id": variant})
        due = self._date(body.get("due_date"), ["body", "due_date"], problems, required=True)
        issue = self._date(body.get("issue_date"), ["body", "issue_date"], problems,
                           required=False)
        description = self._str(body.get("description"), ["body", "description"], problems,
                                required=False)
        currency = body.get("currency", "USD")
        if currency not in SUPPORTED_CURRENCIES:
            problems.append(_issue(["body", "currency"], _CURRENCY_MSG, "enum", currency))
        if problems:
            raise SandboxError(422, {"detail": problems})
        with self.lock:
            customer = self.customers.get(str(customer_id).lower())
            if customer is None or customer["_business"] != bid:
                raise SandboxError(404, {"detail": "Customer not found"})
            self._sequence += 1
            iid = str(uuid.uuid4())
            total = sum(item["amount"] for item in items)
            now = _now()
            invoice = {
                "id": iid, "status": "draft", "number": None, "currency": currency,
                "customer_id": customer["id"], "customer_name": customer["name"],
                "customer_email": customer["email"], "description": description,
                "issue_date": issue or self._today().isoformat(), "due_date": due,
                "line_items": items, "subtotal": total, "total": total, "total_paid": 0,
                "balance_due": total, "pdf_url": None,
                "hosted_invoice_url": f"https://pay.sandbox.ondayzero.example/i/{iid}",
                "created_at": now.isoformat(), "updated_at": now.isoformat(),
                "_business": bid, "_seq": self._sequence,
            }
            self.invoices[iid] = invoice
            return self._ok(201, self._public(invoice))

    def _route_list_invoices(self, request: SandboxRequest) -> SandboxResponse:
        bid = self._auth(request)
        problems: list[dict[str, Any]] = []
        limit = self.default_page_size
        if request.param("limit") is not None:
            limit = self._int(request.param("limit"), ["query", "limit"], problems, minimum=1)
            if limit > 1000:
                problems.append(_issue(["query", "limit"], "Input should be less than or equal "
                                       "to 1000", "less_than_equal", request.param("limit")))
        for name in ("id", "customer_id"):
            value = request.param(name)
            if value is not None and not DAYZERO_ID.matches(value):
                problems.append(_issue(["query", name], _UUID_MSG, "uuid_parsing", value))
        status = request.param("status")
        if status is not None and status not in _STATUSES:
            problems.append(_issue(["query", "status"], "Input should be " + ", ".join(
                f"'{s}'" for s in _STATUSES), "enum", status))
        after = 0
        cursor = request.param("cursor")
        if cursor:
            try:
                after = int(base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii"))
            except (ValueError, UnicodeError):
                raise SandboxError(400, {"detail": "Invalid cursor"}) from None
        if problems:
            raise SandboxError(422, {"detail": problems})
        wanted_id = (request.param("id") or "").lower() or None
        customer_id = (request.param("customer_id") or "").lower() or None
        search = (request.param("search") or "").casefold() or None
        with self.lock:
            found = []
            for inv in self.invoices.values():
                if inv["_business"] != bid or inv["_seq"] <= after:
                    continue
                if wanted_id is not None and inv["id"] != wanted_id:
                    continue
                if status is not None and inv["status"] != status:
                    continue
                if customer_id is not None and inv["customer_id"] != customer_id:
                    continue
                if search is not None and not any(
                    search in str(inv.get(k) or "").casefold()
                    for k in ("number", "customer_name", "customer_email", "description")
                ):
                    continue
                found.append(inv)
                if len(found) > limit:
                    break
            more = len(found) > limit
            page = found[:limit]
            next_cursor = (base64.urlsafe_b64encode(str(page[-1]["_seq"]).encode()).decode()
                           if more else None)
            return self._ok(200, {"items": [self._public(i) for i in page],
                                  "next_cursor": next_cursor, self.more_field: more})

    def _route_finalize(self, request: SandboxRequest, invoice_id: str) -> SandboxResponse:
        bid = self._auth(request)
        with self.lock:
            inv = self._invoice(bid, invoice_id)
            if inv["status"] != "draft":
                raise SandboxError(409, {"detail": f"Only draft invoices can be finalized; "
                                                   f"this invoice is {inv['status']}"})
            self._numbers[bid] += 1
            inv["number"] = f"INV-{self._numbers[bid]:03d}"
            inv["status"] = "open"
            inv["finalized_at"] = _now().isoformat()
            return self._ok(200, self._public(inv))

    def _route_void(self, request: SandboxRequest, invoice_id: str) -> SandboxResponse:
        bid = self._auth(request)
        with self.lock:
            inv = self._invoice(bid, invoice_id)
            if inv["status"] != "open":
                raise SandboxError(409, {"detail": f"Only open invoices can be voided; this "
                                                   f"invoice is {inv['status']}"})
            inv["status"] = "void"
            inv["voided_at"] = _now().isoformat()
            return self._ok(200, self._public(inv))

    def _route_send(self, request: SandboxRequest, invoice_id: str) -> SandboxResponse:
        bid = self._auth(request)
        body = self._json_object(request, optional=True)
        flags: dict[str, bool] = {}
        problems: list[dict[str, Any]] = []
        for field in attrs.fields(SendBody):
            for alias in _SEND_ALIASES[field.name]:
                if alias in body:
                    value = body[alias]
                    if not isinstance(value, bool):
                        problems.append(_issue(["body", alias], "Input should be a valid "
                                               "boolean", "bool_type", value))
                    else:
                        flags[field.name] = value
                    break
        if problems:
            raise SandboxError(422, {"detail": problems})
        with self.lock:
            inv = self._invoice(bid, invoice_id)
            if inv["status"] == "draft":
                raise SandboxError(409, {"detail": "Draft invoices cannot be sent; finalize "
                                                   "the invoice first"})
            if inv["status"] == "void":
                raise SandboxError(409, {"detail": "Void invoices cannot be sent"})
            if not inv["customer_email"]:
                raise SandboxError(400, {"detail": "Customer has no email address"})
            cc = None
            if flags.get("cc_sender", False):
                cc = request.headers.get("x-user-email") or self.businesses[bid]["owner_email"]
            pdf = flags.get("attach_pdf", False)
            message_id = f"0100018f-{secrets.token_hex(4)}-{secrets.token_hex(8)}-000000"
            self.sent.append(SentEmail(inv["id"], inv["customer_email"], cc, pdf, message_id))
            answer = {"success": True, "invoice_id": inv["id"],
                      "invoice_number": inv["number"], "customer_email": inv["customer_email"],
                      "cc_email": cc, "message_id": message_id, "pdf_attached": pdf}
            return self._ok(201, answer)

    def _route_pdf(self, request: SandboxRequest, invoice_id: str) -> SandboxResponse:
        bid = self._auth(request)
        with self.lock:
            inv = self._invoice(bid, invoice_id)
            expires = _now() + dt.timedelta(minutes=15)
            url = (f"https://files.sandbox.ondayzero.example/invoices/{inv['id']}.pdf"
                   f"?expires={int(expires.timestamp())}&signature={secrets.token_hex(16)}")
            return self._ok(200, {"pdf_url": url, "expires_at": expires.isoformat()})


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m invoicekit_dayzero.sandbox [--port N] [--rate-limit N] [--wrap]`."""
    from invoicekit.cli import main as cli

    return cli(["sandbox", DayZeroSandbox.name, *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    raise SystemExit(main())
