"""Send events: `invoice_sent` and `invoice_not_sent`, for every provider.

They mirror the Salla storefront SDK's `onSent` / `onNotSent`. Subscribe once,
globally (`invoicekit.events.on(...)`) or on one gateway (`gateway.events.on(...)`);
a subscriber that raises is logged and never breaks the send.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Literal

import attrs

from ._model import SendReceipt
from .errors import InvalidRequest, InvoiceKitError

__all__ = ["EventBus", "EventName", "SendEvent", "events"]

EventName = Literal["invoice_sent", "invoice_not_sent"]
_NAMES = ("invoice_sent", "invoice_not_sent")
_log = logging.getLogger("invoicekit.events")


@attrs.frozen(slots=True)
class SendEvent:
    """One send outcome: the `receipt` when it was sent, the `error` when it was not."""

    name: EventName
    provider: str
    invoice_id: str
    receipt: SendReceipt | None = None
    error: InvoiceKitError | None = None


Handler = Callable[[SendEvent], object]


class EventBus:
    """Subscribers per event name; thread-safe; a gateway's bus forwards to its parent."""

    def __init__(self, parent: EventBus | None = None) -> None:
        self._parent = parent
        self._lock = threading.Lock()
        self._handlers: dict[str, list[Handler]] = {name: [] for name in _NAMES}

    def on(self, name: EventName, handler: Handler) -> Callable[[], None]:
        """Call *handler* for every event *name*; returns a function that unsubscribes."""
        if name not in self._handlers:
            raise InvalidRequest(f"unknown event {name!r}; expected one of {', '.join(_NAMES)}")
        with self._lock:
            self._handlers[name].append(handler)

        def unsubscribe() -> None:
            with self._lock:
                if handler in self._handlers[name]:
                    self._handlers[name].remove(handler)

        return unsubscribe

    def on_sent(self, handler: Handler) -> Callable[[], None]:
        """Shorthand for `on("invoice_sent", handler)` (the SDK's `onSent`)."""
        return self.on("invoice_sent", handler)

    def on_not_sent(self, handler: Handler) -> Callable[[], None]:
        """Shorthand for `on("invoice_not_sent", handler)` (the SDK's `onNotSent`)."""
        return self.on("invoice_not_sent", handler)

    def emit(self, event: SendEvent) -> None:
        """Deliver *event* to this bus's subscribers, then its parent's."""
        with self._lock:
            handlers = list(self._handlers[event.name])
        for handler in handlers:
            try:
                handler(event)
            except Exception:
                _log.exception("invoicekit event subscriber %r failed for %s", handler, event.name)
        if self._parent is not None:
            self._parent.emit(event)


events = EventBus()
"""The global bus: its subscribers hear every gateway's send outcomes."""
