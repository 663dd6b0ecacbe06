"""Per-call overhead: a gateway call against a loopback sandbox vs bare httpx + json.loads.

Both sides talk to the same sandbox, over one kept-alive connection, for the same URL and
get the same response bytes; the difference is what invoicekit adds: building and
checking the request, the retry/throttle policy, logging hooks, decoding and converting
the answer into the domain model.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from _common import Figure, Sizes, interleaved
from _sandboxes import dayzero_sandbox, headers_of, seed_dayzero

import invoicekit

__all__ = ["run"]


def _sync_us(fn: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(calls):
        fn()
    return (time.perf_counter_ns() - start) / calls / 1000


def _async_us(loop: asyncio.AbstractEventLoop, fn: Callable[[], Awaitable[Any]],
              calls: int) -> float:
    async def go() -> float:
        start = time.perf_counter_ns()
        for _ in range(calls):
            await fn()
        return (time.perf_counter_ns() - start) / calls / 1000
    return loop.run_until_complete(go())


def _figure(name: str, what: str, ours: Callable[[], float], base: Callable[[], float],
            sizes: Sizes, target: float | None, notes: str = "") -> Figure:
    a, b, sa, sb = interleaved(ours, base, sizes.rounds)
    return Figure(name, what, a, b, "µs/call", "httpx GET + json.loads", "lower", target,
                  notes=notes, extra={"samples_us": [round(x, 1) for x in sa],
                                      "baseline_samples_us": [round(x, 1) for x in sb]})


def run(sizes: Sizes) -> list[Figure]:
    page = 10
    sandbox = dayzero_sandbox()
    try:
        ids = seed_dayzero(sandbox, 30)
        settings = sandbox.settings()
        headers = headers_of(settings)
        wanted = ids[7]
        get_params = {"id": wanted, "limit": "1"}
        list_params = {"limit": str(page)}
        query = invoicekit.InvoiceQuery(page_size=page)
        calls = sizes.http_calls
        figures = []
        with invoicekit.connect("dayzero", **settings) as gw, httpx.Client(
                base_url=settings["base_url"], headers=headers) as client:
            assert gw.get_invoice(wanted).id == wanted

            def bare_get() -> Any:
                return json.loads(client.get("/invoices", params=get_params).content)

            def ours_list() -> Any:
                return [inv for _, inv in zip(range(page), gw.list_invoices(query), strict=False)]

            def bare_list() -> Any:
                return json.loads(client.get("/invoices", params=list_params).content)

            assert bare_get()["items"][0]["id"] == wanted
            assert len(ours_list()) == page == len(bare_list()["items"])
            figures.append(_figure(
                "overhead.get_invoice_sync", "DayZero get_invoice, sync gateway",
                lambda: _sync_us(lambda: gw.get_invoice(wanted), calls),
                lambda: _sync_us(bare_get, calls), sizes, 1.15))
            figures.append(_figure(
                "overhead.list_invoices_sync", f"DayZero list_invoices, one page of {page}, sync",
                lambda: _sync_us(ours_list, calls), lambda: _sync_us(bare_list, calls), sizes,
                1.15, notes=f"ours also converts the {page} invoices to the domain model"))

        loop = asyncio.new_event_loop()
        try:
            agw = invoicekit.connect_async("dayzero", **settings)
            aclient = httpx.AsyncClient(base_url=settings["base_url"], headers=headers)

            async def abare_get() -> Any:
                return json.loads((await aclient.get("/invoices", params=get_params)).content)

            async def aours_list() -> Any:
                found = []
                async for inv in agw.list_invoices(query):
                    found.append(inv)
                    if len(found) == page:
                        break
                return found

            async def abare_list() -> Any:
                return json.loads((await aclient.get("/invoices", params=list_params)).content)

            figures.append(_figure(
                "overhead.get_invoice_async", "DayZero get_invoice, async gateway",
                lambda: _async_us(loop, lambda: agw.get_invoice(wanted), calls),
                lambda: _async_us(loop, abare_get, calls), sizes, 1.15))
            figures.append(_figure(
                "overhead.list_invoices_async",
                f"DayZero list_invoices, one page of {page}, async",
                lambda: _async_us(loop, aours_list, calls),
                lambda: _async_us(loop, abare_list, calls), sizes, 1.15,
                notes=f"ours also converts the {page} invoices to the domain model"))
            loop.run_until_complete(agw.aclose())
            loop.run_until_complete(aclient.aclose())
        finally:
            loop.close()
        return figures
    finally:
        sandbox.stop()
