"""Client-side pacing from the provider's rate-limit headers.

A bulk job that bounces off 429s wastes the limit on refusals and risks failing
records; a throttle that reads `X-RateLimit-Limit/Remaining/Reset` and `Retry-After`
paces calls to run just under the limit instead. One `Throttle` is shared by every
thread and async task of one gateway (one set of merchant credentials).

How a caller gets its turn (the HTTP layer does this for every authenticated request):

```python
ticket = throttle.enqueue()              # join the queue (first come, first served)
while (wait := throttle.wait_for(ticket)) > 0:
    sleep(wait)                           # time.sleep or asyncio.sleep; no lock is held
# admitted: send, then throttle.observe(status, headers), or throttle.release()
```

The decision to send is taken when the caller wakes up, against what the throttle knows
*then*, not when it joined the queue: an answer that arrived meanwhile (a 429, a smaller
`Remaining`, a new window) re-plans every waiter instead of letting stale plans send into
a refusal. Waiters are served in ticket order: the wait of the n-th waiter is the time
until n tokens exist, so they wake one behind the other rather than all at once. Until
the throttle knows the limit (no answer yet), one request goes ahead as a probe and the
others wait for its answer, so an opening burst of 200 tasks does not become 200
simultaneous requests against a limit of 100.

Every wait is a finite, non-negative number of seconds. The caller compares what the
provider imposes (`Ticket.imposed`) with its cap (`RetryPolicy.retry_after_cap` in the
HTTP layer) and gives up with `RateLimited` past it, whichever header made the wait long
(`Retry-After`, a distant `X-RateLimit-Reset`, a bucket that frees its next slot late).
Header values that are not finite numbers are unreadable and ignored.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable, Mapping

import attrs

from .errors import ConfigurationError

__all__ = ["Throttle", "ThrottleStats", "Ticket", "parse_retry_after"]


def _number(value: str | None) -> float | None:
    """A header's value as a finite float, or `None` when it is absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    try:
        number = float(text)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value: delta-seconds or an HTTP date.

    `now` is the wall-clock time (epoch seconds) an HTTP date is measured from. Returns
    `None` for a missing or unreadable value (garbage, NaN, infinities, numbers too large
    for a float), and never a negative or infinite wait. A finite but enormous value is
    returned as it is: the caller's cap turns it into `RateLimited`.
    """
    if value is None:
        return None
    seconds = _number(value)
    if seconds is None:
        text = value.strip()
        if not text or len(text) > 64 or any(c.isdigit() for c in text[:1]):
            return None
        import email.utils  # rare (an HTTP date), and costly to import at start-up

        try:
            when = email.utils.parsedate_to_datetime(text)
            if when.tzinfo is None:
                return None
            seconds = when.timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _count(value: str | None) -> int | None:
    """A non-negative count (`Limit`, `Remaining`) or `None` when unreadable."""
    number = _number(value)
    if number is None or number < 0:
        return None
    return int(number)


@attrs.define
class ThrottleStats:
    """What the throttle did, for dashboards and tests.

    `requests`: callers that queued. `waits`: how many of them were told to wait,
    `total_wait` and `longest_wait` in seconds (what they were told, summed per caller).
    `rate_limited`: 429 answers seen anyway.
    """

    requests: int = 0
    waits: int = 0
    total_wait: float = 0.0
    longest_wait: float = 0.0
    rate_limited: int = 0


class Ticket:
    """A caller's place in a throttle's queue (from `Throttle.enqueue`)."""

    __slots__ = ("admitted", "cancelled", "imposed", "number", "waited")

    def __init__(self, number: int) -> None:
        self.number = number
        self.waited = 0.0
        self.imposed = 0.0
        """Seconds the provider makes the next request wait, as of the last `wait_for`."""
        self.admitted = False
        self.cancelled = False

    def __repr__(self) -> str:
        state = "admitted" if self.admitted else "cancelled" if self.cancelled else "waiting"
        return f"<Ticket {self.number} {state}>"


_EPOCH_THRESHOLD = 1_000_000_000  # a Reset above this is epoch seconds, below it a delta
_ADMIT_EPSILON = 1e-6  # a wait shorter than this is no wait (float rounding)
_POLL_MIN = 0.005  # while waiting for an answer that tells the limit, re-check this often...
_POLL_MAX = 0.25  # ...backing off to this for slow answers
_RECHECK = 1.0  # a caller behind others in the queue re-plans at least this often
_MAX_WINDOW = 86_400.0  # a longer "window" estimate is not a window: do not plan with it


class Throttle:
    """Paces one gateway's requests to its provider's advertised rate limit.

    `model="window"`: `Remaining` requests are left until `Reset`, when a fresh window of
    `Limit` starts. `model="leaky"` (Salla): a bucket of `Limit` drains continuously and
    is empty at `Reset`, so it frees about `(Limit - Remaining) / (Reset - now)` slots a
    second; the throttle keeps a lower bound of that rate, and until it knows one, callers
    beyond what remains wait for the bucket to be empty.
    `Reset` may be epoch seconds or seconds from now. A `Retry-After` on a 429 or 503
    holds every caller until it has passed.

    `enabled=False` keeps the statistics but never waits. `clock` (monotonic) and
    `wall_clock` (epoch) are injectable so the arithmetic can be tested without waiting.
    """

    def __init__(
        self,
        *,
        model: str = "window",
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if model not in ("window", "leaky"):
            raise ConfigurationError(f"model must be 'window' or 'leaky', got {model!r}",
                                     setting="model")
        if not isinstance(enabled, bool):
            raise ConfigurationError(f"enabled must be True or False, got {enabled!r}",
                                     setting="enabled")
        self.model = model
        self.enabled = enabled
        self._clock = clock
        self._wall = wall_clock
        self._lock = threading.Lock()
        self._queue: list[int] = []  # numbers of the tickets waiting, in order
        self._issued = 0
        self._answered = False  # an answer arrived (with or without rate-limit headers)
        self._limit: int | None = None
        self._tokens: float | None = None  # None: nothing known yet
        self._as_of = 0.0  # when `_tokens` was last brought up to date (leaky model)
        self._reset_at: float | None = None  # monotonic time of the (window's) reset
        self._reset_key: float | None = None  # the current window's reset, epoch seconds
        self._stale_before: float | None = None  # answers about windows up to this are old
        self._window: float | None = None  # window length estimate (window model)
        self._fresh_window = False  # the answer being read opened a new window
        self._refilled_at: float | None = None  # when the last window turned over
        self._rate: float | None = None  # slots freed per second (leaky model)
        self._blocked_until = 0.0
        self._in_flight = 0
        self._last_admitted = 0.0
        self.stats = ThrottleStats()

    # ---- what callers use -------------------------------------------------------------
    def blocked_for(self) -> float:
        """Seconds left of a provider's `Retry-After` (0 when none applies or disabled)."""
        if not self.enabled:
            return 0.0
        with self._lock:
            return max(0.0, self._blocked_until - self._clock())

    def enqueue(self) -> Ticket:
        """Join the queue for one request; then call `wait_for` until it returns 0.

        A ticket ends admitted (then exactly one `observe()` or `release()` follows) or
        cancelled (`cancel()`: the caller gave up before sending).
        """
        with self._lock:
            self._issued += 1
            ticket = Ticket(self._issued)
            self._queue.append(ticket.number)
            self.stats.requests += 1
            return ticket

    def wait_for(self, ticket: Ticket, *, cap: float = math.inf) -> float:
        """Seconds *ticket* should sleep before asking again; `0.0` means it is admitted
        (counted as sent: follow with `observe()` or `release()`).

        *cap* is the longest wait the caller accepts. Where only the throttle's own
        estimate (a lower bound of a bucket's drain rate) puts the next slot beyond it,
        the provider is asked instead: one request goes ahead and its answer (a success,
        or a 429 with the provider's own `Retry-After`) decides.

        Also sets `ticket.imposed`: how long the provider makes the *next* request wait
        (its `Retry-After`, the time to the next window or to the next slot of its
        bucket). That is what a caller compares with its cap: the rest of a long wait is
        the queue of this gateway's own callers ahead of this one, served in order. A
        caller far back in the queue is told to sleep at most about a second beyond
        `imposed` at a time, so it re-plans as the throttle learns more.
        """
        with self._lock:
            if ticket.admitted:
                return 0.0
            if ticket.cancelled:
                raise ValueError(f"{ticket!r} was cancelled")
            now = self._clock()
            self._advance(now)
            wait = imposed = 0.0
            if self.enabled:
                position = bisect.bisect_left(self._queue, ticket.number)
                wait = self._wait(now, position, cap)
                imposed = self._wait(now, 0, cap) if position else wait
            ticket.imposed = imposed
            if wait <= _ADMIT_EPSILON:
                self._admit(ticket, now)
                return 0.0
            wait = max(imposed, min(wait, _RECHECK))
            ticket.waited += wait
            return wait

    def admit(self, ticket: Ticket) -> None:
        """Admit *ticket* now, whatever the limit says (test mode: waits take no time, so
        a caller that was told to wait has done so)."""
        with self._lock:
            if not ticket.admitted and not ticket.cancelled:
                self._admit(ticket, self._clock())

    def cancel(self, ticket: Ticket) -> None:
        """Leave the queue without sending (cancelled, or the wait was too long).

        Harmless for a ticket already admitted (then `release()` is what gives its
        slot back) or already cancelled.
        """
        with self._lock:
            if not ticket.admitted and not ticket.cancelled:
                ticket.cancelled = True
                self._dequeue(ticket)

    def release(self) -> None:
        """An admitted request ended without a response (connection error, cancelled).

        Its token is given back: a request that never got an answer may not have counted,
        and erring towards one request too many costs at most one 429, which is retried.
        """
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if self._tokens is not None:
                self._tokens += 1

    def observe(self, status: int | None, headers: Mapping[str, str], *,
                elapsed: float = 0.0) -> float | None:
        """Learn from a response's headers (names lower-case); returns its `Retry-After`
        in seconds, if any (on a 429 without one: the time until `Reset`).

        *elapsed* is how long the request took: the provider wrote the headers somewhere
        in that span, so a bucket's drain rate is estimated from its start (a slow answer
        must not make the rate look faster than it is).
        """
        retry_after = parse_retry_after(headers.get("retry-after"), now=self._wall())
        with self._lock:
            now = self._clock()
            self._in_flight = max(0, self._in_flight - 1)
            self._answered = True
            self._advance(now)
            limit = _count(headers.get("x-ratelimit-limit"))
            remaining = _count(headers.get("x-ratelimit-remaining"))
            reset = _number(headers.get("x-ratelimit-reset"))
            if reset is not None and reset < 0:
                reset = None
            if limit is not None and limit > 0:
                self._limit = limit
            current = True
            if reset is not None:
                current = self._learn_reset(now, reset, remaining, max(0.0, elapsed))
            if remaining is not None and current:
                self._learn_remaining(now, remaining)
            if status == 429:
                self.stats.rate_limited += 1
                # The provider has nothing left, whatever the headers said.
                self._tokens = min(self._tokens if self._tokens is not None else 0.0,
                                   -float(self._in_flight))
                self._as_of = now
                if retry_after is None and self._reset_at is not None:
                    retry_after = max(0.0, self._reset_at - now)
            if retry_after is not None and status in (429, 503):
                self._blocked_until = max(self._blocked_until, now + retry_after)
        return retry_after

    # ---- arithmetic ---------------------------------------------------------------------
    def _admit(self, ticket: Ticket, now: float) -> None:
        ticket.admitted = True
        self._dequeue(ticket)
        self._in_flight += 1
        self._last_admitted = now
        if self._tokens is not None:
            self._tokens -= 1
        if ticket.waited > 0:
            self.stats.waits += 1
            self.stats.total_wait += ticket.waited
            self.stats.longest_wait = max(self.stats.longest_wait, ticket.waited)

    def _dequeue(self, ticket: Ticket) -> None:
        index = bisect.bisect_left(self._queue, ticket.number)
        if index < len(self._queue) and self._queue[index] == ticket.number:
            del self._queue[index]

    def _poll(self, now: float, position: int) -> float:
        """Wait for an answer that tells more: only the head of the queue may probe."""
        if self._in_flight == 0 and position == 0:
            return 0.0
        # Re-check about twice per round trip of the request being waited for.
        return min(_POLL_MAX, max(_POLL_MIN, (now - self._last_admitted) / 2))

    def _wait(self, now: float, position: int, cap: float) -> float:
        """How long until the caller at *position* in the queue may send."""
        blocked = max(0.0, self._blocked_until - now)
        if self._tokens is None:
            if self._answered:  # answers carry no rate-limit headers: nothing to pace by
                return blocked
            return max(blocked, self._poll(now, position))  # the first answer tells us
        need = position + 1.0  # this caller's token comes after those of the callers ahead
        if self._tokens >= need:
            return blocked
        deficit = need - self._tokens
        if self.model == "leaky" and self._rate:
            if (1.0 - self._tokens) / self._rate > cap:
                # Only an estimate says the next slot is that far: let one request ask.
                return max(blocked, self._poll(now, position))
            return max(blocked, deficit / self._rate)
        if self._reset_at is None or now >= self._reset_at:
            # No known refill ahead (or one that could not be applied: no `Limit`). An
            # answer will tell; a caller that needs a later window than the next one
            # sleeps until about then instead of re-checking all along.
            poll = self._poll(now, position)
            if (self.model == "window" and self._limit and self._window
                    and self._refilled_at is not None):
                windows = math.ceil(deficit / self._limit)
                poll = max(poll, self._refilled_at + windows * self._window - now)
            return max(blocked, poll)
        until_reset = self._reset_at - now
        if self.model == "window" and self._limit and self._window:
            # Later windows serve `limit` callers each; re-checked on waking anyway.
            windows = math.ceil(deficit / self._limit)
            return max(blocked, until_reset + (windows - 1) * self._window)
        return max(blocked, until_reset)

    def _advance(self, now: float) -> None:
        """Bring the token count up to *now*: refill a window, or let the bucket drain."""
        if self._tokens is None:
            return
        if self.model == "leaky" and self._rate:
            # The bucket never frees more than its size, however long nobody asked, and
            # requests still unanswered will take their place in it.
            ceiling = float(self._limit - self._in_flight) if self._limit else math.inf
            self._tokens = min(ceiling, self._tokens + self._rate * (now - self._as_of))
        elif self._reset_at is not None and now >= self._reset_at and self._limit:
            # A fresh window (or an emptied bucket). Requests still unanswered may arrive
            # after the turn and count in it, so they are spent from it (and any debt is
            # carried over). The next answer tells the next reset.
            self._tokens = self._limit - max(float(self._in_flight), -self._tokens)
            self._refilled_at = self._reset_at
            self._reset_at = None
            self._stale_before = self._reset_key
            self._reset_key = None
        self._as_of = now

    def _learn_reset(self, now: float, reset: float, remaining: int | None,
                     elapsed: float) -> bool:
        """Adopt the answer's `Reset`; `False` if it describes a window already over."""
        delta = self._reset_delta(reset)
        key = reset if reset > _EPOCH_THRESHOLD else self._wall() + delta
        if self.model == "window":
            # Reset is whole seconds: keys less than a second apart name the same window.
            if self._stale_before is not None and key < self._stale_before + 1.0:
                return False  # an answer from before the window turned over
            if self._reset_key is not None and key < self._reset_key + 1.0:
                # The same window (`_learn_remaining` keeps the lower count), or an older one.
                return key > self._reset_key - 1.0
            self._reset_key = key
            self._reset_at = now + delta
            if 0 < delta <= _MAX_WINDOW:
                self._window = max(self._window or 0.0, delta)
            self._fresh_window = True
            return True
        self._reset_at = now + delta
        # Measured from when the request left: the provider may have written the headers
        # that long ago.
        span = delta + elapsed if reset > _EPOCH_THRESHOLD else delta
        if remaining is not None and self._limit and 0 < span <= _MAX_WINDOW:
            # `Remaining` is rounded down and `Reset` up to whole seconds, so the bucket
            # holds more than `level - 1` and empties within `span`: `(level - 1) / span`
            # is a lower bound of the drain rate, and so is the largest one seen.
            level = self._limit - remaining
            if level > 1:
                self._rate = max(self._rate or 0.0, (level - 1) / span)
        return True

    def _learn_remaining(self, now: float, remaining: int) -> None:
        # The provider counted this request but maybe not those still in flight.
        estimate = float(remaining - self._in_flight)
        if self._tokens is not None and not self._fresh_window:
            # Answers arrive out of order: within one window (or from a bucket whose count
            # the throttle already follows) never believe a count higher than one already
            # seen; the bucket's drain and the next window raise it.
            estimate = min(estimate, self._tokens)
        self._fresh_window = False
        self._tokens = estimate
        self._as_of = now

    def _reset_delta(self, reset: float) -> float:
        # Epoch seconds (Salla) or, when small, seconds from now (a common alternative).
        if reset > _EPOCH_THRESHOLD:
            return max(0.0, reset - self._wall())
        return reset

    def __repr__(self) -> str:
        # Safe on a half-built instance (a constructor that raised): reprs are debugging aids.
        held = getattr(self, "_tokens", None)
        tokens = "unknown" if held is None else f"{held:.1f}"
        stats = getattr(self, "stats", ThrottleStats())
        return (f"<Throttle model={getattr(self, 'model', '?')} "
                f"limit={getattr(self, '_limit', None)} tokens={tokens} "
                f"queued={len(getattr(self, '_queue', ()))} waits={stats.waits} "
                f"total_wait={stats.total_wait:.2f}s>")
