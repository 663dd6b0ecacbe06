"""The HTTP layer against a misbehaving server on real loopback sockets.

Every fault the issue names, for a read and for a write, through the sync and the async
gateway: each ends in success after a retry, or in the documented typed error, and the
server's own counters prove that no write was carried out twice.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from tests.http_support import ThingsProvider, ThingsSandbox, arun, instant_waits

import invoicekit
from invoicekit import HttpHooks, InvoiceDraft, RequestInfo, Timeout, errors
from invoicekit.testing.sandbox import Fault

TOKEN = "tok_faults_0123456789"
HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
READ_PATH = r"^/api/things/[0-9]+$"
WRITE_PATH = r"^/api/things$"


@attrs.frozen
class Ok:
    """Success after exactly one retry: the server saw two requests."""


@attrs.frozen
class Err:
    """The typed error: its class, its HTTP status (`None`: no response), text it shows."""

    cls: type[errors.ProviderError]
    status: int | None
    shows: str = ""
    chained: bool = False


FaultFactory = Callable[[str, str], Fault]

CASES: dict[str, tuple[FaultFactory, Ok | Err, Ok | Err]] = {
    "429-retry-after": (
        lambda m, p: Fault.status_code(429, {"message": "slow down"},
                                       headers={"Retry-After": "1"}, method=m, path=p),
        Ok(), Ok(),  # a 429 was refused, not carried out: writes may repeat it too
    ),
    "500": (
        lambda m, p: Fault.status_code(500, {"message": "boom"}, method=m, path=p),
        Err(errors.ProviderUnavailable, 500, "boom"),
        Err(errors.OutcomeUnknown, 500, "boom"),
    ),
    "502-html": (
        lambda m, p: Fault.status_code(502, HTML_502, method=m, path=p),
        Ok(), Err(errors.OutcomeUnknown, 502, "502 Bad Gateway"),
    ),
    "503": (
        lambda m, p: Fault.status_code(503, {"message": "maintenance"}, method=m, path=p),
        Ok(), Err(errors.OutcomeUnknown, 503, "maintenance"),
    ),
    "stall-past-read-timeout": (
        lambda m, p: Fault.stall(1.5, method=m, path=p),
        Ok(), Err(errors.OutcomeUnknown, None, "ReadTimeout", chained=True),
    ),
    "reset-connection": (
        lambda m, p: Fault.reset(method=m, path=p),
        Ok(), Err(errors.OutcomeUnknown, None, "may have reached", chained=True),
    ),
    "truncated-json": (
        lambda m, p: Fault.truncate(method=m, path=p),
        Ok(), Err(errors.OutcomeUnknown, None, "may have reached", chained=True),
    ),
    "empty-body": (
        lambda m, p: Fault.empty(200, method=m, path=p),
        Err(errors.ProviderUnavailable, 200, "empty response body"),
        Err(errors.OutcomeUnknown, 200, "empty response body"),
    ),
    "wrong-content-type": (
        lambda m, p: Fault.status_code(200, "<p>maintenance</p>", content_type="text/html",
                                       method=m, path=p),
        Err(errors.ProviderUnavailable, 200, "text/html"),
        Err(errors.OutcomeUnknown, 200, "text/html"),
    ),
    "json-of-the-wrong-shape": (
        lambda m, p: Fault.status_code(200, {"data": [1, 2, 3]}, method=m, path=p),
        Err(errors.ProviderUnavailable, 200, "TypeError", chained=True),
        Err(errors.OutcomeUnknown, 200, "TypeError", chained=True),
    ),
    "answer-lost-after-the-work": (
        lambda m, p: Fault.lost_answer(method=m, path=p),
        Ok(), Err(errors.OutcomeUnknown, None, "may have reached", chained=True),
    ),
}

# A stall only bites with a short read timeout; the other cases keep the defaults.
SHORT_READ = Timeout(connect=2.0, read=0.5)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ThingsSandbox]:
    with ThingsSandbox(TOKEN) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(sandbox: ThingsSandbox) -> Iterator[None]:
    sandbox.faults.clear()
    sandbox.clear_log()
    with sandbox.lock:
        sandbox.created = 0
        sandbox.sent = 0
    with instant_waits():
        yield
    sandbox.faults.clear()


def _call(mode: str, sandbox: ThingsSandbox, action: str, *, thing_id: int,
          timeout: Timeout | None, **settings: Any) -> Any:
    """Run one gateway call, sync or async, and return its result (or raise)."""
    provider = ThingsProvider(token=TOKEN)
    draft = InvoiceDraft(number="INV-42")

    if mode == "sync":
        with invoicekit.Gateway(provider, base_url=sandbox.url, **settings) as gw:
            view = gw.with_options(timeout=timeout) if timeout is not None else gw
            if action == "read":
                return view.get_invoice(str(thing_id))
            if action == "send":
                return view.send_invoice(str(thing_id))
            return view.create_invoice(draft)

    async def go() -> Any:
        async with invoicekit.AsyncGateway(provider, base_url=sandbox.url, **settings) as agw:
            view = agw.with_options(timeout=timeout) if timeout is not None else agw
            if action == "read":
                return await view.get_invoice(str(thing_id))
            if action == "send":
                return await view.send_invoice(str(thing_id))
            return await view.create_invoice(draft)

    return arun(go)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("case", list(CASES))
def test_read_fault(sandbox: ThingsSandbox, case: str, mode: str) -> None:
    factory, expected, _ = CASES[case]
    thing_id = sandbox.add(number="INV-7", total="90.50")
    sandbox.faults.push(factory("GET", READ_PATH))
    timeout = SHORT_READ if case.startswith("stall") else None

    if isinstance(expected, Ok):
        invoice = _call(mode, sandbox, "read", thing_id=thing_id, timeout=timeout)
        assert invoice.id == str(thing_id)
        assert invoice.number == "INV-7"
        assert sandbox.count("GET", READ_PATH) == 2  # the fault, then the retry
        return
    with pytest.raises(expected.cls) as caught:
        _call(mode, sandbox, "read", thing_id=thing_id, timeout=timeout)
    err = caught.value
    assert type(err) is expected.cls  # a read never claims an unknown outcome
    assert err.status == expected.status
    assert expected.shows in str(err)
    assert err.provider == "httpkit"
    if expected.chained:
        assert err.__cause__ is not None
    assert sandbox.count("GET", READ_PATH) == 1  # not a retryable failure


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("case", list(CASES))
def test_write_fault(sandbox: ThingsSandbox, case: str, mode: str) -> None:
    factory, _, expected = CASES[case]
    sandbox.faults.push(factory("POST", WRITE_PATH))
    timeout = SHORT_READ if case.startswith("stall") else None

    if isinstance(expected, Ok):
        invoice = _call(mode, sandbox, "create", thing_id=0, timeout=timeout)
        assert invoice.number == "INV-42"
        assert sandbox.count("POST", WRITE_PATH) == 2  # refused once, then accepted
        assert sandbox.created == 1
        return
    with pytest.raises(errors.OutcomeUnknown) as caught:
        _call(mode, sandbox, "create", thing_id=0, timeout=timeout)
    err = caught.value
    assert type(err) is expected.cls
    assert err.status == expected.status
    assert expected.shows in str(err)
    assert "may or may not have happened" in str(err)
    if expected.chained:
        assert err.__cause__ is not None
    if case.startswith("stall"):
        # The server carries the stalled write out after the client gave up on it.
        _wait_until(lambda: sandbox.created == 1)
    # The write reached the server once and was never repeated.
    assert sandbox.count("POST", WRITE_PATH) == 1
    assert sandbox.created <= 1


def _wait_until(condition: Callable[[], bool], limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "the sandbox never got there"
        time.sleep(0.01)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_send_is_never_repeated_after_a_lost_answer(sandbox: ThingsSandbox, mode: str) -> None:
    thing_id = sandbox.add()
    sandbox.faults.push(Fault.lost_answer(method="POST", path=r"/send$"))
    with pytest.raises(errors.OutcomeUnknown, match=(
            r"^httpkit: POST /things/\{thing_id\}/send failed after it may have reached httpkit "
            r"\(ReadError: .*\); the write may or may not have happened and was not repeated$")):
        _call(mode, sandbox, "send", thing_id=thing_id, timeout=None)
    assert sandbox.count("POST", r"/send$") == 1
    assert sandbox.sent == 1  # the customer got exactly one email


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("action", ["read", "create"])
def test_retry_after_past_the_cap_is_rate_limited_at_once(
        sandbox: ThingsSandbox, mode: str, action: str) -> None:
    thing_id = sandbox.add()
    method, path = ("GET", READ_PATH) if action == "read" else ("POST", WRITE_PATH)
    sandbox.faults.push(Fault.status_code(429, {"message": "quota"}, headers={
        "Retry-After": "3600"}, method=method, path=path))
    with pytest.raises(errors.RateLimited) as caught:
        _call(mode, sandbox, action, thing_id=thing_id, timeout=None)
    assert caught.value.retry_after == 3600
    assert caught.value.status == 429
    assert sandbox.count(method, path) == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("action", ["read", "create"])
def test_retries_run_out(sandbox: ThingsSandbox, mode: str, action: str) -> None:
    thing_id = sandbox.add()
    method, path = ("GET", READ_PATH) if action == "read" else ("POST", WRITE_PATH)
    sandbox.faults.push(Fault.status_code(429, {"message": "busy"}, headers={
        "Retry-After": "1"}, method=method, path=path, times=-1))
    with pytest.raises(errors.RateLimited) as caught:
        _call(mode, sandbox, action, thing_id=thing_id, timeout=None, max_retries=3)
    assert caught.value.retry_after == 1
    assert sandbox.count(method, path) == 4  # the first try and three retries
    assert sandbox.created == 0


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("action", ["read", "create"])
def test_a_connection_that_never_opened_is_retried_even_for_writes(
        sandbox: ThingsSandbox, mode: str, action: str) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    attempts: list[RequestInfo] = []
    hooks = HttpHooks(on_request=attempts.append)
    url = f"http://127.0.0.1:{port}/api"

    def call() -> None:
        if mode == "sync":
            with invoicekit.Gateway(ThingsProvider(token=TOKEN), base_url=url,
                                    hooks=hooks) as gw:
                if action == "read":
                    gw.get_invoice("1")
                else:
                    gw.create_invoice(InvoiceDraft(number="X"))
            return

        async def go() -> None:
            async with invoicekit.AsyncGateway(ThingsProvider(token=TOKEN), base_url=url,
                                               hooks=hooks) as agw:
                if action == "read":
                    await agw.get_invoice("1")
                else:
                    await agw.create_invoice(InvoiceDraft(number="X"))

        arun(go)

    with pytest.raises(errors.ProviderUnavailable) as caught:
        call()
    assert type(caught.value) is errors.ProviderUnavailable  # nothing was sent: not unknown
    assert "ConnectError" in str(caught.value)
    assert isinstance(caught.value.__cause__, Exception)
    assert [a.attempt for a in attempts] == [0, 1, 2]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_read_recovers_from_several_faults_in_a_row(sandbox: ThingsSandbox, mode: str) -> None:
    thing_id = sandbox.add()
    sandbox.faults.push(Fault.status_code(503, {"message": "down"}, method="GET"))
    sandbox.faults.push(Fault.reset(method="GET"))
    invoice = _call(mode, sandbox, "read", thing_id=thing_id, timeout=None)
    assert invoice.id == str(thing_id)
    assert sandbox.count("GET") == 3


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_provider_errors_keep_the_message_verbatim(sandbox: ThingsSandbox, mode: str) -> None:
    with pytest.raises(errors.NotFound) as caught:
        _call(mode, sandbox, "read", thing_id=999999, timeout=None)
    assert caught.value.message == "لا يوجد"
    assert caught.value.status == 404
    assert sandbox.count("GET") == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_listing_pages_through_the_layer(sandbox: ThingsSandbox, mode: str) -> None:
    with sandbox.lock:
        sandbox.things.clear()
    for n in range(5):
        sandbox.add(number=f"L-{n}")
    sandbox.faults.push(Fault.status_code(502, HTML_502, method="GET", path=r"^/api/things$"))
    provider = ThingsProvider(token=TOKEN)
    if mode == "sync":
        with invoicekit.Gateway(provider, base_url=sandbox.url) as gw:
            numbers = [inv.number for inv in gw.list_invoices()]
    else:
        async def go() -> list[str | None]:
            async with invoicekit.AsyncGateway(provider, base_url=sandbox.url) as agw:
                return [inv.number async for inv in agw.list_invoices()]
        numbers = arun(go)
    assert numbers == [f"L-{n}" for n in range(5)]
    assert sandbox.count("GET", r"^/api/things$") == 4  # 3 pages + 1 retried 502


def test_connections_are_reused(sandbox: ThingsSandbox,
                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="httpcore.connection")
    thing_id = sandbox.add()
    with invoicekit.Gateway(ThingsProvider(token=TOKEN), base_url=sandbox.url) as gw:
        for _ in range(5):
            gw.get_invoice(str(thing_id))
        gw.create_invoice(InvoiceDraft(number="R-1"))
    opened = [r for r in caplog.records if r.getMessage().startswith("connect_tcp.started")]
    assert len(opened) == 1  # six requests, one connection
    assert sandbox.count() == 6
