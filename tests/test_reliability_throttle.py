"""Issue 13, items 2 and 9: every throttle wait obeys the cap; any number of waiters.

Item 2: whatever header makes a wait long (`Retry-After`, `X-RateLimit-Reset`, a bucket
that frees its next slot late), a wait past `RetryPolicy.retry_after_cap` is
`RateLimited` with `.retry_after`, raised before anything is sent; absurd header values
are either that typed error or ignored as unreadable, never `OverflowError` or a hang,
sync and async.

Item 9: the throttle holds the allowed rate with any number of waiting tasks or threads:
callers are served in order, plans are re-made when they wake, and an opening burst is
preceded by one probe. The logic is proven on a fake clock against the sandboxes' own
rate limiter (1,000 waiters), and end to end against the Salla and DayZero sandboxes on
real sockets with 200 async tasks (bounded counts; outcomes asserted, never durations).
"""

from __future__ import annotations

import asyncio
import heapq
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from tests.http_support import ThingsProvider, instant_waits

import invoicekit
from invoicekit import RetryPolicy, Throttle, errors
from invoicekit.testing.sandbox import RateLimit

EPOCH = 1_800_000_000.0
THING = {"data": {"id": 7, "number": "INV-7", "total": "10.00"}}


# ---- helpers ----------------------------------------------------------------------------------
class Counting:
    """An httpx handler: the first answer carries *headers*, later ones none."""

    def __init__(self, headers: dict[str, str], status: int = 200) -> None:
        self.headers = headers
        self.status = status
        self.seen = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        if self.seen == 1:
            body = THING if self.status == 200 else {"message": "slow down"}
            # Raw bytes, so a non-ASCII value arrives as a provider would send it.
            raw = [(k.encode(), v.encode("utf-8")) for k, v in self.headers.items()]
            return httpx.Response(self.status, json=body, headers=raw)
        return httpx.Response(200, json=THING)


def sync_calls(handler: Counting, calls: int = 2, **settings: Any) -> list[object]:
    """Make *calls* `get_invoice` calls; return each result or the error it raised."""
    client = httpx.Client(transport=httpx.MockTransport(handler))
    outcomes: list[object] = []
    with invoicekit.Gateway(ThingsProvider(token="tok_cap_sync_123456"), http_client=client,
                            base_url="https://things.example/api", max_retries=0,
                            **settings) as gw:
        for _ in range(calls):
            try:
                outcomes.append(gw.get_invoice("7"))
            except errors.InvoiceKitError as exc:
                outcomes.append(exc)
    return outcomes


def async_calls(handler: Counting, calls: int = 2, **settings: Any) -> list[object]:
    async def go() -> list[object]:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        outcomes: list[object] = []
        async with invoicekit.AsyncGateway(
                ThingsProvider(token="tok_cap_async_123456"), http_client=client,
                base_url="https://things.example/api", max_retries=0, **settings) as gw:
            for _ in range(calls):
                try:
                    # A guard against the old behaviour (sleeping for ever), not a timing
                    # assertion: a correct throttle answers at once.
                    outcomes.append(await asyncio.wait_for(gw.get_invoice("7"), timeout=30))
                except errors.InvoiceKitError as exc:
                    outcomes.append(exc)
        await client.aclose()
        return outcomes

    return asyncio.run(go())


RUNNERS: dict[str, Callable[..., list[object]]] = {"sync": sync_calls, "async": async_calls}


@pytest.fixture
def real_waits() -> Iterator[None]:
    with instant_waits(False):
        yield


# ---- item 2: the cap holds for every header ------------------------------------------------------
@pytest.mark.usefixtures("real_waits")
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_reset_an_hour_ahead_is_rate_limited_not_slept(mode: str) -> None:
    import time

    reset = str(int(time.time()) + 3600)
    handler = Counting({"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": reset})
    first, second = RUNNERS[mode](handler)
    assert not isinstance(first, BaseException)
    assert isinstance(second, errors.RateLimited)
    assert second.retry_after is not None
    assert 3500 < second.retry_after <= 3600
    assert "retry_after_cap (60s)" in str(second)
    assert handler.seen == 1  # refused before sending, not after sleeping an hour


@pytest.mark.usefixtures("real_waits")
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("model", ["window", "leaky"])
def test_the_cap_is_the_callers_own(mode: str, model: str) -> None:
    # A bucket (or window) of one request, spent, refilled 30 s from now.
    handler = Counting({"X-RateLimit-Limit": "1", "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": "30"})  # seconds from now
    first, second = RUNNERS[mode](handler, retry=RetryPolicy(max_retries=0,
                                                             retry_after_cap=20),
                                  throttle=Throttle(model=model))
    assert not isinstance(first, BaseException)
    assert isinstance(second, errors.RateLimited)
    assert second.retry_after is not None
    assert 29 <= second.retry_after <= 30
    assert handler.seen == 1


@pytest.mark.usefixtures("real_waits")
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("header", ["X-RateLimit-Reset", "Retry-After"])
def test_an_astronomical_wait_is_a_typed_error(mode: str, header: str) -> None:
    headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0", header: "1e300"}
    handler = Counting(headers, status=429 if header == "Retry-After" else 200)
    first, second = RUNNERS[mode](handler)
    # A 429 asking for 1e300 s is not retried; the next call is refused before sending.
    assert isinstance(second, errors.RateLimited)
    assert second.retry_after is not None
    assert second.retry_after > 1e299
    if header == "Retry-After":
        assert isinstance(first, errors.RateLimited)
        assert first.retry_after == 1e300
    assert handler.seen == 1


@pytest.mark.usefixtures("real_waits")
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("value", [
    "nan", "inf", "-inf", "-5", "9" * 400, "1e400", "soon", "", "0x10", "1e300e3",
    "\u0661\u0662",  # Arabic-Indic digits: not a header number
])
@pytest.mark.parametrize("header", ["X-RateLimit-Reset", "Retry-After", "X-RateLimit-Limit",
                                    "X-RateLimit-Remaining"])
def test_unreadable_header_values_are_ignored(mode: str, value: str, header: str) -> None:
    headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "50",
               "X-RateLimit-Reset": "10", header: value}
    handler = Counting(headers)
    outcomes = RUNNERS[mode](handler, calls=3)
    assert [type(o).__name__ for o in outcomes] == ["Invoice"] * 3
    assert handler.seen == 3


def test_retry_after_cap_must_be_a_sleepable_number() -> None:
    for bad in (float("inf"), float("nan"), -1, 1e10, "60", True):
        with pytest.raises(errors.ConfigurationError) as info:
            RetryPolicy(retry_after_cap=bad)  # type: ignore[arg-type]
        assert info.value.setting == "retry_after_cap"
    assert RetryPolicy(retry_after_cap=86_400).retry_after_cap == 86_400


# ---- item 9: the logic, on a fake clock ---------------------------------------------------------
class FakeTime:
    """One clock for the throttle (monotonic and wall) and the provider's limiter."""

    def __init__(self) -> None:
        self.now = 0.0

    def mono(self) -> float:
        return self.now

    def wall(self) -> float:
        return EPOCH + self.now


def simulate(limit: int, window: float, model: str, waiters: int, *,
             latency: float = 0.02) -> tuple[RateLimit, list[int], float, int]:
    """`waiters` callers join one throttle at t=0; each sleeps what it is told and, once
    admitted, hits the provider's limiter `latency` later and is answered `latency`
    after that. Returns the limiter, the order of admission (ticket numbers), the time
    of the last answer and how many times the callers woke up."""
    clock = FakeTime()
    provider = RateLimit(limit, window, model=model, clock=clock.wall)
    throttle = Throttle(model=model, clock=clock.mono, wall_clock=clock.wall)
    tickets = [throttle.enqueue() for _ in range(waiters)]
    # Events: (time, sequence, kind, ticket index)
    events: list[tuple[float, int, str, int]] = []
    seq = 0
    for index in range(waiters):
        heapq.heappush(events, (0.0, seq, "wake", index))
        seq += 1
    admitted: list[int] = []
    answers: dict[int, tuple[bool, dict[str, str]]] = {}
    wakeups = 0
    last = 0.0
    while events:
        at, _, kind, index = heapq.heappop(events)
        clock.now = at
        if kind == "wake":
            wakeups += 1
            wait = throttle.wait_for(tickets[index])
            assert 0.0 <= wait <= 120.0
            if wait > 0:
                event = (at + wait, seq, "wake", index)
            else:
                admitted.append(tickets[index].number)
                event = (at + latency, seq, "arrive", index)
        elif kind == "arrive":
            answers[index] = provider.hit("key")
            event = (at + latency, seq, "answer", index)
        else:
            allowed, headers = answers.pop(index)
            throttle.observe(200 if allowed else 429,
                             {k.lower(): v for k, v in headers.items()})
            last = at
            if not allowed:  # a refused request queues again, like the HTTP layer's retry
                tickets[index] = throttle.enqueue()
                event = (at, seq, "wake", index)
            else:
                continue
        heapq.heappush(events, event)
        seq += 1
    return provider, admitted, last, wakeups


@pytest.mark.parametrize(("limit", "window", "model"), [
    (100, 2.0, "window"), (60, 3.0, "leaky"), (120, 60.0, "leaky"), (5, 1.0, "window"),
])
def test_a_thousand_waiters_on_one_throttle(limit: int, window: float, model: str) -> None:
    provider, admitted, last, wakeups = simulate(limit, window, model, 1000)
    assert provider.refused == 0  # not one 429
    assert provider.allowed == 1000
    # Served in the order they queued (first come, first served).
    assert admitted == sorted(admitted)
    assert len(admitted) == 1000
    # At the allowed rate: after the first `limit`, (1000 - limit) more take
    # (1000 - limit) * window / limit seconds at best; allow 5% and one window of slack.
    ideal = (1000 - limit) * window / limit
    assert last <= ideal * 1.05 + window + 1.0
    # No thundering herd: a caller wakes about once per second of waiting to re-plan
    # (on average it waits half the run), not in a spin of tiny polls.
    assert wakeups <= 1000 * (last / 2 + 10)


def test_waiters_are_replanned_when_a_429_arrives_meanwhile() -> None:
    clock = FakeTime()
    t = Throttle(model="window", clock=clock.mono, wall_clock=clock.wall)
    probe = t.enqueue()
    assert t.wait_for(probe) == 0.0
    t.observe(200, {"x-ratelimit-limit": "10", "x-ratelimit-remaining": "5",
                    "x-ratelimit-reset": "10"})
    first = [t.enqueue() for _ in range(5)]
    assert [t.wait_for(ticket) for ticket in first] == [0.0] * 5
    late = t.enqueue()
    assert t.wait_for(late) == 10.0  # planned for the next window
    # One of the five is refused with a longer Retry-After: the plan changes on waking.
    t.observe(429, {"retry-after": "25"})
    clock.now = 10.0
    assert t.wait_for(late) == pytest.approx(15.0)
    assert late.imposed == pytest.approx(15.0)


def test_a_cancelled_waiter_gives_its_place_to_the_next() -> None:
    clock = FakeTime()
    t = Throttle(model="leaky", clock=clock.mono, wall_clock=clock.wall)
    assert t.wait_for(t.enqueue()) == 0.0
    t.observe(200, {"x-ratelimit-limit": "11", "x-ratelimit-remaining": "0",
                    "x-ratelimit-reset": str(int(EPOCH + 5))})  # 2 slots a second
    a, b, c = t.enqueue(), t.enqueue(), t.enqueue()
    assert [t.wait_for(a), t.wait_for(b), t.wait_for(c)] == [0.5, 1.0, 1.0]
    assert (b.imposed, c.imposed) == (0.5, 0.5)  # the provider's part; the rest is the queue
    t.cancel(b)
    clock.now = 0.5
    assert t.wait_for(a) == 0.0
    assert t.wait_for(c) == pytest.approx(0.5)  # second in line now, not third
    assert t.stats.requests == 4
    assert "queued=1" in repr(t)


def test_threads_share_the_queue_in_order() -> None:
    clock = FakeTime()
    t = Throttle(model="leaky", clock=clock.mono, wall_clock=clock.wall)
    assert t.wait_for(t.enqueue()) == 0.0
    t.observe(200, {"x-ratelimit-limit": "11", "x-ratelimit-remaining": "0",
                    "x-ratelimit-reset": str(int(EPOCH + 1))})  # 10 a second
    tickets = [t.enqueue() for _ in range(400)]
    plans: dict[int, float] = {}
    lock = threading.Lock()

    def worker(mine: list[Any]) -> None:
        for ticket in mine:
            wait = t.wait_for(ticket)
            with lock:
                plans[ticket.number] = wait

    threads = [threading.Thread(target=worker, args=(tickets[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Everyone is queued behind the first: the head is told 0.1 s, the others at most
    # a re-planning interval beyond what the provider imposes, and nobody was admitted.
    assert plans[tickets[0].number] == pytest.approx(0.1)
    assert all(0.1 - 1e-9 <= wait <= 1.0 + 1e-9 for wait in plans.values())
    assert t.stats.waits == 0
    assert "queued=400" in repr(t)


# ---- item 9: end to end, 200 tasks against the sandboxes -----------------------------------------
@pytest.mark.usefixtures("real_waits")
def test_200_tasks_hold_a_dayzero_window() -> None:
    from invoicekit_dayzero.sandbox import DayZeroSandbox

    with DayZeroSandbox(rate_limit=RateLimit(100, 2.0, model="window")) as sandbox:
        outcomes = _burst("dayzero", sandbox.settings(), "00000000-0000-4000-8000-000000000001",
                          tasks=200, each=2)
        assert sandbox.rate_limit is not None
        assert outcomes == {"NotFound": 400}  # every call answered, none rate limited
        assert sandbox.rate_limit.refused == 0
        assert sandbox.rate_limit.allowed == 400


@pytest.mark.usefixtures("real_waits")
def test_200_tasks_hold_a_salla_leaky_bucket() -> None:
    from invoicekit_salla.sandbox import SallaSandbox

    with SallaSandbox(rate_limit=RateLimit(60, 3.0, model="leaky")) as sandbox:
        outcomes = _burst("salla", sandbox.settings(), "123456", tasks=200, each=1)
        assert sandbox.rate_limit is not None
        assert outcomes == {"NotFound": 200}
        assert sandbox.rate_limit.refused == 0
        assert sandbox.rate_limit.allowed == 200


def _burst(provider: str, settings: dict[str, str], invoice_id: str, *, tasks: int,
           each: int) -> dict[str, int]:
    """*tasks* tasks on one async gateway, *each* reads of a missing invoice apiece.

    The sandboxes listen with a small backlog: connection attempts beyond it are retried
    by the client (reads retry connection failures), so `max_retries=4` keeps that noise
    from failing a call; it does not hide 429s (the limiter counts those itself).
    """
    async def go() -> dict[str, int]:
        seen: dict[str, int] = {}
        async with invoicekit.connect_async(provider, **settings, max_retries=4) as gw:
            async def one() -> None:
                for _ in range(each):
                    try:
                        await gw.get_invoice(invoice_id)
                        name = "found"
                    except errors.InvoiceKitError as exc:
                        name = type(exc).__name__
                    seen[name] = seen.get(name, 0) + 1

            await asyncio.gather(*(one() for _ in range(tasks)))
            assert gw.throttle.stats.rate_limited == 0
        return seen

    return asyncio.run(go())


def test_a_slow_answer_does_not_make_a_bucket_look_faster() -> None:
    clock = FakeTime()
    t = Throttle(model="leaky", clock=clock.mono, wall_clock=clock.wall)
    assert t.wait_for(t.enqueue()) == 0.0
    # The headers were written up to a second before they were read: the bucket of 61
    # empties within 3 + 1 s, so it frees at least 60 / 4 = 15 slots a second, not 20.
    t.observe(200, {"x-ratelimit-limit": "61", "x-ratelimit-remaining": "0",
                    "x-ratelimit-reset": str(int(EPOCH + 3))}, elapsed=1.0)
    assert t.wait_for(t.enqueue()) == pytest.approx(1 / 15)


def test_an_estimate_past_the_cap_asks_the_provider_instead_of_failing() -> None:
    clock = FakeTime()
    t = Throttle(model="leaky", clock=clock.mono, wall_clock=clock.wall)
    assert t.wait_for(t.enqueue()) == 0.0
    # A bucket of 2, full, empty in 60 s: the estimated rate (1 / 60 s) puts the next slot
    # 60 s away, but that is only a lower bound of the drain rate (it may be 1 / 30 s).
    t.observe(200, {"x-ratelimit-limit": "2", "x-ratelimit-remaining": "0",
                    "x-ratelimit-reset": str(int(EPOCH + 60))})
    first, second = t.enqueue(), t.enqueue()
    assert t.wait_for(first, cap=30) == 0.0  # one request asks the provider...
    assert first.imposed == 0.0
    assert 0.0 < t.wait_for(second, cap=30) <= 0.25  # ...the others wait for its answer
    # Without a cap the estimate stands: two slots short (the probe took one) at 1 / 60 s.
    assert t.wait_for(second) == pytest.approx(120.0)


@pytest.mark.usefixtures("real_waits")
def test_32_threads_hold_a_dayzero_window() -> None:
    """The sync gateway shared by threads (32: the sandboxes' small listen backlog makes
    more connections at once a test of the backlog, not of the throttle)."""
    from invoicekit_dayzero.sandbox import DayZeroSandbox

    with DayZeroSandbox(rate_limit=RateLimit(20, 1.0, model="window")) as sandbox, \
            invoicekit.connect("dayzero", **sandbox.settings(), max_retries=4) as gw:
        outcomes: list[str] = []
        lock = threading.Lock()

        def worker() -> None:
            for _ in range(3):
                try:
                    gw.get_invoice("00000000-0000-4000-8000-000000000001")
                    name = "found"
                except errors.InvoiceKitError as exc:
                    name = type(exc).__name__
                with lock:
                    outcomes.append(name)

        threads = [threading.Thread(target=worker) for _ in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sandbox.rate_limit is not None
        assert outcomes == ["NotFound"] * 96
        assert sandbox.rate_limit.refused == 0
        assert gw.throttle.stats.rate_limited == 0
        assert gw.throttle.stats.waits > 0  # the throttle, not luck, kept it under the limit
