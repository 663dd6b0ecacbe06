"""The throttle: its arithmetic on a fake clock, its thread safety, and a real burst.

The arithmetic tests never sleep: the clocks are injected. The burst tests run against
the sandbox's rate limiter on real sockets with real (short) waits, and assert outcomes
(every call succeeds, the throttle did the pacing), never durations.
"""

from __future__ import annotations

import asyncio
import email.utils
import threading
from collections.abc import Iterator

import pytest
from tests.http_support import ThingsProvider, ThingsSandbox, arun, instant_waits, leaky_provider

import invoicekit
from invoicekit import Throttle, errors
from invoicekit._throttle import parse_retry_after
from invoicekit.testing.sandbox import RateLimit

EPOCH = 1_700_000_000.0


class Clock:
    """A monotonic and a wall clock that move only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def mono(self) -> float:
        return self.now

    def wall(self) -> float:
        return EPOCH + self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def throttle(model: str, clock: Clock, *, enabled: bool = True) -> Throttle:
    return Throttle(model=model, clock=clock.mono, wall_clock=clock.wall, enabled=enabled)


def headers(limit: int, remaining: int, reset: float, **extra: str) -> dict[str, str]:
    return {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(int(reset)), **extra}


def take(t: Throttle) -> float:
    """One caller that queues, sleeps what it is told (on the fake clock: not at all, as
    in test mode) and is admitted: returns the wait it was given."""
    ticket = t.enqueue()
    wait = t.wait_for(ticket)
    if wait > 0:
        t.admit(ticket)
    return wait


def answered(t: Throttle, status: int, hdrs: dict[str, str]) -> float | None:
    """One request: take a turn, then observe its answer."""
    take(t)
    return t.observe(status, hdrs)


# ---- Retry-After ------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected"), [
    ("7", 7.0), (" 2.5 ", 2.5), ("0", 0.0), ("-3", 0.0), ("", None), (None, None),
    ("soon", None), ("inf", None), ("nan", None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 30.0),
    ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # a date in the past: go now
    ("Wed, 21 Oct 2015 07:28:00", None),  # no zone: unreadable, not guessed
])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:27:30 GMT").timestamp()
    assert parse_retry_after(value, now=now) == expected


# ---- window model -------------------------------------------------------------------------
def test_nothing_known_sends_one_probe_then_no_waiting_without_headers() -> None:
    t = throttle("window", Clock())
    probe, second = t.enqueue(), t.enqueue()
    assert t.wait_for(probe) == 0.0
    # The limit is unknown until the probe's answer: the others wait for it, briefly.
    assert 0.0 < t.wait_for(second) <= 0.25
    t.observe(200, {})  # no rate-limit headers: there is nothing to pace by
    assert t.wait_for(second) == 0.0
    assert [take(t) for _ in range(50)] == [0.0] * 50
    assert t.stats.requests == 52


def test_window_spends_what_remains_then_waits_for_the_reset() -> None:
    clock = Clock()
    t = throttle("window", clock)
    answered(t, 200, headers(limit=5, remaining=2, reset=10))  # 10 s from now
    assert [take(t) for _ in range(3)] == [0.0, 0.0, 10.0]
    # Callers queue: the next window (5 slots) serves 5 of them, the rest wait a window more.
    assert [take(t) for _ in range(5)] == [10.0, 10.0, 10.0, 10.0, 20.0]
    assert t.stats.waits == 6
    assert t.stats.total_wait == pytest.approx(70.0)
    assert t.stats.longest_wait == 20.0


def test_window_refills_at_the_reset() -> None:
    clock = Clock()
    t = throttle("window", clock)
    answered(t, 200, headers(limit=3, remaining=0, reset=5))
    assert take(t) == 5.0
    clock.advance(5.0)
    # The queued caller, still unanswered, may count in the new window: two slots are left.
    assert [take(t) for _ in range(2)] == [0.0, 0.0]
    # The next window's end is not known until an answer from this one tells it; until
    # then the next caller plans with the window length seen (5 s) and re-checks.
    late = t.enqueue()
    assert t.wait_for(late) == 5.0
    t.observe(200, headers(limit=3, remaining=1, reset=clock.wall() + 4))
    assert t.wait_for(late) == 4.0


def test_window_reset_as_epoch_seconds() -> None:
    clock = Clock()
    t = throttle("window", clock)
    answered(t, 200, headers(limit=10, remaining=0, reset=clock.wall() + 42))
    assert take(t) == pytest.approx(42.0)


def test_window_counts_requests_in_flight() -> None:
    clock = Clock()
    t = throttle("window", clock)
    for _ in range(3):
        take(t)  # three requests sent, none answered yet
    t.observe(200, headers(limit=10, remaining=3, reset=30))  # the first answer
    # The provider's count does not include the two still in flight.
    assert take(t) == 0.0
    assert take(t) == 30.0


def test_answers_out_of_order_never_raise_the_count_within_a_window() -> None:
    clock = Clock()
    t = throttle("window", clock)
    for _ in range(3):
        take(t)
    # The newest answer arrives first, the older ones after it: believing their higher
    # counts would overspend the window, so the lowest estimate wins (a little caution).
    for remaining in (5, 6, 7):
        t.observe(200, headers(limit=10, remaining=remaining, reset=30))
    assert [take(t) for _ in range(4)] == [0.0, 0.0, 0.0, 30.0]


def test_a_new_window_is_believed() -> None:
    clock = Clock()
    t = throttle("window", clock)
    answered(t, 200, headers(limit=10, remaining=0, reset=clock.wall() + 30))
    answered(t, 200, headers(limit=10, remaining=9, reset=clock.wall() + 60))
    assert take(t) == 0.0


# ---- leaky bucket model ---------------------------------------------------------------------
def test_leaky_bucket_hands_out_slots_at_the_drain_rate() -> None:
    clock = Clock()
    t = throttle("leaky", clock)
    # A full bucket of 11 that is empty within 5 s frees at least (11 - 1) / 5 = 2 a second.
    answered(t, 200, headers(limit=11, remaining=0, reset=clock.wall() + 5))
    assert [take(t) for _ in range(4)] == [0.5, 1.0, 1.5, 2.0]
    clock.advance(2.0)  # four slots drained: the queue is served, nothing left over
    assert take(t) == pytest.approx(0.5)


def test_leaky_bucket_refills_but_never_beyond_its_size() -> None:
    clock = Clock()
    t = throttle("leaky", clock)
    answered(t, 200, headers(limit=11, remaining=0, reset=clock.wall() + 5))
    clock.advance(3600.0)
    waits = [take(t) for _ in range(13)]
    assert waits[:11] == [0.0] * 11
    assert waits[11:] == [pytest.approx(0.5), pytest.approx(1.0)]


def test_leaky_rate_is_a_lower_bound_that_only_grows() -> None:
    clock = Clock()
    t = throttle("leaky", clock)
    answered(t, 200, headers(limit=11, remaining=0, reset=clock.wall() + 10))  # >= 1/s
    answered(t, 200, headers(limit=11, remaining=0, reset=clock.wall() + 5))  # >= 2/s
    answered(t, 200, headers(limit=11, remaining=0, reset=clock.wall() + 20))  # >= 0.5/s
    # Two callers went beyond the full bucket (admitted on the fake clock): three slots
    # are needed for the next one, at the best rate seen: 3 / 2.
    assert take(t) == pytest.approx(1.5)


def test_leaky_without_a_known_rate_waits_for_the_bucket_to_empty() -> None:
    clock = Clock()
    t = throttle("leaky", clock)
    answered(t, 200, headers(limit=4, remaining=3, reset=clock.wall() + 1))  # no rate yet
    assert [take(t) for _ in range(4)] == [0.0, 0.0, 0.0, 1.0]


def test_leaky_bucket_with_room_does_not_wait() -> None:
    clock = Clock()
    t = throttle("leaky", clock)
    answered(t, 200, headers(limit=120, remaining=100, reset=clock.wall() + 10))
    assert all(take(t) == 0.0 for _ in range(100))
    assert take(t) > 0.0


# ---- 429, Retry-After, release, disabled ------------------------------------------------------
def test_a_429_holds_every_caller_until_retry_after() -> None:
    clock = Clock()
    t = throttle("window", clock)
    assert answered(t, 429, {"retry-after": "12"}) == 12.0
    assert t.blocked_for() == 12.0
    assert [take(t) for _ in range(3)] == [12.0, 12.0, 12.0]
    clock.advance(12.0)
    assert t.blocked_for() == 0.0
    assert t.stats.rate_limited == 1


def test_a_429_without_retry_after_waits_for_the_reset() -> None:
    clock = Clock()
    t = throttle("window", clock)
    assert answered(t, 429, headers(limit=5, remaining=0, reset=8)) == 8.0
    assert take(t) == 8.0


def test_a_503_retry_after_holds_callers_too() -> None:
    clock = Clock()
    t = throttle("window", clock)
    assert answered(t, 503, {"retry-after": "4"}) == 4.0
    assert take(t) == 4.0


def test_a_request_without_an_answer_gives_its_slot_back() -> None:
    clock = Clock()
    t = throttle("window", clock)
    answered(t, 200, headers(limit=5, remaining=1, reset=10))
    assert take(t) == 0.0
    t.release()  # that request never got an answer
    assert take(t) == 0.0
    assert take(t) == 10.0


def test_a_disabled_throttle_counts_but_never_waits() -> None:
    clock = Clock()
    t = throttle("window", clock, enabled=False)
    answered(t, 429, {"retry-after": "30"})
    assert t.blocked_for() == 0.0
    assert [take(t) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert t.stats.requests == 4
    assert t.stats.rate_limited == 1
    assert t.stats.waits == 0


def test_malformed_headers_are_ignored() -> None:
    clock = Clock()
    t = throttle("window", clock)
    answered(t, 200, {"x-ratelimit-limit": "lots", "x-ratelimit-remaining": "-4",
                      "x-ratelimit-reset": "nan", "retry-after": "whenever"})
    assert take(t) == 0.0
    assert "unknown" in repr(t)


def test_a_bad_model_is_refused() -> None:
    with pytest.raises(errors.ConfigurationError, match="model") as info:
        Throttle(model="fixed")
    assert info.value.setting == "model"


# ---- shared by threads -----------------------------------------------------------------------
def test_threads_each_get_their_own_slot() -> None:
    clock = Clock()
    t = throttle("leaky", clock)
    answered(t, 200, headers(limit=11, remaining=0, reset=clock.wall() + 1))  # 10 per second
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [take(t) for _ in range(25)]
        with lock:
            waits.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 200 reservations, each a distinct slot 0.1 s after the previous one.
    assert sorted(round(w, 6) for w in waits) == [round(0.1 * n, 6) for n in range(1, 201)]


def test_one_throttle_per_gateway_shared_by_async_tasks() -> None:
    with ThingsSandbox("tok_tasks_123456") as sandbox, instant_waits():
        ids = [sandbox.add() for _ in range(6)]

        async def go() -> int:
            async with invoicekit.AsyncGateway(ThingsProvider(token="tok_tasks_123456"),
                                               base_url=sandbox.url) as agw:
                await asyncio.gather(*(agw.get_invoice(str(i)) for i in ids))
                await asyncio.gather(*(agw.with_options(timeout=5).get_invoice(str(i))
                                       for i in ids))
                return agw.throttle.stats.requests

        assert arun(go) == 12


# ---- real bursts against a small limit -----------------------------------------------------------
@pytest.fixture
def real_waits() -> Iterator[None]:
    with instant_waits(False):
        yield


@pytest.mark.usefixtures("real_waits")
def test_a_threaded_burst_stays_under_a_window_limit() -> None:
    token = "tok_burst_window_1234"
    with ThingsSandbox(token, rate_limit=RateLimit(5, 1.0, model="window")) as sandbox:
        thing = sandbox.add()
        with invoicekit.Gateway(ThingsProvider(token=token), base_url=sandbox.url) as gw:
            failures: list[BaseException] = []

            def worker() -> None:
                try:
                    for _ in range(2):
                        gw.get_invoice(str(thing))
                except errors.InvoiceKitError as exc:
                    failures.append(exc)

            threads = [threading.Thread(target=worker) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            stats = gw.throttle.stats
        assert failures == []
        assert sandbox.rate_limit is not None
        assert sandbox.rate_limit.allowed == 8
        assert stats.requests == 8 + sandbox.rate_limit.refused
        # The throttle paced the burst: the first answer told it the limit, later calls waited.
        assert stats.waits >= 1
        assert sandbox.rate_limit.refused <= 1  # at most the opening burst, before any headers


@pytest.mark.usefixtures("real_waits")
def test_an_async_burst_is_paced_by_a_leaky_bucket() -> None:
    token = "tok_burst_leaky_1234"
    with ThingsSandbox(token, rate_limit=RateLimit(10, 1.0, model="leaky")) as sandbox:
        thing = sandbox.add()

        async def go() -> tuple[int, int]:
            async with invoicekit.AsyncGateway(leaky_provider()(token=token),
                                               base_url=sandbox.url, max_retries=4) as agw:
                await agw.get_invoice(str(thing))  # the throttle learns the limit
                results = await asyncio.gather(
                    *(agw.get_invoice(str(thing)) for _ in range(15)))
                return len(results), agw.throttle.stats.waits

        done, waits = arun(go)
        assert done == 15
        assert sandbox.rate_limit is not None
        assert sandbox.rate_limit.allowed == 16
        assert waits >= 1  # paced, instead of sending all fifteen at once
