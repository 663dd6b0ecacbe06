"""Bulk throughput: listing and migrating between loopback sandboxes, with and without a limit.

* Unthrottled: invoicekit (async gateways: listing 2,000 DayZero invoices; `migrate_async`
  Salla -> DayZero, concurrency 8, with its durable SQLite journal) against a bare-httpx
  *replay* of exactly the requests it made (taken from the sandboxes' request logs), at
  the same concurrency, decoding every answer with `json.loads`. Ratio = our throughput /
  the replay's (targets >= 0.90 for the listing, >= 0.80 for the migration).
* Rate-limited: the sandbox enforces `limit` requests per `window` seconds (fixed window,
  and leaky bucket); invoicekit's throttle must pace the calls from the headers alone.
  Ratio = the fastest schedule the limit allows / our time, i.e. the share of the allowed
  rate we achieved (target >= 0.95), and no call may fail.
* Rate-limited migration: `migrate_async` between two DayZero sandboxes whose target
  enforces a leaky bucket (Salla's documented model; DayZero's limits are undocumented),
  paced by the target gateway's throttle. Ratio = the target's accepted writes per second
  over the whole migration / the allowed rate; no record may fail.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import tempfile
import time
from typing import Any

import httpx
from _common import Figure, Sizes, ratios
from _sandboxes import dayzero_sandbox, seed_dayzero

import invoicekit

__all__ = ["run"]

CONCURRENCY = 8


def _freeze_server_heap() -> None:
    """Leave what exists now (the seeded sandboxes, the benchmark's own state) out of the
    cyclic garbage collector's full passes, as if the server lived in another process.

    The sandboxes share this process; without this, a full collection triggered by either
    side's allocations walks the servers' whole state (tens of milliseconds per pass with
    2,000 seeded invoices), a cost no client pays against a real provider. Both sides of
    the ratio run frozen alike; what they allocate themselves is collected as usual.
    """
    gc.collect()
    gc.freeze()


async def _replay(requests: list[Any], settings: dict[str, str], concurrency: int) -> float:
    """Send *requests* (logged by a sandbox) again with bare httpx; seconds taken."""
    root = settings["base_url"].split("/api/")[0].split("/admin/")[0]
    queue = list(reversed(requests))
    async with httpx.AsyncClient(base_url=root) as client:
        async def worker() -> None:
            while queue:
                r = queue.pop()
                headers = {k: v for k, v in r.headers.items()
                           if k in ("authorization", "x-business-id", "content-type", "accept")}
                params = {k: v[0] for k, v in r.query.items()}
                answer = await client.request(r.method, r.path, params=params, headers=headers,
                                              content=r.body or None)
                json.loads(answer.content)
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


def _list_round(count: int, page: int) -> tuple[float, float]:
    """List *count* invoices with the async gateway, then replay its requests bare."""
    sandbox = dayzero_sandbox()
    try:
        seed_dayzero(sandbox, count)
        settings = sandbox.settings()
        query = invoicekit.InvoiceQuery(page_size=page)
        _freeze_server_heap()

        async def ours() -> float:
            async with invoicekit.connect_async("dayzero", **settings) as gw:
                start = time.perf_counter()
                seen = [inv async for inv in gw.list_invoices(query)]
                elapsed = time.perf_counter() - start
            assert len(seen) == count
            return elapsed

        sandbox.clear_log()
        t_ours = asyncio.run(ours())
        logged = list(sandbox.requests)
        t_base = asyncio.run(_replay(logged, settings, 1))  # pages follow one another
        return count / t_ours, count / t_base
    finally:
        gc.unfreeze()
        sandbox.stop()


def _salla_store(sandbox: Any, count: int) -> None:
    """Issue *count* tax invoices (two items each, shipping on odd orders, an Arabic buyer
    with an email) in a Salla sandbox, over its API."""
    from decimal import Decimal

    settings = sandbox.settings()
    orders = [sandbox.add_order(
        email=f"buyer{n % 60}@example.sa", customer=f"عميل رقم {n % 60}",
        shipping=Decimal("23") if n % 2 else Decimal("0"),
        items=[{"name": f"شاحن آنكر {n}", "sku": f"PRO-{n:03d}", "product_id": str(n),
                "quantity": 1 + n % 3, "price": Decimal(f"{20 + n % 90}.{(n * 37) % 100:02d}")},
               {"name": "كابل", "sku": "CBL-1", "product_id": "2", "quantity": 2,
                "price": Decimal("9.95")}]) for n in range(1, count + 1)]
    with httpx.Client(base_url=settings["base_url"],
                      headers={"Authorization": f"Bearer {settings['token']}"}) as client:
        for order in orders:
            answer = client.post("/orders/invoices", json={
                "order_id": int(order), "type": "tax_invoice", "data_type": "order"})
            answer.raise_for_status()


def _migrate_round(count: int) -> tuple[float, float]:
    """Migrate *count* invoices Salla -> DayZero with `migrate_async` (SQLite journal),
    then replay its requests bare."""
    from decimal import Decimal

    from invoicekit.migration import (
        CurrencyPolicy,
        CustomerPolicy,
        MigrationPolicy,
        migrate_async,
    )
    from invoicekit_salla.sandbox import SallaSandbox

    source, target = SallaSandbox().start(), dayzero_sandbox()
    try:
        _salla_store(source, count)
        _freeze_server_heap()

        def buyer(invoice: invoicekit.Invoice) -> invoicekit.Customer:
            # A Salla invoice names no customer, its order does (an application asks
            # Salla's orders API; the benchmark asks the sandbox).
            who = source.orders[str(invoice.order_id)]["customer"]
            return invoicekit.Customer(name=who["name"], email=who["email"])

        policy = MigrationPolicy(
            currency=CurrencyPolicy({("SAR", "USD"): Decimal("0.2666")}),
            customers=CustomerPolicy(create_by_email=True, resolver=buyer),
            due_days=30, extras_as_lines=True)

        async def ours() -> float:
            with tempfile.TemporaryDirectory() as tmp:
                async with invoicekit.connect_async("salla", **source.settings()) as src, \
                        invoicekit.connect_async("dayzero", **target.settings()) as dst:
                    start = time.perf_counter()
                    report = await migrate_async(src, dst, journal=os.path.join(tmp, "j.db"),
                                                 policy=policy, concurrency=CONCURRENCY,
                                                 page_size=100)
                    elapsed = time.perf_counter() - start
            assert not report.failures, report.render()
            assert report.written == count, report.render()
            return elapsed

        source.clear_log()
        target.clear_log()
        t_ours = asyncio.run(ours())
        reads, writes = list(source.requests), list(target.requests)

        async def base() -> float:
            t_reads = await _replay(reads, source.settings(), 1)
            t_writes = await _replay(writes, target.settings(), CONCURRENCY)
            return t_reads + t_writes

        t_base = asyncio.run(base())
        return count / t_ours, count / t_base
    finally:
        gc.unfreeze()
        source.stop()
        target.stop()


def _ideal_seconds(requests: int, limit: int, window: float, model: str,
                   start: float) -> float:
    """The least time *requests* calls can take under the limit, starting at epoch *start*.

    The sandbox's fixed windows are aligned to the clock, so the first one may already be
    partly over: the k-th refill comes at the k-th window boundary after *start*.
    """
    if model == "window":
        refills = math.floor((requests - 1) / limit)
        if refills == 0:
            return 0.0
        first_boundary = (math.floor(start / window) + 1) * window
        return first_boundary + (refills - 1) * window - start
    return max(0, requests - limit) * window / limit


def _limited(sizes: Sizes, model: str) -> Figure:
    from invoicekit.testing.sandbox import RateLimit

    requests, limit, window = sizes.limited_requests, sizes.limit, sizes.window
    sandbox = dayzero_sandbox(rate_limit=RateLimit(limit, window, model=model))
    try:
        sandbox.rate_limit = None  # seeding is not counted
        seed_dayzero(sandbox, requests)
        sandbox.rate_limit = RateLimit(limit, window, model=model)
        settings = sandbox.settings()
        throttle = invoicekit.Throttle(model=model)
        query = invoicekit.InvoiceQuery(page_size=1)  # one request per invoice

        async def go() -> tuple[float, float, int]:
            async with invoicekit.connect_async("dayzero", throttle=throttle,
                                                **settings) as gw:
                wall = time.time()
                start = time.perf_counter()
                seen = [inv async for inv in gw.list_invoices(query)]
                return wall, time.perf_counter() - start, len(seen)

        wall_start, elapsed, seen = asyncio.run(go())
        made = sandbox.count("GET")
        refused = sandbox.rate_limit.refused
        if seen != requests:
            raise RuntimeError(f"listed {seen} of {requests} invoices under the rate limit")
        ideal = _ideal_seconds(made - refused, limit, window, model, wall_start)
        return Figure(
            f"bulk.list_rate_limited_{model}",
            f"listing {requests} invoices one per request, limit {limit}/{window:g}s ({model})",
            (made - refused) / elapsed, (made - refused) / ideal if ideal else float("inf"),
            "req/s", "the allowed rate", "higher", 0.95,
            notes=f"{refused} request(s) answered 429 and retried; no call failed",
            extra={"seconds": round(elapsed, 3), "ideal_seconds": ideal, "refused": refused,
                   "waits": throttle.stats.waits, "total_wait": round(throttle.stats.total_wait, 3),
                   "rate_limited_seen": throttle.stats.rate_limited})
    finally:
        sandbox.stop()


def _migrate_limited(sizes: Sizes) -> Figure:
    """Migrate into a target that enforces a leaky bucket; the share of its rate we used."""
    from invoicekit.migration import CustomerPolicy, MigrationPolicy, migrate_async
    from invoicekit.testing.sandbox import RateLimit

    count, limit, window, model = sizes.migrate_limited, sizes.limit, sizes.window, "leaky"
    source = dayzero_sandbox()
    target = dayzero_sandbox(rate_limit=RateLimit(limit, window, model=model))
    try:
        seed_dayzero(source, count)
        throttle = invoicekit.Throttle(model=model)
        policy = MigrationPolicy(customers=CustomerPolicy(create_by_email=True))

        async def go() -> tuple[float, float, Any]:
            with tempfile.TemporaryDirectory() as tmp:
                async with invoicekit.connect_async("dayzero", **source.settings()) as src, \
                        invoicekit.connect_async("dayzero", throttle=throttle,
                                                 **target.settings()) as dst:
                    wall = time.time()
                    start = time.perf_counter()
                    report = await migrate_async(src, dst, journal=os.path.join(tmp, "j.db"),
                                                 policy=policy, concurrency=CONCURRENCY,
                                                 page_size=100)
                    return wall, time.perf_counter() - start, report

        wall_start, elapsed, report = asyncio.run(go())
        assert target.rate_limit is not None
        refused = target.rate_limit.refused
        made = target.count()
        if report.failures or report.in_flight or report.written != count:
            raise RuntimeError(f"rate-limited migration lost records:\n{report.render()}")
        first_write = min(r.at for r in target.requests) - wall_start
        ideal = _ideal_seconds(made - refused, limit, window, model, wall_start)
        return Figure(
            "bulk.migrate_rate_limited",
            f"migrate_async of {count} invoices DayZero -> DayZero, concurrency {CONCURRENCY}, "
            f"target limit {limit}/{window:g}s ({model})",
            (made - refused) / elapsed, (made - refused) / ideal if ideal else float("inf"),
            "req/s", "the allowed rate", "higher", 0.95,
            notes=f"{refused} write(s) answered 429 and retried; no record failed; the time "
                  "includes planning and journaling",
            extra={"seconds": round(elapsed, 3), "ideal_seconds": round(ideal, 3),
                   "target_requests": made, "refused": refused,
                   "first_target_request_after": round(first_write, 3),
                   "written": report.written, "failed": len(report.failures),
                   "waits": throttle.stats.waits, "total_wait": round(throttle.stats.total_wait, 3),
                   "rate_limited_seen": throttle.stats.rate_limited})
    finally:
        source.stop()
        target.stop()


def run(sizes: Sizes) -> list[Figure]:
    rounds = 1 if sizes.quick else max(5, sizes.rounds // 2)
    count = sizes.bulk_invoices
    figures = []
    listed = sizes.bulk_listed
    pairs = [_list_round(listed, 100) for _ in range(rounds)]
    ours = sorted(p[0] for p in pairs)[len(pairs) // 2]
    base = sorted(p[1] for p in pairs)[len(pairs) // 2]
    figures.append(Figure(
        "bulk.list_unthrottled", f"async listing of {listed} DayZero invoices, pages of 100",
        ours, base, "invoices/s", "bare-httpx replay", "higher", 0.90,
        notes="ours converts every invoice to the domain model; the replay only json.loads",
        round_ratios=ratios([p[0] for p in pairs], [p[1] for p in pairs]),
        extra={"rounds": [[round(x, 1) for x in p] for p in pairs]}))
    pairs = [_migrate_round(count) for _ in range(rounds)]
    ours = sorted(p[0] for p in pairs)[len(pairs) // 2]
    base = sorted(p[1] for p in pairs)[len(pairs) // 2]
    figures.append(Figure(
        "bulk.migrate_unthrottled",
        f"migrate_async of {count} invoices Salla -> DayZero, concurrency {CONCURRENCY}, "
        "durable SQLite journal",
        ours, base, "invoices/s", "bare-httpx replay", "higher", 0.80,
        notes="ours also plans, journals every write in SQLite and converts both ways",
        round_ratios=ratios([p[0] for p in pairs], [p[1] for p in pairs]),
        extra={"rounds": [[round(x, 1) for x in p] for p in pairs]}))
    figures.append(_limited(sizes, "window"))
    figures.append(_limited(sizes, "leaky"))
    figures.append(_migrate_limited(sizes))
    return figures
