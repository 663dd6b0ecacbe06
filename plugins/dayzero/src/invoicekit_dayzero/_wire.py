"""DayZero's wire format: one reader and one writer per payload.

Everything DayZero-shaped lives here, so the provider module only describes requests:

* **One reader of an invoice**, `to_invoice`: decoded JSON straight into the domain model,
  in one pass that checks each value's JSON type as it takes it (`str` texts and a UUID
  id, `int` cents and quantities, `YYYY-MM-DD` dates, a known currency). A value of any
  other type raises `WireFormatError` naming the field's path
  (`line_items[2].unit_price: expected integer cents, got '12.5'`); `parse_invoice` and
  `invoice_page` turn it into the typed error through `Response.malformed`
  (`ProviderUnavailable`, or `OutcomeUnknown` after a write).
* **Money is integer cents** on the wire and `Money` in the model, converted exactly in
  both directions. Cents are JSON integers, of any size (read exactly: `10**30 + 1` cents
  stays `10000000000000000000000000000.01`); a JSON number with a fraction part or an
  exponent (`12.5`, `12.0`, `9007199254740993.0`) is refused, because DayZero sends cents
  as integers and a decoded binary float may already be a different number.
* **Responses may be bare or wrapped** in `{success, message, code, data}`; `unwrap()`
  takes `data` out of such an envelope. A wrapper saying `success: false` is an error
  even with a 2xx status: `OutcomeUnknown` after a write (the write may or may not have
  happened), a plain `ProviderError` after a read; DayZero's message is kept verbatim.
* **Statuses** map to `InvoiceStatus`: `stripe_paid` and `manual_paid` are both `PAID`
  (the original stays in `Invoice.provider_status`), and a status this version does not
  know becomes `UNKNOWN` rather than failing the whole call.
* **Names DayZero uses in two forms** are both read: the invoice number as `number`
  (invoice objects) or `invoice_number` (the send response); the paging flag as
  `has_next` (API reference) or `has_more` (guide).
* **One writer of the create body**, `invoice_body`, for a draft `_rules.check_draft`
  has accepted (it does not check again).
* **Details the public docs leave open** are chosen once, here: the send body's field names
  (`SendBody`), the PDF link field (`PDF_URL_FIELDS`), the currency of an invoice that names
  none (`DEFAULT_CURRENCY`).

Customers and send receipts are small and read once each, through cattrs (the wire classes
below and `converter`). cattrs' own `str` and `bool` hooks are lenient (`bool("false")` is
true, `str(None) == "None"`); this converter registers strict ones, because an id of
`"None"` is a wrong answer, not a parsing convenience.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from invoicekit import (
    Customer,
    Invoice,
    InvoiceDraft,
    InvoiceKind,
    InvoiceStatus,
    LineItem,
    Money,
    Response,
    SendOptions,
    SendReceipt,
    errors,
)
from invoicekit.provider import (
    MINOR_UNITS,
    base_converter,
    normalize_currency,
    redact,
    structure_response,
)

from ._rules import DAYZERO_ID, PROVIDER, SUPPORTED_CURRENCIES

__all__ = [
    "DAYZERO_ID",
    "DEFAULT_CURRENCY",
    "PAID_STATUSES",
    "PDF_URL_FIELDS",
    "PROVIDER",
    "STATUS_FROM_WIRE",
    "SUPPORTED_CURRENCIES",
    "InvoicePage",
    "SendBody",
    "WireCustomer",
    "WireCustomerCreate",
    "WireFormatError",
    "WireSendResult",
    "answered_invoice",
    "converter",
    "customer_body",
    "invoice_body",
    "invoice_page",
    "parse_customer",
    "parse_invoice",
    "parse_pdf_url",
    "parse_receipt",
    "send_body",
    "to_invoice",
    "unwrap",
    "wire_statuses",
]

T = TypeVar("T")

DEFAULT_CURRENCY: Final = "USD"
"""The currency assumed for a payload that names none (DayZero's default; see the docs page)."""

PDF_URL_FIELDS: Final = ("pdf_url", "url", "download_url", "signed_url")
"""Where `GET /invoices/{id}/pdf` may put the link (undocumented: the first present wins)."""

STATUS_FROM_WIRE: Final[Mapping[str, InvoiceStatus]] = {
    "draft": InvoiceStatus.DRAFT,
    "open": InvoiceStatus.OPEN,
    "partially_paid": InvoiceStatus.PARTIALLY_PAID,
    "stripe_paid": InvoiceStatus.PAID,
    "manual_paid": InvoiceStatus.PAID,
    "paid": InvoiceStatus.PAID,
    "void": InvoiceStatus.VOID,
    "uncollectible": InvoiceStatus.UNCOLLECTIBLE,
}
"""DayZero's statuses; anything else becomes `InvoiceStatus.UNKNOWN`."""

PAID_STATUSES: Final = frozenset(k for k, v in STATUS_FROM_WIRE.items() if v is InvoiceStatus.PAID)
"""Every DayZero status that means paid (`stripe_paid`, `manual_paid`, `paid`)."""


def wire_statuses(status: InvoiceStatus) -> frozenset[str]:
    """The DayZero status values that mean *status* (`PAID` has several)."""
    return frozenset(k for k, v in STATUS_FROM_WIRE.items() if v is status)


class WireFormatError(ValueError):
    """A DayZero payload that does not have the documented shape: `path` names the
    offending field (`line_items[2].unit_price`; empty for the payload itself), `problem`
    says what was wrong with it.

    The readers that have the `Response` turn it into `Response.malformed(...)`, the typed
    error; it never reaches a caller as it is.
    """

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem


# ---- customers and send receipts: cattrs ----------------------------------------------
@attrs.define(slots=True)
class WireCustomerCreate:
    """The body of `POST /customers` (`name` and `email` are required by DayZero)."""

    name: str
    email: str
    tax_id: str | None = None
    phone: str | None = None


@attrs.define(slots=True)
class WireCustomer:
    """A customer as DayZero returns it."""

    id: str
    name: str | None = None
    email: str | None = None
    tax_id: str | None = None
    phone: str | None = None


@attrs.define(slots=True)
class SendBody:
    """The body of `POST /invoices/{id}/send`.

    DayZero documents the options ("CC the sender", "attach the PDF") and names
    `cc_sender` in the response schema, but not the request's field names: these two are
    the chosen ones, kept only here. `attach_pdf=None` leaves it out (DayZero's default).
    """

    cc_sender: bool = False
    attach_pdf: bool | None = None


@attrs.define(slots=True)
class WireSendResult:
    """The 201 answer of a send (`InvoiceSendEmailResponse`)."""

    success: bool
    invoice_id: str
    invoice_number: str | None = None
    customer_email: str | None = None
    cc_email: str | None = None
    message_id: str | None = None
    pdf_attached: bool | None = None


def _strict_str(value: Any, _: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected a string, got {type(value).__name__}")


def _strict_bool(value: Any, _: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise ValueError(f"expected true or false, got {value!r}")


def _make_converter() -> cattrs.Converter:
    conv = base_converter()
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(bool, _strict_bool)
    conv.register_unstructure_hook(
        WireCustomerCreate,
        make_dict_unstructure_fn(WireCustomerCreate, conv, _cattrs_omit_if_default=True))
    # `cc_sender` is always sent (even false); `attach_pdf` only when chosen.
    conv.register_unstructure_hook(
        SendBody,
        make_dict_unstructure_fn(SendBody, conv, _cattrs_omit_if_default=True,
                                 cc_sender=override(omit_if_default=False)),
    )
    return conv


converter: Final = _make_converter()
"""The converter for customers and send receipts, on `invoicekit.provider.base_converter()`."""


# ---- envelopes ---------------------------------------------------------------------------
_ENVELOPE: Final = frozenset({"success", "message", "code", "data"})


def _is_envelope(payload: Any) -> bool:
    return isinstance(payload, dict) and "data" in payload and payload.keys() <= _ENVELOPE


def unwrap(payload: Any) -> Any:
    """`data` out of a `{success, message, code, data}` envelope; a bare payload as it is."""
    return payload["data"] if _is_envelope(payload) else payload


def _body(response: Response) -> Any:
    """The decoded body, unwrapped.

    A wrapper saying `success: false` in a 2xx answer is an error carrying DayZero's
    message verbatim: `OutcomeUnknown` after a write (a 2xx that says it failed leaves the
    outcome in doubt, and a write is never repeated blindly), `ProviderError` after a read.
    """
    payload = response.json()
    # A failure may leave `data` out: any object of envelope keys only that says so.
    if (isinstance(payload, dict) and payload.get("success") is False
            and payload.keys() <= _ENVELOPE):
        message = payload.get("message")
        code = payload.get("code")
        text = message if isinstance(message, str) and message else "DayZero reported a failure"
        cls = errors.OutcomeUnknown if response.request.is_write else errors.ProviderError
        raise cls(
            text,
            provider=PROVIDER,
            status=response.status,
            code=str(code) if code is not None else None,
            raw=payload,
            request_id=response.request_id,
        )
    return payload["data"] if _is_envelope(payload) else payload


def _object(response: Response, data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise response.malformed(f"expected {what} object from DayZero, got {type(data).__name__}")
    return data


# ---- the invoice reader -------------------------------------------------------------------
# `DAYZERO_ID.matches` without its call overhead (its length limit cannot bind: 36 chars).
_is_uuid: Final = re.compile(DAYZERO_ID.regex, re.ASCII).fullmatch
_from_iso: Final = dt.date.fromisoformat
# Cents are scaled to an amount exactly, whatever their size and the caller's own context.
_EXACT: Final = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX,
                                Emin=decimal.MIN_EMIN, traps=[decimal.InvalidOperation])


def _shown(value: Any) -> str:
    """*value* for an error message: short, secrets redacted, containers by kind only
    (their repr could be huge, or nested deeper than `repr` can go)."""
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return f"an object of {len(value)} fields"
    text = repr(value)
    return redact(text if len(text) <= 60 else text[:57] + "...")


def _wrong(path: str, expected: str, value: Any, container: Any = None) -> WireFormatError:
    """The error for the value at *path*: what was expected, and what came instead."""
    key = path.rpartition(".")[2].partition("[")[0]
    if value is None and isinstance(container, dict) and key not in container:
        return WireFormatError(path, f"expected {expected}, got nothing (the field is missing)")
    return WireFormatError(path, f"expected {expected}, got {_shown(value)}")


def _text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None or value.__class__ is str:
        return value
    raise _wrong(name, "a string or null", value)


def _cents(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None or value.__class__ is int:
        return value
    raise _wrong(name, "integer cents or null", value)


def _day(data: dict[str, Any], name: str) -> dt.date | None:
    """A `YYYY-MM-DD` date (or the date part of an ISO datetime), or `None`."""
    value = data.get(name)
    if value is None:
        return None
    if value.__class__ is str:
        try:
            return _from_iso(value.strip()[:10])
        except ValueError:
            pass
    raise _wrong(name, "a YYYY-MM-DD date", value)


def _currency(value: Any) -> tuple[str, int]:
    """The ISO code for DayZero's `currency` (missing: `DEFAULT_CURRENCY`), and its minor
    units."""
    if value is None or value == "":
        value = DEFAULT_CURRENCY
    elif value.__class__ is not str:
        raise _wrong("currency", "an ISO 4217 code", value)
    code = value.upper()
    if code not in MINOR_UNITS:
        try:
            code = normalize_currency(value)
        except errors.InvalidRequest:
            raise _wrong("currency", "an ISO 4217 code", value) from None
    return code, MINOR_UNITS[code]


# The classes a decoded value of an optional text, or of optional cents, may have (a
# `bool` is not cents: its class is not `int`).
_STR_OR_NONE: Final = frozenset((str, type(None)))
_INT_OR_NONE: Final = frozenset((int, type(None)))


_ZEROS: Final[dict[str, Money]] = {}
"""Zero in each currency met so far (`0.00` for USD): immutable, so shared by every invoice."""


def _money(memo: dict[int, Money], cents: int | None, exponent: int, code: str
           ) -> Money | None:
    """`Money` for *cents* (`None` for `None`), shared through *memo* within one invoice."""
    if cents is None:
        return None
    found = memo.get(cents)
    if found is None:
        found = memo[cents] = Money(Decimal(cents).scaleb(-exponent, _EXACT), code)
    return found


def to_invoice(data: Any) -> Invoice:
    """The `Invoice` for one decoded DayZero invoice object; `WireFormatError` naming the
    field for anything else.

    Taken as documented: `id` (a UUID) and `status` are required; `line_items` may be
    `null` in a summary (no items); a line item's `amount` is its total (quantity x unit
    price when absent); the number is `number`, or `invoice_number` when `number` is
    absent; a missing `currency` is `DEFAULT_CURRENCY`. Fields the model has no place for
    stay in `Invoice.raw`.
    """
    if data.__class__ is not dict:
        raise WireFormatError("", f"expected an invoice object, got {type(data).__name__}")
    get = data.get
    invoice_id = get("id")
    if invoice_id.__class__ is not str or _is_uuid(invoice_id) is None:
        raise _wrong("id", "a UUID", invoice_id, data)
    status = get("status")
    if status.__class__ is not str:
        raise _wrong("status", "a string", status, data)
    # The optional texts, cents and dates, each checked inline (a listing reads thousands
    # of invoices: a helper call per field was a fifth of the reader's time). A value of
    # the wrong type goes to the helper, which raises the error naming the field.
    number = get("number")
    if number is not None and number.__class__ is not str:
        _text(data, "number")
    alias = get("invoice_number")
    if alias is not None and alias.__class__ is not str:
        _text(data, "invoice_number")
    if number is None:
        number = alias
    customer_id = get("customer_id")
    customer_name = get("customer_name")
    customer_email = get("customer_email")
    description = get("description")
    pdf_url = get("pdf_url")
    hosted_url = get("hosted_invoice_url")
    created_at = get("created_at")  # read by date filters (`DayZeroProvider.list_page`)
    if not (customer_id.__class__ in _STR_OR_NONE and customer_name.__class__ in _STR_OR_NONE
            and customer_email.__class__ in _STR_OR_NONE and description.__class__ in _STR_OR_NONE
            and pdf_url.__class__ in _STR_OR_NONE and hosted_url.__class__ in _STR_OR_NONE
            and created_at.__class__ in _STR_OR_NONE):
        for field in ("customer_id", "customer_name", "customer_email", "description",
                      "pdf_url", "hosted_invoice_url", "created_at"):
            _text(data, field)
    subtotal = get("subtotal")
    total = get("total")
    paid = get("total_paid")
    due = get("balance_due")
    if not (subtotal.__class__ in _INT_OR_NONE and total.__class__ in _INT_OR_NONE
            and paid.__class__ in _INT_OR_NONE and due.__class__ in _INT_OR_NONE):
        for field in ("subtotal", "total", "total_paid", "balance_due"):
            _cents(data, field)
    issue_date = get("issue_date")
    if issue_date is not None:
        issue_date = _day(data, "issue_date")
    due_date = get("due_date")
    if due_date is not None:
        due_date = _day(data, "due_date")
    currency = get("currency")
    if currency.__class__ is str and currency in MINOR_UNITS:
        code, exponent = currency, MINOR_UNITS[currency]
    else:
        code, exponent = _currency(currency)
    # One `Money` per amount within one invoice (a subtotal, total and balance due are
    # often the same amount; `Money` is immutable), built exactly from the cents; zero
    # (`total_paid` of every unpaid invoice, `balance_due` of every paid one) is one
    # `Money` per currency for all invoices.
    zero = _ZEROS.get(code)
    if zero is None:
        zero = _ZEROS[code] = Money(Decimal(0).scaleb(-exponent, _EXACT), code)
    memo: dict[int, Money] = {0: zero}
    memo_get = memo.get
    lines = get("line_items")
    if lines is None:
        lines = ()  # a summary (list view) carries `line_items: null`
    elif lines.__class__ is not list:
        raise _wrong("line_items", "a list or null", lines)
    items = []
    for index, line in enumerate(lines):
        if line.__class__ is not dict:
            raise _wrong(f"line_items[{index}]", "a line item object", line)
        line_get = line.get
        name = line_get("description")
        if name.__class__ is not str:
            raise _wrong(f"line_items[{index}].description", "a string", name, line)
        quantity = line_get("quantity")
        if quantity.__class__ is not int:
            raise _wrong(f"line_items[{index}].quantity", "a whole number", quantity, line)
        cents = line_get("unit_price")
        if cents.__class__ is not int:
            raise _wrong(f"line_items[{index}].unit_price", "integer cents", cents, line)
        amount = line_get("amount")
        if amount is None:
            amount = cents * quantity
        elif amount.__class__ is not int:
            raise _wrong(f"line_items[{index}].amount", "integer cents or null", amount)
        value = line_get("variant_id")
        if value is not None and value.__class__ is not str:
            raise _wrong(f"line_items[{index}].variant_id", "a string or null", value)
        value = line_get("id")
        if value is not None and value.__class__ is not str:
            raise _wrong(f"line_items[{index}].id", "a string or null", value)
        price = memo_get(cents)
        if price is None:
            price = memo[cents] = Money(Decimal(cents).scaleb(-exponent, _EXACT), code)
        line_total = memo_get(amount)
        if line_total is None:
            line_total = memo[amount] = Money(Decimal(amount).scaleb(-exponent, _EXACT), code)
        # Positional (name, quantity, unit_price, discount, tax_rate, tax, total): the
        # model's fast constructor binds them without matching keywords, per line.
        items.append(LineItem(name, Decimal(quantity), price, None, None, None, line_total))
    customer = None
    if customer_id is not None or customer_name or customer_email:
        customer = Customer(customer_id, customer_name, customer_email)  # id, name, email
    # Positional, in the model's field order (a listing builds thousands: keywords cost a
    # third of the constructor's time here).
    return Invoice(
        invoice_id,  # id
        PROVIDER,  # provider
        number,  # number
        InvoiceKind.INVOICE,  # kind
        STATUS_FROM_WIRE.get(status, InvoiceStatus.UNKNOWN),  # status
        status,  # provider_status
        issue_date,  # issue_date
        due_date,  # due_date
        code,  # currency
        None,  # order_id
        customer,  # customer
        items,  # items
        _money(memo, subtotal, exponent, code),  # subtotal
        None,  # shipping
        None,  # cash_on_delivery
        None,  # discount
        None,  # tax_rate
        None,  # tax
        _money(memo, total, exponent, code),  # total
        _money(memo, paid, exponent, code),  # amount_paid
        _money(memo, due, exponent, code),  # balance_due
        None,  # payment_method
        None,  # qr_code
        pdf_url,  # pdf_url
        hosted_url,  # hosted_url
        description,  # description
        data,  # raw
    )


def _unusable(response: Response, exc: WireFormatError, where: str = "") -> errors.ProviderError:
    """The typed error for *exc*; *where* is the invoice's own path in the body (`items[3]`
    in a list page)."""
    path = ".".join(part for part in (where, exc.path) if part)
    shown = f"{path}: {exc.problem}" if path else exc.problem
    return response.malformed(f"unusable invoice from DayZero: {shown}", exc)


def _invoice(response: Response, data: Any) -> Invoice:
    try:
        return to_invoice(data)
    except WireFormatError as exc:
        raise _unusable(response, exc) from None


def parse_invoice(response: Response) -> Invoice:
    """The invoice in a response body (bare or wrapped), or the typed error naming the field."""
    return _invoice(response, _body(response))


def answered_invoice(response: Response) -> Invoice | None:
    """The invoice in a finalize or void answer, or `None` when the answer is only an
    acknowledgement (no `id` and `status`): then the caller reads the invoice back."""
    data = _body(response)
    if isinstance(data, dict) and "id" in data and "status" in data:
        return _invoice(response, data)
    return None


@attrs.frozen(slots=True)
class InvoicePage:
    """One parsed page of `GET /invoices`: its invoices and the next cursor (`None`: last)."""

    items: tuple[Invoice, ...]
    next_cursor: str | None


def invoice_page(response: Response) -> InvoicePage:
    """A page of `GET /invoices`: `items`, `next_cursor`, and `has_next` or `has_more`
    (a `next_cursor` with neither flag is followed; an empty cursor is the last page)."""
    data = _object(response, _body(response), "an invoice list page")
    raw_items = data.get("items")
    if raw_items.__class__ is not list:
        raise response.malformed("DayZero's invoice list has no 'items' array")
    cursor = data.get("next_cursor")
    more = data.get("has_next")
    if more is None:
        more = data.get("has_more")
    for name, value, expected, cls in (("next_cursor", cursor, "a string or null", str),
                                       ("has_next", data.get("has_next"), "true, false or null",
                                        bool),
                                       ("has_more", data.get("has_more"), "true, false or null",
                                        bool)):
        if value is not None and value.__class__ is not cls:
            raise response.malformed(f"unusable invoice list from DayZero: "
                                     f"{_wrong(name, expected, value)}")
    invoices: list[Invoice] = []
    try:
        for item in raw_items:
            invoices.append(to_invoice(item))
    except WireFormatError as exc:  # the item that failed is the next one
        raise _unusable(response, exc, f"items[{len(invoices)}]") from None
    return InvoicePage(tuple(invoices), None if more is False else cursor or None)


def parse_customer(response: Response) -> Customer:
    """The customer in a response body (bare or wrapped)."""
    raw = _object(response, _body(response), "a customer")
    wire = structure_response(converter, response, raw, WireCustomer,
                              what="customer from DayZero")
    if not DAYZERO_ID.matches(wire.id):
        raise response.malformed(f"DayZero returned a customer id that is not a UUID: {wire.id!r}")
    return Customer(id=wire.id, name=wire.name, email=wire.email, tax_id=wire.tax_id,
                    phone=wire.phone)


def parse_receipt(response: Response, invoice_id: str) -> SendReceipt:
    """The `SendReceipt` for a send's 201 answer."""
    raw = _object(response, _body(response), "a send result")
    wire = structure_response(converter, response, raw, WireSendResult,
                              what="send result from DayZero")
    message = raw.get("message") if isinstance(raw.get("message"), str) else None
    return SendReceipt(
        invoice_id=wire.invoice_id or invoice_id,
        sent=wire.success,
        recipient=wire.customer_email,
        cc=wire.cc_email,
        message_id=wire.message_id,
        pdf_attached=wire.pdf_attached,
        message=message,
        raw=raw,
    )


def parse_pdf_url(response: Response) -> str:
    """The link in `GET /invoices/{id}/pdf`'s answer (see `PDF_URL_FIELDS`)."""
    data = _body(response)
    if isinstance(data, str) and data.startswith(("https://", "http://")):
        return data
    raw = _object(response, data, "a PDF link")
    for name in PDF_URL_FIELDS:
        value = raw.get(name)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
    raise response.malformed(
        f"DayZero's PDF answer has no URL in any of {', '.join(PDF_URL_FIELDS)}"
    )


# ---- the writers -----------------------------------------------------------------------
def invoice_body(draft: InvoiceDraft, customer_id: str) -> dict[str, Any]:
    """The JSON body of `POST /invoices` for a draft `_rules.check_draft` accepted.

    It does not check the draft again (the gateway checked it once): quantities are whole,
    amounts whole cents, the due date set. Dates are written as `YYYY-MM-DD` (a `datetime`
    as its date); `currency` is the draft's, or its amounts' when it names none.
    """
    due_date = draft.due_date
    assert due_date is not None  # check_draft refuses a draft without one
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "line_items": [
            {"description": item.name, "quantity": int(item.quantity),
             "unit_price": item.unit_price.to_minor()}
            for item in draft.items
        ],
        "due_date": dt.date.isoformat(due_date),
    }
    if draft.issue_date is not None:
        body["issue_date"] = dt.date.isoformat(draft.issue_date)
    if draft.description is not None:
        body["description"] = draft.description
    currency = draft.effective_currency
    if currency is not None:
        body["currency"] = currency
    return body


def customer_body(customer: Customer) -> dict[str, Any]:
    """The JSON body of `POST /customers`; `InvalidRequest` without a name and an email."""
    if not customer.name or not customer.email:
        raise errors.InvalidRequest(
            "DayZero needs a name and an email to create a customer", provider=PROVIDER,
            fields={k: ["required by DayZero"] for k in ("name", "email")
                    if not getattr(customer, k)})
    wire = WireCustomerCreate(name=customer.name, email=customer.email, tax_id=customer.tax_id,
                              phone=customer.phone)
    body: dict[str, Any] = converter.unstructure(wire)
    return body


def send_body(options: SendOptions) -> dict[str, Any]:
    """The JSON body of `POST /invoices/{id}/send` for *options*."""
    body: dict[str, Any] = converter.unstructure(
        SendBody(cc_sender=options.cc_sender, attach_pdf=options.attach_pdf)
    )
    return body
