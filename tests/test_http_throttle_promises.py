"""The throttle at its edges, on a fake clock, with waits worked out by hand.

Written against the mutants `python3 dev.py mutate throttle` found alive
(docs/reliability.md, "Mutation testing"): a token not given back, a request left in
flight, a ticket admitted after it was cancelled, a header read a character too far.
Nothing here sleeps.
"""

from __future__ import annotations

import email.utils

import pytest

from invoicekit import Throttle, errors
from invoicekit._throttle import Ticket, parse_retry_after

EPOCH = 1_700_000_000.0
DATE_NOW = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:27:30 GMT").timestamp()


class Clock:
    """A monotonic and a wall clock that move only when told."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def mono(self) -> float:
        return self.now

    def wall(self) -> float:
        return EPOCH + self.now


def throttle(clock: Clock, model: str = "window") -> Throttle:
    return Throttle(model=model, clock=clock.mono, wall_clock=clock.wall)


def headers(limit: int, remaining: int, reset: int) -> dict[str, str]:
    return {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(reset)}


def admitted(t: Throttle) -> Ticket:
    """A ticket that is admitted at once (the test fails if it is told to wait)."""
    ticket = t.enqueue()
    assert t.wait_for(ticket) == 0.0
    return ticket


def waits(t: Throttle, callers: int) -> list[float]:
    """What each of *callers* new callers is told, each admitted when told 0."""
    told = []
    for _ in range(callers):
        ticket = t.enqueue()
        told.append(t.wait_for(ticket))
        if told[-1]:
            t.cancel(ticket)
    return told


def answered(t: Throttle, status: int, hdrs: dict[str, str]) -> float | None:
    admitted(t)
    return t.observe(status, hdrs)


def test_a_fresh_throttle_knows_nothing_yet() -> None:
    t = Throttle()
    assert (t.model, t.enabled) == ("window", True)
    assert repr(t) == ("<Throttle model=window limit=None tokens=unknown queued=0 waits=0 "
                       "total_wait=0.00s>")


def test_the_repr_shows_what_was_learnt() -> None:
    t = throttle(Clock())
    answered(t, 200, headers(limit=5, remaining=2, reset=30))
    t.enqueue()
    assert repr(t) == ("<Throttle model=window limit=5 tokens=2.0 queued=1 waits=0 "
                       "total_wait=0.00s>")


def test_enabled_must_be_a_bool() -> None:
    with pytest.raises(errors.ConfigurationError) as info:
        Throttle(enabled="yes")  # type: ignore[arg-type]
    assert str(info.value) == "enabled must be True or False, got 'yes'"
    assert info.value.setting == "enabled"


def test_tickets_are_numbered_from_one_and_show_their_state() -> None:
    t = throttle(Clock())
    first, second = t.enqueue(), t.enqueue()
    assert (repr(first), repr(second)) == ("<Ticket 1 waiting>", "<Ticket 2 waiting>")
    assert (first.imposed, first.waited) == (0.0, 0.0)
    assert t.wait_for(first) == 0.0
    t.cancel(second)
    assert (repr(first), repr(second)) == ("<Ticket 1 admitted>", "<Ticket 2 cancelled>")
    assert second.cancelled is True


def test_a_cancelled_ticket_is_never_admitted() -> None:
    t = throttle(Clock())
    ticket = t.enqueue()
    t.cancel(ticket)
    t.admit(ticket)
    assert repr(ticket) == "<Ticket 1 cancelled>"
    with pytest.raises(ValueError, match=r"^<Ticket 1 cancelled> was cancelled$"):
        t.wait_for(ticket)


def test_cancelling_an_admitted_ticket_changes_nothing() -> None:
    t = throttle(Clock())
    ticket = admitted(t)
    t.cancel(ticket)
    assert (ticket.admitted, ticket.cancelled) == (True, False)


def test_a_released_probe_is_no_longer_in_flight() -> None:
    t = throttle(Clock())
    admitted(t)
    t.release()
    # Nothing is in flight: the next caller probes at once instead of waiting for an answer.
    answered(t, 200, headers(limit=10, remaining=2, reset=30))
    assert waits(t, 3) == [0.0, 0.0, 30.0]


def test_a_release_gives_back_exactly_one_token() -> None:
    t = throttle(Clock())
    answered(t, 200, headers(limit=10, remaining=3, reset=30))
    admitted(t)
    t.release()
    assert waits(t, 4) == [0.0, 0.0, 0.0, 30.0]


def test_a_release_ends_exactly_one_request_in_flight() -> None:
    t = throttle(Clock())
    answered(t, 200, headers(limit=10, remaining=10, reset=30))
    for _ in range(3):
        admitted(t)
    t.release()  # one of three ended without an answer: two in flight
    t.observe(200, headers(limit=10, remaining=2, reset=30))  # one answered: one in flight
    # The provider's 2 do not count the one still in flight: one slot is left.
    assert waits(t, 2) == [0.0, 30.0]


def test_an_http_date_retry_after_is_measured_from_the_throttles_wall_clock() -> None:
    clock = Clock()
    t = throttle(clock)
    admitted(t)
    date = email.utils.formatdate(clock.wall() + 30, usegmt=True)
    assert t.observe(429, {"retry-after": date}) == 30.0
    assert t.blocked_for() == 30.0


def test_an_http_date_is_measured_from_the_real_clock_by_default() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # long past: go now


@pytest.mark.parametrize(("value", "expected"), [
    ("21 Oct 2015 07:28:00 GMT", None),  # starts with a digit: not an HTTP date
    ("Wed," + " " * 36 + "21 Oct 2015 07:28:00 GMT", 30.0),  # 64 characters: read
    ("Wed," + " " * 37 + "21 Oct 2015 07:28:00 GMT", None),  # 65: not read
    ("1" * 64, float("1" * 64)),  # 64 digits: a (huge) number of seconds
    ("1" * 65, None),  # 65: unreadable
])
def test_retry_after_values_at_the_edges(value: str, expected: float | None) -> None:
    assert parse_retry_after(value, now=DATE_NOW) == expected


def test_a_short_wait_counts_as_a_wait() -> None:
    clock = Clock()
    t = throttle(clock)
    answered(t, 429, {"retry-after": "0.5"})
    ticket = t.enqueue()
    assert t.wait_for(ticket) == 0.5
    clock.now += 0.5
    assert t.wait_for(ticket) == 0.0
    assert (t.stats.waits, t.stats.total_wait) == (1, 0.5)


def test_a_caller_behind_the_first_probe_rechecks_at_half_its_age() -> None:
    clock = Clock(start=0.3)
    t = throttle(clock)
    first, second = t.enqueue(), t.enqueue()
    # Nobody admitted yet (since 0.0): the second caller waits half of the 0.3 s.
    assert t.wait_for(second) == pytest.approx(0.15)
    assert t.wait_for(first) == 0.0
    clock.now = 0.4
    # The probe left at 0.3 and has no answer: re-check in (0.4 - 0.3) / 2.
    assert t.wait_for(second) == pytest.approx(0.05)


def test_every_429_is_counted() -> None:
    t = throttle(Clock())
    answered(t, 429, {"retry-after": "0"})
    answered(t, 429, {"retry-after": "0"})
    assert t.stats.rate_limited == 2


def test_a_429_leaves_nothing_for_the_requests_still_in_flight() -> None:
    t = throttle(Clock())
    answered(t, 200, headers(limit=10, remaining=10, reset=30))
    for _ in range(3):
        admitted(t)
    # One of three is refused: the provider has nothing left, and the two still in flight
    # will take their slots, so the next caller waits for the reset.
    assert t.observe(429, {"retry-after": "0"}) == 0.0
    assert waits(t, 1) == [30.0]


def test_a_429_on_a_leaky_bucket_restarts_the_drain_from_now() -> None:
    clock = Clock()
    t = throttle(clock, "leaky")
    # Level 10 - 4 = 6 emptying within 10 s: at least (6 - 1) / 10 = 0.5 slot a second.
    answered(t, 200, headers(limit=10, remaining=4, reset=10))
    admitted(t)
    assert t.observe(429, {"retry-after": "0"}) == 0.0
    clock.now += 2  # 2 s at 0.5 a second: one slot
    assert waits(t, 2) == [0.0, 2.0]


def test_a_429_after_the_reset_of_a_leaky_bucket_says_go_now() -> None:
    clock = Clock()
    t = throttle(clock, "leaky")
    answered(t, 200, headers(limit=10, remaining=0, reset=5))
    clock.now += 6
    admitted(t)
    assert t.observe(429, {}) == 0.0


@pytest.mark.parametrize(("limit", "shown"), [("0", "limit=None"), ("1", "limit=1")])
def test_a_limit_is_learnt_when_positive(limit: str, shown: str) -> None:
    t = throttle(Clock())
    answered(t, 200, {"x-ratelimit-limit": limit})
    assert shown in repr(t)
