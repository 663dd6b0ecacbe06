"""Fleet figures (issue 15): merchants per minute with 1, 2 and 4 Celery worker processes
against sandboxes with a per-merchant rate limit, and the journal's cost per invoice on
PostgreSQL vs SQLite.

Needs `redis-server` and the PostgreSQL server binaries (Debian: `apt-get install
redis-server postgresql`) and the `fleet` extra. Run from the repository root:

    .venv/bin/python bench/fleet.py [--merchants 8] [--invoices 10] [--rate 10]

Not part of `bench/run.py` (it starts servers and worker processes and takes a minute or
more); `docs/fleet.md` records what it printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "fleet"), str(ROOT / "tests" / "migration")]

from fleet_support import make_fleet, wait_for, workers  # noqa: E402
from migrate_support import TODAY, policy, salla_like_drafts  # noqa: E402
from pg_support import postgres_server  # noqa: E402

from invoicekit import fleet  # noqa: E402
from invoicekit.migration import migrate  # noqa: E402
from invoicekit.testing import FakeGateway, FakeProvider  # noqa: E402
from invoicekit.testing.sandbox import RateLimit  # noqa: E402
from invoicekit_dayzero.sandbox import DayZeroSandbox  # noqa: E402
from invoicekit_salla.sandbox import SallaSandbox  # noqa: E402


def scaling(redis_url: str, journal: str, counts: list[int], merchants: int, invoices: int,
            rate: int) -> dict[int, float]:
    """Merchants per minute for each worker count (a fresh fleet and sandboxes each)."""
    found: dict[int, float] = {}
    for n in counts:
        with tempfile.TemporaryDirectory() as tmp, SallaSandbox() as salla, \
                DayZeroSandbox(rate_limit=RateLimit(rate, 1.0, model="leaky")) as dz:
            folder = Path(tmp)
            f = make_fleet(folder, journal, salla, dz, merchants, invoices, prefix=f"bench{n}",
                           lease_seconds=30)
            with workers(n, redis_url, f.env, folder, visibility_timeout=600):
                start = time.monotonic()
                fleet.submit(f.manifest, broker=redis_url)
                wait_for("fleet done", lambda m=f.manifest: all(  # type: ignore[misc]
                    s.state == "done" for s in fleet.status(m)), lambda: "", 900)
                elapsed = time.monotonic() - start
            found[n] = merchants / elapsed * 60
            print(f"{n} worker(s): {merchants} merchants in {elapsed:.1f} s = "
                  f"{found[n]:.1f} merchants/min", flush=True)
    return found


def journal_cost(journal_db: str, invoices: int) -> dict[str, float]:
    """Milliseconds per invoice of a fake-to-fake migration (no network, no rate limit), so
    the journal is most of the cost: SQLite file vs PostgreSQL."""
    found: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, journal in (("sqlite", str(Path(tmp) / "j.db")),
                              ("postgresql", f"{journal_db}?migration=bench-cost")):
            src = FakeGateway(FakeProvider(today=TODAY))
            src.seed(*salla_like_drafts(invoices))
            dst = FakeGateway(profile="dayzero", today=TODAY)
            start = time.monotonic()
            report = migrate(src, dst, journal=journal, policy=policy())
            elapsed = time.monotonic() - start
            found[name] = elapsed / report.seen * 1000
            print(f"journal {name}: {report.seen} invoices ({report.written} written) in "
                  f"{elapsed:.2f} s = {found[name]:.2f} ms/invoice", flush=True)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--merchants", type=int, default=8)
    parser.add_argument("--invoices", type=int, default=10)
    parser.add_argument("--rate", type=int, default=10, help="requests/s per DayZero business")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--cost-invoices", type=int, default=300)
    args = parser.parse_args()
    from fleet_support import redis_server

    with contextlib.ExitStack() as stack:
        redis_url = stack.enter_context(redis_server())
        journal = stack.enter_context(postgres_server())
        cost = journal_cost(journal, args.cost_invoices)
        rates = scaling(redis_url, journal, [int(n) for n in args.workers.split(",")],
                        args.merchants, args.invoices, args.rate)
    print(json.dumps({"merchants_per_minute": rates, "journal_ms_per_invoice": cost}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
