"""The contract every invoicekit gateway honours, as reusable pytest test classes.

A provider's test module subclasses `GatewayContract` (sync) and/or
`AsyncGatewayContract` (async) and defines the fixtures the tests need; pytest then runs
the whole suite against that provider:

```python
import pytest
from invoicekit.testing.contract import GatewayContract

class TestAcmeContract(GatewayContract):
    @pytest.fixture
    def gateway(self, acme_sandbox):
        with invoicekit.connect("acme", base_url=acme_sandbox.url, token="t") as gw:
            yield gw

    @pytest.fixture
    def make_draft(self):
        return lambda n: InvoiceDraft(...)   # valid and sendable, unique per n

    @pytest.fixture
    def missing_id(self):
        return "999999"                      # well formed, does not exist

    @pytest.fixture
    def invalid_id(self):
        return "../1"                        # malformed for this provider
```

`AsyncGatewayContract` needs `agateway` instead of `gateway`; each async test runs in one
`asyncio.run()` (no pytest-asyncio needed) and closes the gateway at its end, in that same
event loop, so make the `agateway` fixture function-scoped. A `bad_draft` fixture (a draft
the provider must refuse locally) defaults to an empty `InvoiceDraft()`.

The checks are written once, as coroutines over an async view of the gateway; a sync
gateway is wrapped in an adapter whose coroutines never suspend, so they run without an
event loop.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any, Protocol, TypeVar

import attrs
import pytest

from .. import errors
from .._events import EventBus, SendEvent
from .._gateway import AsyncGateway, Gateway
from .._model import (
    Capability,
    Customer,
    Invoice,
    InvoiceDraft,
    InvoiceKind,
    InvoiceQuery,
    InvoiceStatus,
    SendOptions,
    SendReceipt,
)

__all__ = ["AsyncGatewayContract", "DraftFactory", "GatewayContract"]

T = TypeVar("T")
DraftFactory = Callable[[int], InvoiceDraft]
"""`make_draft(n)`: a valid, sendable draft for the provider, different for each `n`."""

# One counter for the whole run: a gateway shared between tests (a module-scoped sandbox)
# never sees the same n twice, so invoice numbers and order ids stay unique.
_counter = itertools.count(1)

_CORE = (Capability.CREATE_INVOICE, Capability.GET_INVOICE, Capability.LIST_INVOICES,
         Capability.SEND_INVOICE)


class _Subject(Protocol):
    """The async view of a gateway the checks are written against."""

    @property
    def provider(self) -> str: ...
    @property
    def capabilities(self) -> frozenset[Capability]: ...
    @property
    def events(self) -> EventBus: ...
    def supports(self, capability: Capability) -> bool: ...
    def check_draft(self, draft: InvoiceDraft) -> InvoiceDraft: ...
    def with_ignore_unsupported(self) -> _Subject: ...
    async def create_invoice(self, draft: InvoiceDraft) -> Invoice: ...
    async def get_invoice(self, invoice_id: str) -> Invoice: ...
    def list_invoices(self, query: InvoiceQuery | None = None) -> AsyncIterator[Invoice]: ...
    async def send_invoice(
        self, invoice: Invoice | str, options: SendOptions | None = None) -> SendReceipt: ...
    async def void_invoice(self, invoice: Invoice | str) -> Invoice: ...
    async def finalize_invoice(self, invoice: Invoice | str) -> Invoice: ...
    async def get_pdf_url(self, invoice: Invoice | str) -> str: ...
    async def create_customer(self, customer: Customer) -> Customer: ...


class _SyncSubject:
    """A sync gateway seen through coroutines that complete without suspending."""

    def __init__(self, gateway: Gateway) -> None:
        self._gw = gateway

    @property
    def provider(self) -> str:
        return self._gw.provider

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self._gw.capabilities

    @property
    def events(self) -> EventBus:
        return self._gw.events

    def supports(self, capability: Capability) -> bool:
        return self._gw.supports(capability)

    def check_draft(self, draft: InvoiceDraft) -> InvoiceDraft:
        return self._gw.check_draft(draft)

    def with_ignore_unsupported(self) -> _SyncSubject:
        return _SyncSubject(self._gw.with_options(ignore_unsupported=True))

    async def create_invoice(self, draft: InvoiceDraft) -> Invoice:
        return self._gw.create_invoice(draft)

    async def get_invoice(self, invoice_id: str) -> Invoice:
        return self._gw.get_invoice(invoice_id)

    def list_invoices(self, query: InvoiceQuery | None = None) -> AsyncIterator[Invoice]:
        result = self._gw.list_invoices(query)
        lazy = isinstance(result, Iterator) and iter(result) is result
        assert lazy, f"list_invoices must return a lazy iterator, got {type(result).__name__}"
        return _as_async(result)

    async def send_invoice(
        self, invoice: Invoice | str, options: SendOptions | None = None) -> SendReceipt:
        return self._gw.send_invoice(invoice, options)

    async def void_invoice(self, invoice: Invoice | str) -> Invoice:
        return self._gw.void_invoice(invoice)

    async def finalize_invoice(self, invoice: Invoice | str) -> Invoice:
        return self._gw.finalize_invoice(invoice)

    async def get_pdf_url(self, invoice: Invoice | str) -> str:
        return self._gw.get_pdf_url(invoice)

    async def create_customer(self, customer: Customer) -> Customer:
        return self._gw.create_customer(customer)


class _AsyncSubject:
    """An async gateway, checked to return an async iterator from `list_invoices`."""

    def __init__(self, gateway: AsyncGateway) -> None:
        self._gw = gateway

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gw, name)

    @property
    def provider(self) -> str:
        return self._gw.provider

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self._gw.capabilities

    @property
    def events(self) -> EventBus:
        return self._gw.events

    def with_ignore_unsupported(self) -> _AsyncSubject:
        return _AsyncSubject(self._gw.with_options(ignore_unsupported=True))

    def list_invoices(self, query: InvoiceQuery | None = None) -> AsyncIterator[Invoice]:
        result = self._gw.list_invoices(query)
        assert hasattr(result, "__anext__"), (
            f"list_invoices must return an async iterator, got {type(result).__name__}")
        return result


async def _as_async(items: Iterator[T]) -> AsyncIterator[T]:
    for item in items:
        yield item


def _run_without_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (a sync gateway behind it) to completion."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError("a sync gateway's operation suspended; it must not need an event loop")


class _Harness:
    """How a test drives its scenario: sync without a loop, async in one `asyncio.run`."""

    def __init__(self, subject: Any, aclose: Callable[[], Awaitable[None]] | None) -> None:
        self.subject = subject
        self._aclose = aclose

    def run(self, scenario: Callable[[Any], Coroutine[Any, Any, None]]) -> None:
        if self._aclose is None:
            _run_without_loop(scenario(self.subject))
            return
        aclose = self._aclose

        async def main() -> None:
            try:
                await scenario(self.subject)
            finally:
                await aclose()

        asyncio.run(main())


async def _first(items: AsyncIterator[T]) -> T | None:
    async for item in items:
        return item
    return None


async def _collect(items: AsyncIterator[T]) -> list[T]:
    return [item async for item in items]


def _send_options(gw: _Subject) -> SendOptions | None:
    return SendOptions(auto_finalize=True) if gw.supports(Capability.FINALIZE_INVOICE) else None


async def _sendable(gw: _Subject, make_draft: DraftFactory) -> Invoice:
    invoice = await gw.create_invoice(make_draft(next(_counter)))
    if invoice.status is InvoiceStatus.DRAFT and gw.supports(Capability.FINALIZE_INVOICE):
        invoice = await gw.finalize_invoice(invoice)
    return invoice


def _listen(bus: EventBus) -> tuple[list[SendEvent], Callable[[], None]]:
    seen: list[SendEvent] = []
    off_sent = bus.on_sent(seen.append)
    off_not_sent = bus.on_not_sent(seen.append)

    def off() -> None:
        off_sent()
        off_not_sent()

    return seen, off


async def _expect(exc_type: type[BaseException], awaitable: Awaitable[Any], what: str) -> None:
    try:
        await awaitable
    except exc_type:
        return
    except Exception as exc:
        raise AssertionError(
            f"{what}: expected {exc_type.__name__}, got {type(exc).__name__}: {exc}") from exc
    raise AssertionError(f"{what}: expected {exc_type.__name__}, nothing was raised")


def _id_operations(gw: _Subject) -> dict[Capability, Callable[[str], Awaitable[Any]]]:
    return {
        Capability.GET_INVOICE: gw.get_invoice,
        Capability.SEND_INVOICE: gw.send_invoice,
        Capability.VOID_INVOICE: gw.void_invoice,
        Capability.FINALIZE_INVOICE: gw.finalize_invoice,
        Capability.PDF_URL: gw.get_pdf_url,
    }


def _feature_draft(cap: Capability, draft: InvoiceDraft) -> InvoiceDraft | None:
    """A draft that needs the draft feature *cap*, built from a valid one."""
    if cap is Capability.CREDIT_NOTE:
        return attrs.evolve(draft, kind=InvoiceKind.CREDIT_NOTE)
    plain = attrs.evolve(draft, document_url=None, document_pdf=None, from_order=False)
    if cap is Capability.FROM_ORDER:
        return attrs.evolve(plain, from_order=True)
    if cap is Capability.DOCUMENT_URL:
        return attrs.evolve(plain, document_url="https://example.com/invoice.pdf")
    if cap is Capability.DOCUMENT_PDF:
        return attrs.evolve(plain, document_pdf=b"%PDF-1.4\n%contract\n")
    return None


_SEND_OPTION_FOR = {
    Capability.SEND_CC: SendOptions(cc_sender=True),
    Capability.SEND_PDF: SendOptions(attach_pdf=True),
}


# ---- the checks ------------------------------------------------------------------------
async def _check_capabilities(gw: _Subject) -> None:
    caps = gw.capabilities
    assert isinstance(caps, frozenset), "capabilities must be a frozenset"
    assert all(isinstance(c, Capability) for c in caps), "capabilities must be Capability values"
    for cap in Capability:
        assert gw.supports(cap) == (cap in caps), f"supports({cap}) disagrees with capabilities"
    missing = [c.value for c in _CORE if c not in caps]
    assert not missing, f"every gateway must support {', '.join(missing)}"
    assert isinstance(gw.provider, str)
    assert gw.provider


async def _check_round_trip(gw: _Subject, make_draft: DraftFactory) -> None:
    draft = make_draft(next(_counter))
    created = await gw.create_invoice(draft)
    # Each assertion says what differed: its text must not depend on pytest rewriting this
    # module (an editable install through an import hook is not rewritten).
    assert isinstance(created, Invoice), f"create_invoice returned {type(created).__name__}"
    assert created.provider == gw.provider, (
        f"created.provider {created.provider!r} != gateway's {gw.provider!r}")
    assert created.id, "a created invoice has an id"
    fetched = await gw.get_invoice(created.id)
    assert fetched.id == created.id, f"get_invoice id {fetched.id!r} != created {created.id!r}"
    assert fetched.kind is draft.kind, f"get_invoice kind {fetched.kind} != draft {draft.kind}"
    if draft.effective_currency is not None:
        assert created.currency == draft.effective_currency, (
            f"created currency {created.currency!r} != draft {draft.effective_currency!r}")
        assert fetched.currency == draft.effective_currency, (
            f"get_invoice currency {fetched.currency!r} != draft {draft.effective_currency!r}")
    if draft.total is not None:
        assert created.total == draft.total, f"total {created.total} != draft {draft.total}"
    assert fetched.total == created.total, (
        f"get_invoice total {fetched.total!r} != created {created.total!r}")
    if draft.number is not None:
        assert fetched.number == draft.number, (
            f"get_invoice number {fetched.number!r} != draft {draft.number!r}")
    if draft.items:
        assert len(fetched.items) == len(draft.items), "every line item comes back"
        for i, (sent, got) in enumerate(zip(draft.items, fetched.items, strict=True)):
            assert (got.name, got.quantity, got.unit_price) == (
                sent.name, sent.quantity, sent.unit_price), (
                f"item {i}: got {(got.name, got.quantity, got.unit_price)!r}, "
                f"sent {(sent.name, sent.quantity, sent.unit_price)!r}")


async def _check_listing(gw: _Subject, make_draft: DraftFactory) -> None:
    created = [await gw.create_invoice(make_draft(next(_counter))) for _ in range(3)]
    wanted = {inv.id for inv in created}
    seen: list[str] = []
    async for invoice in gw.list_invoices(InvoiceQuery(page_size=2)):
        assert isinstance(invoice, Invoice)
        seen.append(invoice.id)
        if wanted <= set(seen):
            break
    assert wanted <= set(seen), f"listing (page_size=2) missed {sorted(wanted - set(seen))}"
    assert len(seen) == len(set(seen)), "listing returned an invoice twice across pages"
    first = await _first(gw.list_invoices(InvoiceQuery(page_size=1)))
    assert first is not None, "a listing with invoices returns at least one"


async def _check_send(gw: _Subject, make_draft: DraftFactory) -> None:
    invoice = await gw.create_invoice(make_draft(next(_counter)))
    seen, off = _listen(gw.events)
    try:
        receipt = await gw.send_invoice(invoice, _send_options(gw))
    finally:
        off()
    assert isinstance(receipt, SendReceipt)
    assert receipt.sent is True
    assert receipt.invoice_id == invoice.id
    assert [e.name for e in seen] == ["invoice_sent"], f"events: {[e.name for e in seen]}"
    assert seen[0].invoice_id == invoice.id
    assert seen[0].receipt == receipt
    assert seen[0].provider == gw.provider


async def _check_send_by_id(gw: _Subject, make_draft: DraftFactory) -> None:
    invoice = await _sendable(gw, make_draft)
    receipt = await gw.send_invoice(invoice.id, _send_options(gw))
    assert receipt.sent is True
    assert receipt.invoice_id == invoice.id


async def _check_failed_send_event(gw: _Subject, missing_id: str) -> None:
    seen, off = _listen(gw.events)
    try:
        await _expect(errors.NotFound, gw.send_invoice(missing_id), "send_invoice(missing id)")
    finally:
        off()
    assert [e.name for e in seen] == ["invoice_not_sent"], f"events: {[e.name for e in seen]}"
    assert isinstance(seen[0].error, errors.NotFound)
    assert seen[0].receipt is None


async def _check_outside_capabilities(gw: _Subject, make_draft: DraftFactory,
                                      missing_id: str) -> None:
    caps = gw.capabilities
    for cap, op in _id_operations(gw).items():
        if cap not in caps:
            # A missing id: if a request went out anyway, NotFound would come back instead.
            await _expect(errors.UnsupportedFeature, op(missing_id), f"{cap.value} (unsupported)")
    if Capability.CREATE_CUSTOMER not in caps:
        await _expect(errors.UnsupportedFeature,
                      gw.create_customer(Customer(name="Contract", email="contract@example.com")),
                      "create_customer (unsupported)")
    for cap in (Capability.CREDIT_NOTE, Capability.FROM_ORDER, Capability.DOCUMENT_URL,
                Capability.DOCUMENT_PDF):
        if cap in caps:
            continue
        draft = _feature_draft(cap, make_draft(next(_counter)))
        assert draft is not None
        try:
            gw.check_draft(draft)
        except errors.UnsupportedFeature:
            pass
        else:
            raise AssertionError(f"check_draft accepted a draft needing {cap.value}")
        await _expect(errors.UnsupportedFeature, gw.create_invoice(draft),
                      f"create_invoice needing {cap.value}")
    for cap, options in _SEND_OPTION_FOR.items():
        if cap not in caps:
            await _expect(errors.UnsupportedFeature, gw.send_invoice(missing_id, options),
                          f"send_invoice with {cap.value}")


async def _check_inside_capabilities(gw: _Subject, make_draft: DraftFactory) -> None:
    try:
        await _use_every_capability(gw, make_draft)
    except errors.UnsupportedFeature as exc:
        raise AssertionError(
            f"an operation inside capabilities raised UnsupportedFeature: {exc}") from exc


async def _use_every_capability(gw: _Subject, make_draft: DraftFactory) -> None:
    caps = gw.capabilities
    invoice = await _sendable(gw, make_draft)
    if Capability.PDF_URL in caps:
        url = await gw.get_pdf_url(invoice)
        assert isinstance(url, str)
        assert url.startswith(("https://", "http://")), f"not a URL: {url!r}"
    if Capability.CREATE_CUSTOMER in caps:
        customer = await gw.create_customer(
            Customer(name=f"Contract {next(_counter)}", email="contract@example.com"))
        assert customer.id, "a created customer has an id"
    if Capability.FINALIZE_INVOICE in caps:
        fresh = await gw.create_invoice(make_draft(next(_counter)))
        try:
            finalized = await gw.finalize_invoice(fresh)
        except errors.UnsupportedFeature:
            raise
        except errors.InvoiceKitError:
            # Providers that do not create drafts refuse to finalize an open invoice.
            assert fresh.status is not InvoiceStatus.DRAFT, "finalizing a draft failed"
        else:
            assert finalized.status is not InvoiceStatus.DRAFT
            assert finalized.number, "finalizing assigns a number"
    if Capability.VOID_INVOICE in caps:
        voided = await gw.void_invoice(await _sendable(gw, make_draft))
        assert voided.status is InvoiceStatus.VOID
        assert (await gw.get_invoice(voided.id)).status is InvoiceStatus.VOID
    for cap, options in _SEND_OPTION_FOR.items():
        if cap in caps:
            receipt = await gw.send_invoice(await _sendable(gw, make_draft), options)
            assert receipt.sent is True
            if cap is Capability.SEND_CC:
                assert receipt.cc, "a cc_sender send reports the cc address"
            else:
                assert receipt.pdf_attached is not False, "attach_pdf was not honoured"
    for cap in (Capability.CREDIT_NOTE, Capability.FROM_ORDER, Capability.DOCUMENT_URL,
                Capability.DOCUMENT_PDF):
        if cap not in caps:
            continue
        draft = _feature_draft(cap, make_draft(next(_counter)))
        assert draft is not None
        try:
            gw.check_draft(draft)
        except errors.UnsupportedFeature as exc:
            raise AssertionError(f"{cap.value} is in capabilities but refused: {exc}") from exc
        except errors.InvalidRequest:
            pass  # the feature is there; this particular draft needs more for it


async def _check_missing_id(gw: _Subject, missing_id: str) -> None:
    for cap, op in _id_operations(gw).items():
        if cap in gw.capabilities:
            await _expect(errors.NotFound, op(missing_id), f"{cap.value}({missing_id!r})")


async def _check_invalid_id(gw: _Subject, invalid_id: str) -> None:
    for cap, op in _id_operations(gw).items():
        if cap in gw.capabilities:
            await _expect(errors.InvalidRequest, op(invalid_id), f"{cap.value}({invalid_id!r})")


async def _check_bad_draft(gw: _Subject, bad_draft: InvoiceDraft) -> None:
    try:
        gw.check_draft(bad_draft)
    except errors.InvalidRequest:
        pass
    else:
        raise AssertionError("check_draft accepted the bad draft")
    await _expect(errors.InvalidRequest, gw.create_invoice(bad_draft), "create_invoice(bad)")


async def _check_send_options(gw: _Subject, make_draft: DraftFactory) -> None:
    lenient = gw.with_ignore_unsupported()
    for cap, options in _SEND_OPTION_FOR.items():
        invoice = await _sendable(gw, make_draft)
        if cap in gw.capabilities:
            # Ignoring unsupported options must never drop a supported one.
            receipt = await lenient.send_invoice(invoice, options)
            assert receipt.sent is True
            if cap is Capability.SEND_CC:
                assert receipt.cc, "ignore_unsupported dropped a supported cc_sender"
            else:
                assert receipt.pdf_attached is not False, (
                    "ignore_unsupported dropped a supported attach_pdf")
            continue
        await _expect(errors.UnsupportedFeature, gw.send_invoice(invoice, options),
                      f"send_invoice with {cap.value}")
        receipt = await lenient.send_invoice(invoice, options)
        assert receipt.sent is True, f"ignoring {cap.value} should still send"
        if cap is Capability.SEND_CC:
            assert receipt.cc is None, "an ignored cc_sender must not report a cc"
        else:
            assert not receipt.pdf_attached, "an ignored attach_pdf must not report a PDF"


# ---- the test classes ------------------------------------------------------------------
class _ContractTests:
    """The tests, written once; the subclasses say how to reach the gateway."""

    @pytest.fixture
    def bad_draft(self) -> InvoiceDraft:
        """A draft every provider must refuse locally; override for a sharper one."""
        return InvoiceDraft()

    def test_capabilities_are_declared(self, contract_harness: _Harness) -> None:
        contract_harness.run(_check_capabilities)

    def test_create_get_round_trip(self, contract_harness: _Harness,
                                   make_draft: DraftFactory) -> None:
        contract_harness.run(lambda gw: _check_round_trip(gw, make_draft))

    def test_listing_pages_lazily_and_finds_created(self, contract_harness: _Harness,
                                                    make_draft: DraftFactory) -> None:
        contract_harness.run(lambda gw: _check_listing(gw, make_draft))

    def test_send_is_sent_and_fires_invoice_sent(self, contract_harness: _Harness,
                                                 make_draft: DraftFactory) -> None:
        contract_harness.run(lambda gw: _check_send(gw, make_draft))

    def test_send_by_id(self, contract_harness: _Harness, make_draft: DraftFactory) -> None:
        contract_harness.run(lambda gw: _check_send_by_id(gw, make_draft))

    def test_failed_send_fires_invoice_not_sent(self, contract_harness: _Harness,
                                                missing_id: str) -> None:
        contract_harness.run(lambda gw: _check_failed_send_event(gw, missing_id))

    def test_operations_outside_capabilities_are_unsupported(
            self, contract_harness: _Harness, make_draft: DraftFactory, missing_id: str) -> None:
        contract_harness.run(lambda gw: _check_outside_capabilities(gw, make_draft, missing_id))

    def test_operations_inside_capabilities_work(self, contract_harness: _Harness,
                                                 make_draft: DraftFactory) -> None:
        contract_harness.run(lambda gw: _check_inside_capabilities(gw, make_draft))

    def test_missing_id_is_not_found(self, contract_harness: _Harness, missing_id: str) -> None:
        contract_harness.run(lambda gw: _check_missing_id(gw, missing_id))

    def test_malformed_id_is_invalid_request(self, contract_harness: _Harness,
                                             invalid_id: str) -> None:
        contract_harness.run(lambda gw: _check_invalid_id(gw, invalid_id))

    def test_bad_draft_is_invalid_request(self, contract_harness: _Harness,
                                          bad_draft: InvoiceDraft) -> None:
        contract_harness.run(lambda gw: _check_bad_draft(gw, bad_draft))

    def test_unsupported_send_options_raise_unless_ignored(
            self, contract_harness: _Harness, make_draft: DraftFactory) -> None:
        contract_harness.run(lambda gw: _check_send_options(gw, make_draft))


class GatewayContract(_ContractTests):
    """The contract for a sync gateway. Define the fixtures `gateway` (a `Gateway`),
    `make_draft`, `missing_id` and `invalid_id` in the subclass (or a conftest.py)."""

    @pytest.fixture
    def contract_harness(self, gateway: Gateway) -> _Harness:
        """The sync gateway behind the checks (no event loop)."""
        return _Harness(_SyncSubject(gateway), None)


class AsyncGatewayContract(_ContractTests):
    """The contract for an async gateway. Define the fixtures `agateway` (an
    `AsyncGateway`, function-scoped: each test closes it in its own event loop),
    `make_draft`, `missing_id` and `invalid_id`."""

    @pytest.fixture
    def contract_harness(self, agateway: AsyncGateway) -> _Harness:
        """The async gateway behind the checks, run in one `asyncio.run` per test."""
        return _Harness(_AsyncSubject(agateway), agateway.aclose)
