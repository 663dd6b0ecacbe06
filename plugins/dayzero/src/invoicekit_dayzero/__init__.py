"""DayZero provider for invoicekit (work in progress: issue for the DayZero plugin)."""

from __future__ import annotations

from invoicekit import Provider

__all__ = ["DayZeroProvider"]


class DayZeroProvider(Provider):
    """DayZero."""

    name = "dayzero"
