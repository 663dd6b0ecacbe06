"""Version information."""

from __future__ import annotations

import functools

__all__ = ["__version__", "distribution_version"]

__version__ = "0.1.0"


@functools.cache
def distribution_version(name: str) -> str:
    """The installed version of distribution *name*, or `"unknown"`."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"
