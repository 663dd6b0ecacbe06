"""The in-memory fake provider: `invoicekit.connect("fake")` and `FakeGateway`.

It is a real provider (a `Provider` subclass registered under the entry point `fake`)
whose operations make no request: each one returns `done(value)`, so the same code serves
the sync and the async gateway. It enforces the business rules the real platforms
enforce, so a test that passes against the fake does not fail against production for a
reason the fake could have seen:

* no credit note before an invoice for that order; no duplicate invoice number;
* drafts cannot be sent; only open invoices can be voided; sending needs a customer email.

A *profile* narrows it to one platform, with the draft rules of that platform's plugin
(`check_draft` refuses the same drafts, naming the same `InvalidRequest.fields`, as
`tests/test_fake_parity.py` checks): `"salla"` (digit ids, issued on creation, SAR, a digit
order id, a `.pdf` link for the url form and, for data drafts, number, subtotal, total, tax
rate and tax, with shipping and cash on delivery defaulting to zero; no void, finalize, cc
or PDF) or `"dayzero"` (UUID ids, created as drafts and numbered `INV-0001` on finalize,
USD/CAD/AUD/EUR/GBP only, whole quantities, whole cents, no tax/shipping/discount fields, a
due date, and a customer: a known id, or a name and an email to create it with the
invoice). The default profile supports everything. Like the plugins, `check_draft` reports
every problem of a draft at once.

Beyond the gateway API, `FakeGateway` exposes what a test wants to look at or control:
`outbox` (every `SendReceipt`), `calls` (every operation that reached the provider),
`fail_next()` / `fail_always()` (failure injection), `seed()` and `sample_draft()`.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Final

import attrs

from .. import errors
from .._gateway import AsyncGateway, Gateway
from .._model import (
    Capability,
    Customer,
    Invoice,
    InvoiceDraft,
    InvoiceKind,
    InvoiceQuery,
    InvoiceStatus,
    LineItem,
    Page,
    ProviderOptions,
    SendOptions,
    SendReceipt,
)
from .._money import Money
from .._provider import IdPattern, Operation, Provider, done

__all__ = [
    "OPERATIONS",
    "PROFILES",
    "AsyncFakeGateway",
    "FakeCall",
    "FakeGateway",
    "FakeOptions",
    "FakeProfile",
    "FakeProvider",
]

OPERATIONS: Final = frozenset({
    "create_invoice", "get_invoice", "list_invoices", "send_invoice", "void_invoice",
    "finalize_invoice", "get_pdf_url", "create_customer",
})
"""Operation names used by `FakeGateway.calls` and accepted by `fail_next(operation=...)`."""

_NAMESPACE = uuid.UUID("6f1c2b8e-4d0a-4e8c-9a51-1f0f2a3b4c5d")
_UUID = IdPattern(
    "UUID", r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DIGITS = IdPattern("numeric id", r"[0-9]{1,19}")
_FAKE_ID = IdPattern("fake invoice id (inv_ and digits)", r"inv_[0-9]{1,12}")
_FILES_HOST = "https://files.invoicekit.invalid"

# Verbatim Salla texts from the published API examples.
_SALLA_NOT_FOUND = "المحتوى الذي تحاول الوصول اليه غير متوفر"
_SALLA_INVALID_FIELDS = "alert.invalid_fields"
_SALLA_ALREADY_ISSUED = "تم اصدار فاتورة للطلب سابقا"
_SALLA_DUPLICATE_NUMBER = "رقم الفاتورة مكرر"
_SALLA_INVALID_TYPE = "حقل نوع الفاتورة غير صالحٍ"
_SALLA_SENT = "تم ارسال رسالة الفاتورة بنجاح"
_SALLA_SEND_FAILED = "حصل خطأ غير متوقع يرجى إعادة المُحاولة لاحقاً"

# Salla's `url` form: an http(s) link whose path ends in `.pdf` (its `ends_with:.pdf`
# rule, case-sensitive), and the fields of its `data` form without a default.
_SALLA_PDF_URL = re.compile(r"https?://\S+\.pdf")
_SALLA_DATA_REQUIRED = (
    ("number", "invoice_number"), ("subtotal", "sub_total"), ("total", "total"),
    ("tax_rate", "tax"), ("tax", "tax_value"),
)

_ALL_CAPABILITIES = frozenset(Capability)
_SALLA_CAPABILITIES = frozenset({
    Capability.CREATE_INVOICE, Capability.GET_INVOICE, Capability.LIST_INVOICES,
    Capability.SEND_INVOICE, Capability.CREDIT_NOTE, Capability.FROM_ORDER,
    Capability.DOCUMENT_URL, Capability.DOCUMENT_PDF,
})
_DAYZERO_CAPABILITIES = frozenset({
    Capability.CREATE_INVOICE, Capability.GET_INVOICE, Capability.LIST_INVOICES,
    Capability.SEND_INVOICE, Capability.VOID_INVOICE, Capability.FINALIZE_INVOICE,
    Capability.PDF_URL, Capability.CREATE_CUSTOMER, Capability.SEND_CC, Capability.SEND_PDF,
})
_DAYZERO_CURRENCIES = frozenset({"USD", "CAD", "AUD", "EUR", "GBP"})


@attrs.frozen(slots=True)
class FakeProfile:
    """What one profile of the fake allows: capabilities, id form, currencies, lifecycle.

    The three built-in profiles are in `PROFILES`; the rules that go beyond these fields
    (Salla's required totals, DayZero's whole cents) are checked by `FakeProvider`.
    """

    name: str
    capabilities: frozenset[Capability]
    id_pattern: IdPattern
    currencies: frozenset[str] | None
    """Currencies accepted; `None` accepts every ISO 4217 code."""
    default_currency: str | None
    created_status: InvoiceStatus
    """Status of a new invoice (`DRAFT` for DayZero, `ISSUED` for Salla)."""
    page_size: int
    one_invoice_per_order: bool
    """Salla issues one tax invoice per order ("already issued" for a second one)."""

    def new_id(self, n: int) -> str:
        """The deterministic id of the *n*-th invoice, in this profile's id form."""
        if self.id_pattern is _DIGITS:
            return str(100_000_000 + n)
        if self.id_pattern is _UUID:
            return str(uuid.uuid5(_NAMESPACE, f"{self.name}-{n}"))
        return f"inv_{n:06d}"


PROFILES: Final[Mapping[str, FakeProfile]] = {
    "default": FakeProfile("default", _ALL_CAPABILITIES, _FAKE_ID, None, None,
                           InvoiceStatus.OPEN, 20, one_invoice_per_order=False),
    "salla": FakeProfile("salla", _SALLA_CAPABILITIES, _DIGITS, frozenset({"SAR"}), "SAR",
                         InvoiceStatus.ISSUED, 15, one_invoice_per_order=True),
    "dayzero": FakeProfile("dayzero", _DAYZERO_CAPABILITIES, _UUID, _DAYZERO_CURRENCIES, "USD",
                           InvoiceStatus.DRAFT, 50, one_invoice_per_order=False),
}
"""The fake's profiles by name: `default` (everything), `salla`, `dayzero`."""


@attrs.frozen(slots=True)
class FakeOptions(ProviderOptions):
    """Options only the fake reads. `draft=True` creates the invoice as a `DRAFT` (default
    profile), so tests can exercise `finalize_invoice` and "drafts cannot be sent"."""

    provider: ClassVar[str] = "fake"
    draft: bool = False


def _readonly(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    import types

    return types.MappingProxyType(dict(value or {}))


@attrs.frozen(slots=True)
class FakeCall:
    """One operation that reached the fake (after the gateway's capability and draft checks).

    `operation` is one of `OPERATIONS`; `arguments` holds what it was called with.
    """

    operation: str
    arguments: Mapping[str, Any] = attrs.field(factory=dict, converter=_readonly)


@attrs.frozen(slots=True)
class _Failure:
    error: Exception
    operation: str | None


class _Problems:
    """Every reason a draft is refused, by field: one `InvalidRequest` then names them all,
    as the plugins' `check_draft` does, so a test sees the same fields the platform reports."""

    __slots__ = ("fields",)

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, text: str) -> None:
        self.fields.setdefault(field, []).append(text)

    def raise_any(self, profile: str) -> None:
        if self.fields:
            listing = "; ".join(f"{field}: {' '.join(texts)}"
                                for field, texts in self.fields.items())
            raise errors.InvalidRequest(f"the {profile} profile refuses this draft: {listing}",
                                        provider="fake", fields=self.fields)


class FakeProvider(Provider):
    """The in-memory provider behind `connect("fake")`; see the module docstring.

    Settings: `profile` (`"default"`, `"salla"`, `"dayzero"`), `today` (the issue date
    of new invoices, for deterministic tests; default: today in UTC) and `sender_email`
    (the address a `cc_sender` copy goes to).
    """

    name = "fake"
    features = frozenset({
        Capability.CREDIT_NOTE, Capability.FROM_ORDER, Capability.DOCUMENT_URL,
        Capability.DOCUMENT_PDF, Capability.SEND_CC, Capability.SEND_PDF,
    })

    gateway_class: ClassVar[type[Gateway]]
    """The gateway `connect("fake")` builds (`FakeGateway`), read by the registry."""
    async_gateway_class: ClassVar[type[AsyncGateway]]
    """The gateway `connect_async("fake")` builds (`AsyncFakeGateway`)."""

    def __init__(self, profile: str = "default", today: dt.date | str | None = None,
                 sender_email: str = "billing@example.com") -> None:
        if profile not in PROFILES:
            raise errors.ConfigurationError(
                f"unknown fake profile {profile!r}; expected one of {', '.join(PROFILES)}",
                setting="profile", provider="fake")
        self.profile: FakeProfile = PROFILES[profile]
        if isinstance(today, str):
            try:
                today = dt.date.fromisoformat(today)
            except ValueError:
                raise errors.ConfigurationError(
                    f"today must be a YYYY-MM-DD date, got {today!r}", setting="today",
                    provider="fake") from None
        self.today: dt.date = today or dt.datetime.now(dt.UTC).date()
        self.sender_email = sender_email
        self._lock = threading.RLock()
        self._reset_state()

    def _reset_state(self) -> None:
        self._invoices: dict[str, Invoice] = {}
        self._customers: dict[str, Customer] = {}
        self._outbox: list[SendReceipt] = []
        self._calls: list[FakeCall] = []
        self._once: list[_Failure] = []
        self._always: list[_Failure] = []
        self._seq = {"invoice": 0, "customer": 0, "number": 0, "message": 0}

    # ---- capabilities ------------------------------------------------------------------
    @property
    def capabilities(self) -> frozenset[Capability]:
        """The profile's capabilities (narrower than the class's for `salla`/`dayzero`)."""
        return self.profile.capabilities

    # ---- state for FakeGateway ---------------------------------------------------------
    @property
    def outbox(self) -> tuple[SendReceipt, ...]:
        """Every receipt of a successful send, oldest first."""
        with self._lock:
            return tuple(self._outbox)

    @property
    def calls(self) -> tuple[FakeCall, ...]:
        """Every operation that reached the provider, oldest first."""
        with self._lock:
            return tuple(self._calls)

    @property
    def invoices(self) -> tuple[Invoice, ...]:
        """Every stored invoice, in creation order."""
        with self._lock:
            return tuple(self._invoices.values())

    def fail_next(self, error: Exception, operation: str | None = None) -> None:
        """Make the next call (of *operation*, or of any operation) raise *error*."""
        failure = self._failure(error, operation)
        with self._lock:
            self._once.append(failure)

    def fail_always(self, error: Exception, operation: str | None = None) -> None:
        """Make every call (of *operation*, or any) raise a copy of *error* until
        `clear_failures()`: an outage rather than a blip."""
        failure = self._failure(error, operation)
        with self._lock:
            self._always.append(failure)

    def clear_failures(self) -> None:
        """Forget every injected failure, pending or persistent."""
        with self._lock:
            self._once.clear()
            self._always.clear()

    def reset(self) -> None:
        """Forget everything: invoices, customers, outbox, calls, failures and counters."""
        with self._lock:
            self._reset_state()

    @staticmethod
    def _failure(error: Exception, operation: str | None) -> _Failure:
        if not isinstance(error, Exception):
            raise TypeError(f"error must be an exception instance, got {error!r}")
        if operation is not None and operation not in OPERATIONS:
            raise ValueError(
                f"unknown operation {operation!r}; expected one of {', '.join(sorted(OPERATIONS))}")
        return _Failure(error, operation)

    def _enter(self, operation: str, **arguments: Any) -> None:
        """Log the call and raise an injected failure, if one applies. Holds the lock."""
        self._calls.append(FakeCall(operation, arguments))
        self._inject(operation)

    def _inject(self, operation: str) -> None:
        """Raise the injected failure that applies to *operation*, if any. Holds the lock."""
        for i, failure in enumerate(self._once):
            if failure.operation in (None, operation):
                del self._once[i]
                raise failure.error
        for failure in self._always:
            if failure.operation in (None, operation):
                try:
                    fresh = copy.copy(failure.error)
                except Exception:
                    fresh = failure.error
                raise fresh

    # ---- errors the way each platform words them -----------------------------------------
    def _not_found(self, what: str, value: str) -> errors.NotFound:
        if self.profile.name == "salla":
            return errors.NotFound(_SALLA_NOT_FOUND, provider=self.name, status=404, code="error")
        return errors.NotFound(f"{what} {value} not found", provider=self.name, status=404)

    def _rejected(self, cls: type[errors.ProviderError], field: str, english: str,
                  arabic: str | None = None, status: int = 422) -> errors.ProviderError:
        if self.profile.name == "salla":
            return cls(_SALLA_INVALID_FIELDS, provider=self.name, status=422, code="error",
                       fields={field: [arabic or english]})
        return cls(english, provider=self.name, status=status, fields={field: [english]})

    # ---- draft rules (also what migration planning reuses through gateway.check_draft) --
    def check_draft(self, draft: InvoiceDraft) -> InvoiceDraft:
        """Refuse locally what the profile's platform would refuse; see the module docs.

        Like the plugins, it names every problem at once: one `InvalidRequest` whose
        `fields` has an entry per problem (`items.0.quantity`, `due_date`...). The draft it
        returns is the one that would be created (the `salla` profile fills a missing
        `shipping` / `cash_on_delivery` with zero, as the Salla plugin does).
        """
        problems = _Problems()
        fake_opts = draft.option(FakeOptions)
        if fake_opts is not None and fake_opts.draft and self.profile.name != "default":
            problems.add("options", f"FakeOptions(draft=True) applies to the default profile "
                                    f"only; the {self.profile.name} profile decides the status "
                                    "itself")
        rules: Callable[[InvoiceDraft, _Problems], None] = {
            "default": self._default_rules, "salla": self._salla_rules,
            "dayzero": self._dayzero_rules,
        }[self.profile.name]
        rules(draft, problems)
        problems.raise_any(self.profile.name)
        if self.profile.name == "salla" and _form(draft) == "data":
            zero = Money.zero(draft.effective_currency or "SAR")
            draft = attrs.evolve(
                draft, shipping=zero if draft.shipping is None else draft.shipping,
                cash_on_delivery=zero if draft.cash_on_delivery is None else draft.cash_on_delivery)
        return draft

    def _check_currency(self, draft: InvoiceDraft, problems: _Problems) -> None:
        currency = draft.effective_currency
        allowed = self.profile.currencies
        if allowed is not None and currency is not None and currency not in allowed:
            problems.add("currency", f"currency {currency} is not supported; use "
                                     f"{' or '.join(sorted(allowed))}")

    def _default_rules(self, draft: InvoiceDraft, problems: _Problems) -> None:
        for index, item in enumerate(draft.items):
            if item.quantity <= 0:
                problems.add(f"items.{index}.quantity",
                             f"item {item.name!r}: quantity must be positive")
        if draft.customer is not None and draft.customer.email is not None and (
            "@" not in draft.customer.email
        ):
            problems.add("customer.email",
                         f"customer email {draft.customer.email!r} is not an address")
        if _form(draft) == "data" and not draft.items and draft.total is None:
            problems.add("items", "a draft needs line items, a total, a document or "
                                  "from_order=True")
        if draft.kind is InvoiceKind.CREDIT_NOTE and draft.order_id is None:
            problems.add("order_id", "a credit note needs the order_id of the invoice it credits")
        elif draft.from_order and draft.order_id is None:
            problems.add("order_id", "from_order=True needs an order_id")
        url = draft.document_url
        if url is not None:
            if not url.startswith(("https://", "http://")):
                problems.add("document_url", f"document_url {url!r} is not an http(s) URL")
            elif not url.lower().split("?", 1)[0].endswith(".pdf"):
                problems.add("document_url", f"document_url {url!r} must end with .pdf")

    def _salla_rules(self, draft: InvoiceDraft, problems: _Problems) -> None:
        """Salla's documented rules for `POST /orders/invoices` (its `data_type` forms)."""
        if draft.order_id is None:
            problems.add("order_id", "Salla issues invoices against an order: order_id is "
                                     "required")
        elif not _DIGITS.matches(draft.order_id):
            problems.add("order_id", f"order_id {draft.order_id!r} is not a Salla order id "
                                     "(digits)")
        self._check_currency(draft, problems)
        for name in ("subtotal", "total", "shipping", "tax", "cash_on_delivery"):
            money: Money | None = getattr(draft, name)
            if money is not None and money.amount < 0:
                problems.add(name, "must not be negative")
        form = _form(draft)
        if form == "url" and not _SALLA_PDF_URL.fullmatch(draft.document_url or ""):
            problems.add("document_url", "must be an http(s) URL ending in .pdf (Salla's "
                                         "`ends_with:.pdf`: PDF links only)")
        elif form == "data":
            for name, wire in _SALLA_DATA_REQUIRED:
                if getattr(draft, name) is None:
                    problems.add(name, f"required for an invoice from data (Salla's {wire})")

    def _dayzero_rules(self, draft: InvoiceDraft, problems: _Problems) -> None:
        """DayZero's rules for `POST /invoices` (and `POST /customers` for a new customer)."""
        self._check_currency(draft, problems)
        if not draft.items:
            problems.add("items", "DayZero needs at least one line item")
        if draft.due_date is None:
            problems.add("due_date", "DayZero needs a due date")
        customer = draft.customer
        if customer is None:
            problems.add("customer", "DayZero needs a customer: an existing id, or a name and "
                                     "an email to create one")
        elif customer.id is not None:
            if not _UUID.matches(customer.id):
                problems.add("customer.id", f"customer id {customer.id!r} is not a UUID")
        elif not customer.name or not customer.email:
            problems.add("customer", "a customer without an id is created first, which needs "
                                     "both its name and its email")
        if draft.number is not None:
            problems.add("number", "DayZero assigns invoice numbers when an invoice is "
                                   "finalized; leave number empty")
        if draft.order_id is not None:
            problems.add("order_id", "DayZero invoices are not tied to orders; leave order_id "
                                     "empty")
        for name in ("shipping", "cash_on_delivery", "discount", "tax"):
            money: Money | None = getattr(draft, name)
            if money is not None and money.amount != 0:
                problems.add(name, f"DayZero has no {name} field; carry it as a line item")
        if draft.tax_rate is not None and draft.tax_rate != 0:
            problems.add("tax_rate", "DayZero has no tax rate; carry the tax as a line item")
        computed: Money | None = None
        for index, item in enumerate(draft.items):
            where = f"items.{index}"
            if item.quantity != item.quantity.to_integral_value():
                problems.add(f"{where}.quantity", f"item {item.name!r}: DayZero quantities are "
                                                  f"whole numbers, got {item.quantity}")
            elif item.quantity < 1:
                problems.add(f"{where}.quantity", f"item {item.name!r}: DayZero quantities are "
                                                  f"at least 1, got {item.quantity}")
            for label in ("unit_price", "total"):
                price: Money | None = getattr(item, label)
                if price is not None and not price.is_exact_in_minor_units():
                    problems.add(f"{where}.{label}", f"{price} is not a whole number of cents")
            for label in ("discount", "tax"):
                extra: Money | None = getattr(item, label)
                if extra is not None and extra.amount != 0:
                    problems.add(f"{where}.{label}", f"DayZero line items have no {label}; "
                                                     "carry it as its own line item")
            if item.tax_rate is not None and item.tax_rate != 0:
                problems.add(f"{where}.tax_rate", "DayZero line items have no tax rate")
            line = item.unit_price * item.quantity
            if item.total is not None and item.total.amount != line.amount:
                problems.add(f"{where}.total", f"line total {item.total} is not quantity x unit "
                                               f"price ({line}), which DayZero charges")
            computed = line if computed is None else computed + line
        for name in ("subtotal", "total"):
            amount: Money | None = getattr(draft, name)
            if amount is None:
                continue
            if not amount.is_exact_in_minor_units():
                problems.add(name, f"{amount} is not a whole number of cents")
            elif computed is not None and amount.amount != computed.amount:
                problems.add(name, f"{name} {amount} does not match the line items ({computed})")

    @staticmethod
    def _items_total(items: Iterable[LineItem]) -> Money | None:
        total: Money | None = None
        for item in items:
            line = item.total if item.total is not None else item.unit_price * item.quantity
            if item.total is None and item.discount is not None:
                line = line - item.discount
            total = line if total is None else total + line
        return total

    # ---- creating ------------------------------------------------------------------------
    def _next(self, counter: str) -> int:
        self._seq[counter] += 1
        return self._seq[counter]

    def _new_number(self) -> str:
        return f"INV-{self._next('number'):04d}"

    def _store(self, draft: InvoiceDraft) -> Invoice:
        """Apply the state rules and store a new invoice. Holds the lock."""
        profile = self.profile
        if draft.number is not None and any(
            inv.number == draft.number for inv in self._invoices.values()
        ):
            raise self._rejected(errors.Conflict, "invoice_number",
                                 f"invoice number {draft.number!r} is already used",
                                 _SALLA_DUPLICATE_NUMBER, status=409)
        same_order = [inv for inv in self._invoices.values()
                      if draft.order_id is not None and inv.order_id == draft.order_id
                      and inv.kind is InvoiceKind.INVOICE and inv.status is not InvoiceStatus.VOID]
        if draft.kind is InvoiceKind.CREDIT_NOTE and not same_order:
            raise self._rejected(errors.ValidationError, "type",
                                 f"no invoice for order {draft.order_id} to credit yet",
                                 _SALLA_INVALID_TYPE)
        if draft.kind is InvoiceKind.INVOICE and same_order and profile.one_invoice_per_order:
            raise self._rejected(errors.Conflict, "type",
                                 f"order {draft.order_id} already has an invoice",
                                 _SALLA_ALREADY_ISSUED)
        customer = draft.customer
        if profile.name == "dayzero":
            # check_draft ensured a customer, and _create_inline_customer gave it an id
            assert customer is not None
            assert customer.id is not None
            known = self._customers.get(customer.id.lower())
            if known is None:
                raise self._not_found("customer", customer.id)
            # What a DayZero invoice carries of its customer (as the plugin returns it).
            customer = Customer(id=known.id, name=known.name, email=known.email)
        fake_opts = draft.option(FakeOptions)
        status = profile.created_status
        if fake_opts is not None and fake_opts.draft:
            status = InvoiceStatus.DRAFT
        number = draft.number
        if number is None and status is not InvoiceStatus.DRAFT:
            number = self._new_number()
        currency = draft.effective_currency or profile.default_currency
        total = draft.total if draft.total is not None else self._items_total(draft.items)
        invoice_id = profile.new_id(self._next("invoice"))
        has_pdf = Capability.PDF_URL in profile.capabilities
        invoice = Invoice(
            id=invoice_id, provider=self.name, number=number, kind=draft.kind, status=status,
            provider_status=None if profile.name == "salla" else status.value,
            issue_date=draft.issue_date or self.today, due_date=draft.due_date,
            currency=currency, order_id=draft.order_id, customer=customer, items=draft.items,
            subtotal=draft.subtotal, shipping=draft.shipping,
            cash_on_delivery=draft.cash_on_delivery, discount=draft.discount,
            tax_rate=draft.tax_rate, tax=draft.tax, total=total,
            amount_paid=Money.zero(total.currency) if total is not None else None,
            balance_due=total, description=draft.description,
            pdf_url=draft.document_url or (f"{_FILES_HOST}/{invoice_id}.pdf" if has_pdf else None),
            hosted_url=f"{_FILES_HOST}/{invoice_id}" if has_pdf else None,
            raw={"profile": profile.name, "created_from": _form(draft)},
        )
        self._invoices[invoice.id] = invoice
        return invoice

    def _find(self, invoice: Invoice | str) -> Invoice:
        """The stored invoice, after checking the id's form. Holds the lock."""
        raw_id = invoice.id if isinstance(invoice, Invoice) else invoice
        invoice_id = self.profile.id_pattern.check(raw_id, provider=self.name)
        found = self._invoices.get(invoice_id)
        if found is None:
            raise self._not_found("invoice", invoice_id)
        return found

    def _with_status(self, invoice: Invoice, status: InvoiceStatus, **changes: Any) -> Invoice:
        updated = attrs.evolve(invoice, status=status, provider_status=(
            None if self.profile.name == "salla" else status.value), **changes)
        self._invoices[updated.id] = updated
        return updated

    # ---- operations ------------------------------------------------------------------------
    def create_invoice(self, draft: InvoiceDraft) -> Operation[Invoice]:
        """Store an invoice built from *draft*, enforcing the profile's state rules.

        On the `dayzero` profile a customer without an id is created first, as the DayZero
        plugin does (`POST /customers`, then `POST /invoices`): `calls` shows that nested
        `create_customer` after the `create_invoice`, a failure injected for it stops the
        invoice, and one injected for `create_invoice` leaves the new customer behind, as
        a failed second request would.
        """
        with self._lock:
            self._calls.append(FakeCall("create_invoice", {"draft": draft}))
            draft = self._create_inline_customer(draft, live=True)
            self._inject("create_invoice")
            return done(self._store(draft))

    def _create_inline_customer(self, draft: InvoiceDraft, *, live: bool) -> InvoiceDraft:
        """DayZero: the draft with its id-less customer created. Holds the lock."""
        customer = draft.customer
        if self.profile.name != "dayzero" or customer is None or customer.id is not None:
            return draft
        if live:
            self._enter("create_customer", customer=customer)
        return attrs.evolve(draft, customer=self._add_customer(customer))

    def get_invoice(self, invoice_id: str) -> Operation[Invoice]:
        """The stored invoice; `InvalidRequest` for a malformed id, `NotFound` if unknown."""
        with self._lock:
            self._enter("get_invoice", invoice_id=invoice_id)
            return done(self._find(invoice_id))

    def list_page(self, query: InvoiceQuery, cursor: str | None) -> Operation[Page]:
        """One page of matching invoices; the cursor is an offset into the matches."""
        with self._lock:
            self._enter("list_invoices", query=query, cursor=cursor)
            start = 0
            if cursor is not None:
                if not cursor.isdigit():
                    raise errors.InvalidRequest(f"invalid cursor {cursor!r}", provider=self.name)
                start = int(cursor)
            size = query.page_size or self.profile.page_size
            matches = [inv for inv in self._invoices.values() if _matches(inv, query)]
            items = tuple(matches[start:start + size])
            more = start + size < len(matches)
            return done(Page(items, str(start + size) if more else None))

    def send_invoice(self, invoice: Invoice | str, options: SendOptions) -> Operation[SendReceipt]:
        """Record a receipt in the outbox; drafts, voided invoices and invoices without a
        customer email are refused the way the platform refuses them."""
        with self._lock:
            raw_id = invoice.id if isinstance(invoice, Invoice) else invoice
            self._enter("send_invoice", invoice_id=raw_id, options=options)
            stored = self._find(invoice)
            if stored.status is InvoiceStatus.DRAFT:
                if not (options.auto_finalize and Capability.FINALIZE_INVOICE in self.capabilities):
                    raise self._rejected(errors.Conflict, "status",
                                         "a draft cannot be sent; finalize it first", status=409)
                stored = self._finalize(stored)
            if stored.status in (InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE):
                raise self._rejected(errors.Conflict, "status",
                                     f"a {stored.status.value} invoice cannot be sent", status=409)
            email = stored.customer.email if stored.customer is not None else None
            if not email:
                if self.profile.name == "salla":
                    raise errors.ValidationError(_SALLA_SEND_FAILED, provider=self.name,
                                                 status=422)
                raise self._rejected(errors.ValidationError, "customer_email",
                                     "the invoice's customer has no email address")
            n = self._next("message")
            salla = self.profile.name == "salla"
            receipt = SendReceipt(
                invoice_id=stored.id, sent=True, recipient=email,
                cc=self.sender_email if options.cc_sender else None,
                message_id=None if salla else f"fake-message-{n}",
                pdf_attached=None if salla else bool(options.attach_pdf),
                message=_SALLA_SENT if salla else None,
                raw={"profile": self.profile.name, "invoice_number": stored.number},
            )
            self._outbox.append(receipt)
            return done(receipt)

    def void_invoice(self, invoice: Invoice | str) -> Operation[Invoice]:
        """Void an open invoice; anything else is a `Conflict`."""
        with self._lock:
            raw_id = invoice.id if isinstance(invoice, Invoice) else invoice
            self._enter("void_invoice", invoice_id=raw_id)
            stored = self._find(invoice)
            if stored.status not in (InvoiceStatus.OPEN, InvoiceStatus.ISSUED):
                raise self._rejected(errors.Conflict, "status",
                                     f"only open invoices can be voided; this one is "
                                     f"{stored.status.value}", status=409)
            return done(self._with_status(stored, InvoiceStatus.VOID))

    def _finalize(self, stored: Invoice) -> Invoice:
        if stored.status is not InvoiceStatus.DRAFT:
            raise self._rejected(errors.Conflict, "status",
                                 f"only drafts can be finalized; this one is "
                                 f"{stored.status.value}", status=409)
        return self._with_status(stored, InvoiceStatus.OPEN,
                                 number=stored.number or self._new_number())

    def finalize_invoice(self, invoice: Invoice | str) -> Operation[Invoice]:
        """Turn a draft into an open invoice and give it the next `INV-0001`-style number."""
        with self._lock:
            raw_id = invoice.id if isinstance(invoice, Invoice) else invoice
            self._enter("finalize_invoice", invoice_id=raw_id)
            return done(self._finalize(self._find(invoice)))

    def get_pdf_url(self, invoice: Invoice | str) -> Operation[str]:
        """A URL under a reserved `.invalid` host: well formed, never fetchable."""
        with self._lock:
            raw_id = invoice.id if isinstance(invoice, Invoice) else invoice
            self._enter("get_pdf_url", invoice_id=raw_id)
            stored = self._find(invoice)
            return done(stored.pdf_url or f"{_FILES_HOST}/{stored.id}.pdf")

    def create_customer(self, customer: Customer) -> Operation[Customer]:
        """Store *customer* with a new id (name and email are required, as on DayZero)."""
        with self._lock:
            self._enter("create_customer", customer=customer)
            return done(self._add_customer(customer))

    def _add_customer(self, customer: Customer) -> Customer:
        if not isinstance(customer, Customer):
            raise errors.InvalidRequest(
                f"expected a Customer, got {type(customer).__name__}", provider=self.name)
        missing = [name for name in ("name", "email") if not getattr(customer, name)]
        if missing:
            raise errors.InvalidRequest(
                f"a customer needs a name and an email; missing: {', '.join(missing)}",
                provider=self.name, fields={name: ["required"] for name in missing})
        if customer.id is not None:
            message = "a new customer has no id yet; the provider assigns it"
            raise errors.InvalidRequest(message, provider=self.name,
                                        fields={"customer.id": [message]})
        email = customer.email
        assert email is not None
        if self.profile.name == "dayzero" and "@" not in email:
            # DayZero validates the address (a FastAPI 422 on `POST /customers`).
            text = "value is not a valid email address: An email address must have an @-sign."
            raise errors.ValidationError(f"request validation failed: body.email: {text}",
                                         provider=self.name, status=422,
                                         code="value_error", fields={"body.email": [text]})
        n = self._next("customer")
        new_id = (str(uuid.uuid5(_NAMESPACE, f"{self.profile.name}-customer-{n}"))
                  if self.profile.name != "salla" else str(500_000 + n))
        if self.profile.name == "default":
            new_id = f"cus_{n:06d}"
        stored = attrs.evolve(customer, id=new_id)
        self._customers[new_id] = stored
        return stored

    # ---- seeding ---------------------------------------------------------------------------
    def seed(self, *items: Invoice | InvoiceDraft | Customer) -> list[Any]:
        """Preload invoices (stored as given), drafts (created under the profile's rules)
        and customers; nothing is logged in `calls` and no failure is injected."""
        results: list[Any] = []
        with self._lock:
            for item in items:
                if isinstance(item, Customer):
                    results.append(self._add_customer(item))
                elif isinstance(item, InvoiceDraft):
                    self.check_features(item)
                    checked = self.check_draft(item)
                    results.append(self._store(
                        self._create_inline_customer(checked, live=False)))
                elif isinstance(item, Invoice):
                    invoice_id = self.profile.id_pattern.check(item.id, provider=self.name)
                    if invoice_id in self._invoices:
                        raise ValueError(f"an invoice with id {invoice_id!r} is already stored")
                    stored = attrs.evolve(item, provider=self.name)
                    self._invoices[invoice_id] = stored
                    results.append(stored)
                else:
                    raise TypeError(
                        f"seed takes Invoice, InvoiceDraft or Customer, got {type(item).__name__}")
        return results

    def sample_draft(self, n: int = 1) -> InvoiceDraft:
        """A valid, sendable draft for this profile, unique for each *n*.

        For the `dayzero` profile this creates the draft's customer in the fake first, so
        the draft names it by id (an id-less customer would be created with the invoice).
        """
        qty = Decimal(2)
        if self.profile.name == "dayzero":
            with self._lock:
                customer = self._add_customer(
                    Customer(name=f"Customer {n}", email=f"customer{n}@example.com"))
            price = Money("12.50", "USD")
            return InvoiceDraft(
                customer=customer, currency="USD", issue_date=self.today,
                due_date=self.today + dt.timedelta(days=30), description=f"Order {n}",
                items=(LineItem(name=f"Item {n}", quantity=qty, unit_price=price,
                                total=price * qty),),
            )
        price = Money("100.00", "SAR")
        subtotal = price * qty
        tax = (subtotal * Decimal("0.15")).quantize()
        return InvoiceDraft(
            order_id=str(7_000_000 + n), number=f"F-{n:05d}",
            customer=Customer(name=f"عميل {n}", email=f"customer{n}@example.com"),
            currency="SAR", issue_date=self.today,
            items=(LineItem(name=f"منتج {n}", quantity=qty, unit_price=price, total=subtotal,
                            tax_rate=Decimal(15)),),
            subtotal=subtotal, shipping=Money.zero("SAR"), cash_on_delivery=Money.zero("SAR"),
            tax_rate=Decimal(15), tax=tax, total=subtotal + tax,
        )


def _form(draft: InvoiceDraft) -> str:
    if draft.document_url is not None:
        return "url"
    if draft.document_pdf is not None:
        return "file"
    return "order" if draft.from_order else "data"


def _matches(invoice: Invoice, query: InvoiceQuery) -> bool:
    if query.status is not None and invoice.status is not query.status:
        return False
    if query.order_id is not None and invoice.order_id != query.order_id:
        return False
    if query.customer_id is not None and (
        invoice.customer is None or invoice.customer.id != query.customer_id
    ):
        return False
    issued = invoice.issue_date
    if query.from_date is not None and (issued is None or issued < query.from_date):
        return False
    if query.to_date is not None and (issued is None or issued > query.to_date):
        return False
    if query.search:
        needle = query.search.casefold()
        haystack = " ".join(filter(None, (
            invoice.number, invoice.description,
            invoice.customer.name if invoice.customer else None,
            invoice.customer.email if invoice.customer else None,
        ))).casefold()
        if needle not in haystack:
            return False
    return True


def _provider_for(provider: FakeProvider | None, profile: str | None,
                  settings: Mapping[str, Any]) -> FakeProvider:
    for name in ("base_url", "http_client"):
        if name in settings:
            raise errors.ConfigurationError(
                f"the fake makes no HTTP requests; {name} does not apply", setting=name,
                provider="fake")
    if provider is None:
        return FakeProvider(profile=profile or "default")
    if not isinstance(provider, FakeProvider):
        raise TypeError(f"expected a FakeProvider, got {type(provider).__name__}")
    if profile is not None and profile != provider.profile.name:
        raise errors.ConfigurationError(
            "pass either a FakeProvider or a profile, not both", setting="profile",
            provider="fake")
    return provider


class _FakeControls:
    """The test controls shared by the sync and async fake gateways."""

    _provider: Provider

    @property
    def fake(self) -> FakeProvider:
        """The in-memory provider (its store is shared by `with_options` views)."""
        provider = self._provider
        assert isinstance(provider, FakeProvider)
        return provider

    @property
    def profile(self) -> str:
        """The profile's name: `"default"`, `"salla"` or `"dayzero"`."""
        return self.fake.profile.name

    @property
    def outbox(self) -> tuple[SendReceipt, ...]:
        """Every receipt of a successful send, oldest first."""
        return self.fake.outbox

    @property
    def calls(self) -> tuple[FakeCall, ...]:
        """Every operation that reached the provider (capability-gated calls never do)."""
        return self.fake.calls

    @property
    def invoices(self) -> tuple[Invoice, ...]:
        """Every stored invoice, in creation order."""
        return self.fake.invoices

    def fail_next(self, error: Exception, operation: str | None = None) -> None:
        """Make the next call (of *operation*, one of `OPERATIONS`, or any) raise *error*."""
        self.fake.fail_next(error, operation)

    def fail_always(self, error: Exception, operation: str | None = None) -> None:
        """Make every call (of *operation*, or any) raise *error* until `clear_failures()`."""
        self.fake.fail_always(error, operation)

    def clear_failures(self) -> None:
        """Forget every injected failure."""
        self.fake.clear_failures()

    def reset(self) -> None:
        """Forget every invoice, customer, receipt, call and failure."""
        self.fake.reset()

    def seed(self, *items: Invoice | InvoiceDraft | Customer) -> list[Any]:
        """Preload invoices, drafts and customers (see `FakeProvider.seed`)."""
        return self.fake.seed(*items)

    def sample_draft(self, n: int = 1) -> InvoiceDraft:
        """A valid, sendable draft for this profile, unique for each *n*."""
        return self.fake.sample_draft(n)


class FakeGateway(_FakeControls, Gateway):
    """A sync gateway on the in-memory fake: `FakeGateway(profile="salla")` or
    `invoicekit.connect("fake", profile="salla")`; same API as every gateway, plus the
    test controls (`outbox`, `calls`, `fail_next`, `seed`...)."""

    def __init__(self, provider: FakeProvider | None = None, *, profile: str | None = None,
                 **settings: Any) -> None:
        super().__init__(_provider_for(provider, profile, settings), **settings)


class AsyncFakeGateway(_FakeControls, AsyncGateway):
    """The async twin of `FakeGateway` (`invoicekit.connect_async("fake")`)."""

    def __init__(self, provider: FakeProvider | None = None, *, profile: str | None = None,
                 **settings: Any) -> None:
        super().__init__(_provider_for(provider, profile, settings), **settings)


FakeProvider.gateway_class = FakeGateway
FakeProvider.async_gateway_class = AsyncFakeGateway
