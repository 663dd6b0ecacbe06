"""Client-side pacing from the provider's rate-limit headers.

A bulk job that bounces off 429s wastes the limit on refusals and risks failing
records; a throttle that reads `X-RateLimit-Limit/Remaining/Reset` and `Retry-After`
paces calls to run just under the limit instead. One `Throttle` is shared by every
thread and async task of one gateway (one set of merchant credentials): reservations
are made under a `threading.Lock` that is only held to do arithmetic, never to sleep.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Mapping

import attrs

__all__ = ["Throttle", "ThrottleStats", "parse_retry_after"]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value: delta-seconds or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(0.0, seconds)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except (ValueError, OverflowError):
        return None


@attrs.define
class ThrottleStats:
    """What the throttle did: how many calls waited, and for how long in total."""

    requests: int = 0
    waits: int = 0
    total_wait: float = 0.0
    longest_wait: float = 0.0
    rate_limited: int = 0


class Throttle:
    """Paces one gateway's requests to its provider's advertised rate limit.

    `model="window"`: `Remaining` requests are left until `Reset`, then the window
    refills. `model="leaky"`: a bucket of `Limit` that drains continuously and is empty at
    `Reset`, so one slot frees every `(Reset - now) / (Limit - Remaining)` seconds (Salla).
    `enabled=False` keeps the statistics but never waits.
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
        self._remaining: float | None = None  # estimate, in-flight reservations deducted
        self._reset_at: float | None = None  # on the monotonic clock
        self._blocked_until = 0.0
        self._next_slot = 0.0
        self._in_flight = 0
        self.stats = ThrottleStats()

    def reserve(self) -> float:
        """Reserve a slot for one request; return how long to wait before sending it."""
        with self._lock:
            now = self._clock()
            self.stats.requests += 1
            self._in_flight += 1
            wait = max(0.0, self._blocked_until - now)
            if self._remaining is not None and self._reset_at is not None:
                if now >= self._reset_at and self.model == "window":
                    self._remaining = float(self._limit or 0)
                    self._reset_at = None
                elif self._remaining >= 1:
                    self._remaining -= 1
                else:
                    wait = max(wait, self._slot_wait(now))
            if not self.enabled:
                return 0.0
            if wait > 0:
                self.stats.waits += 1
                self.stats.total_wait += wait
                self.stats.longest_wait = max(self.stats.longest_wait, wait)
            return wait

    def _slot_wait(self, now: float) -> float:
        assert self._reset_at is not None
        until_reset = max(0.0, self._reset_at - now)
        if self.model == "window":
            return until_reset
        used = max(1.0, float(self._limit or 1) - (self._remaining or 0.0))
        interval = until_reset / used if until_reset > 0 else 0.0
        # Hand out slots one interval apart, so concurrent callers queue instead of bunching.
        slot = max(now, self._next_slot) + interval
        self._next_slot = slot
        return slot - now

    def release(self) -> None:
        """A reserved request ended without a response to learn from."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)

    def observe(self, status: int | None, headers: Mapping[str, str]) -> float | None:
        """Learn from a response's headers; returns its `Retry-After` in seconds, if any."""
        retry_after = parse_retry_after(headers.get("retry-after"))
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            now = self._clock()
            limit = _int(headers.get("x-ratelimit-limit"))
            remaining = _int(headers.get("x-ratelimit-remaining"))
            reset = _int(headers.get("x-ratelimit-reset"))
            if limit is not None:
                self._limit = limit
            if remaining is not None:
                self._remaining = float(max(0, remaining - self._in_flight))
            if reset is not None:
                self._reset_at = now + self._reset_delta(reset)
            if status == 429:
                self.stats.rate_limited += 1
                self._remaining = 0.0
                if retry_after is None and self._reset_at is not None:
                    retry_after = max(0.0, self._reset_at - now)
            if retry_after is not None and status == 429:
                self._blocked_until = max(self._blocked_until, now + retry_after)
        return retry_after

    def _reset_delta(self, reset: int) -> float:
        # Epoch seconds (Salla) or, when small, seconds from now (a common alternative).
        if reset > 1_000_000_000:
            return max(0.0, reset - self._wall())
        return float(max(0, reset))

    def __repr__(self) -> str:
        return (f"<Throttle model={self.model} limit={self._limit} remaining={self._remaining} "
                f"waits={self.stats.waits} total_wait={self.stats.total_wait:.2f}s>")
