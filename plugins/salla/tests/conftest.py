"""Fixtures of the Salla plugin's tests: published examples, a sans-IO driver, sandboxes."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

import invoicekit
from invoicekit import InvoiceDraft, LineItem, Money, Request, Response
from invoicekit.testing.contract import DraftFactory
from invoicekit_salla import SallaProvider
from invoicekit_salla.sandbox import SallaSandbox

FIXTURES = Path(__file__).parent / "fixtures"

Responder = Callable[[Request], Response]


@pytest.fixture(autouse=True)
def _no_waits(invoicekit_no_wait: None) -> None:
    """Retry backoff and throttle waits take no time in these tests."""


@pytest.fixture
def example() -> Callable[[str], Any]:
    """Load a published example (a file in `fixtures/`) as JSON."""

    def load(name: str) -> Any:
        return json.loads((FIXTURES / name).read_text(encoding="utf-8"))

    return load


@pytest.fixture
def provider() -> SallaProvider:
    """A provider with a static token (its operations are driven without I/O)."""
    return SallaProvider(token="test-token-123456")


def respond(request: Request, status: int, body: Any, *,
            headers: dict[str, str] | None = None) -> Response:
    """A `Response` to *request* with a JSON *body* (bytes are sent as they are)."""
    content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return Response(status=status, content=content, request=request, provider="salla",
                    headers={"content-type": "application/json", **(headers or {})})


@pytest.fixture
def drive() -> Callable[..., tuple[list[Request], Any]]:
    """Run a sans-IO operation against canned answers; return the requests and the result.

    Each answer is `(status, body)`; an error status is turned into the provider's typed
    error and thrown into the operation, as the core's runner does.
    """

    def run(op: Any, answers: Sequence[tuple[int, Any]], provider: SallaProvider | None = None
            ) -> tuple[list[Request], Any]:
        seen: list[Request] = []
        value: Any = None
        pending = list(answers)
        while True:
            try:
                request = op.send(value) if not isinstance(value, BaseException) else op.throw(
                    value)
            except StopIteration as stop:
                return seen, stop.value
            seen.append(request)
            assert pending, f"the operation sent an unexpected request {request!r}"
            status, body = pending.pop(0)
            response = respond(request, status, body)
            if status >= 400:
                assert provider is not None, "error answers need the provider"
                value = provider.error_from_response(response)
            else:
                value = response

    return run


def sample_draft(order_id: str, number: str, *, price: str = "130.00", quantity: int = 1,
                 name: str = "شاحن آنكر 1000") -> InvoiceDraft:
    """A consistent data draft for one line (15% VAT, 23 SAR shipping)."""
    unit = Money(price, "SAR")
    subtotal = unit * quantity
    shipping = Money("23", "SAR")
    tax = ((subtotal + shipping) * Decimal("0.15")).quantize()
    return InvoiceDraft(
        order_id=order_id, number=number,
        items=(LineItem(name=name, quantity=quantity, unit_price=unit, sku="PRO-001"),),
        subtotal=subtotal, shipping=shipping, cash_on_delivery=Money("0", "SAR"),
        tax_rate=Decimal("15"), tax=tax, total=subtotal + shipping + tax,
    )


@pytest.fixture
def sandbox(salla_sandbox: SallaSandbox) -> SallaSandbox:
    """The plugin's own `salla_sandbox` fixture, under a short name."""
    return salla_sandbox


@pytest.fixture(scope="session")
def ssl_context() -> ssl.SSLContext:
    """One TLS context for every test client: loading the CA bundle costs ~0.1 s a client."""
    return httpx.create_ssl_context()


@pytest.fixture
def http_client(ssl_context: ssl.SSLContext) -> Iterator[httpx.Client]:
    """An `httpx.Client` to inject with `http_client=` (the gateway leaves it open)."""
    with httpx.Client(verify=ssl_context) as client:
        yield client


@pytest.fixture
def connect(sandbox: SallaSandbox, http_client: httpx.Client
            ) -> Iterator[Callable[..., invoicekit.Gateway]]:
    """`connect(**overrides)`: sync gateways to the sandbox, closed after the test."""
    opened: list[invoicekit.Gateway] = []

    def make(**overrides: Any) -> invoicekit.Gateway:
        settings: dict[str, Any] = {**sandbox.settings(), "http_client": http_client,
                                    **overrides}
        gateway = invoicekit.connect("salla", **settings)
        opened.append(gateway)
        return gateway

    yield make
    for gateway in opened:
        gateway.close()


@pytest.fixture
def gw(connect: Callable[..., invoicekit.Gateway]) -> invoicekit.Gateway:
    """A sync gateway to the sandbox with the read-write token."""
    return connect()


@pytest.fixture
def make_order_draft(sandbox: SallaSandbox) -> DraftFactory:
    """`make_draft(n)`: a fresh order in the sandbox and a data draft matching it."""

    def make(n: int) -> InvoiceDraft:
        quantity = 1 + n % 3
        price = f"{100 + n}.50"
        order_id = sandbox.add_order(
            email=f"buyer{n}@example.sa",
            items=[{"name": f"منتج {n}", "sku": f"SKU-{n}", "product_id": str(5000 + n),
                    "quantity": quantity, "price": Decimal(price)}])
        return sample_draft(order_id, f"INV-{n}", price=price, quantity=quantity,
                            name=f"منتج {n}")

    return make


@pytest.fixture
def data_draft() -> Callable[..., InvoiceDraft]:
    """`data_draft(order_id, number, price=..., quantity=...)`: see `sample_draft`."""
    return sample_draft
