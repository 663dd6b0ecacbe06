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
from invoicekit._money import normalize_currency
from invoicekit.convert import base_converter, explain, parse_date

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


def kind_from_label(label: str | None) -> InvoiceKind:
    """`InvoiceKind` from Salla's `type`: "Credit Note"/`credit_note` (or the Arabic
    labels) is a credit note; "Tax Invoice", `tax_invoice`, any other label (a simplified
    tax invoice, say) and a missing one are invoices."""
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
    """
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

