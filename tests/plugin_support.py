"""Test helper: a throwaway installed distribution with entry points (a fake plugin)."""

from __future__ import annotations

import textwrap
from pathlib import Path

__all__ = ["write_dist"]


def write_dist(root: Path, name: str, entry_points: str) -> Path:
    """Write `<name>-0.1.dist-info` with *entry_points* under *root*; put *root* on sys.path
    (`monkeypatch.syspath_prepend`) and importlib.metadata sees an installed plugin."""
    info = root / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points).strip() + "\n")
    return root
