"""Migration between platforms (being built: see the migration issue)."""

from __future__ import annotations

__all__: list[str] = []
