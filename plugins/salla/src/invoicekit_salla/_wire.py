"""Salla's wire format: the one reader of its invoices, and the one writer of its drafts.

`to_invoice()` turns one invoice object from any Salla answer (create, details, list,
the `invoice.created` webhook) into the domain `Invoice`; `draft_to_wire()` turns a
checked `InvoiceDraft` into the create request's body. Everything Salla's published
examples do that its schema does not say is absorbed here, in one place:

* `sub_total` (examples) and `subtotal` (schema) are both read;
* amounts arrive as numbers (`35.3`) or strings (`"90.50"`): both become exact `Decimal`s
  (JSON is decoded with `parse_float=Decimal`, so no binary float is ever involved; a
  float handed to the reader is refused, not rounded). A string may group thousands
  with commas only where that cannot be misread: `"1,234.50"` and `"1,234,567"` are
  read, `"90,50"`, `"1,2,3"`, `",5"` and `"1,234"` (a decimal comma?) are refused;
* `currency` may be `"ر.س"` (the riyal's Arabic abbreviation) or missing: it becomes
  `SAR`, or the invoice's currency;
* ids and quantities typed as strings arrive as numbers: both are accepted;
* `qr_code` may be null or a placeholder (`"SAVE20"`): only a readable ZATCA code is
  kept on `Invoice.qr_code` (the original stays in `raw`);
* list entries may lack `invoice_number`, `uuid` and `qr_code`;
* `type` is a label ("Tax Invoice", "Credit Note") or the request's enum value;
* unknown fields (and documented ones the model does not carry: `uuid`,
  `invoice_reference_id`, `taxable`, item ids) are not read, and kept in `Invoice.raw`.

There is one reader, written by hand because it is the fast one: it takes the payload
straight into the domain model and checks each value as it goes. Anything else raises
`WireFormatError`, whose message starts with the path of the offending field
(`items[3].price.amount: '9,0.5' is not an amount`); `read_invoice` and `to_page` turn
it into the typed error of the answer (`ProviderUnavailable`, or `OutcomeUnknown` after
a write) through `Response.malformed`. cattrs reads the one payload where it is the
simplest tool: the list answer's `pagination`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs
import cattrs

from invoicekit import (
    Invoice,
    InvoiceDraft,
    InvoiceKind,
    InvoiceStatus,
    LineItem,
    Money,
    Page,
    Response,
    errors,
)
from invoicekit.provider import (
    AMOUNT_TEXT,
    CURRENCY_ALIASES,
    MINOR_UNITS,
    base_converter,
    explain,
    normalize_currency,
    parse_date,
)

from ._rules import CURRENCY, DATA_FIELDS, PROVIDER, data_type_of, type_of
from .zatca import is_qr

__all__ = [
    "DEFAULT_CURRENCY",
    "PROVIDER",
    "WireFormatError",
    "WirePagination",
    "converter",
    "data_type_of",
    "draft_to_form",
    "draft_to_wire",
    "kind_from_label",
    "read_amount",
    "read_data",
    "read_invoice",
    "to_invoice",
    "to_page",
]

DEFAULT_CURRENCY = CURRENCY
"""The currency of an amount Salla sends without one (see `_rules.CURRENCY`)."""


class WireFormatError(ValueError):
    """A Salla payload that does not have the documented shape.

    `.path` names the offending field (`items[3].price.amount`, empty for the payload
    itself) and `.problem` says what is wrong with it; the message is both. Callers turn
    it into the typed error of the answer (`Response.malformed`, `WebhookError`).
    """

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}" if path else problem)
        self.path = path
        self.problem = problem

    def within(self, prefix: str) -> WireFormatError:
        """The same fault, seen from the object that holds the field at *prefix*."""
        if not self.path:
            path = prefix
        elif self.path.startswith("["):
            path = prefix + self.path
        else:
            path = f"{prefix}.{self.path}"
        return WireFormatError(path, self.problem)


def _kind(value: Any) -> str:
    # How a JSON value is named in a message (never the value itself: it may be huge).
    if value is None:
        return "null"
    names = {bool: "a boolean", dict: "an object", list: "a list", str: "a string",
             float: "a float"}
    return names.get(value.__class__, type(value).__name__)


# ---- values ----------------------------------------------------------------------------
def _number(value: Any) -> Decimal | None:
    """*value* as an exact, finite `Decimal` if it is an amount Salla sends, else `None`."""
    cls = value.__class__
    if cls is str:
        if value.isascii() and value.replace(".", "", 1).isdigit():
            return Decimal(value)  # the common "90.50": nothing to clean
        text = value.strip()
        if AMOUNT_TEXT.fullmatch(text) is None:
            return None
        return Decimal(text.replace(",", ""))
    if cls is int:
        return Decimal(value)
    if cls is Decimal:
        return value if value.is_finite() else None
    return None


def _not_an_amount(value: Any, path: str) -> WireFormatError:
    cls = value.__class__
    if cls is str:
        return WireFormatError(path, f"{value[:40]!r} is not an amount")
    if cls is Decimal:
        return WireFormatError(path, f"{value!r} is not a finite number")
    if cls is float:
        return WireFormatError(path, f"{value!r} is a binary float, not an exact amount")
    return WireFormatError(path, f"expected a number or a numeric string, got {_kind(value)}")


def read_amount(value: Any, path: str) -> Decimal:
    """A JSON number or numeric string (the SDK's `AMOUNT_TEXT`) as an exact, finite `Decimal`.

    Raises `WireFormatError` naming *path* for anything else (a float, a boolean, text
    that is not a number or whose commas are ambiguous, NaN or an infinity).
    """
    number = _number(value)
    if number is None:
        raise _not_an_amount(value, path)
    return number


def _text(value: Any, path: str) -> str | None:
    # Salla types ids as strings but sends numbers (and the other way round).
    cls = value.__class__
    if cls is str or value is None:
        return value  # type: ignore[no-any-return]
    if cls is int:
        try:
            return str(value)
        except ValueError:  # more digits than Python will print
            raise WireFormatError(path, "an integer far too long to be an id") from None
    raise WireFormatError(path, f"expected a string or an integer, got {_kind(value)}")


_CODES = {**{code: code for code in MINOR_UNITS}, **CURRENCY_ALIASES}


def _currency(value: Any, path: str) -> str:
    # An exact code or a known alias ("ر.س") directly; other text as the core normalises
    # it (" sar " -> SAR), or refused, as is anything that is not text.
    if value.__class__ is not str:
        raise WireFormatError(path, f"expected a currency code, got {_kind(value)}")
    code = _CODES.get(value)
    if code is not None:
        return code
    try:
        return normalize_currency(value)
    except errors.InvalidRequest as exc:
        raise WireFormatError(path, exc.message) from None


def _money(value: Any, currency: str, path: str) -> Money | None:
    """`{"amount": 90.5 | "90.50", "currency": "SAR" | "ر.س" | "" | absent, ...}`."""
    if value is None:
        return None
    if value.__class__ is not dict:
        raise WireFormatError(path, f"expected an amount object, got {_kind(value)}")
    try:
        amount: Any = value["amount"]
    except KeyError:
        raise WireFormatError(f"{path}.amount", "missing") from None
    cls = amount.__class__
    if cls is int or (cls is str and amount.isascii() and amount.replace(".", "", 1).isdigit()):
        amount = Decimal(amount)  # the common 130 and "90.50", read as `_number` reads them
    elif cls is not Decimal:
        number = _number(amount)
        if number is None:
            raise _not_an_amount(amount, f"{path}.amount")
        amount = number
    try:
        currency = _CODES[value["currency"]]  # an exact code or a known alias ("ر.س")
    except (KeyError, TypeError):  # none (the invoice's), other text, or not text
        own = value.get("currency")
        if own is not None and own != "":
            currency = _currency(own, f"{path}.currency")
    try:
        return Money(amount, currency)
    except errors.InvalidRequest:  # a Decimal NaN or infinity
        raise WireFormatError(f"{path}.amount", f"{amount!r} is not a finite number") from None


def _tax(value: Any, currency: str) -> tuple[Decimal | None, Money | None]:
    """`{"percent": 15 | "15.00", "amount": {amount object}}`."""
    if value is None:
        return None, None
    if value.__class__ is not dict:
        raise WireFormatError("tax", f"expected a tax object, got {_kind(value)}")
    percent = value.get("percent")
    if percent is not None:
        percent = Decimal(percent) if percent.__class__ is int else read_amount(
            percent, "tax.percent")
    return percent, _money(value.get("amount"), currency, "tax.amount")


def _date(value: Any) -> dt.date | None:
    # Salla leaves dates empty on some list entries: "" means no date, not an error.
    if value is None or value == "":
        return None
    if value.__class__ is not str:
        raise WireFormatError("date", f"expected a YYYY-MM-DD date, got {_kind(value)}")
    try:
        # The common `YYYY-MM-DD` directly; anything longer as the core reads dates.
        return dt.date.fromisoformat(value) if len(value) == 10 else parse_date(value)
    except ValueError:
        raise WireFormatError("date", f"{value[:40]!r} is not a YYYY-MM-DD date") from None


# ---- reading ---------------------------------------------------------------------------
_CREDIT_LABELS = frozenset({"credit_note", "credit note", "creditnote", "اشعار دائن",
                            "إشعار دائن", "فاتورة مسترجع", "مرتجع"})


_KNOWN_KINDS: dict[str | None, InvoiceKind] = {
    None: InvoiceKind.INVOICE,
    "Tax Invoice": InvoiceKind.INVOICE,
    "tax_invoice": InvoiceKind.INVOICE,
    "Credit Note": InvoiceKind.CREDIT_NOTE,
    "credit_note": InvoiceKind.CREDIT_NOTE,
}  # the labels Salla sends most, answered without normalising them


def kind_from_label(label: str | None) -> InvoiceKind:
    """`InvoiceKind` from Salla's `type`: "Credit Note"/`credit_note` (or the Arabic
    labels) is a credit note; "Tax Invoice", `tax_invoice`, any other label (a simplified
    tax invoice, say) and a missing one are invoices."""
    known = _KNOWN_KINDS.get(label)
    if known is not None:
        return known
    if label is None:
        return InvoiceKind.INVOICE
    text = " ".join(label.replace("_", " ").replace("-", " ").split()).lower()
    if text in _CREDIT_LABELS or text.replace(" ", "_") in _CREDIT_LABELS:
        return InvoiceKind.CREDIT_NOTE
    return InvoiceKind.INVOICE


_ONE = Decimal(1)  # an item without a quantity is one of it


def _item(item: Any, currency: str) -> LineItem:
    """One entry of an invoice's `items` (paths relative to the entry)."""
    if item.__class__ is not dict:
        raise WireFormatError("", f"expected an item object, got {_kind(item)}")
    get = item.get
    try:
        name = item["name"]
        price = _money(item["price"], currency, "price")
    except KeyError as exc:
        raise WireFormatError(exc.args[0], f"missing: an item needs a {exc.args[0]}") from None
    if name.__class__ is not str:
        name = _text(name, "name")
        if name is None:
            raise WireFormatError("name", "missing: an item needs a name")
    if price is None:
        raise WireFormatError("price", "missing: an item needs a price")
    quantity = get("quantity", _ONE)
    cls = quantity.__class__
    if cls is int:
        quantity = Decimal(quantity)
    elif cls is not Decimal or not quantity.is_finite():
        quantity = read_amount(quantity, "quantity")
    tax_rate, tax = _tax(get("tax"), currency)
    sku, product_id, kind = get("sku"), get("product_id"), get("type")
    # Positional, in the model's field order: an invoice builds one per item, and
    # keywords cost a third of the constructor's time.
    return LineItem(
        name,  # name
        quantity,  # quantity
        price,  # unit_price
        _money(get("discount"), currency, "discount"),  # discount
        tax_rate,  # tax_rate
        tax,  # tax
        _money(get("total"), currency, "total"),  # total
        sku if sku.__class__ is str else _text(sku, "sku"),  # sku
        product_id if product_id.__class__ is str else _text(product_id, "product_id"),
        kind if kind.__class__ is str else _text(kind, "type"),  # kind
    )


def _own_currency(amount: Any) -> Any:
    # The currency an amount object names, if it is one and names one.
    return amount.get("currency") if amount.__class__ is dict else None


def _currency_of(total: Any, subtotal: Any, subtotal_key: str, shipping: Any,
                 items: Any) -> str:
    """The invoice's currency: the first one its amounts name, else SAR."""
    own = _own_currency(total)
    if own:
        return _currency(own, "total.currency")
    own = _own_currency(subtotal)
    if own:
        return _currency(own, f"{subtotal_key}.currency")
    own = _own_currency(shipping)
    if own:
        return _currency(own, "shipping_cost.currency")
    for index, item in enumerate(items):
        if item.__class__ is dict:
            own = _own_currency(item.get("price"))
            if own:
                return _currency(own, f"items[{index}].price.currency")
    return CURRENCY


def _item_fault(items: list[Any], currency: str) -> WireFormatError:
    # Only after a fault: read the items again, one by one, to say which one it is.
    for index, item in enumerate(items):
        try:
            _item(item, currency)
        except WireFormatError as exc:
            return exc.within(f"items[{index}]")
    raise AssertionError("an item failed, then read")  # pragma: no cover


def to_invoice(data: Any) -> Invoice:
    """One Salla invoice object as the domain `Invoice`; `WireFormatError` if it is not one.

    Salla has no draft state: every invoice it returns is issued, so `status` is
    `ISSUED` and `provider_status` stays `None`.
    """
    if data.__class__ is not dict:
        if not isinstance(data, Mapping):
            raise WireFormatError("", f"expected an invoice object, got {_kind(data)}")
        data = dict(data)
    get = data.get
    invoice_id = get("id")
    if invoice_id.__class__ is not str:
        invoice_id = _text(invoice_id, "id")
        if invoice_id is None:
            raise WireFormatError("id", "missing: an invoice needs an id")
    items = get("items", ())
    if items.__class__ is not list and items != ():
        raise WireFormatError("items", f"expected a list of items, got {_kind(items)}")
    subtotal_key = "sub_total"
    subtotal = get("sub_total")
    if subtotal is None:
        subtotal_key = "subtotal"
        subtotal = get("subtotal")
    total = get("total")
    shipping = get("shipping_cost")
    currency = _currency_of(total, subtotal, subtotal_key, shipping, items)
    try:
        lines = tuple([_item(item, currency) for item in items])
    except WireFormatError:
        raise _item_fault(items, currency) from None
    tax_rate, tax = _tax(get("tax"), currency)
    qr_code = _text(get("qr_code"), "qr_code")
    return Invoice(  # positional, in the model's field order (see `_item`)
        invoice_id,  # id
        PROVIDER,  # provider
        _text(get("invoice_number"), "invoice_number"),  # number
        kind_from_label(_text(get("type"), "type")),  # kind
        InvoiceStatus.ISSUED,  # status
        None,  # provider_status
        _date(get("date")),  # issue_date
        None,  # due_date
        currency,  # currency
        _text(get("order_id"), "order_id"),  # order_id
        None,  # customer
        lines,  # items
        _money(subtotal, currency, subtotal_key),  # subtotal
        _money(shipping, currency, "shipping_cost"),  # shipping
        _money(get("cod_cost"), currency, "cod_cost"),  # cash_on_delivery
        _money(get("discount"), currency, "discount"),  # discount
        tax_rate,  # tax_rate
        tax,  # tax
        _money(total, currency, "total"),  # total
        None,  # amount_paid
        None,  # balance_due
        _text(get("payment_method"), "payment_method"),  # payment_method
        qr_code if qr_code is not None and is_qr(qr_code) else None,  # qr_code
        _text(get("url"), "url"),  # pdf_url
        None,  # hosted_url
        None,  # description
        data,  # raw
    )


# ---- answers ---------------------------------------------------------------------------
@attrs.frozen(slots=True)
class WirePagination:
    """`pagination` of a list answer; `links` is `[]` or `{}` or `{"next": url, ...}`."""

    count: int | None = None
    total: int | None = None
    perPage: int | None = None  # Salla's own spelling
    currentPage: int | None = None
    totalPages: int | None = None
    links: Any = None


def _int(value: Any, _: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    raise ValueError(f"expected an integer, got {_kind(value)}")


def _make_converter() -> cattrs.Converter:
    conv = base_converter()
    conv.register_structure_hook(int, _int)
    return conv


converter = _make_converter()
"""The Salla converter for `pagination`: the core's base converter, integers also as
numeric strings (PHP sends both)."""


def _envelope(response: Response, what: str) -> dict[str, Any]:
    # Decoded with parse_float=Decimal: a JSON number never becomes a binary float.
    body = response.json_object(parse_float=Decimal)
    if body.get("success") is False or "data" not in body:
        raise response.malformed(f"expected {what} in Salla's {{status, success, data}} envelope")
    return body


def read_data(response: Response) -> Any:
    """The `data` of a successful Salla envelope, decoded exactly; a typed error otherwise."""
    return _envelope(response, "data")["data"]


def read_invoice(response: Response) -> Invoice:
    """The invoice in a create or details answer (the typed error if it is not one)."""
    data = read_data(response)
    try:
        return to_invoice(data)
    except WireFormatError as exc:
        raise response.malformed(f"Salla sent an unreadable invoice: {exc}", exc) from exc


def to_page(response: Response) -> Page:
    """One page of `GET /orders/invoices`; `next_cursor` is the next page number."""
    body = _envelope(response, "a list of invoices")
    entries = body["data"]
    if not isinstance(entries, list):
        raise response.malformed("expected a list of invoices in Salla's envelope")
    invoices = []
    try:
        for index, entry in enumerate(entries):
            try:
                invoices.append(to_invoice(entry))
            except WireFormatError as exc:
                raise exc.within(f"data[{index}]") from None
    except WireFormatError as exc:
        raise response.malformed(f"Salla sent an unreadable invoice: {exc}", exc) from exc
    raw_pagination = body.get("pagination") or {}
    try:
        pagination = converter.structure(raw_pagination, WirePagination)
    except Exception as exc:  # cattrs' errors, our hooks' ValueErrors
        why = explain(converter, raw_pagination, WirePagination)
        raise response.malformed(f"unexpected pagination shape: {why}", exc) from exc
    return Page(items=tuple(invoices), next_cursor=_next_page(pagination))


def _next_page(p: WirePagination) -> str | None:
    if p.currentPage is not None and p.totalPages is not None:
        return str(p.currentPage + 1) if p.currentPage < p.totalPages else None
    # Without page numbers, follow `links.next` when Salla gives it.
    links = p.links if isinstance(p.links, Mapping) else {}
    if links.get("next") and p.currentPage is not None:
        return str(p.currentPage + 1)
    return None


# ---- writing ---------------------------------------------------------------------------
_DATA_BODY = tuple((field.wire, field.draft, field.amount) for field in DATA_FIELDS)
_ZERO = Decimal(0)


def draft_to_wire(draft: InvoiceDraft) -> dict[str, Any]:
    """The JSON body of `POST /orders/invoices` for a checked draft (not for `file`).

    Amounts are `Decimal`s, which the core sends as exact JSON numbers; `order_id` is
    an integer, as documented. Only the fields of the draft's `data_type` are sent (for
    `data`, the fields of `_rules.DATA_FIELDS`).
    """
    assert draft.order_id is not None  # check_draft guarantees it
    kind = data_type_of(draft)
    body: dict[str, Any] = {"order_id": int(draft.order_id), "type": type_of(draft),
                            "data_type": kind}
    if kind == "url":
        body["url"] = draft.document_url
    elif kind == "data":
        for wire, name, amount in _DATA_BODY:
            value = getattr(draft, name)
            if value.__class__ is Money:
                value = value.amount
            elif value is None and amount:  # only in an unchecked draft: nothing charged
                value = _ZERO
            body[wire] = value  # `tax_rate` is a Decimal, `number` a str
    return body


def draft_to_form(draft: InvoiceDraft) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    """The multipart form fields and file of a `file` draft (a PDF upload)."""
    assert draft.order_id is not None
    assert draft.document_pdf is not None
    fields = {"order_id": draft.order_id, "type": type_of(draft), "data_type": "file"}
    # The order id is digits: a safe file name whatever the invoice number contains.
    filename = f"invoice-{draft.order_id}.pdf"
    return fields, {"file": (filename, draft.document_pdf, "application/pdf")}
