"""Gateways: the objects applications call. One sync and one async class serve every provider.

`Gateway` and `AsyncGateway` wrap a sans-IO `Provider` and an executor. They own what is
the same for every provider: capability gates (an unsupported option raises before any
request unless deliberately ignored), draft checks, lazy paging, send events,
per-call overrides (`with_options`) and closing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar, runtime_checkable

import attrs

from . import errors
from ._events import EventBus, EventName, SendEvent, events
from ._model import (
    Capability,
    Customer,
    Invoice,
    InvoiceDraft,
    InvoiceQuery,
    SendOptions,
    SendReceipt,
)
from ._options import (
    DEFAULT,
    Default,
    HttpHooks,
    RetryPolicy,
    Timeout,
    check_base_url,
    coerce_flag,
    coerce_hooks,
    coerce_retry,
)
from ._provider import Operation, Provider
from ._throttle import Throttle

if TYPE_CHECKING:
    from ._http import AsyncRunner, SyncRunner

__all__ = ["AsyncGateway", "AsyncInvoiceGateway", "Gateway", "InvoiceGateway"]

T = TypeVar("T")
_log = logging.getLogger("invoicekit")


@runtime_checkable
class InvoiceGateway(Protocol):
    """What every sync gateway offers, whatever the provider."""

    @property
    def provider(self) -> str: ...
    @property
    def capabilities(self) -> frozenset[Capability]: ...
    def supports(self, capability: Capability) -> bool: ...
    def create_invoice(self, draft: InvoiceDraft) -> Invoice: ...
    def get_invoice(self, invoice_id: str) -> Invoice: ...
    def list_invoices(self, query: InvoiceQuery | None = None) -> Iterator[Invoice]: ...
    def send_invoice(
        self, invoice: Invoice | str, options: SendOptions | None = None
    ) -> SendReceipt: ...
    def void_invoice(self, invoice: Invoice | str) -> Invoice: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None, /) -> None: ...


@runtime_checkable
class AsyncInvoiceGateway(Protocol):
    """What every async gateway offers: the same methods, awaited."""

    @property
    def provider(self) -> str: ...
    @property
    def capabilities(self) -> frozenset[Capability]: ...
    def supports(self, capability: Capability) -> bool: ...
    async def create_invoice(self, draft: InvoiceDraft) -> Invoice: ...
    async def get_invoice(self, invoice_id: str) -> Invoice: ...
    def list_invoices(self, query: InvoiceQuery | None = None) -> AsyncIterator[Invoice]: ...
    async def send_invoice(
        self, invoice: Invoice | str, options: SendOptions | None = None
    ) -> SendReceipt: ...
    async def void_invoice(self, invoice: Invoice | str) -> Invoice: ...
    async def aclose(self) -> None: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None, /) -> None: ...


@attrs.frozen(slots=True)
class _CallSettings:
    timeout: Timeout | Default = DEFAULT
    max_retries: int | Default = DEFAULT
    ignore_unsupported: bool = False


class _GatewayBase:
    """State and checks shared by the sync and async gateways."""

    def __init__(
        self,
        provider: Provider,
        *,
        base_url: str | None = None,
        timeout: Timeout | float | Default | None = DEFAULT,
        max_retries: int | Default = DEFAULT,
        retry: RetryPolicy | None = None,
        throttle: Throttle | bool = True,
        hooks: HttpHooks | None = None,
        ignore_unsupported: bool = False,
    ) -> None:
        self._provider = provider
        self._call = _CallSettings(
            ignore_unsupported=coerce_flag(ignore_unsupported, "ignore_unsupported"))
        self.events = EventBus(parent=events)
        """This gateway's send events; subscribers here hear only this gateway."""
        policy = coerce_retry(retry)
        if not isinstance(max_retries, Default):
            policy = attrs.evolve(policy, max_retries=max_retries)
        self._retry = policy
        self._timeout = Timeout() if isinstance(timeout, Default) else Timeout.coerce(timeout)
        if isinstance(throttle, Throttle):
            self.throttle = throttle
        else:
            self.throttle = Throttle(model=provider.rate_limit_model,
                                     enabled=coerce_flag(throttle, "throttle"))
        self._hooks = coerce_hooks(hooks)
        url = base_url if base_url is not None else provider.default_base_url
        self._base_url = check_base_url(url) if url is not None else None
        self._closed = False
        self._is_view = False

    def _engine(self) -> Any:
        from ._http import HttpEngine, user_agent

        assert self._base_url is not None
        return HttpEngine(
            self._provider, base_url=self._base_url, timeout=self._timeout, retry=self._retry,
            throttle=self.throttle, hooks=self._hooks, user_agent=user_agent(self._provider),
        )

    @property
    def provider(self) -> str:
        """The provider's registry name (`"salla"`, `"dayzero"`, `"fake"`)."""
        return self._provider.name

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What this gateway can do; anything else raises `UnsupportedFeature`."""
        return self._provider.capabilities

    @property
    def base_url(self) -> str | None:
        """The API root requests go to (`None` for in-memory providers)."""
        return self._base_url

    def supports(self, capability: Capability) -> bool:
        """Whether `capability` is in `capabilities`."""
        return capability in self.capabilities

    def _require(self, capability: Capability) -> None:
        if self._closed:
            raise errors.ConfigurationError(
                "this gateway is closed: open a new one with invoicekit.connect()",
                setting="gateway", provider=self.provider)
        if capability not in self.capabilities:
            raise self._provider._unsupported(capability)

    def check_draft(self, draft: InvoiceDraft) -> InvoiceDraft:
        """Refuse locally what the provider would refuse, without any request.

        Raises `InvalidRequest` or `UnsupportedFeature`; returns the draft as it would be sent.
        """
        if not isinstance(draft, InvoiceDraft):
            raise errors.InvalidRequest(
                f"expected an InvoiceDraft, got {type(draft).__name__}", provider=self.provider)
        self._provider.check_features(draft)
        return self._provider.check_draft(draft)

    def _send_options(self, options: SendOptions | None) -> SendOptions:
        if options is None:
            return SendOptions()
        if not isinstance(options, SendOptions):
            raise errors.InvalidRequest(
                f"expected SendOptions, got {type(options).__name__}", provider=self.provider)
        caps = self.capabilities
        wanted: list[tuple[Capability, dict[str, Any]]] = []
        if options.cc_sender and Capability.SEND_CC not in caps:
            wanted.append((Capability.SEND_CC, {"cc_sender": False}))
        if options.attach_pdf and Capability.SEND_PDF not in caps:
            wanted.append((Capability.SEND_PDF, {"attach_pdf": None}))
        for cap, reset in wanted:
            if not self._call.ignore_unsupported:
                raise self._provider._unsupported(
                    cap, "pass ignore_unsupported=True (gateway.with_options) to send without it")
            _log.warning("%s: ignoring unsupported send option %s as requested",
                         self.provider, cap.value)
            options = attrs.evolve(options, **reset)
        return options

    def _emit(self, invoice: Invoice | str, receipt: SendReceipt | None,
              error: errors.InvoiceKitError | None) -> None:
        invoice_id = invoice.id if isinstance(invoice, Invoice) else str(invoice)
        name: EventName = (
            "invoice_sent" if receipt is not None and receipt.sent else "invoice_not_sent"
        )
        self.events.emit(SendEvent(name, self.provider, invoice_id, receipt, error))

    def with_options(
        self,
        *,
        timeout: Timeout | float | Default | None = DEFAULT,
        max_retries: int | Default = DEFAULT,
        ignore_unsupported: bool | Default = DEFAULT,
    ) -> Self:
        """A view of this gateway with other per-call settings; it shares the connection.

        `DEFAULT` keeps the gateway's setting; `timeout=None` means no timeout.
        """
        changes: dict[str, Any] = {}
        if not isinstance(timeout, Default):
            changes["timeout"] = Timeout.coerce(timeout)
        if not isinstance(max_retries, Default):
            changes["max_retries"] = RetryPolicy(max_retries=max_retries).max_retries
        if not isinstance(ignore_unsupported, Default):
            changes["ignore_unsupported"] = coerce_flag(ignore_unsupported,
                                                        "ignore_unsupported")
        return self._options_copy(**changes)  # type: ignore[no-any-return]

    @property
    def provider_object(self) -> Provider:
        """The sans-IO provider behind this gateway, for provider-specific operations."""
        return self._provider

    def _query(self, query: InvoiceQuery | None) -> InvoiceQuery:
        self._require(Capability.LIST_INVOICES)
        q = query if query is not None else InvoiceQuery()
        if not isinstance(q, InvoiceQuery):
            raise errors.InvalidRequest(f"expected an InvoiceQuery, got {type(q).__name__}")
        return q

    def _make_runner(self, http_client: Any, *, asynchronous: bool) -> Any:
        """The runner for an HTTP provider (none for one that makes no requests)."""
        if self._base_url is None:
            if http_client is not None:
                raise errors.ConfigurationError(
                    f"{self.provider} makes no HTTP requests; http_client does not apply",
                    setting="http_client")
            return None
        from ._http import AsyncRunner, SyncRunner

        runner_class = AsyncRunner if asynchronous else SyncRunner
        return runner_class(self._engine(), http_client)

    def _options_copy(self, **changes: Any) -> Any:
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._call = attrs.evolve(self._call, **changes)
        clone._is_view = True
        return clone

    def __repr__(self) -> str:
        # Safe on a half-built gateway (its constructor raised): error trackers call it.
        provider = getattr(self, "_provider", None)
        name = getattr(provider, "name", "?")
        base_url = getattr(self, "_base_url", None)
        where = f" {base_url}" if base_url else ""
        return f"<{type(self).__name__} {name!r}{where}>"


class Gateway(_GatewayBase):
    """The sync gateway: `invoicekit.connect(name, **settings)` returns one."""

    def __init__(self, provider: Provider, *, http_client: Any = None, **settings: Any) -> None:
        super().__init__(provider, **settings)
        self._runner: SyncRunner | None = self._make_runner(http_client, asynchronous=False)

    def _run(self, op: Operation[T]) -> T:
        if self._runner is None:
            return _run_offline(op)
        return self._runner.run(op, timeout=self._call.timeout,
                                max_retries=self._call.max_retries)

    def create_invoice(self, draft: InvoiceDraft) -> Invoice:
        """Create an invoice (or credit note) from *draft*."""
        self._require(Capability.CREATE_INVOICE)
        return self._run(self._provider.create_invoice(self.check_draft(draft)))

    def get_invoice(self, invoice_id: str) -> Invoice:
        """Fetch one invoice; `NotFound` if it does not exist."""
        self._require(Capability.GET_INVOICE)
        return self._run(self._provider.get_invoice(invoice_id))

    def list_invoices(self, query: InvoiceQuery | None = None) -> Iterator[Invoice]:
        """Every invoice matching *query*, fetched lazily one page at a time."""
        return self._iterate(self._query(query))

    def _iterate(self, query: InvoiceQuery) -> Iterator[Invoice]:
        cursor: str | None = None
        while True:
            page = self._run(self._provider.list_page(query, cursor))
            yield from page.items
            if page.next_cursor is None or page.next_cursor == cursor:
                return
            cursor = page.next_cursor
            del page  # free this page's invoices before the next one arrives (flat memory)

    def send_invoice(
        self, invoice: Invoice | str, options: SendOptions | None = None
    ) -> SendReceipt:
        """Send *invoice* to its customer; publishes `invoice_sent` or `invoice_not_sent`."""
        self._require(Capability.SEND_INVOICE)
        opts = self._send_options(options)
        try:
            receipt = self._run(self._provider.send_invoice(invoice, opts))
        except errors.InvoiceKitError as exc:
            self._emit(invoice, None, exc)
            raise
        self._emit(invoice, receipt, None)
        return receipt

    def void_invoice(self, invoice: Invoice | str) -> Invoice:
        """Void an invoice (where the provider has voiding: see `capabilities`)."""
        self._require(Capability.VOID_INVOICE)
        return self._run(self._provider.void_invoice(invoice))

    def finalize_invoice(self, invoice: Invoice | str) -> Invoice:
        """Finalize a draft so it can be sent (assigns its number)."""
        self._require(Capability.FINALIZE_INVOICE)
        return self._run(self._provider.finalize_invoice(invoice))

    def get_pdf_url(self, invoice: Invoice | str) -> str:
        """A fresh (possibly expiring) URL of the invoice's PDF."""
        self._require(Capability.PDF_URL)
        return self._run(self._provider.get_pdf_url(invoice))

    def create_customer(self, customer: Customer) -> Customer:
        """Create a customer; returns it with the provider's id."""
        self._require(Capability.CREATE_CUSTOMER)
        return self._run(self._provider.create_customer(customer))

    def run(self, op: Operation[T]) -> T:
        """Run a provider-specific operation (`gateway.run(provider_obj.some_op(...))`)."""
        return self._run(op)

    def close(self) -> None:
        """Release connections (only those the gateway opened itself)."""
        if self._is_view or self._closed:
            return
        self._closed = True
        if self._runner is not None:
            self._runner.close()
        self._provider.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None = None,
                 exc: BaseException | None = None, tb: TracebackType | None = None) -> None:
        self.close()


class AsyncGateway(_GatewayBase):
    """The async gateway: `invoicekit.connect_async(name, **settings)` returns one."""

    def __init__(self, provider: Provider, *, http_client: Any = None, **settings: Any) -> None:
        super().__init__(provider, **settings)
        self._runner: AsyncRunner | None = self._make_runner(http_client, asynchronous=True)

    async def _run(self, op: Operation[T]) -> T:
        if self._runner is None:
            return _run_offline(op)
        return await self._runner.run(op, timeout=self._call.timeout,
                                      max_retries=self._call.max_retries)

    async def create_invoice(self, draft: InvoiceDraft) -> Invoice:
        """Create an invoice (or credit note) from *draft*."""
        self._require(Capability.CREATE_INVOICE)
        return await self._run(self._provider.create_invoice(self.check_draft(draft)))

    async def get_invoice(self, invoice_id: str) -> Invoice:
        """Fetch one invoice; `NotFound` if it does not exist."""
        self._require(Capability.GET_INVOICE)
        return await self._run(self._provider.get_invoice(invoice_id))

    def list_invoices(self, query: InvoiceQuery | None = None) -> AsyncIterator[Invoice]:
        """Every invoice matching *query*, fetched lazily one page at a time."""
        return self._iterate(self._query(query))

    async def _iterate(self, query: InvoiceQuery) -> AsyncIterator[Invoice]:
        cursor: str | None = None
        while True:
            page = await self._run(self._provider.list_page(query, cursor))
            for item in page.items:
                yield item
            if page.next_cursor is None or page.next_cursor == cursor:
                return
            cursor = page.next_cursor
            del page  # free this page's invoices before the next one arrives (flat memory)

    async def send_invoice(
        self, invoice: Invoice | str, options: SendOptions | None = None
    ) -> SendReceipt:
        """Send *invoice* to its customer; publishes `invoice_sent` or `invoice_not_sent`."""
        self._require(Capability.SEND_INVOICE)
        opts = self._send_options(options)
        try:
            receipt = await self._run(self._provider.send_invoice(invoice, opts))
        except errors.InvoiceKitError as exc:
            self._emit(invoice, None, exc)
            raise
        self._emit(invoice, receipt, None)
        return receipt

    async def void_invoice(self, invoice: Invoice | str) -> Invoice:
        """Void an invoice (where the provider has voiding: see `capabilities`)."""
        self._require(Capability.VOID_INVOICE)
        return await self._run(self._provider.void_invoice(invoice))

    async def finalize_invoice(self, invoice: Invoice | str) -> Invoice:
        """Finalize a draft so it can be sent (assigns its number)."""
        self._require(Capability.FINALIZE_INVOICE)
        return await self._run(self._provider.finalize_invoice(invoice))

    async def get_pdf_url(self, invoice: Invoice | str) -> str:
        """A fresh (possibly expiring) URL of the invoice's PDF."""
        self._require(Capability.PDF_URL)
        return await self._run(self._provider.get_pdf_url(invoice))

    async def create_customer(self, customer: Customer) -> Customer:
        """Create a customer; returns it with the provider's id."""
        self._require(Capability.CREATE_CUSTOMER)
        return await self._run(self._provider.create_customer(customer))

    async def run(self, op: Operation[T]) -> T:
        """Run a provider-specific operation."""
        return await self._run(op)

    async def aclose(self) -> None:
        """Release connections (only those the gateway opened itself)."""
        if self._is_view or self._closed:
            return
        self._closed = True
        if self._runner is not None:
            await self._runner.aclose()
        self._provider.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None = None,
                        exc: BaseException | None = None,
                        tb: TracebackType | None = None) -> None:
        await self.aclose()


def _run_offline(op: Operation[T]) -> T:
    """Run an operation of a provider that makes no requests (the fake)."""
    try:
        request = next(op)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    op.close()
    raise errors.ConfigurationError(
        f"this provider has no base_url but its operation asked for {request!r}",
        setting="base_url")
