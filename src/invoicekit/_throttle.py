"""Client-side pacing from the provider's rate-limit headers.

A bulk job that bounces off 429s wastes the limit on refusals and risks failing
records; a throttle that reads `X-RateLimit-Limit/Remaining/Reset` and `Retry-After`
paces calls to run just under the limit instead. One `Throttle` is shared by every
thread and async task of one gateway (one set of merchant credentials): reservations
are made under a `threading.Lock` that is only held to do arithmetic, never to sleep;
the caller sleeps (`time.sleep` or `asyncio.sleep`) for the wait it was given.

The model is a token count with debt: `tokens` is how many more requests the provider
would accept right now, minus the requests already reserved but not yet answered. A
reservation takes one token; when none is left it takes one anyway (the count goes
negative) and is told how long until that token exists. So concurrent callers queue
one behind the other instead of all waking at the same instant.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping

import attrs

__all__ = ["Throttle", "ThrottleStats", "parse_retry_after"]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value: delta-seconds or an HTTP date.

    `now` is the wall-clock time (epoch seconds) an HTTP date is measured from. Returns
    `None` for a missing or unreadable value, and never a negative or infinite wait.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        import email.utils  # rare (an HTTP date), and costly to import at start-up

        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0:
        return None
    return int(number)


@attrs.define
class ThrottleStats:
    """What the throttle did, for dashboards and tests.

    `requests`: reservations made. `waits`: how many of them had to wait, `total_wait`
    and `longest_wait` in seconds. `rate_limited`: 429 answers seen anyway.
    """

    requests: int = 0
    waits: int = 0
    total_wait: float = 0.0
    longest_wait: float = 0.0
    rate_limited: int = 0


_EPOCH_THRESHOLD = 1_000_000_000  # a Reset above this is epoch seconds, below it a delta


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
            raise ValueError("model must be 'window' or 'leaky'")
        self.model = model
        self.enabled = enabled
        self._clock = clock
        self._wall = wall_clock
        self._lock = threading.Lock()
        self._limit: int | None = None
        self._tokens: float | None = None  # None: nothing known yet, never wait
        self._as_of = 0.0  # when `_tokens` was last brought up to date (leaky model)
        self._reset_at: float | None = None  # monotonic time of the (window's) reset
        self._reset_header: int | None = None
        self._window: float | None = None  # window length estimate (window model)
        self._rate: float | None = None  # slots freed per second (leaky model)
        self._blocked_until = 0.0
        self._in_flight = 0
        self.stats = ThrottleStats()

    # ---- what callers use -------------------------------------------------------------
    def blocked_for(self) -> float:
        """Seconds left of a provider's `Retry-After` (0 when none applies or disabled)."""
        if not self.enabled:
            return 0.0
        with self._lock:
            return max(0.0, self._blocked_until - self._clock())

    def reserve(self) -> float:
        """Reserve a slot for one request; return how long to wait before sending it.

        Every reservation must be followed by exactly one `observe()` (a response
        arrived) or `release()` (it did not).
        """
        with self._lock:
            now = self._clock()
            self._advance(now)
            self.stats.requests += 1
            self._in_flight += 1
            wait = max(0.0, self._blocked_until - now)
            if self._tokens is not None:
                if self._tokens < 1:
                    wait = max(wait, self._wait_for_token(now))
                self._tokens -= 1
            if not self.enabled:
                return 0.0
            if wait > 0:
                self.stats.waits += 1
                self.stats.total_wait += wait
                self.stats.longest_wait = max(self.stats.longest_wait, wait)
            return wait

    def release(self) -> None:
        """A reserved request ended without a response (connection error, cancelled).

        Its token is given back: a request that never got an answer may not have counted,
        and erring towards one request too many costs at most one 429, which is retried.
        """
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            if self._tokens is not None:
                self._tokens += 1

    def observe(self, status: int | None, headers: Mapping[str, str]) -> float | None:
        """Learn from a response's headers (names lower-case); returns its `Retry-After`
        in seconds, if any (on a 429 without one: the time until `Reset`)."""
        retry_after = parse_retry_after(headers.get("retry-after"), now=self._wall())
        with self._lock:
            now = self._clock()
            self._in_flight = max(0, self._in_flight - 1)
            self._advance(now)
            limit = _int(headers.get("x-ratelimit-limit"))
            remaining = _int(headers.get("x-ratelimit-remaining"))
            reset = _int(headers.get("x-ratelimit-reset"))
            if limit is not None and limit > 0:
                self._limit = limit
            if reset is not None:
                self._learn_reset(now, reset, remaining)
            if remaining is not None:
                self._learn_remaining(now, remaining, same_window=reset == self._reset_header)
            if reset is not None:
                self._reset_header = reset
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
    def _advance(self, now: float) -> None:
        """Bring the token count up to *now*: refill a window, or let the bucket drain."""
        if self._tokens is None:
            return
        if self.model == "window":
            if self._reset_at is not None and now >= self._reset_at and self._limit:
                # A fresh window; reservations queued past the old one consume it first.
                self._tokens = self._limit + min(self._tokens, 0.0)
                self._reset_at = self._reset_at + self._window if self._window else None
                if self._reset_at is not None and now >= self._reset_at:
                    self._reset_at = None  # long idle: the next response tells us
        elif self._rate:
            ceiling = float(self._limit) if self._limit else math.inf
            # The bucket never frees more than its size, however long nobody asked.
            self._tokens = min(ceiling, self._tokens + self._rate * (now - self._as_of))
        self._as_of = now

    def _wait_for_token(self, now: float) -> float:
        """How long until the token this reservation takes exists (`_tokens < 1`)."""
        assert self._tokens is not None
        deficit = 1.0 - self._tokens  # >= 1 when some callers are already queued
        if self.model == "leaky":
            if self._rate:
                return deficit / self._rate
            return max(0.0, self._reset_at - now) if self._reset_at is not None else 0.0
        if self._reset_at is None:
            return 0.0
        until_reset = max(0.0, self._reset_at - now)
        queued = deficit - 1.0  # callers ahead of this one, waiting for later windows
        if self._limit and self._window and queued >= self._limit:
            return until_reset + (queued // self._limit) * self._window
        return until_reset

    def _learn_reset(self, now: float, reset: int, remaining: int | None) -> None:
        delta = self._reset_delta(reset)
        self._reset_at = now + delta
        if self.model == "window":
            if delta > 0:
                self._window = max(self._window or 0.0, delta)
        elif remaining is not None and self._limit and delta > 0:
            # `Remaining` is rounded down and `Reset` up to whole seconds, so the bucket
            # holds more than `level - 1` and empties within `delta`: `(level - 1) / delta`
            # is a lower bound of the drain rate, and so is the largest one seen.
            level = self._limit - remaining
            if level > 1:
                self._rate = max(self._rate or 0.0, (level - 1) / delta)

    def _learn_remaining(self, now: float, remaining: int, *, same_window: bool) -> None:
        # The provider counted this request but not those still in flight.
        estimate = float(remaining - self._in_flight)
        if self.model == "window" and same_window and self._tokens is not None:
            # Answers can arrive out of order: within one window, never believe a count
            # higher than one already seen.
            estimate = min(estimate, self._tokens)
        self._tokens = estimate
        self._as_of = now

    def _reset_delta(self, reset: int) -> float:
        # Epoch seconds (Salla) or, when small, seconds from now (a common alternative).
        if reset > _EPOCH_THRESHOLD:
            return max(0.0, reset - self._wall())
        return float(reset)

    def __repr__(self) -> str:
        tokens = "unknown" if self._tokens is None else f"{self._tokens:.1f}"
        return (f"<Throttle model={self.model} limit={self._limit} tokens={tokens} "
                f"waits={self.stats.waits} total_wait={self.stats.total_wait:.2f}s>")
