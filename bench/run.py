"""invoicekit's benchmarks: every figure as a ratio against a baseline from the same run.

    python3 dev.py bench                 # the full suite (a few minutes)
    python3 dev.py bench --quick         # every figure with tiny sizes (CI smoke, < 1 min)
    python3 dev.py bench --only startup  # figures whose name starts with "startup"

Prints a table (figure, ours, baseline, ratio, target) and writes it as JSON to
`bench/results/latest.json` (`--json PATH` elsewhere). See `docs/performance.md`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, Figure, Sizes

GROUPS = ("conversion", "overhead", "bulk", "startup", "memory")
DEFAULT_JSON = ROOT / "bench" / "results" / "latest.json"


def _loader(group: str) -> Callable[[Sizes], list[Figure]]:
    module = __import__(f"fig_{group}")
    return module.run  # type: ignore[no-any-return]


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    import attrs
    import httpx
    import pydantic

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "httpx": httpx.__version__,
        "attrs": attrs.__version__,
        "cattrs": importlib.metadata.version("cattrs"),
        "pydantic": pydantic.VERSION,
    }


def _fmt(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(figures: list[Figure]) -> str:
    """The figures as a Markdown table (what docs/performance.md shows)."""
    lines = ["| figure | ours | baseline | ratio | target | ok |",
             "|---|---:|---:|---:|---|---|"]
    for f in figures:
        target = "-" if f.target is None else ("<= " if f.better == "lower" else ">= ") + str(
            f.target)
        ok = {True: "yes", False: "**no**", None: "-"}[f.ok]
        lines.append(f"| {f.name} | {_fmt(f.ours)} {f.unit} | {_fmt(f.baseline)} {f.unit} "
                     f"({f.baseline_name}) | {f.ratio:.2f} | {target} | {ok} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="every figure with tiny sizes: a smoke test, not a measurement")
    parser.add_argument("--only", action="append", default=[],
                        help="run only figure groups starting with this (repeatable): "
                             + ", ".join(GROUPS))
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write JSON")
    args = parser.parse_args(argv)
    sizes = Sizes.for_mode(args.quick)
    groups = [g for g in GROUPS if not args.only or any(g.startswith(o) or o.startswith(g)
                                                        for o in args.only)]
    figures: list[Figure] = []
    failures: dict[str, str] = {}
    started = time.perf_counter()
    for group in groups:
        t0 = time.perf_counter()
        print(f"== {group} ...", file=sys.stderr, flush=True)
        try:
            found = _loader(group)(sizes)
        except Exception:
            failures[group] = traceback.format_exc()
            print(failures[group], file=sys.stderr, flush=True)
            continue
        if args.only:
            found = [f for f in found if any(f.name.startswith(o) or o == group
                                             for o in args.only)]
        figures.extend(found)
        print(f"   {group}: {len(found)} figures in {time.perf_counter() - t0:.1f}s",
              file=sys.stderr, flush=True)
    print(table(figures))
    result = {
        "mode": "quick" if args.quick else "full",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": machine(),
        "sizes": sizes.__dict__,
        "figures": [f.as_json() for f in figures],
        "failures": failures,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    print(f"\nwritten to {args.json}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
