"""A tiny test-only provider ("things") and its sandbox, to drive the HTTP layer.

Nothing here is provider knowledge: it is the smallest API that has a read (`GET
/things/{id}`), writes (`POST /things`, `POST /things/{id}/send`), a listing, bearer
auth and a JSON envelope, so the core's retry, throttle, error and redaction policy can
be proven against real sockets (`SandboxServer`) and against `httpx.MockTransport`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import traceback
from collections.abc import Awaitable, Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import httpx

import invoicekit
from invoicekit import (
    Capability,
    IdPattern,
    Invoice,
    InvoiceDraft,
    InvoiceQuery,
    Money,
    Operation,
    Page,
    PathParam,
    Provider,
    Request,
    SendOptions,
    SendReceipt,
)
from invoicekit._http import testing_instant_waits
from invoicekit._secrets import Secret
from invoicekit.testing.sandbox import (
    Route,
    SandboxError,
    SandboxRequest,
    SandboxResponse,
    SandboxServer,
    json_response,
)

__all__ = [
    "THING_ID",
    "ThingsProvider",
    "ThingsSandbox",
    "arun",
    "everything_said",
    "instant_waits",
    "leaky_provider",
    "mock_gateway",
]

T = TypeVar("T")
THING_ID = IdPattern("thing id", r"[0-9]+", max_length=18)


class ThingsProvider(Provider):
    """A provider of "things" (invoices) behind bearer auth and a `{"data": ...}` envelope."""

    name = "httpkit"
    default_base_url = "https://things.invalid/api"
    features = frozenset({Capability.SEND_CC})

    def __init__(self, token: str, language: str = "en") -> None:
        self._token = Secret(token)
        self._language = language

    def secrets(self) -> tuple[str, ...]:
        return (self._token.get(),)

    def auth_headers(self) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self._token.get()}"}

    def default_headers(self) -> Mapping[str, str]:
        return {"Accept-Language": self._language}

    @staticmethod
    def _invoice(data: Any) -> Invoice:
        # Deliberately naive (KeyError, TypeError on a wrong shape): the layer must turn
        # whatever this raises on a bad body into a typed error.
        thing = data["data"]
        return Invoice(id=str(thing["id"]), provider="httpkit", number=thing["number"],
                       total=Money(Decimal(str(thing["total"])), "SAR"))

    def get_invoice(self, invoice_id: str) -> Operation[Invoice]:
        thing_id = THING_ID.check(invoice_id, provider=self.name)
        response = yield Request("GET", "/things/{thing_id}",
                                 path_params={"thing_id": PathParam(thing_id, THING_ID)},
                                 operation="get_invoice")
        return self._invoice(response.json())

    def create_invoice(self, draft: InvoiceDraft) -> Operation[Invoice]:
        response = yield Request("POST", "/things", json={"number": draft.number},
                                 operation="create_invoice")
        return self._invoice(response.json())

    def send_invoice(self, invoice: Invoice | str, options: SendOptions) -> Operation[SendReceipt]:
        thing_id = THING_ID.check(invoice.id if isinstance(invoice, Invoice) else invoice,
                                  provider=self.name)
        response = yield Request("POST", "/things/{thing_id}/send",
                                 path_params={"thing_id": PathParam(thing_id, THING_ID)},
                                 json={"cc": options.cc_sender}, operation="send_invoice")
        body = response.json_object()
        return SendReceipt(invoice_id=thing_id, sent=body["success"] is True,
                           message=body.get("message"))

    def list_page(self, query: InvoiceQuery, cursor: str | None) -> Operation[Page]:
        page = int(cursor or "1")
        response = yield Request("GET", "/things", params={"page": page}, operation="list")
        body = response.json_object()
        items = tuple(self._invoice({"data": item}) for item in body["data"])
        return Page(items=items, next_cursor=str(page + 1) if body["more"] else None)

    def unchecked_get(self, raw_id: str) -> Operation[Any]:
        """A careless operation that formats a caller's value into the path itself."""
        response = yield Request("GET", f"/things/{raw_id}")
        return response.json()


def leaky_provider() -> type[ThingsProvider]:
    """The same provider, declaring Salla's leaky-bucket rate limit model."""

    class LeakyThings(ThingsProvider):
        rate_limit_model = "leaky"

    return LeakyThings


class ThingsSandbox(SandboxServer):
    """The things API on loopback; `created`/`sent` count writes the server carried out."""

    name = "things"
    base_path = "/api"

    def __init__(self, token: str, **kwargs: Any) -> None:
        self.token = token
        self.things: dict[int, dict[str, Any]] = {}
        self.created = 0
        self.sent = 0
        self._ids = itertools.count(1)
        super().__init__(**kwargs)

    def routes(self) -> list[Route]:
        return [
            Route("GET", r"/things/(?P<thing_id>[0-9]+)", self.get_thing),
            Route("GET", r"/things", self.list_things),
            Route("POST", r"/things", self.create_thing),
            Route("POST", r"/things/(?P<thing_id>[0-9]+)/send", self.send_thing),
        ]

    def _auth(self, request: SandboxRequest) -> None:
        if request.bearer_token != self.token:
            raise SandboxError(401, {"message": "Unauthenticated."})

    def add(self, number: str = "INV-1", total: str = "115.50") -> int:
        with self.lock:
            thing_id = next(self._ids)
            self.things[thing_id] = {"id": thing_id, "number": number, "total": total}
            return thing_id

    def get_thing(self, request: SandboxRequest, thing_id: str) -> SandboxResponse:
        self._auth(request)
        thing = self.things.get(int(thing_id))
        if thing is None:
            raise SandboxError(404, {"message": "لا يوجد"})
        return json_response(200, {"data": thing}, {"X-Request-Id": f"req-{thing_id}"})

    def list_things(self, request: SandboxRequest) -> SandboxResponse:
        self._auth(request)
        page = int(request.param("page") or "1")
        with self.lock:
            things = sorted(self.things.values(), key=lambda t: t["id"])
        chunk = things[(page - 1) * 2: page * 2]
        return json_response(200, {"data": chunk, "more": page * 2 < len(things)})

    def create_thing(self, request: SandboxRequest) -> SandboxResponse:
        self._auth(request)
        body = request.json() or {}
        with self.lock:
            self.created += 1
            thing_id = self.add(number=str(body.get("number")))
            return json_response(201, {"data": self.things[thing_id]})

    def send_thing(self, request: SandboxRequest, thing_id: str) -> SandboxResponse:
        self._auth(request)
        with self.lock:
            if int(thing_id) not in self.things:
                raise SandboxError(404, {"message": "not found"})
            self.sent += 1
        return json_response(200, {"success": True, "message": "تم إرسال الفاتورة"})


@contextlib.contextmanager
def instant_waits(enabled: bool = True) -> Iterator[None]:
    """Retry and throttle waits take no time inside the block (restored afterwards)."""
    previous = testing_instant_waits(enabled)
    try:
        yield
    finally:
        testing_instant_waits(previous)


def arun(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine in a fresh event loop (tests here need no async plugin)."""
    async def main() -> T:
        return await factory()

    return asyncio.run(main())


Handler = Callable[[httpx.Request], httpx.Response]


def mock_gateway(handler: Handler, *, token: str = "tok_mock_secret_value", **settings: Any
                 ) -> invoicekit.Gateway:
    """A sync gateway whose requests go to *handler* (`httpx.MockTransport`)."""
    client = httpx.Client(transport=httpx.MockTransport(handler))
    settings.setdefault("base_url", "https://things.example/api")
    return invoicekit.Gateway(ThingsProvider(token=token), http_client=client, **settings)


def everything_said(records: list[logging.LogRecord], *objects: object) -> str:
    """All text a secret could hide in: log records (with tracebacks), `str`/`repr` of the
    objects, and for exceptions `traceback.format_exception` with every chained cause."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    parts = [formatter.format(record) for record in records]
    for obj in objects:
        parts.append(repr(obj))
        parts.append(str(obj))
        if isinstance(obj, BaseException):
            parts.append("".join(traceback.format_exception(obj)))
            parts.append(repr(obj.args))
    return "\n".join(parts)
