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


# ---- the repr, on a half-built instance too ----------------------------------------------
def test_the_repr_of_a_half_built_throttle_shows_placeholders() -> None:
    # A constructor that raised leaves an instance without attributes; a debugger or a log
    # line may still show it.
    t = Throttle.__new__(Throttle)
    assert repr(t) == ("<Throttle model=? limit=None tokens=unknown queued=0 waits=0 "
                       "total_wait=0.00s>")


def test_the_repr_shows_the_waits_so_far() -> None:
    clock = Clock()
    t = throttle(clock)
    answered(t, 429, {"retry-after": "2"})
    ticket = t.enqueue()
    assert t.wait_for(ticket) == 2.0
    clock.now += 2
    assert t.wait_for(ticket) == 0.0
    assert repr(t) == ("<Throttle model=window limit=None tokens=-1.0 queued=0 waits=1 "
                       "total_wait=2.00s>")


def test_a_first_answer_that_is_a_429_leaves_zero_tokens_not_minus_zero() -> None:
    t = throttle(Clock())
    answered(t, 429, {})
    assert "tokens=0.0 " in repr(t)


# ---- tickets --------------------------------------------------------------------------------
def test_cancelling_a_ticket_this_throttle_never_issued_changes_nothing() -> None:
    t = throttle(Clock())
    own = t.enqueue()
    stranger = Ticket(7)  # a number past the end of this throttle's queue
    t.cancel(stranger)
    assert stranger.cancelled is True
    assert repr(t).endswith("queued=1 waits=0 total_wait=0.00s>")
    assert t.wait_for(own) == 0.0


def test_a_wait_of_exactly_the_admission_epsilon_is_no_wait() -> None:
    clock = Clock(start=0.0)  # 0 + 1e-6 - 0 is exactly 1e-6
    t = throttle(clock)
    answered(t, 429, {"retry-after": "0.000001"})
    assert t.wait_for(t.enqueue()) == 0.0


def test_the_waits_of_one_ticket_add_up() -> None:
    clock = Clock()
    t = throttle(clock)
    answered(t, 429, {"retry-after": "1"})
    ticket = t.enqueue()
    assert t.wait_for(ticket) == 1.0
    clock.now += 0.5
    assert t.wait_for(ticket) == 0.5
    clock.now += 0.5
    assert t.wait_for(ticket) == 0.0
    assert (t.stats.waits, t.stats.total_wait, t.stats.longest_wait) == (1, 1.5, 1.5)


# ---- the window model: which answer describes which window --------------------------------
def test_a_lower_count_later_in_the_same_window_is_learnt() -> None:
    clock = Clock()
    t = throttle(clock)
    answered(t, 200, headers(limit=10, remaining=5, reset=30))  # window ends at wall 130
    clock.now += 10
    answered(t, 200, headers(limit=10, remaining=2, reset=20))  # the same window
    assert waits(t, 3) == [0.0, 0.0, 20.0]


def test_a_higher_count_later_in_the_same_window_is_not_believed() -> None:
    # Answers overtake one another: within a window the lower count stands. 2 left, one
    # more sent: 1 left, whatever the later answer says.
    clock = Clock()
    t = throttle(clock)
    answered(t, 200, headers(limit=10, remaining=2, reset=30))
    clock.now += 10
    answered(t, 200, headers(limit=10, remaining=5, reset=20))
    assert waits(t, 2) == [0.0, 20.0]


def two_in_flight(t: Throttle) -> None:
    """Two requests sent before any answer (the second forced through, as in test mode)."""
    admitted(t)
    t.admit(t.enqueue())


def test_a_reset_one_second_later_is_a_new_window() -> None:
    t = throttle(Clock())
    two_in_flight(t)
    t.observe(200, headers(limit=10, remaining=0, reset=30))
    t.observe(200, headers(limit=10, remaining=5, reset=31))  # a new window: its 5 stand
    assert waits(t, 6) == [0.0] * 5 + [31.0]


def test_a_reset_one_second_earlier_is_an_older_window() -> None:
    t = throttle(Clock())
    two_in_flight(t)
    t.observe(200, headers(limit=10, remaining=5, reset=30))  # 5 - 1 in flight
    t.observe(200, headers(limit=10, remaining=0, reset=29))  # ignored
    assert waits(t, 5) == [0.0] * 4 + [30.0]


def test_a_late_answer_about_the_window_that_just_turned_over_is_ignored() -> None:
    clock = Clock()
    t = throttle(clock)
    answered(t, 200, headers(limit=10, remaining=10, reset=30))  # the window ends at 130
    for _ in range(3):
        admitted(t)
    clock.now = 130.0
    # Sent in the old window: its Reset (half a second from now, less than a second from
    # the turn) names the window that is over; 10 - 2 still in flight are left.
    t.observe(200, headers(limit=10, remaining=0, reset=0) | {"x-ratelimit-reset": "0.5"})
    assert waits(t, 9) == [0.0] * 8 + [30.0]


def test_a_reset_one_second_after_the_turn_is_the_new_window() -> None:
    clock = Clock()
    t = throttle(clock)
    answered(t, 200, headers(limit=10, remaining=10, reset=30))
    clock.now = 130.0
    answered(t, 200, headers(limit=10, remaining=0, reset=1))  # the new window's count
    assert waits(t, 1) == [1.0]


def test_a_window_refills_whole_whatever_was_left_unused() -> None:
    clock = Clock()
    t = throttle(clock)
    answered(t, 200, headers(limit=10, remaining=5, reset=30))
    clock.now += 30
    # 10 fresh slots, the next window 30 s on.
    assert waits(t, 11) == [0.0] * 10 + [30.0]


def test_a_debt_deeper_than_the_requests_in_flight_survives_a_429() -> None:
    clock = Clock()
    t = throttle(clock)
    answered(t, 200, headers(limit=10, remaining=0, reset=30))
    for _ in range(3):
        t.admit(t.enqueue())  # test mode: sent whatever the count (-3 tokens, 3 in flight)
    t.observe(429, {"retry-after": "0"})  # 2 in flight, still 3 in debt
    clock.now += 30
    # The new window pays the debt of 3: 7 slots, then the window after (30 s on).
    assert waits(t, 8) == [0.0] * 7 + [30.0]


@pytest.mark.parametrize("delta", ["1", "86400"])
def test_a_window_of_one_second_to_a_day_is_learnt(delta: str) -> None:
    clock = Clock()
    t = throttle(clock)
    answered(t, 200, headers(limit=2, remaining=0, reset=0) | {"x-ratelimit-reset": delta})
    clock.now += float(delta) - 0.5  # half a second before the reset
    t.enqueue(), t.enqueue()
    third = t.enqueue()
    # The third caller needs the window after the next: 0.5 s plus one window, told to
    # re-check after a second at most; without a window length, 0.5 s.
    assert t.wait_for(third) == 1.0


def test_a_window_shorter_than_a_second_is_learnt_as_it_is() -> None:
    clock = Clock()
    t = throttle(clock)
    answered(t, 200, headers(limit=2, remaining=0, reset=0) | {"x-ratelimit-reset": "0.5"})
    clock.now += 0.25
    t.enqueue(), t.enqueue()
    # 0.25 s to the reset plus one window of 0.5 s.
    assert t.wait_for(t.enqueue()) == 0.75


@pytest.mark.parametrize(("reset", "told"), [("0", [0.0, 0.0]), ("0.5", [0.5])])
def test_a_reset_of_zero_or_under_a_second_is_read(reset: str, told: list[float]) -> None:
    t = throttle(Clock())
    answered(t, 200, headers(limit=10, remaining=0, reset=0) | {"x-ratelimit-reset": reset})
    # "0": the window is over now, 10 fresh slots; "0.5": wait for it.
    assert waits(t, len(told)) == told


def test_a_count_without_a_reset_is_learnt() -> None:
    t = throttle(Clock())
    answered(t, 200, {"x-ratelimit-limit": "10", "x-ratelimit-remaining": "0"})
    # Nothing left and no reset known: one probe, and the next caller waits for its answer.
    assert waits(t, 2) == [0.0, 0.005]


def test_a_reset_reached_without_a_limit_waits_for_an_answer() -> None:
    clock = Clock()
    t = throttle(clock)
    answered(t, 200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "30"})
    clock.now = 130.0  # the reset, but no Limit to refill with
    assert waits(t, 2) == [0.0, 0.005]


def test_an_epoch_reset_of_now_refills_at_once_and_teaches_no_window() -> None:
    t = throttle(Clock())
    answered(t, 200, headers(limit=10, remaining=0, reset=int(EPOCH + 100)))
    # 10 fresh slots; then no window length is known: wait for an answer.
    assert waits(t, 11) == [0.0] * 10 + [0.005]


def test_a_reset_of_exactly_the_epoch_threshold_is_seconds_from_now() -> None:
    t = throttle(Clock())
    two_in_flight(t)
    t.observe(200, headers(limit=10, remaining=0, reset=1_000_000_000))  # 10**9 s away
    t.observe(200, headers(limit=10, remaining=5, reset=30))  # an older window: ignored
    assert t.wait_for(t.enqueue()) == 1_000_000_000.0


# ---- the leaky bucket's rate ---------------------------------------------------------------
def test_a_full_bucket_never_holds_more_than_its_free_slots() -> None:
    clock = Clock()
    t = throttle(clock, "leaky")
    answered(t, 200, headers(limit=10, remaining=4, reset=10))  # 0.5 slot a second
    admitted(t), admitted(t)
    clock.now += 100
    # Drained long ago, but 2 requests in flight will take their places: 8 free.
    assert waits(t, 9) == [0.0] * 8 + [2.0]


def test_a_slow_answer_with_a_relative_reset_is_timed_from_its_arrival() -> None:
    t = throttle(Clock(), "leaky")
    admitted(t)
    # Reset in seconds from now: the provider counted from when it answered, so the
    # request's 2 s do not stretch the span: (6 - 1) / 10 = 0.5 slot a second.
    t.observe(200, headers(limit=10, remaining=4, reset=10), elapsed=2.0)
    assert waits(t, 5) == [0.0] * 4 + [2.0]


@pytest.mark.parametrize("hdrs", [
    {"x-ratelimit-limit": "10", "x-ratelimit-reset": "10"},
    {"x-ratelimit-remaining": "4", "x-ratelimit-reset": "10"},
    headers(limit=10, remaining=4, reset=0),
])
def test_a_bucket_learns_no_rate_from_a_partial_answer(hdrs: dict[str, str]) -> None:
    t = throttle(Clock(), "leaky")
    assert answered(t, 200, hdrs) is None
    assert "tokens=" in repr(t)


def test_a_bucket_emptying_within_a_day_teaches_its_rate() -> None:
    t = throttle(Clock(), "leaky")
    answered(t, 200, headers(limit=10, remaining=4, reset=86400))
    # (6 - 1) / 86400 slots a second: one slot every 17,280 s.
    assert waits(t, 5) == [0.0] * 4 + [17280.0]


def test_a_bucket_estimate_of_exactly_the_cap_is_waited() -> None:
    t = throttle(Clock(), "leaky")
    answered(t, 200, headers(limit=10, remaining=4, reset=10))  # 0.5 slot a second
    for _ in range(4):
        admitted(t)
    # The next slot in 2 s by the estimate, which is not beyond a cap of 2 s.
    assert t.wait_for(t.enqueue(), cap=2.0) == 2.0


def test_with_a_clock_ahead_of_the_providers_one_window_is_not_taken_for_two() -> None:
    # This machine's clock is ahead: the provider's epoch Reset looks 5 s past. Its windows
    # are told apart by that Reset, not by when the answers arrived here.
    clock = Clock()
    t = throttle(clock)
    answered(t, 200, headers(limit=2, remaining=1, reset=int(EPOCH + 95)))
    admitted(t), admitted(t)  # the "past" reset refilled the window: 2 slots, both used
    clock.now += 2
    t.observe(200, headers(limit=2, remaining=0, reset=int(EPOCH + 95)))  # the same window
    # No fresh slots: the next caller waits for the answer still in flight, re-checking
    # every half of its 2 s age, at most every 0.25 s.
    assert waits(t, 1) == [0.25]
