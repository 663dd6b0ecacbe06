"""Baselines: what an application would write without invoicekit (pydantic v2 models).

pydantic is a development dependency used only here; invoicekit never imports it. The
models are equivalent to the plugins' wire classes: the same fields, exact `Decimal`
amounts, dates parsed, numeric ids accepted as strings, unknown keys ignored.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from invoicekit import InvoiceDraft

__all__ = [
    "DzInvoice",
    "DzInvoiceCreate",
    "DzPage",
    "SallaCreateBody",
    "SallaEnvelope",
    "SallaInvoice",
    "dayzero_body",
    "salla_body",
]

_LENIENT = ConfigDict(coerce_numbers_to_str=True, extra="ignore", frozen=True)


class SallaAmount(BaseModel):
    model_config = _LENIENT
    amount: Decimal
    currency: str | None = None
    taxable: bool | None = None


class SallaTax(BaseModel):
    model_config = _LENIENT
    percent: Decimal | None = None
    amount: SallaAmount | None = None


class SallaItem(BaseModel):
    model_config = _LENIENT
    name: str
    quantity: Decimal = Decimal(1)
    id: str | None = None
    item_id: str | None = None
    product_id: str | None = None
    sku: str | None = None
    type: str | None = None
    price: SallaAmount | None = None
    discount: SallaAmount | None = None
    tax: SallaTax | None = None
    total: SallaAmount | None = None


class SallaInvoice(BaseModel):
    """Salla's invoice object, as `invoicekit_salla._wire.WireInvoice` reads it."""

    model_config = _LENIENT
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
    sub_total: SallaAmount | None = None
    subtotal: SallaAmount | None = None
    shipping_cost: SallaAmount | None = None
    cod_cost: SallaAmount | None = None
    discount: SallaAmount | None = None
    tax: SallaTax | None = None
    total: SallaAmount | None = None
    items: tuple[SallaItem, ...] = ()


class SallaEnvelope(BaseModel):
    """Salla's answer to `GET /orders/invoices/{id}`: `{status, success, data}`."""

    model_config = _LENIENT
    status: int | None = None
    success: bool | None = None
    data: SallaInvoice


class DzLineItem(BaseModel):
    model_config = _LENIENT
    description: str
    quantity: int
    unit_price: int
    variant_id: str | None = None
    amount: int | None = None
    id: str | None = None


class DzInvoice(BaseModel):
    """DayZero's invoice, as `invoicekit_dayzero._wire.to_invoice` reads it."""

    model_config = _LENIENT
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
    line_items: list[DzLineItem] = []
    subtotal: int | None = None
    total: int | None = None
    total_paid: int | None = None
    balance_due: int | None = None
    pdf_url: str | None = None
    hosted_invoice_url: str | None = None
    created_at: str | None = None


class DzPage(BaseModel):
    """DayZero's answer to `GET /invoices` (a page of invoices and its cursor)."""

    model_config = _LENIENT
    items: list[DzInvoice]
    next_cursor: str | None = None
    has_next: bool | None = None
    has_more: bool | None = None


class SallaCreateBody(BaseModel):
    """The body of Salla's `POST /orders/invoices` (`data_type: data`)."""

    order_id: int
    type: str
    data_type: str
    invoice_number: str | None
    sub_total: Decimal
    total: Decimal
    shipping_cost: Decimal
    cash_on_delivery_cost: Decimal
    tax: Decimal
    tax_value: Decimal


class DzLineCreate(BaseModel):
    description: str
    quantity: int
    unit_price: int


class DzInvoiceCreate(BaseModel):
    """The body of DayZero's `POST /invoices`."""

    customer_id: str
    line_items: list[DzLineCreate]
    due_date: dt.date
    issue_date: dt.date | None = None
    description: str | None = None
    currency: str | None = None


def _amount(value: Any) -> Decimal:
    return value.amount if value is not None else Decimal(0)


def salla_body(draft: InvoiceDraft) -> bytes:
    """The hand-written mapping of a draft to Salla's create body, as JSON bytes."""
    return SallaCreateBody(
        order_id=int(draft.order_id or 0),
        type="tax_invoice",
        data_type="data",
        invoice_number=draft.number,
        sub_total=_amount(draft.subtotal),
        total=_amount(draft.total),
        shipping_cost=_amount(draft.shipping),
        cash_on_delivery_cost=_amount(draft.cash_on_delivery),
        tax=draft.tax_rate or Decimal(0),
        tax_value=_amount(draft.tax),
    ).model_dump_json(exclude_none=True).encode()


def dayzero_body(draft: InvoiceDraft, customer_id: str) -> bytes:
    """The hand-written mapping of a draft to DayZero's create body, as JSON bytes."""
    return DzInvoiceCreate(
        customer_id=customer_id,
        line_items=[DzLineCreate(description=item.name, quantity=int(item.quantity),
                                 unit_price=int(item.unit_price.amount * 100))
                    for item in draft.items],
        due_date=draft.due_date or dt.date.today(),
        issue_date=draft.issue_date,
        description=draft.description,
        currency=draft.effective_currency,
    ).model_dump_json(exclude_none=True).encode()
