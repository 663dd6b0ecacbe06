"""Placeholder replaced by the fake provider work (issue 2)."""

from __future__ import annotations

from .._provider import Provider

__all__ = ["FakeProvider"]


class FakeProvider(Provider):
    name = "fake"
