"""The fake provider: `invoicekit.connect("fake")` and `FakeGateway`.

Two kinds of fake, one set of test controls:

* **The neutral fake** (`profile="default"`, the default): `FakeProvider`, an in-memory
  provider of the core that knows no platform. It keeps the rules every platform shares
  (no credit note before an invoice for that order, no duplicate invoice number, drafts
  cannot be sent, only open invoices can be voided, sending needs a customer email) and
  supports every capability, so application code can be tested without choosing one.
* **A platform profile** (`profile="salla"`, `profile="dayzero"`, or any plugin that
  ships a sandbox): the plugin's *real* provider running against the plugin's *own*
  sandbox, in the same process (an httpx transport that calls the sandbox, no socket).
  The profile is found through the entry-point group `invoicekit.sandboxes`, so the core
  knows no platform by name, and the rules are the sandbox's: they cannot drift from
  what the emulator of that platform enforces. A call costs about a millisecond.

On both, `FakeGateway` (and `AsyncFakeGateway`) add what a test wants to look at or
control: `outbox` (every `SendReceipt`), `calls` (every operation that reached the
provider, after the gateway's checks), `fail_next()` / `fail_always()` (failure
injection), `seed()`, `sample_draft()`, `invoices`, `reset()`; and `sandbox`, the
platform profile's sandbox (state to inspect or change, faults to inject).
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import types
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Final

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
from .._provider import DraftProblems, IdPattern, Operation, Provider, Response, done

if TYPE_CHECKING:
    from .sandbox import SandboxServer

__all__ = [
    "DEFAULT_PROFILE",
    "OPERATIONS",
    "SANDBOX_ENTRY_POINT_GROUP",
    "AsyncFakeGateway",
    "FakeCall",
    "FakeGateway",
    "FakeOptions",
    "FakeProvider",
    "profiles",
    "register_sandbox",
]

OPERATIONS: Final = frozenset({
    "create_invoice", "get_invoice", "list_invoices", "send_invoice", "void_invoice",
    "finalize_invoice", "get_pdf_url", "create_customer",
})
"""Operation names used by `FakeGateway.calls` and accepted by `fail_next(operation=...)`."""

DEFAULT_PROFILE: Final = "default"
"""The neutral fake's profile name."""
SANDBOX_ENTRY_POINT_GROUP: Final = "invoicekit.sandboxes"
"""Where plugins register their sandboxes (name -> `SandboxServer` subclass); each one is
also a profile of the fake."""

_FAKE_ID = IdPattern("fake invoice id (inv_ and digits)", r"inv_[0-9]{1,12}")
_FILES_HOST = "https://files.invoicekit.invalid"
_PAGE_SIZE = 20


@attrs.frozen(slots=True)
class FakeOptions(ProviderOptions):
    """Options only the neutral fake reads. `draft=True` creates the invoice as a `DRAFT`,
    so tests can exercise `finalize_invoice` and "drafts cannot be sent"."""

    provider: ClassVar[str] = "fake"
    draft: bool = False


def _readonly(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return types.MappingProxyType(dict(value or {}))


@attrs.frozen(slots=True)
class FakeCall:
    """One operation that reached the provider (after the gateway's capability and draft
    checks). `operation` is one of `OPERATIONS`; `arguments` holds what it was called with.
    """

    operation: str
    arguments: Mapping[str, Any] = attrs.field(factory=dict, converter=_readonly)


# ---- the neutral in-memory provider ---------------------------------------------------------
class FakeProvider(Provider):
    """The neutral in-memory provider behind `connect("fake")`; see the module docstring.

    Settings: `today` (the issue date of new invoices, for deterministic tests; default:
    today in UTC) and `sender_email` (the address a `cc_sender` copy goes to). Every
    operation returns `done(value)`: no request, so the same code serves sync and async.
    """

    name = "fake"
    features = frozenset({
        Capability.CREDIT_NOTE, Capability.FROM_ORDER, Capability.DOCUMENT_URL,
        Capability.DOCUMENT_PDF, Capability.SEND_CC, Capability.SEND_PDF,
    })

    def __init__(self, today: dt.date | str | None = None,
                 sender_email: str = "billing@example.com") -> None:
        self.today: dt.date = _date_setting(today) or dt.datetime.now(dt.UTC).date()
        self.sender_email = sender_email
        self._lock = threading.RLock()
        self._reset_state()

    def _reset_state(self) -> None:
        self._invoices: dict[str, Invoice] = {}
        self._customers: dict[str, Customer] = {}
        self._seq = {"invoice": 0, "customer": 0, "number": 0, "message": 0}

    @property
    def invoices(self) -> tuple[Invoice, ...]:
        """Every stored invoice, in creation order."""
        with self._lock:
            return tuple(self._invoices.values())

    def reset(self) -> None:
        """Forget every invoice and customer, and restart the counters."""
        with self._lock:
            self._reset_state()

    # ---- drafts -------------------------------------------------------------------------
    def check_draft(self, draft: InvoiceDraft) -> InvoiceDraft:
        """The rules every platform shares; every problem named at once (`DraftProblems`)."""
        problems = DraftProblems(self.name)
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
        problems.raise_if_any()
        return draft

    # ---- state rules --------------------------------------------------------------------
    def _next(self, counter: str) -> int:
        self._seq[counter] += 1
        return self._seq[counter]

    def _new_number(self) -> str:
        return f"INV-{self._next('number'):04d}"

    def _conflict(self, cls: type[errors.ProviderError], field: str, text: str,
                  status: int = 409) -> errors.ProviderError:
        return cls(text, provider=self.name, status=status, fields={field: [text]})

    def _store(self, draft: InvoiceDraft) -> Invoice:
        """Apply the state rules and store a new invoice. Holds the lock."""
        if draft.number is not None and any(
            inv.number == draft.number for inv in self._invoices.values()
        ):
            raise self._conflict(errors.Conflict, "invoice_number",
                                 f"invoice number {draft.number!r} is already used")
        if draft.kind is InvoiceKind.CREDIT_NOTE and not any(
            inv.order_id == draft.order_id and inv.kind is InvoiceKind.INVOICE
            and inv.status is not InvoiceStatus.VOID for inv in self._invoices.values()
        ):
            raise self._conflict(errors.ValidationError, "type",
                                 f"no invoice for order {draft.order_id} to credit yet", 422)
        fake_opts = draft.option(FakeOptions)
        status = InvoiceStatus.DRAFT if fake_opts is not None and fake_opts.draft else (
            InvoiceStatus.OPEN)
        number = draft.number
        if number is None and status is not InvoiceStatus.DRAFT:
            number = self._new_number()
        total = draft.total if draft.total is not None else _items_total(draft.items)
        invoice_id = f"inv_{self._next('invoice'):06d}"
        invoice = Invoice(
            id=invoice_id, provider=self.name, number=number, kind=draft.kind, status=status,
            provider_status=status.value, issue_date=draft.issue_date or self.today,
            due_date=draft.due_date, currency=draft.effective_currency, order_id=draft.order_id,
            customer=draft.customer, items=draft.items, subtotal=draft.subtotal,
            shipping=draft.shipping, cash_on_delivery=draft.cash_on_delivery,
            discount=draft.discount, tax_rate=draft.tax_rate, tax=draft.tax, total=total,
            amount_paid=Money.zero(total.currency) if total is not None else None,
            balance_due=total, description=draft.description,
            pdf_url=draft.document_url or f"{_FILES_HOST}/{invoice_id}.pdf",
            hosted_url=f"{_FILES_HOST}/{invoice_id}",
            raw={"created_from": _form(draft)},
        )
        self._invoices[invoice.id] = invoice
        return invoice

    def _find(self, invoice: Invoice | str) -> Invoice:
        """The stored invoice, after checking the id's form. Holds the lock."""
        raw_id = invoice.id if isinstance(invoice, Invoice) else invoice
        invoice_id = _FAKE_ID.check(raw_id, provider=self.name)
        found = self._invoices.get(invoice_id)
        if found is None:
            raise errors.NotFound(f"invoice {invoice_id} not found", provider=self.name,
                                  status=404)
        return found

    def _with_status(self, invoice: Invoice, status: InvoiceStatus, **changes: Any) -> Invoice:
        updated = attrs.evolve(invoice, status=status, provider_status=status.value, **changes)
        self._invoices[updated.id] = updated
        return updated

    def _finalize(self, stored: Invoice) -> Invoice:
        if stored.status is not InvoiceStatus.DRAFT:
            raise self._conflict(errors.Conflict, "status", "only drafts can be finalized; "
                                 f"this one is {stored.status.value}")
        return self._with_status(stored, InvoiceStatus.OPEN,
                                 number=stored.number or self._new_number())

    # ---- operations ---------------------------------------------------------------------
    def create_invoice(self, draft: InvoiceDraft) -> Operation[Invoice]:
        """Store an invoice built from *draft* under the shared state rules."""
        with self._lock:
            return done(self._store(draft))

    def get_invoice(self, invoice_id: str) -> Operation[Invoice]:
        """The stored invoice; `InvalidRequest` for a malformed id, `NotFound` if unknown."""
        with self._lock:
            return done(self._find(invoice_id))

    def list_page(self, query: InvoiceQuery, cursor: str | None) -> Operation[Page]:
        """One page of matching invoices, in creation order; the cursor is an offset."""
        start = 0
        if cursor is not None:
            if not cursor.isdigit():
                raise errors.InvalidRequest(f"invalid cursor {cursor!r}", provider=self.name)
            start = int(cursor)
        size = query.page_size or _PAGE_SIZE
        with self._lock:
            matches = [inv for inv in self._invoices.values() if _matches(inv, query)]
        more = start + size < len(matches)
        return done(Page(tuple(matches[start:start + size]), str(start + size) if more else None))

    def send_invoice(self, invoice: Invoice | str, options: SendOptions) -> Operation[SendReceipt]:
        """A receipt for the invoice's customer; drafts (unless `auto_finalize`), voided
        invoices and invoices without a customer email are refused."""
        with self._lock:
            stored = self._find(invoice)
            if stored.status is InvoiceStatus.DRAFT:
                if not options.auto_finalize:
                    raise self._conflict(errors.Conflict, "status",
                                         "a draft cannot be sent; finalize it first")
                stored = self._finalize(stored)
            if stored.status in (InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE):
                raise self._conflict(errors.Conflict, "status",
                                     f"a {stored.status.value} invoice cannot be sent")
            email = stored.customer.email if stored.customer is not None else None
            if not email:
                raise self._conflict(errors.ValidationError, "customer_email",
                                     "the invoice's customer has no email address", 422)
            return done(SendReceipt(
                invoice_id=stored.id, sent=True, recipient=email,
                cc=self.sender_email if options.cc_sender else None,
                message_id=f"fake-message-{self._next('message')}",
                pdf_attached=bool(options.attach_pdf),
                raw={"invoice_number": stored.number},
            ))

    def void_invoice(self, invoice: Invoice | str) -> Operation[Invoice]:
        """Void an open invoice; anything else is a `Conflict`."""
        with self._lock:
            stored = self._find(invoice)
            if stored.status is not InvoiceStatus.OPEN:
                raise self._conflict(errors.Conflict, "status", "only open invoices can be "
                                     f"voided; this one is {stored.status.value}")
            return done(self._with_status(stored, InvoiceStatus.VOID))

    def finalize_invoice(self, invoice: Invoice | str) -> Operation[Invoice]:
        """Turn a draft into an open invoice and give it the next `INV-0001`-style number."""
        with self._lock:
            return done(self._finalize(self._find(invoice)))

    def get_pdf_url(self, invoice: Invoice | str) -> Operation[str]:
        """A URL under a reserved `.invalid` host: well formed, never fetchable."""
        with self._lock:
            stored = self._find(invoice)
            return done(stored.pdf_url or f"{_FILES_HOST}/{stored.id}.pdf")

    def create_customer(self, customer: Customer) -> Operation[Customer]:
        """Store *customer* with a new id (name and email are required)."""
        if not isinstance(customer, Customer):
            raise errors.InvalidRequest(
                f"expected a Customer, got {type(customer).__name__}", provider=self.name)
        problems = DraftProblems(self.name)
        for field in ("name", "email"):
            if not getattr(customer, field):
                problems.add(field, "required")
        if customer.id is not None:
            problems.add("customer.id", "a new customer has no id yet; the provider assigns it")
        problems.raise_if_any()
        with self._lock:
            stored = attrs.evolve(customer, id=f"cus_{self._next('customer'):06d}")
            self._customers[str(stored.id)] = stored
            return done(stored)

    # ---- test helpers -------------------------------------------------------------------
    def store(self, invoice: Invoice) -> Invoice:
        """Store *invoice* as given (any status, any number): what `seed()` does with an
        `Invoice`. Its id must have the fake's form (`inv_000123`) and be new."""
        invoice_id = _FAKE_ID.check(invoice.id, provider=self.name)
        with self._lock:
            if invoice_id in self._invoices:
                raise errors.InvalidRequest(
                    f"an invoice with id {invoice_id!r} is already stored", provider=self.name)
            stored = attrs.evolve(invoice, provider=self.name)
            self._invoices[invoice_id] = stored
            return stored

    def sample_draft(self, n: int = 1) -> InvoiceDraft:
        """A valid, sendable draft, unique for each *n* (an order, a number, 15% tax)."""
        qty = Decimal(2)
        price = Money("100.00", "EUR")
        subtotal = price * qty
        tax = (subtotal * Decimal("0.15")).quantize()
        return InvoiceDraft(
            order_id=str(7_000_000 + n), number=f"F-{n:05d}",
            customer=Customer(name=f"Customer {n}", email=f"customer{n}@example.com"),
            currency="EUR", issue_date=self.today,
            items=(LineItem(name=f"Item {n}", quantity=qty, unit_price=price, total=subtotal,
                            tax_rate=Decimal(15)),),
            subtotal=subtotal, tax_rate=Decimal(15), tax=tax, total=subtotal + tax,
        )


def _date_setting(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise errors.ConfigurationError(f"today must be a YYYY-MM-DD date, got {value!r}",
                                    setting="today", provider="fake")


def _form(draft: InvoiceDraft) -> str:
    if draft.document_url is not None:
        return "url"
    if draft.document_pdf is not None:
        return "file"
    return "order" if draft.from_order else "data"


def _items_total(items: Iterable[LineItem]) -> Money | None:
    total: Money | None = None
    for item in items:
        line = item.total if item.total is not None else item.unit_price * item.quantity
        if item.total is None and item.discount is not None:
            line = line - item.discount
        total = line if total is None else total + line
    return total


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


# ---- the controls: one recorder in front of any provider ------------------------------------
@attrs.frozen(slots=True)
class _Failure:
    error: Exception
    operation: str | None


class _Recorder(Provider):
    """The provider a fake gateway talks to: logs each operation, injects the failures a
    test asked for, keeps the outbox, and hands everything else to the provider it wraps
    (the neutral `FakeProvider`, or a plugin's real provider on its sandbox)."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self.outbox: list[SendReceipt] = []
        self.calls: list[FakeCall] = []
        self.once: list[_Failure] = []
        self.always: list[_Failure] = []

    def forget(self) -> None:
        """Drop the outbox, the call log and every injected failure."""
        with self._lock:
            self.outbox.clear()
            self.calls.clear()
            self.once.clear()
            self.always.clear()

    def _enter(self, operation: str, **arguments: Any) -> None:
        """Log the call; raise the injected failure that applies to it, if any."""
        with self._lock:
            self.calls.append(FakeCall(operation, arguments))
            for i, failure in enumerate(self.once):
                if failure.operation in (None, operation):
                    del self.once[i]
                    raise failure.error
            for failure in self.always:
                if failure.operation in (None, operation):
                    try:
                        fresh = copy.copy(failure.error)
                    except Exception:
                        fresh = failure.error
                    raise fresh

    # ---- what the wrapped provider decides ------------------------------------------------
    @property
    def capabilities(self) -> frozenset[Capability]:
        """The wrapped provider's capabilities."""
        return self.inner.capabilities

    def _unsupported(self, feature: Capability, hint: str = "") -> errors.UnsupportedFeature:
        return self.inner._unsupported(feature, hint)

    def check_draft(self, draft: InvoiceDraft) -> InvoiceDraft:
        """The wrapped provider's draft rules."""
        return self.inner.check_draft(draft)

    def secrets(self) -> Iterable[str]:
        """The wrapped provider's secrets."""
        return self.inner.secrets()

    def auth_headers(self) -> Mapping[str, str]:
        """The wrapped provider's authentication headers."""
        return self.inner.auth_headers()

    def default_headers(self) -> Mapping[str, str]:
        """The wrapped provider's headers."""
        return self.inner.default_headers()

    @property
    def auth_generation(self) -> int:
        """The wrapped provider's credential generation."""
        return self.inner.auth_generation

    def needs_refresh(self) -> bool:
        """Whether the wrapped provider's credentials need renewing."""
        return self.inner.needs_refresh()

    def can_refresh(self) -> bool:
        """Whether the wrapped provider can renew its credentials."""
        return self.inner.can_refresh()

    def refresh(self) -> Operation[None]:
        """The wrapped provider's credential renewal."""
        return self.inner.refresh()

    def error_from_response(self, response: Response) -> errors.ProviderError:
        """The wrapped provider's reading of an error response."""
        return self.inner.error_from_response(response)

    def close(self) -> None:
        """Close the wrapped provider."""
        self.inner.close()

    def __repr__(self) -> str:
        return f"<fake {self.inner!r}>"

    # ---- operations: logged, failure-injected, then the wrapped provider's ---------------
    def create_invoice(self, draft: InvoiceDraft) -> Operation[Invoice]:
        """Logged as `create_invoice`, then the wrapped provider's."""
        self._enter("create_invoice", draft=draft)
        return (yield from self.inner.create_invoice(draft))

    def get_invoice(self, invoice_id: str) -> Operation[Invoice]:
        """Logged as `get_invoice`, then the wrapped provider's."""
        self._enter("get_invoice", invoice_id=invoice_id)
        return (yield from self.inner.get_invoice(invoice_id))

    def list_page(self, query: InvoiceQuery, cursor: str | None) -> Operation[Page]:
        """Logged as `list_invoices` (once per page), then the wrapped provider's."""
        self._enter("list_invoices", query=query, cursor=cursor)
        return (yield from self.inner.list_page(query, cursor))

    def send_invoice(self, invoice: Invoice | str, options: SendOptions) -> Operation[SendReceipt]:
        """Logged as `send_invoice`; a successful receipt goes to the outbox."""
        self._enter("send_invoice", invoice_id=_id_of(invoice), options=options)
        receipt = yield from self.inner.send_invoice(invoice, options)
        with self._lock:
            self.outbox.append(receipt)
        return receipt

    def void_invoice(self, invoice: Invoice | str) -> Operation[Invoice]:
        """Logged as `void_invoice`, then the wrapped provider's."""
        self._enter("void_invoice", invoice_id=_id_of(invoice))
        return (yield from self.inner.void_invoice(invoice))

    def finalize_invoice(self, invoice: Invoice | str) -> Operation[Invoice]:
        """Logged as `finalize_invoice`, then the wrapped provider's."""
        self._enter("finalize_invoice", invoice_id=_id_of(invoice))
        return (yield from self.inner.finalize_invoice(invoice))

    def get_pdf_url(self, invoice: Invoice | str) -> Operation[str]:
        """Logged as `get_pdf_url`, then the wrapped provider's."""
        self._enter("get_pdf_url", invoice_id=_id_of(invoice))
        return (yield from self.inner.get_pdf_url(invoice))

    def create_customer(self, customer: Customer) -> Operation[Customer]:
        """Logged as `create_customer`, then the wrapped provider's."""
        self._enter("create_customer", customer=customer)
        return (yield from self.inner.create_customer(customer))


_recorder_classes: dict[type[Provider], type[_Recorder]] = {}


def _recorder_class(inner: type[Provider]) -> type[_Recorder]:
    # The class-level facts the core reads (name, rate-limit model, order requirement,
    # distribution) are the wrapped provider's: a fake Salla gateway *is* a Salla gateway.
    found = _recorder_classes.get(inner)
    if found is None:
        found = type(f"Fake{inner.__name__}", (_Recorder,), {
            "__module__": __name__, "name": inner.name, "features": inner.features,
            "rate_limit_model": inner.rate_limit_model, "distribution": inner.distribution,
            "requires_order_id": inner.requires_order_id, "default_base_url": None,
        })
        _recorder_classes[inner] = found
    return found


def _id_of(invoice: Invoice | str) -> str:
    return invoice.id if isinstance(invoice, Invoice) else invoice


# ---- profiles -------------------------------------------------------------------------------
_registered_sandboxes: dict[str, type[SandboxServer]] = {}


def register_sandbox(name: str, sandbox_class: type[SandboxServer]) -> None:
    """Make *sandbox_class* the fake's profile *name* in this process, without packaging
    (what the entry point `invoicekit.sandboxes` does for an installed plugin). The
    provider the profile runs is the one `invoicekit.connect(name)` finds."""
    from .sandbox import SandboxServer

    if not isinstance(sandbox_class, type) or not issubclass(sandbox_class, SandboxServer):
        raise TypeError("sandbox_class must be a subclass of SandboxServer")
    if name == DEFAULT_PROFILE or not name.isidentifier():
        raise errors.ConfigurationError(f"invalid profile name {name!r}", setting="profile",
                                        provider="fake")
    _registered_sandboxes[name] = sandbox_class


def sandbox_entry_points() -> dict[str, Any]:
    """The installed sandboxes' entry points (group `invoicekit.sandboxes`) by name."""
    from .._registry import entry_points_of

    return entry_points_of(SANDBOX_ENTRY_POINT_GROUP)


def profiles() -> list[str]:
    """The fake's profiles: `default`, then every installed or registered sandbox's name."""
    return [DEFAULT_PROFILE, *sorted(set(sandbox_entry_points()) | set(_registered_sandboxes))]


def find_sandbox(name: str) -> type[SandboxServer] | None:
    """The sandbox class registered or installed as *name*; `None` if there is none, and
    `ConfigurationError` for one that is installed but fails to load (the CLI's `sandbox`
    command and the fake's profiles both find sandboxes here)."""
    from .sandbox import SandboxServer

    registered = _registered_sandboxes.get(name)
    if registered is not None:
        return registered
    ep = sandbox_entry_points().get(name)
    if ep is None:
        return None
    try:
        cls = ep.load()
    except Exception as exc:
        raise errors.ConfigurationError(
            f"sandbox {name!r} is installed but failed to load: {type(exc).__name__}: {exc}",
            setting="sandbox") from exc
    if not isinstance(cls, type) or not issubclass(cls, SandboxServer):
        raise errors.ConfigurationError(
            f"entry point {name!r} in {SANDBOX_ENTRY_POINT_GROUP} is not a SandboxServer "
            "subclass", setting="sandbox")
    return cls


def _load_sandbox(profile: str) -> type[SandboxServer]:
    try:
        found = find_sandbox(profile)
    except errors.ConfigurationError as exc:
        raise errors.ConfigurationError(f"fake profile {profile!r}: {exc.message}",
                                        setting="profile", provider="fake") from exc
    if found is None:
        raise errors.ConfigurationError(
            f"unknown fake profile {profile!r}; expected one of {', '.join(profiles())} "
            "(a platform's profile comes with its plugin's sandbox)",
            setting="profile", provider="fake")
    return found


class _Profile:
    """What a fake gateway stands on: its provider (wrapped by the recorder), the sandbox
    (platform profiles only) and a plain gateway on the same state for setup calls (it
    holds no connection: the controls keep working after the gateway is closed)."""

    def __init__(self, provider: FakeProvider | None, profile: str | None,
                 today: dt.date | str | None, sender_email: str | None,
                 settings: Mapping[str, Any]) -> None:
        for name in ("base_url", "http_client"):
            if name in settings:
                raise errors.ConfigurationError(
                    f"the fake chooses its own transport; {name} does not apply",
                    setting=name, provider="fake")
        if provider is not None and not isinstance(provider, FakeProvider):
            raise errors.ConfigurationError(
                f"expected a FakeProvider, got {type(provider).__name__}", setting="provider",
                provider="fake")
        name = profile or DEFAULT_PROFILE
        if not isinstance(name, str):
            raise errors.ConfigurationError("profile must be a name", setting="profile",
                                            provider="fake")
        self.name = name
        self.sandbox: SandboxServer | None = None
        self.base_url: str | None = None
        self.provider: Provider
        if name == DEFAULT_PROFILE:
            if provider is not None and (today is not None or sender_email is not None):
                raise errors.ConfigurationError(
                    "pass either a FakeProvider or its settings (today, sender_email)",
                    setting="provider", provider="fake")
            self.provider = provider or FakeProvider(
                today, **({"sender_email": sender_email} if sender_email else {}))
            return
        if provider is not None:
            raise errors.ConfigurationError(
                "pass either a FakeProvider or a platform profile, not both", setting="profile",
                provider="fake")
        if sender_email is not None:
            raise errors.ConfigurationError(
                f"on the {name} profile the platform decides where a cc goes; sender_email "
                "applies to the default profile only", setting="sender_email", provider="fake")
        from .._registry import _split, load_provider

        self.sandbox_class = _load_sandbox(name)
        self.sandbox = self.sandbox_class()
        self.today = _date_setting(today)
        self._set_today()
        connection = dict(self.sandbox.settings())
        self.base_url = str(connection.pop("base_url", self.sandbox.url))
        provider_class = load_provider(name)
        _, own = _split(provider_class, name, connection)
        self.provider = provider_class(**own)

    def _set_today(self) -> None:
        if self.sandbox is not None and self.today is not None:
            self.sandbox.today = self.today

    def reset(self, clients: Iterable[Any]) -> None:
        """A fresh state: the neutral store emptied, or a new sandbox in the old one's place."""
        if self.sandbox is None:
            assert isinstance(self.provider, FakeProvider)
            self.provider.reset()
            return
        self.sandbox = self.sandbox_class()
        self._set_today()
        for client in clients:
            client._transport.sandbox = self.sandbox


def _fake_init(gateway: Gateway | AsyncGateway, provider: FakeProvider | None,
               profile: str | None, today: dt.date | str | None, sender_email: str | None,
               settings: dict[str, Any], *, asynchronous: bool) -> None:
    """Build a fake gateway: the shared part of `FakeGateway` and `AsyncFakeGateway`."""
    stand = _Profile(provider, profile, today, sender_email, settings)
    recorder = _recorder_class(type(stand.provider))(stand.provider)
    gateway.__dict__["_fake_stand"] = stand
    if stand.sandbox is None:
        base = Gateway if not asynchronous else AsyncGateway
        base.__init__(gateway, recorder, **settings)  # type: ignore[arg-type]
        gateway.__dict__["_fake_setup"] = Gateway(stand.provider)
        return
    from .._http import in_process_client

    client = in_process_client(stand.sandbox, asynchronous=asynchronous)
    base = Gateway if not asynchronous else AsyncGateway
    base.__init__(gateway, recorder, base_url=stand.base_url,  # type: ignore[arg-type]
                  http_client=client, **settings)
    gateway._runner._owns_client = True  # type: ignore[union-attr]  # ours: closed with us
    setup_client = in_process_client(stand.sandbox, asynchronous=False)
    setup = Gateway(stand.provider, base_url=stand.base_url, http_client=setup_client)
    setup._runner._owns_client = True  # type: ignore[union-attr]
    gateway.__dict__["_fake_setup"] = setup
    gateway.__dict__["_fake_clients"] = (client, setup_client)


class _FakeControls:
    """The test controls shared by the sync and async fake gateways."""

    _provider: Provider
    _fake_stand: _Profile
    _fake_setup: Gateway

    @property
    def _recorder(self) -> _Recorder:
        provider = self._provider
        assert isinstance(provider, _Recorder)
        return provider

    @property
    def profile(self) -> str:
        """The profile's name: `"default"`, or the platform's (`"salla"`, `"dayzero"`...)."""
        return self._fake_stand.name

    @property
    def fake(self) -> FakeProvider | None:
        """The neutral in-memory provider (default profile); `None` on a platform profile,
        whose state lives in `sandbox`."""
        provider = self._fake_stand.provider
        return provider if isinstance(provider, FakeProvider) else None

    @property
    def sandbox(self) -> SandboxServer | None:
        """The sandbox a platform profile runs on, in process (`None` on the default
        profile): inspect or change its state, push faults (`sandbox.faults.push(...)`)."""
        return self._fake_stand.sandbox

    @property
    def outbox(self) -> tuple[SendReceipt, ...]:
        """Every receipt of a successful send, oldest first."""
        recorder = self._recorder
        with recorder._lock:
            return tuple(recorder.outbox)

    @property
    def calls(self) -> tuple[FakeCall, ...]:
        """Every operation that reached the provider (capability-gated and refused drafts
        never do), oldest first."""
        recorder = self._recorder
        with recorder._lock:
            return tuple(recorder.calls)

    @property
    def invoices(self) -> tuple[Invoice, ...]:
        """Every invoice the provider holds: in creation order on the default profile, in
        the platform's listing order on a platform profile. Not logged in `calls`."""
        fake = self.fake
        if fake is not None:
            return fake.invoices
        return tuple(self._fake_setup.list_invoices())

    def fail_next(self, error: Exception, operation: str | None = None) -> None:
        """Make the next call (of *operation*, one of `OPERATIONS`, or any) raise *error*."""
        failure = _failure(error, operation)
        recorder = self._recorder
        with recorder._lock:
            recorder.once.append(failure)

    def fail_always(self, error: Exception, operation: str | None = None) -> None:
        """Make every call (of *operation*, or any) raise a copy of *error* until
        `clear_failures()`: an outage rather than a blip."""
        failure = _failure(error, operation)
        recorder = self._recorder
        with recorder._lock:
            recorder.always.append(failure)

    def clear_failures(self) -> None:
        """Forget every injected failure, pending or persistent."""
        recorder = self._recorder
        with recorder._lock:
            recorder.once.clear()
            recorder.always.clear()

    def reset(self) -> None:
        """Forget everything: invoices, customers (a fresh sandbox on a platform profile),
        outbox, calls and failures."""
        self._recorder.forget()
        self._fake_stand.reset(self.__dict__.get("_fake_clients", ()))

    def seed(self, *items: Invoice | InvoiceDraft | Customer) -> list[Any]:
        """Preload state without logging calls or injecting failures: drafts are created
        under the profile's rules (on a platform profile, through its sandbox), customers
        are created where the platform can create them, and invoices (default profile
        only) are stored as given, any status. Returns what was created, in order."""
        results: list[Any] = []
        setup = self._fake_setup
        for item in items:
            if isinstance(item, InvoiceDraft):
                results.append(setup.create_invoice(item))
            elif isinstance(item, Customer):
                results.append(setup.create_customer(item))
            elif isinstance(item, Invoice):
                fake = self.fake
                if fake is None:
                    raise errors.UnsupportedFeature(
                        f"the {self.profile} profile holds only what its platform creates: "
                        "seed an InvoiceDraft (or change sandbox state directly)",
                        feature="seed_invoice", provider=self.profile)
                results.append(fake.store(item))
            else:
                raise TypeError(
                    f"seed takes Invoice, InvoiceDraft or Customer, got {type(item).__name__}")
        return results

    def sample_draft(self, n: int = 1) -> InvoiceDraft:
        """A valid, sendable draft for this profile, unique for each *n* (on a platform
        profile, the sandbox's: it creates the order or customer the draft needs)."""
        fake = self.fake
        if fake is not None:
            return fake.sample_draft(n)
        sandbox = self.sandbox
        assert sandbox is not None
        return sandbox.sample_draft(n)


def _failure(error: Exception, operation: str | None) -> _Failure:
    if not isinstance(error, Exception):
        raise TypeError(f"error must be an exception instance, got {error!r}")
    if operation is not None and operation not in OPERATIONS:
        raise errors.InvalidRequest(
            f"unknown operation {operation!r}; expected one of {', '.join(sorted(OPERATIONS))}")
    return _Failure(error, operation)


class FakeGateway(_FakeControls, Gateway):
    """A sync gateway on the fake: `FakeGateway()`, `FakeGateway(profile="salla")` or
    `invoicekit.connect("fake", profile="salla")`; the same API as every gateway, plus the
    test controls (`outbox`, `calls`, `fail_next`, `seed`, `sandbox`...)."""

    def __init__(self, provider: FakeProvider | None = None, *, profile: str | None = None,
                 today: dt.date | str | None = None, sender_email: str | None = None,
                 **settings: Any) -> None:
        _fake_init(self, provider, profile, today, sender_email, settings, asynchronous=False)


class AsyncFakeGateway(_FakeControls, AsyncGateway):
    """The async twin of `FakeGateway` (`invoicekit.connect_async("fake")`). Its test
    controls (`seed`, `invoices`...) are plain calls: the fake answers in process. It needs
    no closing (it holds no connection), so it works in any event loop."""

    def __init__(self, provider: FakeProvider | None = None, *, profile: str | None = None,
                 today: dt.date | str | None = None, sender_email: str | None = None,
                 **settings: Any) -> None:
        _fake_init(self, provider, profile, today, sender_email, settings, asynchronous=True)


def connect_fake(settings: Mapping[str, Any], *, asynchronous: bool
                 ) -> FakeGateway | AsyncFakeGateway:
    """`connect("fake", **settings)`: the registry's way in (no entry-point scan)."""
    allowed = {"profile", "today", "sender_email", "timeout", "max_retries", "retry",
               "throttle", "hooks", "ignore_unsupported"}
    unknown = sorted(set(settings) - allowed - {"base_url", "http_client"})
    if unknown:
        raise errors.ConfigurationError(
            f"unknown setting{'s' if len(unknown) > 1 else ''} for provider 'fake': "
            f"{', '.join(unknown)}; it accepts: {', '.join(sorted(allowed))}",
            setting=unknown[0], provider="fake")
    if asynchronous:
        return AsyncFakeGateway(**settings)
    return FakeGateway(**settings)


__all__ += ["connect_fake", "find_sandbox", "sandbox_entry_points"]
