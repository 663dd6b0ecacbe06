"""Reads skip `client.send` and httpx's request preparation, and keep what they gave.

The runners hand a request straight to the client's transport when the client has no
auth and no event hooks, and the engine makes a bodiless request complete itself (its
`Host` header cached with the merged headers). Each test checks something a user of
httpx relies on that this shortcut could lose: the request httpx itself would have
built, auth and hooks (which must still run), mounts and proxies (the transport httpx
would pick), cookies a response sets, httpx's log line, and the request attached to a
transport error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Generator

import httpx
import pytest
from tests.http_support import ThingsProvider

import invoicekit
from invoicekit import errors

BASE = "https://things.example/api"
TOKEN = "tok_direct_0123456789"
BODY = {"data": {"id": 7, "number": "A-7", "total": "1.50"}}


def _gateway(client: httpx.Client) -> invoicekit.Gateway:
    return invoicekit.Gateway(ThingsProvider(token=TOKEN), http_client=client, base_url=BASE)


def _async_gateway(client: httpx.AsyncClient) -> invoicekit.AsyncGateway:
    return invoicekit.AsyncGateway(ThingsProvider(token=TOKEN), http_client=client,
                                   base_url=BASE)


def test_a_read_is_the_request_httpx_would_build() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=BODY)

    client = httpx.Client(transport=httpx.MockTransport(handler), headers={"X-Team": "ops"})
    with _gateway(client) as gw:
        gw.get_invoice("7")
        gw.get_invoice("7")
    expected = client.build_request("GET", f"{BASE}/things/7", headers={
        "User-Agent": seen[0].headers["user-agent"], "Accept": "application/json",
        "Accept-Language": "en", "Authorization": f"Bearer {TOKEN}"})
    for request in seen:
        assert request.method == "GET"
        assert str(request.url) == "https://things.example/api/things/7"
        # The same headers (the order of those ours replace differs, as it always has).
        assert sorted(request.headers.multi_items()) == sorted(expected.headers.multi_items())
        assert request.headers.raw[0] == (b"Host", b"things.example")
        assert request.content == b""
        assert "content-length" not in request.headers
        assert request.extensions["timeout"] == {"connect": 5.0, "read": 30.0,
                                                 "write": 30.0, "pool": 10.0}
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert seen[0].headers["x-team"] == "ops"
    assert seen[0].headers is not seen[1].headers  # each request has its own headers


def test_a_write_is_the_request_httpx_would_build() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={**BODY, "success": True})

    client = httpx.Client(transport=httpx.MockTransport(handler), headers={"X-Team": "ops"})
    with _gateway(client) as gw:
        gw.create_invoice(invoicekit.InvoiceDraft(
            currency="SAR", number="فاتورة-7", customer=invoicekit.Customer(name="A"),
            items=[invoicekit.LineItem(name="x", quantity=1,
                                       unit_price=invoicekit.Money("1.50", "SAR"))]))
        gw.send_invoice("7", invoicekit.SendOptions(cc_sender=True))
    ours = {"User-Agent": seen[0].headers["user-agent"], "Accept": "application/json",
            "Accept-Language": "en", "Authorization": f"Bearer {TOKEN}",
            "Content-Type": "application/json"}
    for request, path, body in ((seen[0], "/things", '{"number":"فاتورة-7"}'),
                                (seen[1], "/things/7/send", '{"cc":true}')):
        expected = client.build_request("POST", f"{BASE}{path}", headers=ours,
                                        content=body.encode())
        assert request.content == body.encode()
        # The same headers (the order of those ours replace differs, as it always has),
        # Host first and the body's length last, where httpx puts them.
        assert sorted(request.headers.multi_items()) == sorted(expected.headers.multi_items())
        assert request.headers.raw[0] == (b"Host", b"things.example")
        assert request.headers.raw[-1] == (b"Content-Length", str(len(body.encode())).encode())
        assert request.extensions["timeout"] == {"connect": 5.0, "read": 30.0,
                                                 "write": 30.0, "pool": 10.0}
    assert seen[0].headers is not seen[1].headers


def test_a_write_keeps_a_content_type_or_length_the_caller_set() -> None:
    from invoicekit._provider import Request

    client = httpx.Client(headers={"Content-Type": "application/vnd.things+json"})
    gw = _gateway(client)
    engine = gw._engine()
    timeout = httpx.Timeout(5.0)
    built = engine.build(Request("POST", "/things", json={"a": 1}), client, timeout)
    assert built.headers["content-type"] == "application/vnd.things+json"
    assert built.headers["content-length"] == "7"
    # No body on a POST: an explicit zero length, as httpx sends it.
    empty = engine.build(Request("POST", "/things"), client, timeout)
    assert (empty.content, empty.headers["content-length"]) == (b"", "0")
    # A length the caller gave is left to httpx's own request building (it keeps it).
    given = engine.build(Request("POST", "/things", json={"a": 1},
                                 headers={"Content-Length": "7"}), client, timeout)
    assert given.headers.get_list("content-length") == ["7"]
    assert given.content == b'{"a":1}'
    # The requests httpx builds itself (a length given; a client with cookies or default
    # query parameters) get the JSON Content-Type too, unless one is set.
    for other, headers in ((httpx.Client(), {"Content-Length": "7"}),
                           (httpx.Client(cookies={"seen": "1"}), {}),
                           (httpx.Client(params={"lang": "ar"}), {})):
        built = engine.build(Request("POST", "/things", json={"a": 1}, headers=headers), other,
                             timeout)
        assert built.headers.get_list("content-type") == ["application/json"]
        assert built.content == b'{"a":1}'


def test_a_host_header_set_on_the_client_is_kept() -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.headers["host"])
        return httpx.Response(200, json=BODY)

    client = httpx.Client(transport=httpx.MockTransport(handler),
                          headers={"Host": "internal.example"})
    with _gateway(client) as gw:
        gw.get_invoice("7")
    assert hosts == ["internal.example"]


def test_client_auth_still_runs() -> None:
    def auth(request: httpx.Request) -> httpx.Request:
        request.headers["X-Signed"] = "yes"
        return request

    signed: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        signed.append(request.headers.get("x-signed"))
        return httpx.Response(200, json=BODY)

    with _gateway(httpx.Client(transport=httpx.MockTransport(handler), auth=auth)) as gw:
        assert gw.get_invoice("7").number == "A-7"
    assert signed == ["yes"]


def test_event_hooks_still_run() -> None:
    events: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=BODY)

    client = httpx.Client(transport=httpx.MockTransport(handler), event_hooks={
        "request": [lambda request: events.append(f"request {request.url.path}")],
        "response": [lambda response: events.append(f"response {response.status_code}")]})
    with _gateway(client) as gw:
        gw.get_invoice("7")
    assert events == ["request /api/things/7", "response 200"]


def test_a_mounted_transport_is_the_one_used() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the default transport was used instead of the mount")

    def mounted(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": {"id": 7, "number": "via-mount",
                                                  "total": "1.50"}})

    client = httpx.Client(transport=httpx.MockTransport(refuse),
                          mounts={"https://things.example": httpx.MockTransport(mounted)})
    with _gateway(client) as gw:
        assert gw.get_invoice("7").number == "via-mount"


def test_a_cookie_set_by_a_response_is_kept_and_sent() -> None:
    cookies: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        cookies.append(request.headers.get("cookie"))
        return httpx.Response(200, json=BODY, headers={"set-cookie": "lb=eu-1; Path=/"})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    with _gateway(client) as gw:
        gw.get_invoice("7")
        gw.get_invoice("7")
    assert cookies == [None, "lb=eu-1"]
    assert client.cookies["lb"] == "eu-1"


def test_httpx_log_line_is_still_written(caplog: pytest.LogCaptureFixture) -> None:
    client = httpx.Client(transport=httpx.MockTransport(
        lambda request: httpx.Response(200, json=BODY)))
    with caplog.at_level(logging.INFO, logger="httpx"), _gateway(client) as gw:
        gw.get_invoice("7")
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert lines == ['HTTP Request: GET https://things.example/api/things/7 "HTTP/1.1 200 OK"']


def _broken_transport(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused")


def _cause_chain(exc: BaseException) -> Generator[BaseException, None, None]:
    while exc is not None:
        yield exc
        exc = exc.__cause__  # type: ignore[assignment]


def test_a_transport_error_carries_its_request() -> None:
    client = httpx.Client(transport=httpx.MockTransport(_broken_transport))
    with _gateway(client).with_options(max_retries=0) as gw, pytest.raises(
            errors.ProviderUnavailable, match="ConnectError: connection refused") as caught:
        gw.get_invoice("7")
    cause = next(e for e in _cause_chain(caught.value) if isinstance(e, httpx.ConnectError))
    assert str(cause.request.url) == "https://things.example/api/things/7"


def test_the_async_runner_keeps_hooks_cookies_and_request_errors() -> None:
    events: list[str] = []
    cookies: list[str | None] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        cookies.append(request.headers.get("cookie"))
        return httpx.Response(200, json=BODY, headers={"set-cookie": "lb=eu-2; Path=/"})

    async def hook(response: httpx.Response) -> None:
        events.append(f"response {response.status_code}")

    async def main() -> None:
        plain = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with _async_gateway(plain) as gw:
            assert (await gw.get_invoice("7")).number == "A-7"
            assert (await gw.get_invoice("7")).number == "A-7"
        hooked = httpx.AsyncClient(transport=httpx.MockTransport(handler),
                                   event_hooks={"response": [hook]})
        async with _async_gateway(hooked) as gw:
            await gw.get_invoice("7")
        broken = httpx.AsyncClient(transport=httpx.MockTransport(_broken_transport))
        async with _async_gateway(broken).with_options(max_retries=0) as gw:
            with pytest.raises(errors.ProviderUnavailable) as caught:
                await gw.get_invoice("7")
        cause = next(e for e in _cause_chain(caught.value)
                     if isinstance(e, httpx.ConnectError))
        assert cause.request.url.path == "/api/things/7"

    asyncio.run(main())
    assert cookies == [None, "lb=eu-2", None]
    assert events == ["response 200"]
