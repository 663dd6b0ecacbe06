"""The provider-neutral domain model.

Every class is an attrs class: frozen (safe to share between threads and tasks),
slotted, compared by value. Money is always `Money` (a `Decimal` and an ISO 4217
code), quantities and rates are `Decimal`, ids are `str` whatever the provider's
own form is, and optional fields default to `None` or an empty tuple.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

import attrs

from . import _fastinit, _money
from ._money import MINOR_UNITS, Money, normalize_currency, to_decimal

__all__ = [
    "Capability",
    "Customer",
    "Invoice",
    "InvoiceDraft",
    "InvoiceKind",
    "InvoiceQuery",
    "InvoiceStatus",
    "LineItem",
    "Page",
    "ProviderOptions",
    "SendOptions",
    "SendReceipt",

]

_O = TypeVar("_O", bound="ProviderOptions")


class InvoiceKind(enum.Enum):
    """What a document is: a (tax) invoice or a credit note against one."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class InvoiceStatus(enum.Enum):
    """Where an invoice is in its life. The provider's own value is kept in
    `Invoice.provider_status`; a value we do not know maps to `UNKNOWN`, never an error."""

    DRAFT = "draft"
    OPEN = "open"
    ISSUED = "issued"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"
    UNKNOWN = "unknown"


class Capability(enum.Enum):
    """What a gateway can do. `gateway.capabilities` is derived from the provider's code,
    so the documented feature matrix cannot drift from what actually works."""

    CREATE_INVOICE = "create_invoice"
    GET_INVOICE = "get_invoice"
    LIST_INVOICES = "list_invoices"
    SEND_INVOICE = "send_invoice"
    VOID_INVOICE = "void_invoice"
    FINALIZE_INVOICE = "finalize_invoice"
    PDF_URL = "get_pdf_url"
    CREATE_CUSTOMER = "create_customer"
    CREDIT_NOTE = "credit_note"
    FROM_ORDER = "from_order"
    DOCUMENT_URL = "document_url"
    DOCUMENT_PDF = "document_pdf"
    SEND_CC = "send_cc"
    SEND_PDF = "send_pdf"


def _opt_money(value: Money | None) -> Money | None:
    if value is None or isinstance(value, Money):
        return value
    raise TypeError(f"expected Money or None, got {type(value).__name__}")


# The two converters below run for every line item a plugin builds (a listing builds
# thousands): an already exact, finite `Decimal` skips the general conversion.
def _tax_rate(value: object) -> Decimal | None:
    if value is None or (type(value) is Decimal and value.is_finite()):
        return value
    return to_decimal(value, what="tax_rate")


def _quantity(value: object) -> Decimal:
    if type(value) is Decimal and value.is_finite():
        return value
    return to_decimal(value, what="quantity")


def _opt_currency(value: object) -> str | None:
    return None if value is None else normalize_currency(value)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _readonly(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return types.MappingProxyType(dict(value or {}))


def _items(value: Iterable[LineItem]) -> tuple[LineItem, ...]:
    items = tuple(value)
    for item in items:
        if not isinstance(item, LineItem):
            raise TypeError(f"items must be LineItem instances, got {type(item).__name__}")
    return items


_money_field: Any = attrs.field(default=None, converter=_opt_money)


@attrs.frozen(slots=True)
class Customer:
    """Who an invoice is for. `id` is the provider's customer id (`None` for a new one)."""

    id: str | None = attrs.field(default=None, converter=_opt_str)
    name: str | None = None
    email: str | None = None
    tax_id: str | None = None
    phone: str | None = None


@attrs.frozen(slots=True)
class LineItem:
    """One line of an invoice. `tax_rate` is a percentage (`Decimal("15")` for 15%)."""

    name: str
    quantity: Decimal = attrs.field(converter=_quantity)
    unit_price: Money = attrs.field(converter=_opt_money)
    discount: Money | None = _money_field
    tax_rate: Decimal | None = attrs.field(default=None, converter=_tax_rate)
    tax: Money | None = _money_field
    total: Money | None = _money_field
    sku: str | None = None
    product_id: str | None = attrs.field(default=None, converter=_opt_str)
    kind: str | None = None

    @unit_price.validator
    def _check_price(self, _: Any, value: Money | None) -> None:
        if value is None:
            raise TypeError("LineItem.unit_price is required")


@attrs.frozen(slots=True)
class Invoice:
    """An invoice (or credit note) as a provider holds it.

    Amounts are `Money | None`; `raw` is the provider's own payload, read-only and left
    out of comparisons, for the fields the model does not carry.
    """

    id: str = attrs.field(converter=str)
    provider: str
    number: str | None = None
    kind: InvoiceKind = InvoiceKind.INVOICE
    status: InvoiceStatus = InvoiceStatus.UNKNOWN
    provider_status: str | None = None
    issue_date: dt.date | None = None
    due_date: dt.date | None = None
    currency: str | None = attrs.field(default=None, converter=_opt_currency)
    order_id: str | None = attrs.field(default=None, converter=_opt_str)
    customer: Customer | None = None
    items: tuple[LineItem, ...] = attrs.field(default=(), converter=_items)
    subtotal: Money | None = _money_field
    shipping: Money | None = _money_field
    cash_on_delivery: Money | None = _money_field
    discount: Money | None = _money_field
    tax_rate: Decimal | None = attrs.field(default=None, converter=_tax_rate)
    tax: Money | None = _money_field
    total: Money | None = _money_field
    amount_paid: Money | None = _money_field
    balance_due: Money | None = _money_field
    payment_method: str | None = None
    qr_code: str | None = None
    pdf_url: str | None = None
    hosted_url: str | None = None
    description: str | None = None
    raw: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_readonly, eq=False, repr=False, hash=False
    )


class ProviderOptions:
    """Base of typed per-provider options carried on a draft or a send.

    A provider reads only its own subclass (matched by `provider`) and ignores the
    others, so provider-neutral code can carry options for several providers at once.
    """

    provider: ClassVar[str] = ""


def _options(value: Iterable[ProviderOptions] | ProviderOptions | None) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, ProviderOptions):
        return (value,)
    result = tuple(value)
    for item in result:
        if not isinstance(item, ProviderOptions):
            raise TypeError(f"options must be ProviderOptions, got {type(item).__name__}")
    return result


def _pdf_bytes(value: bytes | None) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError("document_pdf must be bytes")
    data = bytes(value)
    from .errors import InvalidRequest

    if not data.startswith(b"%PDF-"):
        raise InvalidRequest("document_pdf does not look like a PDF (it must start with %PDF-)")
    return data


@attrs.frozen(slots=True)
class InvoiceDraft:
    """What creating an invoice needs; field names match `Invoice` where they overlap.

    A draft takes one of three forms: line items and totals (`items`, `total`, ...), an
    existing document (`document_url` to a PDF, or `document_pdf` bytes), or
    `from_order=True` to have the provider issue it from the order it already holds.
    Provider-specific settings go in `options` as typed `ProviderOptions`.
    """

    kind: InvoiceKind = InvoiceKind.INVOICE
    order_id: str | None = attrs.field(default=None, converter=_opt_str)
    customer: Customer | None = None
    number: str | None = None
    issue_date: dt.date | None = None
    due_date: dt.date | None = None
    currency: str | None = attrs.field(default=None, converter=_opt_currency)
    items: tuple[LineItem, ...] = attrs.field(default=(), converter=_items)
    subtotal: Money | None = _money_field
    shipping: Money | None = _money_field
    cash_on_delivery: Money | None = _money_field
    discount: Money | None = _money_field
    tax_rate: Decimal | None = attrs.field(default=None, converter=_tax_rate)
    tax: Money | None = _money_field
    total: Money | None = _money_field
    description: str | None = None
    document_url: str | None = None
    document_pdf: bytes | None = attrs.field(default=None, converter=_pdf_bytes, repr=False)
    from_order: bool = False
    options: tuple[ProviderOptions, ...] = attrs.field(default=(), converter=_options)

    def __attrs_post_init__(self) -> None:
        from .errors import InvalidRequest

        forms = [
            name
            for name, present in (
                ("document_url", self.document_url is not None),
                ("document_pdf", self.document_pdf is not None),
                ("from_order", self.from_order),
            )
            if present
        ]
        if len(forms) > 1:
            raise InvalidRequest(f"a draft takes one document form, got {' and '.join(forms)}")
        currencies = {m.currency for m in self.amounts()}
        if self.currency is not None:
            currencies.add(self.currency)
        if len(currencies) > 1:
            raise InvalidRequest(
                f"a draft's amounts must share one currency, got {', '.join(sorted(currencies))}"
            )

    @property
    def effective_currency(self) -> str | None:
        """`currency`, or the currency of the draft's amounts when it is not set."""
        if self.currency is not None:
            return self.currency
        for money in self.amounts():
            return money.currency
        return None

    def amounts(self) -> Iterable[Money]:
        """Every `Money` on the draft, its items' included."""
        for m in (self.subtotal, self.shipping, self.cash_on_delivery, self.discount,
                  self.tax, self.total):
            if m is not None:
                yield m
        for item in self.items:
            for m in (item.unit_price, item.discount, item.tax, item.total):
                if m is not None:
                    yield m

    def option(self, cls: type[_O]) -> _O | None:
        """The options of type *cls* on this draft, or `None`."""
        for opt in self.options:
            if isinstance(opt, cls):
                return opt
        return None


@attrs.frozen(slots=True)
class InvoiceQuery:
    """Filters for `list_invoices`. Dates are issue dates, both ends inclusive."""

    from_date: dt.date | None = None
    to_date: dt.date | None = None
    status: InvoiceStatus | None = None
    customer_id: str | None = attrs.field(default=None, converter=_opt_str)
    order_id: str | None = attrs.field(default=None, converter=_opt_str)
    search: str | None = None
    page_size: int | None = None

    def __attrs_post_init__(self) -> None:
        from .errors import InvalidRequest

        if self.page_size is not None and (
            isinstance(self.page_size, bool) or not isinstance(self.page_size, int)
            or self.page_size < 1
        ):
            raise InvalidRequest(f"page_size must be a positive int, got {self.page_size!r}")
        if self.from_date and self.to_date and self.from_date > self.to_date:
            raise InvalidRequest("from_date is after to_date")


@attrs.frozen(slots=True)
class SendOptions:
    """How to send an invoice.

    `cc_sender` copies the sender; `attach_pdf` attaches the PDF (`None`: the provider's
    default); `auto_finalize` finalizes a draft first where the provider has drafts. An
    option the provider cannot honour raises `UnsupportedFeature` before any request.
    """

    cc_sender: bool = False
    attach_pdf: bool | None = None
    auto_finalize: bool = False
    options: tuple[ProviderOptions, ...] = attrs.field(default=(), converter=_options)


@attrs.frozen(slots=True)
class SendReceipt:
    """What a send returned. `sent` is whether the provider accepted it for delivery."""

    invoice_id: str = attrs.field(converter=str)
    sent: bool
    recipient: str | None = None
    cc: str | None = None
    message_id: str | None = None
    pdf_attached: bool | None = None
    message: str | None = None
    raw: Mapping[str, Any] = attrs.field(
        factory=dict, converter=_readonly, eq=False, repr=False, hash=False
    )


@attrs.frozen(slots=True)
class Page:
    """One page of a listing: its invoices and the cursor of the next page (`None`: last)."""

    items: tuple[Invoice, ...]
    next_cursor: str | None = None


# Construction without a converter call per field when every argument already has its
# final type (what a provider's reader passes), attrs' own `__init__` otherwise, which
# converts and refuses as it always did (see `_fastinit`). `Money` is given its fast
# `__init__` here, with the model that builds thousands of them.
_MONEY = "({v} is None or {v}.__class__ is _Money)"
_FINITE = "({v}.__class__ is _Decimal and {v}.is_finite())"
_OPT_FINITE = "({v} is None or ({v}.__class__ is _Decimal and {v}.is_finite()))"
_OPT_STR = "({v} is None or {v}.__class__ is str)"
_NAMES = {"_Money": Money, "_Decimal": Decimal, "_CODES": MINOR_UNITS,
          "_LOW": -_money._MAX_PLACES, "_HIGH": _money._MAX_DIGITS}
# `_money._amount`'s own fast case: a finite Decimal within money's range.
_fastinit.install(Money, {
    "amount": "({v}.__class__ is _Decimal and {v}.is_finite() and _LOW <= {v}.adjusted() < _HIGH)",
    "currency": "({v}.__class__ is str and {v} in _CODES)"}, _NAMES)
_fastinit.install(Customer, {"id": _OPT_STR}, _NAMES)
_fastinit.install(LineItem, {
    "quantity": _FINITE, "unit_price": "{v}.__class__ is _Money", "discount": _MONEY,
    "tax_rate": _OPT_FINITE, "tax": _MONEY, "total": _MONEY, "product_id": _OPT_STR,
}, _NAMES)
_fastinit.install(Invoice, {
    "id": "{v}.__class__ is str",
    "currency": "({v} is None or ({v}.__class__ is str and {v} in _CODES))",
    "order_id": _OPT_STR, "items": None, "tax_rate": _OPT_FINITE, "raw": None,
    **dict.fromkeys(("subtotal", "shipping", "cash_on_delivery", "discount", "tax", "total",
                     "amount_paid", "balance_due"), _MONEY),
}, _NAMES)
