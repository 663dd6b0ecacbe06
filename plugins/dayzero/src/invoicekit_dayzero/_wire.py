"""DayZero's wire format: attrs classes, the cattrs converter, and explicit conversions.

Everything DayZero-shaped lives here, so the provider module only describes requests:

* **Money is integer cents** on the wire and `Money` in the model, converted exactly with
  `Money.from_minor` / `Money.to_minor` (a sub-cent amount is refused, never rounded).
* **Responses may be bare or wrapped** in `{success, message, code, data}`; `unwrap()`
  takes `data` out of such an envelope.
* **Statuses** map to `InvoiceStatus`: `stripe_paid` and `manual_paid` are both `PAID`
  (the original stays in `Invoice.provider_status`), and a status this version does not
  know becomes `UNKNOWN` rather than failing the whole call.
* **Two ways in, one result**: `fast_invoice` reads a well-formed invoice straight into
  the model; anything it does not take goes through the wire classes and the converter,
  which read DayZero's quirks or raise the typed error naming the field. A parity test
  holds the two to the same answer.
* **Details the public docs leave open** are chosen once, here: the send body's field names
  (`SendBody`), the PDF link field (`PDF_URL_FIELDS`), the currency of an invoice that names
  none (`DEFAULT_CURRENCY`).

cattrs' own `int`, `str` and `bool` hooks are lenient (`int(12.7) == 12`, `bool("false")` is
true, `str(None) == "None"`); this converter registers strict ones, because a truncated
amount of cents or an id of `"None"` is a wrong invoice, not a parsing convenience.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from invoicekit import (
    Customer,
    IdPattern,
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
from invoicekit.convert import base_converter, structure_response
from invoicekit.provider import MINOR_UNITS

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
    "WireInvoice",
    "WireInvoiceCreate",
    "WireLineItem",
    "WireLineItemCreate",
    "WireSendResult",
    "check_draft",
    "converter",
    "customer_body",
    "customer_from_wire",
    "fast_invoice",
    "fast_invoice_body",
    "fast_paging",
    "invoice_body",
    "invoice_from_wire",
    "invoice_page",
    "parse_customer",
    "parse_invoice",
    "parse_pdf_url",
    "parse_receipt",
    "send_body",
    "unwrap",
    "wire_statuses",
]

T = TypeVar("T")

PROVIDER: Final = "dayzero"
"""The registry name, for errors raised while parsing."""

DAYZERO_ID: Final = IdPattern(
    "DayZero id (a UUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6)",
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
)
"""DayZero ids (invoices, customers, businesses) are UUIDs; nothing else enters a URL."""

SUPPORTED_CURRENCIES: Final = ("USD", "CAD", "AUD", "EUR", "GBP")
"""The only currencies DayZero invoices can be in (from DayZero's create-invoice docs)."""

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


# ---- wire classes ---------------------------------------------------------------------
@attrs.define(slots=True)
class WireLineItem:
    """A line item as DayZero returns it (`amount` is the line total, when sent)."""

    description: str
    quantity: int
    unit_price: int
    variant_id: str | None = None
    amount: int | None = None
    id: str | None = None


@attrs.define(slots=True)
class WireInvoice:
    """An invoice as DayZero returns it (only the fields the model uses; `raw` keeps all)."""

    id: str
    status: str
    currency: str | None = None
    number: str | None = None
    customer_id: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    issue_date: dt.date | None = None
    due_date: dt.date | None = None
    description: str | None = None
    line_items: list[WireLineItem] = attrs.field(factory=list)
    subtotal: int | None = None
    total: int | None = None
    total_paid: int | None = None
    balance_due: int | None = None
    pdf_url: str | None = None
    hosted_invoice_url: str | None = None
    created_at: str | None = None


@attrs.define(slots=True)
class WireLineItemCreate:
    """A line item of `POST /invoices`: `unit_price` in cents, whole `quantity`."""

    description: str
    quantity: int
    unit_price: int


@attrs.define(slots=True)
class WireInvoiceCreate:
    """The body of `POST /invoices`."""

    customer_id: str
    line_items: list[WireLineItemCreate]
    due_date: dt.date
    issue_date: dt.date | None = None
    description: str | None = None
    currency: str | None = None


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


@attrs.define(slots=True)
class _WireList:
    items: list[WireInvoice]
    next_cursor: str | None = None
    has_next: bool | None = None
    has_more: bool | None = None


# ---- the converter ------------------------------------------------------------------
def _strict_int(value: Any, _: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError(f"expected a whole number, got {value!r}")


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
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(bool, _strict_bool)
    # Items first: the invoice's hook is generated with the item hook already in place.
    for cls in (WireLineItemCreate, WireInvoiceCreate, WireCustomerCreate):
        conv.register_unstructure_hook(
            cls, make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True)
        )
    # `cc_sender` is always sent (even false); `attach_pdf` only when chosen.
    conv.register_unstructure_hook(
        SendBody,
        make_dict_unstructure_fn(SendBody, conv, _cattrs_omit_if_default=True,
                                 cc_sender=override(omit_if_default=False)),
    )
    return conv


converter: Final = _make_converter()
"""The DayZero converter, built on `invoicekit.convert.base_converter()`."""


def unwrap(payload: Any) -> Any:
    """`data` out of a `{success, message, code, data}` envelope; a bare payload as it is."""
    if (
        isinstance(payload, dict)
        and "data" in payload
        and set(payload) <= {"success", "message", "code", "data"}
    ):
        return payload["data"]
    return payload


def _body(response: Response) -> Any:
    """The decoded body, unwrapped; a wrapper saying `success: false` is a provider error."""
    payload = response.json()
    if (
        isinstance(payload, dict)
        and payload.get("success") is False
        and "data" in payload
        and set(payload) <= {"success", "message", "code", "data"}
    ):
        message = payload.get("message")
        code = payload.get("code")
        raise errors.ProviderError(
            message if isinstance(message, str) and message else "DayZero reported a failure",
            provider=PROVIDER,
            status=response.status,
            code=str(code) if code is not None else None,
            raw=payload,
            request_id=response.request_id,
        )
    return unwrap(payload)


def _structure(response: Response, data: Any, cls: type[T], what: str) -> T:
    return structure_response(converter, response, data, cls, what=f"{what} from DayZero")


def _object(response: Response, data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise response.malformed(f"expected {what} object from DayZero, got {type(data).__name__}")
    return data


# ---- wire -> domain -------------------------------------------------------------------
def _money(cents: int | None, currency: str) -> Money | None:
    return None if cents is None else Money.from_minor(cents, currency)


def invoice_from_wire(wire: WireInvoice, raw: Mapping[str, Any]) -> Invoice:
    """The domain `Invoice` for a structured DayZero invoice (*raw* is kept as `raw`)."""
    currency = (wire.currency or DEFAULT_CURRENCY).upper()
    items = []
    for line in wire.line_items:
        price = Money.from_minor(line.unit_price, currency)
        line_total = line.amount if line.amount is not None else line.unit_price * line.quantity
        items.append(
            LineItem(
                name=line.description,
                quantity=Decimal(line.quantity),
                unit_price=price,
                total=Money.from_minor(line_total, currency),
            )
        )
    customer = None
    if wire.customer_id is not None or wire.customer_name or wire.customer_email:
        customer = Customer(id=wire.customer_id, name=wire.customer_name,
                            email=wire.customer_email)
    status = STATUS_FROM_WIRE.get(wire.status, InvoiceStatus.UNKNOWN)
    return Invoice(
        id=wire.id,
        provider=PROVIDER,
        number=wire.number,
        kind=InvoiceKind.INVOICE,
        status=status,
        provider_status=wire.status,
        issue_date=wire.issue_date,
        due_date=wire.due_date,
        currency=currency,
        customer=customer,
        items=tuple(items),
        subtotal=_money(wire.subtotal, currency),
        total=_money(wire.total, currency),
        amount_paid=_money(wire.total_paid, currency),
        balance_due=_money(wire.balance_due, currency),
        pdf_url=wire.pdf_url,
        hosted_url=wire.hosted_invoice_url,
        description=wire.description,
        raw=raw,
    )


# ---- the fast path: decoded JSON straight into the domain model ------------------------
_STR_OR_NONE: Final = frozenset({str, type(None)})
_INT_OR_NONE: Final = frozenset({int, type(None)})
_BOOL_OR_NONE: Final = frozenset({bool, type(None)})
_DATE_OR_NONE: Final = frozenset({dt.date, type(None)})
# `DAYZERO_ID.matches` without its call overhead (its length limit cannot bind: 36 chars).
_is_uuid: Final = re.compile(DAYZERO_ID.regex, re.ASCII).fullmatch
_from_iso: Final = dt.date.fromisoformat
_NOT_FAST: Final = object()


def _day(value: Any) -> Any:
    """`parse_date` of a `str` or `None`; `_NOT_FAST` for anything else."""
    if value is None:
        return None
    if value.__class__ is not str:
        return _NOT_FAST
    try:
        return _from_iso(value.strip()[:10])
    except ValueError:
        return _NOT_FAST


def _cents(memo: dict[int, Money], cents: int, code: str) -> Money:
    """`Money.from_minor(cents, code)`, one instance per amount within one invoice (a
    subtotal, total and balance due are often the same amount; `Money` is immutable)."""
    money = memo.get(cents)
    if money is None:
        money = memo[cents] = Money.from_minor(cents, code)
    return money


def fast_invoice(data: Any) -> Invoice | None:
    """The `Invoice` for a well-formed decoded DayZero invoice, or `None` for anything else.

    This reads the dict straight into the domain model, without building wire objects
    first (listing pays this per invoice; most of what is left is building the `Invoice`,
    its `LineItem`s and `Money`s, which validate themselves). It accepts only exact JSON
    types: `str` texts and UUID id, `int` cents and quantities, `YYYY-MM-DD` dates, a known
    currency. Any deviation, including the quirks the cattrs path tolerates (an id sent as
    a number, cents as a numeric string), returns `None`; the caller then takes the cattrs
    path, which reads the quirk or raises the typed error naming the field.
    Whenever this returns an invoice, the cattrs path returns an equal one, `raw` included
    (`tests/test_dayzero_fastpath.py` checks it over generated payloads).
    """
    if data.__class__ is not dict:
        return None
    get = data.get
    invoice_id = get("id")
    status = get("status")
    currency = get("currency")
    number = get("number")
    customer_id = get("customer_id")
    customer_name = get("customer_name")
    customer_email = get("customer_email")
    description = get("description")
    pdf_url = get("pdf_url")
    hosted_url = get("hosted_invoice_url")
    subtotal = get("subtotal")
    total = get("total")
    paid = get("total_paid")
    due = get("balance_due")
    if (
        invoice_id.__class__ is not str
        or status.__class__ is not str
        or not {currency.__class__, number.__class__, customer_id.__class__,
                customer_name.__class__, customer_email.__class__, description.__class__,
                pdf_url.__class__, hosted_url.__class__,
                get("created_at").__class__} <= _STR_OR_NONE
        or not {subtotal.__class__, total.__class__, paid.__class__,
                due.__class__} <= _INT_OR_NONE
        or _is_uuid(invoice_id) is None
    ):
        return None
    issue_date = _day(get("issue_date"))
    due_date = _day(get("due_date"))
    if issue_date is _NOT_FAST or due_date is _NOT_FAST:
        return None
    code = (currency or DEFAULT_CURRENCY).upper()
    if code not in MINOR_UNITS:
        return None
    memo: dict[int, Money] = {}
    lines = get("line_items")
    if lines is None:
        lines = ()  # a summary (list view) carries `line_items: null`
    elif lines.__class__ is not list:
        return None
    items = []
    for line in lines:
        if line.__class__ is not dict:
            return None
        line_get = line.get
        name = line_get("description")
        quantity = line_get("quantity")
        cents = line_get("unit_price")
        amount = line_get("amount")
        if (
            name.__class__ is not str
            or quantity.__class__ is not int
            or cents.__class__ is not int
            or not {amount.__class__} <= _INT_OR_NONE
            or not {line_get("variant_id").__class__, line_get("id").__class__} <= _STR_OR_NONE
        ):
            return None
        items.append(LineItem(
            name=name,
            quantity=Decimal(quantity),
            unit_price=_cents(memo, cents, code),
            total=_cents(memo, cents * quantity if amount is None else amount, code),
        ))
    customer = None
    if customer_id is not None or customer_name or customer_email:
        customer = Customer(id=customer_id, name=customer_name, email=customer_email)
    return Invoice(
        id=invoice_id,
        provider=PROVIDER,
        number=number,
        kind=InvoiceKind.INVOICE,
        status=STATUS_FROM_WIRE.get(status, InvoiceStatus.UNKNOWN),
        provider_status=status,
        issue_date=issue_date,
        due_date=due_date,
        currency=code,
        customer=customer,
        items=items,
        subtotal=None if subtotal is None else _cents(memo, subtotal, code),
        total=None if total is None else _cents(memo, total, code),
        amount_paid=None if paid is None else _cents(memo, paid, code),
        balance_due=None if due is None else _cents(memo, due, code),
        pdf_url=pdf_url,
        hosted_url=hosted_url,
        description=description,
        raw=data,
    )


def fast_paging(data: dict[str, Any]) -> tuple[str | None, bool | None, bool | None] | None:
    """A list page's `(next_cursor, has_next, has_more)` when all are JSON's own types;
    `None` otherwise, for the converter (`_WireList`) to read or refuse."""
    cursor = data.get("next_cursor")
    has_next = data.get("has_next")
    has_more = data.get("has_more")
    if {cursor.__class__} <= _STR_OR_NONE and {has_next.__class__,
                                               has_more.__class__} <= _BOOL_OR_NONE:
        return cursor, has_next, has_more
    return None


def _invoice(response: Response, data: Any) -> Invoice:
    invoice = fast_invoice(data)
    return invoice if invoice is not None else _invoice_detailed(response, data)


def _invoice_detailed(response: Response, data: Any) -> Invoice:
    # The cattrs path: it reads every quirk the fast path leaves to it, and explains a
    # payload that does not fit with the typed error naming the field.
    raw = _object(response, data, "an invoice")
    # A summary (list view) may carry `line_items: null`: no items, not a broken invoice.
    shaped = {**raw, "line_items": []} if raw.get("line_items") is None else raw
    wire = _structure(response, shaped, WireInvoice, "invoice")
    if not DAYZERO_ID.matches(wire.id):
        raise response.malformed(f"DayZero returned an invoice id that is not a UUID: {wire.id!r}")
    try:
        return invoice_from_wire(wire, raw)
    except (errors.InvoiceKitError, ValueError, TypeError) as exc:
        raise response.malformed(f"unusable invoice from DayZero: {exc}", exc) from exc


def parse_invoice(response: Response) -> Invoice:
    """The invoice in a response body (bare or wrapped)."""
    return _invoice(response, _body(response))


@attrs.frozen(slots=True)
class InvoicePage:
    """One parsed page of `GET /invoices`: its invoices and the next cursor (`None`: last)."""

    items: tuple[Invoice, ...]
    next_cursor: str | None


def invoice_page(response: Response) -> InvoicePage:
    """A page of `GET /invoices`: `items`, `next_cursor`, and `has_next` or `has_more`."""
    data = _object(response, _body(response), "a list")
    raw_items = data.get("items")
    if not isinstance(raw_items, list):
        raise response.malformed("DayZero's invoice list has no 'items' array")
    paging = fast_paging(data)
    if paging is None:
        page = _structure(response, {**data, "items": []}, _WireList, "invoice list")
        paging = (page.next_cursor, page.has_next, page.has_more)
    invoices = tuple([_invoice(response, item) for item in raw_items])
    cursor, has_next, has_more = paging
    more = has_next if has_next is not None else has_more
    cursor = cursor or None
    if more is False:
        cursor = None
    return InvoicePage(invoices, cursor)


def customer_from_wire(wire: WireCustomer) -> Customer:
    """The domain `Customer` for a DayZero customer."""
    return Customer(id=wire.id, name=wire.name, email=wire.email, tax_id=wire.tax_id,
                    phone=wire.phone)


def parse_customer(response: Response) -> Customer:
    """The customer in a response body (bare or wrapped)."""
    raw = _object(response, _body(response), "a customer")
    wire = _structure(response, raw, WireCustomer, "customer")
    if not DAYZERO_ID.matches(wire.id):
        raise response.malformed(f"DayZero returned a customer id that is not a UUID: {wire.id!r}")
    return customer_from_wire(wire)


def parse_receipt(response: Response, invoice_id: str) -> SendReceipt:
    """The `SendReceipt` for a send's 201 answer."""
    raw = _object(response, _body(response), "a send result")
    wire = _structure(response, raw, WireSendResult, "send result")
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


# ---- domain -> wire -------------------------------------------------------------------
def _problems(draft: InvoiceDraft) -> Iterable[tuple[str, str]]:
    """Each reason DayZero would refuse *draft* (or silently change it), as (field, text)."""
    currency = draft.effective_currency
    if currency is not None and currency not in SUPPORTED_CURRENCIES:
        yield ("currency",
               f"DayZero invoices can only be in {', '.join(SUPPORTED_CURRENCIES)}; a {currency} "
               f"invoice cannot be created on DayZero (convert the amounts first)")
    if not draft.items:
        yield ("items", "DayZero needs at least one line item")
    if draft.due_date is None:
        yield ("due_date", "DayZero needs a due date")
    customer = draft.customer
    if customer is None:
        yield ("customer", "DayZero needs a customer: an existing id, or a name and an email")
    elif customer.id is not None:
        if not DAYZERO_ID.matches(customer.id):
            yield ("customer.id", f"{customer.id!r} is not a {DAYZERO_ID.label}")
    elif not customer.name or not customer.email:
        yield ("customer", "a customer without an id is created first, and DayZero needs "
                           "both its name and its email for that")
    if draft.number is not None:
        yield ("number", "DayZero assigns the invoice number when the invoice is finalized; "
                         "it cannot be set")
    if draft.order_id is not None:
        yield ("order_id", "DayZero invoices are not tied to orders; leave order_id unset")
    for name in ("shipping", "cash_on_delivery", "discount", "tax"):
        money = getattr(draft, name)
        if money is not None and money.amount != 0:
            yield (name, f"DayZero invoices have no {name.replace('_', ' ')} amount; add it as a "
                         "line item so the total stays the same")
    if draft.tax_rate is not None and draft.tax_rate != 0:
        yield ("tax_rate", "DayZero invoices have no tax rate; include the tax as a line item")
    # Sums are kept as Decimals (what `Money` arithmetic does to the amounts; the draft has
    # one currency): a `Money` is only built for a message.
    currency = ""
    computed: Decimal | None = None
    for index, item in enumerate(draft.items):
        where = f"items.{index}"
        quantity = item.quantity
        price = item.unit_price
        if quantity != quantity.to_integral_value():
            yield (f"{where}.quantity",
                   f"DayZero quantities are whole numbers; {quantity} is fractional")
        elif quantity < 1:
            yield (f"{where}.quantity", f"DayZero quantities are at least 1, got {quantity}")
        for label, money in (("unit_price", price), ("total", item.total)):
            if money is not None and not money.is_exact_in_minor_units():
                yield (f"{where}.{label}",
                       f"{money} has a fraction of a cent; DayZero amounts are whole cents")
        for label, money in (("discount", item.discount), ("tax", item.tax)):
            if money is not None and money.amount != 0:
                yield (f"{where}.{label}", f"DayZero line items have no {label}; add it as "
                                           "its own line item")
        if item.tax_rate is not None and item.tax_rate != 0:
            yield (f"{where}.tax_rate", "DayZero line items have no tax rate")
        line = price.amount * quantity
        if item.total is not None and item.total.amount != line:
            yield (f"{where}.total", f"the line total {item.total} is not quantity x unit price "
                                     f"({Money(line, price.currency)}), which is what DayZero "
                                     "will charge")
        if computed is None:
            computed, currency = line, price.currency
        else:
            computed += line
    for name, money in (("subtotal", draft.subtotal), ("total", draft.total)):
        if money is None:
            continue
        if not money.is_exact_in_minor_units():
            yield (name, f"{money} has a fraction of a cent; DayZero amounts are whole cents")
        elif computed is not None and money.amount != computed:
            yield (name, f"the draft's {name} {money} differs from the sum of its line items "
                         f"({Money(computed, currency)}), which is what DayZero will charge")


def check_draft(draft: InvoiceDraft) -> None:
    """Raise `InvalidRequest` naming every reason DayZero would refuse *draft*."""
    found = list(_problems(draft))
    if not found:
        return
    fields: dict[str, list[str]] = {}
    for field, text in found:
        fields.setdefault(field, []).append(text)
    summary = "; ".join(f"{field}: {text}" for field, text in found)
    raise errors.InvalidRequest(f"DayZero cannot take this draft: {summary}", provider=PROVIDER,
                                fields=fields)


def invoice_body(draft: InvoiceDraft, customer_id: str) -> dict[str, Any]:
    """The JSON body of `POST /invoices` for a checked *draft* (see `check_draft`)."""
    check_draft(draft)
    assert draft.due_date is not None
    customer_id = DAYZERO_ID.check(customer_id, provider=PROVIDER)
    body = fast_invoice_body(draft, customer_id)
    if body is not None:
        return body
    wire = WireInvoiceCreate(
        customer_id=customer_id,
        line_items=[
            WireLineItemCreate(
                description=item.name,
                quantity=int(item.quantity),
                unit_price=item.unit_price.to_minor(),
            )
            for item in draft.items
        ],
        due_date=draft.due_date,
        issue_date=draft.issue_date,
        description=draft.description,
        currency=draft.effective_currency,
    )
    unstructured: dict[str, Any] = converter.unstructure(wire)
    return unstructured


def fast_invoice_body(draft: InvoiceDraft, customer_id: str) -> dict[str, Any] | None:
    """What the converter writes for a checked *draft*'s `WireInvoiceCreate` (its field
    order, `None`s left out), built without the wire objects; `None` when a value is not
    of its plain type (a `datetime` as a date), for `invoice_body` to take the converter."""
    due_date = draft.due_date
    issue_date = draft.issue_date
    description = draft.description
    currency = draft.effective_currency
    if (due_date.__class__ is not dt.date or not {issue_date.__class__} <= _DATE_OR_NONE
            or not {description.__class__, currency.__class__} <= _STR_OR_NONE):
        return None
    assert due_date is not None
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "line_items": [
            {"description": item.name, "quantity": int(item.quantity),
             "unit_price": item.unit_price.to_minor()}
            for item in draft.items
        ],
        "due_date": due_date.isoformat(),
    }
    if issue_date is not None:
        body["issue_date"] = issue_date.isoformat()
    if description is not None:
        body["description"] = description
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
