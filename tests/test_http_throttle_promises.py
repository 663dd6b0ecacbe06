"""The throttle's arithmetic at its edges, on a fake clock, with waits worked out by hand.

Written against the mutants `python3 dev.py mutate throttle` found alive
(docs/reliability.md, "Mutation testing"): a token not given back, a window refilled a
moment late, a 429 that forgets the requests still in flight. Nothing here sleeps.
"""

from __future__ import annotations

import email.utils

import pytest

from invoicekit import Throttle
from invoicekit._throttle import parse_retry_after

EPOCH = 1_700_000_000.0


class Clock:
    """A monotonic and a wall clock that move only when told."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def mono(self) -> float:
        return self.now

    def wall(self) -> float:
        return EPOCH + self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def throttle(model: str, clock: Clock) -> Throttle:
    return Throttle(model=model, clock=clock.mono, wall_clock=clock.wall)


def headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(reset)}


def answered(t: Throttle, status: int, hdrs: dict[str, str]) -> float | None:
    t.reserve()
    return t.observe(status, hdrs)


def test_the_defaults_are_an_enabled_window() -> None:
    t = Throttle()
    assert (t.model, t.enabled) == ("window", True)
    assert repr(t) == "<Throttle model=window limit=None tokens=unknown waits=0 total_wait=0.00s>"


def test_an_unknown_model_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"^model must be 'window' or 'leaky'$"):
        Throttle(model="bucket")


def test_nothing_blocks_at_the_start_of_the_clock() -> None:
    t = Throttle(clock=lambda: 0.0, wall_clock=lambda: EPOCH)
    assert t.blocked_for() == 0.0
    assert t.reserve() == 0.0


def test_an_http_date_is_measured_from_the_real_clock_by_default() -> None:
    # A date long past is "go now" whatever today is.
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_an_http_date_retry_after_is_measured_from_the_throttles_wall_clock() -> None:
    clock = Clock()
    t = throttle("window", clock)
    t.reserve()
    date = email.utils.formatdate(clock.wall() + 30, usegmt=True)
    assert t.observe(429, {"retry-after": date}) == 30.0
    assert t.blocked_for() == 30.0


def test_a_limit_of_one_is_a_limit() -> None:
    clock = Clock()
    t = throttle("window", clock)
    answered(t, 200, headers(limit=1, remaining=0, reset=10))
    assert t.reserve() == 10.0
    clock.advance(10)
    # The queued caller took the new window's one slot: the next waits a whole window.
    assert t.reserve() == 10.0


def test_a_limit_of_zero_is_not_learnt() -> None:
    t = throttle("window", Clock())
    answered(t, 200, {"x-ratelimit-limit": "0"})
    assert "limit=None" in repr(t)


def test_a_released_reservation_is_no_longer_in_flight() -> None:
    clock = Clock()
    t = throttle("window", clock)
    t.reserve()
    t.release()
    answered(t, 200, headers(limit=10, remaining=2, reset=30))
    assert [t.reserve() for _ in range(3)] == [0.0, 0.0, 30.0]


def test_a_release_gives_back_one_reservation_of_several() -> None:
    clock = Clock()
    t = throttle("window", clock)
    for _ in range(3):
        t.reserve()
    t.release()  # one of three ended without an answer: two are in flight
    t.observe(200, headers(limit=10, remaining=2, reset=30))  # one answered: one in flight
    assert [t.reserve() for _ in range(2)] == [0.0, 30.0]


def test_a_release_gives_back_exactly_one_token() -> None:
    clock = Clock()
    t = throttle("window", clock)
    answered(t, 200, headers(limit=10, remaining=3, reset=30))
    t.reserve()
    t.release()
    assert [t.reserve() for _ in range(4)] == [0.0, 0.0, 0.0, 30.0]


def test_every_429_is_counted() -> None:
    t = throttle("window", Clock())
    answered(t, 429, {"retry-after": "0"})
    answered(t, 429, {"retry-after": "0"})
    assert t.stats.rate_limited == 2


def test_a_429_leaves_nothing_for_the_requests_still_in_flight() -> None:
    clock = Clock()
    t = throttle("window", clock)
    answered(t, 200, headers(limit=10, remaining=10, reset=30))
    for _ in range(3):
        t.reserve()
    # One of the three is refused: the provider has nothing left, and the two still in
    # flight will take their slots, so the next caller waits for the reset.
    assert t.observe(429, {"retry-after": "0"}) == 0.0
    assert t.reserve() == 30.0


def test_a_429_keeps_a_queue_that_is_already_longer() -> None:
    clock = Clock()
    t = throttle("window", clock)
    answered(t, 200, headers(limit=2, remaining=0, reset=10))
    assert [t.reserve() for _ in range(4)] == [10.0, 10.0, 20.0, 20.0]
    t.observe(429, {"retry-after": "0"})  # four queued, one of them refused
    # Four reservations are still owed, three in flight: the fifth caller is in the third
    # window from now.
    assert t.reserve() == 30.0


def test_a_429_on_a_leaky_bucket_restarts_the_drain_from_now() -> None:
    clock = Clock()
    t = throttle("leaky", clock)
    # Level 10 - 4 = 6 emptying within 10 s: at least (6 - 1) / 10 = 0.5 slot a second.
    answered(t, 200, headers(limit=10, remaining=4, reset=10))
    t.reserve()
    assert t.observe(429, {"retry-after": "0"}) == 0.0
    clock.advance(2)  # 2 s at 0.5 a second: one slot
    assert [t.reserve() for _ in range(2)] == [0.0, 2.0]


def test_a_429_after_the_reset_of_a_leaky_bucket_says_go_now() -> None:
    clock = Clock()
    t = throttle("leaky", clock)
    answered(t, 200, headers(limit=10, remaining=0, reset=5))
    clock.advance(6)
    t.reserve()
    assert t.observe(429, {}) == 0.0


def test_a_window_refills_at_its_reset_instant() -> None:
    clock = Clock()
    t = throttle("window", clock)
    answered(t, 200, headers(limit=3, remaining=2, reset=5))
    clock.advance(5)
    assert t.reserve() == 0.0  # the first of the new window's three
    clock.advance(1)
    assert [t.reserve() for _ in range(3)] == [0.0, 0.0, 4.0]


def test_a_window_reset_of_zero_refills_at_once() -> None:
    clock = Clock()
    t = throttle("window", clock)
    answered(t, 200, headers(limit=2, remaining=0, reset=0))
    assert [t.reserve() for _ in range(2)] == [0.0, 0.0]
