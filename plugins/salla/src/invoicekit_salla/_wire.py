"""Salla's wire format: attrs classes for its JSON, and the explicit conversions.

`to_invoice()` turns one invoice object from any Salla answer (create, details, list,
the `invoice.created` webhook) into the domain `Invoice`; `draft_to_wire()` turns a
checked `InvoiceDraft` into the create request's body. Everything Salla's published
examples do that its schema does not say is absorbed here, in one place:

* `sub_total` (examples) and `subtotal` (schema) are both read;
* amounts arrive as numbers (`35.3`) or strings (`"90.50"`): both become exact `Decimal`s
  (JSON is decoded with `parse_float=Decimal`, so no binary float is ever involved);
* `currency` may be `"ر.س"` (the riyal's Arabic abbreviation) or missing: it becomes
  `SAR`, or the invoice's currency;
* ids and quantities typed as strings arrive as numbers: both are accepted;
* `qr_code` may be null or a placeholder (`"SAVE20"`): only a readable ZATCA code is
  kept on `Invoice.qr_code` (the original stays in `raw`);
* list entries may lack `invoice_number`, `uuid` and `qr_code`;
* `type` is a label ("Tax Invoice", "Credit Note") or the request's enum value;
* unknown fields are ignored by the converter and kept in `Invoice.raw`.

Reading is done twice over, for speed: `to_invoice()` first tries a fast reader that
takes the common, well-formed shapes straight into the domain model, and falls back to
the attrs wire classes (structured by cattrs) for anything else. The wire classes stay
the reference: they absorb the rarer quirks and explain a fault field by field, and the
fast reader may only accept what they accept, with the same result (a parity test runs
both on every fixture and on generated variants).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

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
from invoicekit.convert import base_converter, explain, parse_date
from invoicekit.provider import CURRENCY_ALIASES, MINOR_UNITS, normalize_currency

from .zatca import is_qr

__all__ = [
    "DEFAULT_CURRENCY",
    "PROVIDER",
    "WireAmount",
    "WireFormatError",
    "WireInvoice",
    "WireItem",
    "WirePagination",
    "WireTax",
    "converter",
    "data_type_of",
    "draft_to_form",
    "draft_to_wire",
    "kind_from_label",
    "read_data",
    "read_invoice",
    "to_invoice",
    "to_page",
]

PROVIDER = "salla"
DEFAULT_CURRENCY = "SAR"
"""Salla's invoices are Saudi tax documents: an amount without a currency is in riyals."""

T = TypeVar("T")


class WireFormatError(ValueError):
    """A Salla payload that does not have the documented shape (callers make it typed)."""


@attrs.frozen(slots=True)
class WireAmount:
    """`{"amount": 90.5 | "90.50", "currency": "SAR" | "ر.س", "taxable": true}`."""

    amount: Decimal
    currency: str | None = None
    taxable: bool | None = None


@attrs.frozen(slots=True)
class WireTax:
    """`{"percent": 15, "amount": {"amount": 13.58, "currency": "SAR"}}`."""

    percent: Decimal | None = None
    amount: WireAmount | None = None


@attrs.frozen(slots=True)
class WireItem:
    """One entry of an invoice's `items`."""

    name: str
    quantity: Decimal = Decimal(1)
    id: str | None = None
    item_id: str | None = None
    product_id: str | None = None
    sku: str | None = None
    type: str | None = None
    price: WireAmount | None = None
    discount: WireAmount | None = None
    tax: WireTax | None = None
    total: WireAmount | None = None


@attrs.frozen(slots=True)
class WireInvoice:
    """An invoice as Salla sends it (details, create answer, list entry, webhook)."""

    id: str
    order_id: str | None = None
    type: str | None = None
    invoice_number: str | None = None
    uuid: str | None = None
    invoice_reference_id: str | None = None
    date: dt.date | None = None
    qr_code: str | None = None
    payment_method: str | None = None
    url: str | None = None
    sub_total: WireAmount | None = None
    subtotal: WireAmount | None = None
    shipping_cost: WireAmount | None = None
    cod_cost: WireAmount | None = None
    discount: WireAmount | None = None
    tax: WireTax | None = None
    total: WireAmount | None = None
    items: tuple[WireItem, ...] = ()


@attrs.frozen(slots=True)
class WirePagination:
    """`pagination` of a list answer; `links` is `[]` or `{}` or `{"next": url, ...}`."""

    count: int | None = None
    total: int | None = None
    perPage: int | None = None  # Salla's own spelling
    currentPage: int | None = None
    totalPages: int | None = None
    links: Any = None


def _text(value: Any, _: Any) -> str:
    # Salla types ids as strings but sends numbers (and the other way round).
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"expected a string or an integer, got {type(value).__name__}")


def _int(value: Any, _: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    raise ValueError(f"expected an integer, got {value!r}")


def _bool(value: Any, _: Any) -> bool:
    # PHP backends send flags as true/false or 1/0.
    if isinstance(value, bool):
        return value
    if value in (0, 1) and not isinstance(value, Decimal):
        return bool(value)
    raise ValueError(f"expected a boolean, got {value!r}")


def _optional_date(value: Any, _: Any) -> dt.date | None:
    # Salla leaves dates empty on some list entries; "" means no date, not an error.
    if value is None or value == "":
        return None
    return parse_date(value)


def _make_converter() -> cattrs.Converter:
    conv = base_converter()
    conv.register_structure_hook(str, _text)
    conv.register_structure_hook(int, _int)
    conv.register_structure_hook(bool, _bool)
    conv.register_structure_hook(dt.date | None, _optional_date)
    return conv


converter = _make_converter()
"""The Salla wire converter: the core's exact `Decimal`/date hooks plus Salla's leniencies."""


def _structure(data: Any, cls: type[T], what: str) -> T:
    try:
        return converter.structure(data, cls)
    except Exception as exc:
        raise WireFormatError(f"unexpected {what} shape: {explain(converter, data, cls)}") from exc


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


def _currency_of(wire: WireInvoice) -> str:
    for amount in (wire.total, wire.sub_total, wire.subtotal, wire.shipping_cost):
        if amount is not None and amount.currency:
            return amount.currency
    for item in wire.items:
        if item.price is not None and item.price.currency:
            return item.price.currency
    return DEFAULT_CURRENCY


def _money(value: WireAmount | None, currency: str) -> Money | None:
    if value is None:
        return None
    try:
        return Money(value.amount, value.currency or currency)
    except errors.InvalidRequest as exc:
        raise WireFormatError(str(exc)) from exc


def _tax_money(tax: WireTax | None, currency: str) -> Money | None:
    return _money(tax.amount, currency) if tax is not None else None


def _item(item: WireItem, currency: str) -> LineItem:
    price = _money(item.price, currency)
    if price is None:
        raise WireFormatError(f"invoice item {item.name!r} has no price")
    return LineItem(
        name=item.name,
        quantity=item.quantity,
        unit_price=price,
        discount=_money(item.discount, currency),
        tax_rate=item.tax.percent if item.tax is not None else None,
        tax=_tax_money(item.tax, currency),
        total=_money(item.total, currency),
        sku=item.sku,
        product_id=item.product_id,
        kind=item.type,
    )


def to_invoice(data: Any) -> Invoice:
    """One Salla invoice object as the domain `Invoice` (raises `WireFormatError`).

    Salla has no draft state: every invoice it returns is issued, so `status` is
    `ISSUED` and `provider_status` stays `None`.

    A well-formed payload is read straight into the domain model (`_fast_invoice`);
    anything else (a quirk the fast reader does not take, or a fault) goes through the
    cattrs wire classes, which absorb the quirk or explain what is wrong. Both give the
    same `Invoice` for every payload the fast reader accepts.
    """
    if data.__class__ is dict:
        invoice = _fast_invoice(data)
        if invoice is not None:
            return invoice
    return _reference_invoice(data)


def _reference_invoice(data: Any) -> Invoice:
    # The reference reading: cattrs wire classes, then the domain model. Slower than
    # `_fast_invoice`, but it takes every documented quirk and explains every fault.
    if not isinstance(data, Mapping):
        raise WireFormatError(f"expected an invoice object, got {type(data).__name__}")
    wire = _structure(data, WireInvoice, "invoice")
    try:
        currency = normalize_currency(_currency_of(wire))
    except errors.InvalidRequest as exc:
        raise WireFormatError(str(exc)) from exc
    return Invoice(
        id=wire.id,
        provider=PROVIDER,
        number=wire.invoice_number,
        kind=kind_from_label(wire.type),
        status=InvoiceStatus.ISSUED,
        issue_date=wire.date,
        currency=currency,
        order_id=wire.order_id,
        items=tuple(_item(item, currency) for item in wire.items),
        subtotal=_money(wire.sub_total or wire.subtotal, currency),
        shipping=_money(wire.shipping_cost, currency),
        cash_on_delivery=_money(wire.cod_cost, currency),
        discount=_money(wire.discount, currency),
        tax_rate=wire.tax.percent if wire.tax is not None else None,
        tax=_tax_money(wire.tax, currency),
        total=_money(wire.total, currency),
        payment_method=wire.payment_method,
        qr_code=wire.qr_code if is_qr(wire.qr_code) else None,
        pdf_url=wire.url,
        raw=data,
    )


# ---- the fast reader -------------------------------------------------------------------
# It reads only the common shapes, with exact types: plain dicts and lists; text as `str`
# or `int`; `taxable` as a bool; an amount, quantity or rate as a `Decimal` (a JSON number
# decoded with `parse_float=Decimal`), an `int` or a numeric string, never a float or a
# bool. `Decimal(text)` strips the same whitespace as the reference's `str.strip()` and
# refuses what it would have to clean first (a thousands comma), so every amount it
# takes is the reference's exact `Decimal`; finiteness is checked by the domain model
# (`Money`, `LineItem`), as for any caller. Anything else raises (`_Deviation`, or the
# check that failed) and `to_invoice` falls back to the reference reading, which decides
# between quirk and fault: only acceptance has to agree with the reference, and
# `tests/test_salla_wire_parity.py` checks that it does.
class _Deviation(Exception):
    """The payload leaves the fast reader's common shape: the reference reading decides."""


_TEXT_CLASSES = frozenset({str, int, type(None)})  # what the reference's `_text` takes
_ONE = Decimal(1)  # the reference's default quantity
_CODES = {**{code: code for code in MINOR_UNITS}, **CURRENCY_ALIASES}


def _f_text(value: Any) -> str | None:
    if value is None or value.__class__ is str:
        return value
    if value.__class__ is int:
        return str(value)
    raise _Deviation


def _f_decimal(value: Any) -> Any:
    cls = value.__class__
    if cls is Decimal or value is None:
        return value
    if cls is int or cls is str:
        return Decimal(value)
    raise _Deviation


def _f_money(value: Any, currency: str) -> Money | None:
    if value is None:
        return None
    if value.__class__ is not dict:
        raise _Deviation
    amount = value["amount"]
    if amount.__class__ is not Decimal:
        if amount.__class__ is not int and amount.__class__ is not str:
            raise _Deviation
        amount = Decimal(amount)
    own = value.get("currency")
    if own:
        if own.__class__ is not str:
            raise _Deviation
        # An exact code or a known alias ("ر.س") maps as `normalize_currency` maps it;
        # anything else goes to `Money` as it is, to be normalised or refused there.
        currency = _CODES.get(own, own)
    elif own is not None and own != "":
        raise _Deviation
    taxable = value.get("taxable")
    if taxable is not None and taxable.__class__ is not bool:
        raise _Deviation
    return Money(amount, currency)


def _f_tax(value: Any, currency: str) -> tuple[Decimal | None, Money | None]:
    if value is None:
        return None, None
    if value.__class__ is not dict:
        raise _Deviation
    return _f_decimal(value.get("percent")), _f_money(value.get("amount"), currency)


def _f_currency_of(value: Any) -> str | None:
    # The currency `_currency_of` would take from this amount (the amount itself is
    # checked when it is read).
    if value.__class__ is dict:
        currency = value.get("currency")
        if currency:
            if currency.__class__ is not str:
                raise _Deviation
            return currency
    return None


def _f_item(item: Any, currency: str) -> LineItem:
    if item.__class__ is not dict:
        raise _Deviation
    get = item.get
    name = item["name"]
    if name.__class__ is not str:
        name = _f_text(name)
        if name is None:
            raise _Deviation
    if get("id").__class__ not in _TEXT_CLASSES or get("item_id").__class__ not in _TEXT_CLASSES:
        raise _Deviation
    price = _f_money(get("price"), currency)
    if price is None:
        raise _Deviation  # the reference explains it
    tax_rate, tax = _f_tax(get("tax"), currency)
    sku, product_id, kind = get("sku"), get("product_id"), get("type")
    return LineItem(
        name=name,
        quantity=_f_decimal(get("quantity", _ONE)),
        unit_price=price,
        discount=_f_money(get("discount"), currency),
        tax_rate=tax_rate,
        tax=tax,
        total=_f_money(get("total"), currency),
        sku=sku if sku.__class__ is str else _f_text(sku),
        product_id=product_id if product_id.__class__ is str else _f_text(product_id),
        kind=kind if kind.__class__ is str else _f_text(kind),
    )


def _f_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if value.__class__ is not str:
        raise _Deviation
    if len(value) == 10:
        # The common `YYYY-MM-DD`: what `parse_date` reads from it (no whitespace can
        # hide in ten characters that `fromisoformat` accepts).
        return dt.date.fromisoformat(value)
    return parse_date(value)


def _fast_invoice(data: dict[str, Any]) -> Invoice | None:
    """*data* as an `Invoice` if it has the common, well-formed shape, else `None`."""
    try:
        get = data.get
        items = get("items", ())
        if items.__class__ is not list and items != ():
            raise _Deviation
        subtotal = get("sub_total")
        if subtotal is None:
            subtotal = get("subtotal")
        elif get("subtotal") is not None:
            raise _Deviation  # both spellings at once: rare, the reference picks
        total = get("total")
        shipping = get("shipping_cost")
        raw_currency = (_f_currency_of(total) or _f_currency_of(subtotal)
                        or _f_currency_of(shipping))
        if raw_currency is None:
            for item in items:
                if item.__class__ is dict:
                    raw_currency = _f_currency_of(item.get("price"))
                    if raw_currency is not None:
                        break
        currency = normalize_currency(raw_currency or DEFAULT_CURRENCY)
        invoice_id = data["id"]
        if invoice_id.__class__ is not str:
            invoice_id = _f_text(invoice_id)
            if invoice_id is None:
                raise _Deviation
        if (get("uuid").__class__ not in _TEXT_CLASSES
                or get("invoice_reference_id").__class__ not in _TEXT_CLASSES):
            raise _Deviation
        qr_code = _f_text(get("qr_code"))
        tax_rate, tax = _f_tax(get("tax"), currency)
        return Invoice(
            id=invoice_id,
            provider=PROVIDER,
            number=_f_text(get("invoice_number")),
            kind=kind_from_label(_f_text(get("type"))),
            status=InvoiceStatus.ISSUED,
            issue_date=_f_date(get("date")),
            currency=currency,
            order_id=_f_text(get("order_id")),
            items=tuple([_f_item(item, currency) for item in items]),
            subtotal=_f_money(subtotal, currency),
            shipping=_f_money(shipping, currency),
            cash_on_delivery=_f_money(get("cod_cost"), currency),
            discount=_f_money(get("discount"), currency),
            tax_rate=tax_rate,
            tax=tax,
            total=_f_money(total, currency),
            payment_method=_f_text(get("payment_method")),
            qr_code=qr_code if qr_code is not None and is_qr(qr_code) else None,
            pdf_url=_f_text(get("url")),
            raw=data,
        )
    except Exception:
        # `_Deviation`, a failed check (`InvalidRequest`, `ValueError`, `TypeError`), a
        # missing key: the reference reading takes the payload, with its own error if any.
        return None


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
    """The invoice in a create or details answer."""
    data = read_data(response)
    try:
        return to_invoice(data)
    except WireFormatError as exc:
        raise response.malformed(str(exc), exc) from exc


def to_page(response: Response) -> Page:
    """One page of `GET /orders/invoices`; `next_cursor` is the next page number."""
    body = _envelope(response, "a list of invoices")
    if not isinstance(body["data"], list):
        raise response.malformed("expected a list of invoices in Salla's envelope")
    try:
        invoices = tuple(to_invoice(entry) for entry in body["data"])
        pagination = _structure(body.get("pagination") or {}, WirePagination, "pagination")
    except WireFormatError as exc:
        raise response.malformed(str(exc), exc) from exc
    return Page(items=invoices, next_cursor=_next_page(pagination))


def _next_page(p: WirePagination) -> str | None:
    if p.currentPage is not None and p.totalPages is not None:
        return str(p.currentPage + 1) if p.currentPage < p.totalPages else None
    # Without page numbers, follow `links.next` when Salla gives it.
    links = p.links if isinstance(p.links, Mapping) else {}
    if links.get("next") and p.currentPage is not None:
        return str(p.currentPage + 1)
    return None


# ---- writing ---------------------------------------------------------------------------
def data_type_of(draft: InvoiceDraft) -> str:
    """Which Salla `data_type` a draft becomes: `url`, `file`, `order` or `data`."""
    if draft.document_url is not None:
        return "url"
    if draft.document_pdf is not None:
        return "file"
    if draft.from_order:
        return "order"
    return "data"


def _type_of(draft: InvoiceDraft) -> str:
    return "credit_note" if draft.kind is InvoiceKind.CREDIT_NOTE else "tax_invoice"


def _amount(money: Money | None) -> Decimal:
    return money.amount if money is not None else Decimal(0)


def draft_to_wire(draft: InvoiceDraft) -> dict[str, Any]:
    """The JSON body of `POST /orders/invoices` for a checked draft (not for `file`).

    Amounts are `Decimal`s, which the core sends as exact JSON numbers; `order_id` is
    an integer, as documented. Only the fields of the draft's `data_type` are sent.
    """
    assert draft.order_id is not None  # check_draft guarantees it
    body: dict[str, Any] = {
        "order_id": int(draft.order_id),
        "type": _type_of(draft),
        "data_type": data_type_of(draft),
    }
    kind = body["data_type"]
    if kind == "url":
        body["url"] = draft.document_url
    elif kind == "data":
        body.update(
            invoice_number=draft.number,
            sub_total=_amount(draft.subtotal),
            total=_amount(draft.total),
            shipping_cost=_amount(draft.shipping),
            cash_on_delivery_cost=_amount(draft.cash_on_delivery),
            tax=draft.tax_rate if draft.tax_rate is not None else Decimal(0),
            tax_value=_amount(draft.tax),
        )
    return body


def draft_to_form(draft: InvoiceDraft) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    """The multipart form fields and file of a `file` draft (a PDF upload)."""
    assert draft.order_id is not None
    assert draft.document_pdf is not None
    fields = {"order_id": draft.order_id, "type": _type_of(draft), "data_type": "file"}
    # The order id is digits: a safe file name whatever the invoice number contains.
    filename = f"invoice-{draft.order_id}.pdf"
    return fields, {"file": (filename, draft.document_pdf, "application/pdf")}

