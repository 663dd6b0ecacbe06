"""Testing kit: the in-memory fake provider, the shared contract suite, the pytest plugin."""

from __future__ import annotations

from ._fake import FakeProvider

__all__ = ["FakeProvider"]
