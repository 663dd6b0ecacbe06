"""An async gateway's own client checks idle keep-alive connections cheaply, and still
notices one the server closed.

httpcore asks, before reusing an idle connection, whether its socket is readable (a
closed connection has its end-of-file waiting). Through anyio each asking looks the socket
up again, a system call included; the gateway's own client asks the socket it looked up
once (`_KnownSocketStream`). These tests hold the promise the shortcut must keep: a
connection the server closed is never reused (a write on it would be an unknown outcome),
and everything else a stream is asked goes to the stream.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import httpcore
import pytest
from tests.http_support import ThingsProvider

import invoicekit
from invoicekit import _http

TOKEN = "tok_pool_checks_0123456789"
DRAFT = invoicekit.InvoiceDraft(
    currency="SAR", number="INV-9", customer=invoicekit.Customer(name="A"),
    items=[invoicekit.LineItem(name="x", quantity=1, unit_price=invoicekit.Money("1.50", "SAR"))])


class _Inner(httpcore.AsyncNetworkStream):
    """A stream over one end of a socket pair, counting what it is asked."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.asked: list[str] = []

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.sock.recv(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.sock.sendall(buffer)

    async def aclose(self) -> None:
        self.sock.close()

    def get_extra_info(self, info: str) -> Any:
        self.asked.append(info)
        return {"socket": self.sock, "client_addr": ("127.0.0.1", 1)}.get(info)


def test_the_socket_is_looked_up_once_and_a_closed_peer_is_noticed() -> None:
    ours, theirs = socket.socketpair()
    inner = _Inner(ours)
    stream = _http._KnownSocketStream(inner)
    try:
        assert [stream.get_extra_info("is_readable") for _ in range(50)] == [False] * 50
        assert inner.asked == ["socket"]  # once, not per check
        theirs.sendall(b"x")
        assert stream.get_extra_info("is_readable") is True
        assert asyncio.run(stream.read(1)) == b"x"
        assert stream.get_extra_info("is_readable") is False
        theirs.close()  # the peer's end-of-file is readable
        assert stream.get_extra_info("is_readable") is True
        assert stream.get_extra_info("client_addr") == ("127.0.0.1", 1)
        assert inner.asked == ["socket", "client_addr"]
    finally:
        ours.close()
        theirs.close()


def test_a_stream_without_a_socket_is_asked_itself() -> None:
    class NoSocket(_Inner):
        def get_extra_info(self, info: str) -> Any:
            self.asked.append(info)
            return True if info == "is_readable" else None

    ours, theirs = socket.socketpair()
    inner = NoSocket(ours)
    try:
        assert _http._KnownSocketStream(inner).get_extra_info("is_readable") is True
        assert inner.asked == ["socket", "is_readable"]
    finally:
        ours.close()
        theirs.close()


def test_an_async_gateways_own_client_uses_it() -> None:
    # Reached through httpx's and httpcore's private attributes: a version that moved
    # them leaves the client as httpx made it, and this test says so.
    async def main() -> None:
        async with invoicekit.AsyncGateway(ThingsProvider(token=TOKEN),
                                           base_url="https://things.example/api") as gw:
            client = gw._runner.client  # type: ignore[union-attr]
            backend = client._transport._pool._network_backend
            assert isinstance(backend, _http._KnownSocketBackend)

    asyncio.run(main())


async def _server(bodies: list[bytes], connections: list[asyncio.Event], *, close: bool,
                  tls: ssl.SSLContext | None = None) -> asyncio.Server:
    """A server advertising keep-alive that either closes each connection after its first
    answer (as servers do when their idle timeout is short) or keeps answering on it.
    Each connection's event is set once its handler is done."""
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ended = asyncio.Event()
        connections.append(ended)
        try:
            await _serve(reader, writer, bodies, close=close)
        finally:
            writer.close()
            ended.set()

    return await asyncio.start_server(answer, "127.0.0.1", 0, ssl=tls)


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 bodies: list[bytes], *, close: bool) -> None:
    """Answer requests on one connection until the client closes it (or after the first,
    with *close*)."""
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            break
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        await reader.readexactly(length)
        body = bodies.pop(0)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Connection: keep-alive\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body))
        await writer.drain()
        if close:
            break


@pytest.fixture(params=["http", "https"])
def scheme(request: pytest.FixtureRequest, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> tuple[str, ssl.SSLContext | None]:
    """Plain HTTP, and HTTPS (every real provider) with a certificate made for the test and
    trusted through `SSL_CERT_FILE`, which the gateway's own client reads as httpx does."""
    if request.param == "http":
        return "http", None
    openssl = shutil.which("openssl")
    if openssl is None:  # .ci/run installs it
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    return "https", tls


def _writes(writes: int, scheme: tuple[str, ssl.SSLContext | None], *, close: bool
            ) -> tuple[list[str], int]:
    """*writes* creates through an async gateway's own client, a pause after each; the
    invoice ids answered and how many connections the server saw."""
    bodies = [b'{"data": {"id": %d, "number": "INV-9", "total": "1.50"}}' % n
              for n in range(writes)]
    connections: list[asyncio.Event] = []
    name, tls = scheme

    async def main() -> list[str]:
        server = await _server(bodies, connections, close=close, tls=tls)
        port = server.sockets[0].getsockname()[1]
        made = []
        async with server, invoicekit.AsyncGateway(
                ThingsProvider(token=TOKEN), base_url=f"{name}://127.0.0.1:{port}/api") as gw:
            for _ in range(writes):
                made.append((await gw.create_invoice(DRAFT)).id)
                await asyncio.sleep(0.05)  # a closing server's end-of-file arrives meanwhile
        # the gateway closed its connections: each handler sees the end and finishes
        async with asyncio.timeout(10):
            for ended in connections:
                await ended.wait()
        return made

    return asyncio.run(main()), len(connections)


@pytest.mark.parametrize("writes", [2, 5])
def test_a_connection_the_server_closed_is_not_reused_for_a_write(writes: int) -> None:
    # Reusing the closed connection would send the write into a dead socket: an unknown
    # outcome (OutcomeUnknown) instead of each write answered. (Over TLS, httpx itself
    # cannot tell: asyncio's TLS transport has already read the end-of-file, so the
    # socket is not readable; see docs/reliability.md.)
    assert _writes(writes, ("http", None), close=True) == ([str(n) for n in range(writes)],
                                                          writes)


def test_a_live_connection_is_reused_over_http_and_https(
        scheme: tuple[str, ssl.SSLContext | None]) -> None:
    # The check runs on the socket under TLS too (the stream `start_tls` returns is
    # wrapped): an idle connection that is still open is not taken for a closed one.
    assert _writes(4, scheme, close=False) == (["0", "1", "2", "3"], 1)
