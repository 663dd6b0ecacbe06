"""Salla provider for invoicekit (work in progress: issue for the Salla plugin)."""

from __future__ import annotations

from invoicekit import Provider

__all__ = ["SallaProvider"]


class SallaProvider(Provider):
    """Salla."""

    name = "salla"
