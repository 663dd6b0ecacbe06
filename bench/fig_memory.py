"""Memory: peak RSS of a process listing 100,000 invoices vs one listing 1,000, and of one
migrating 10,000 invoices vs one migrating 1,000.

Each listing or migration runs in a fresh interpreter (so its peak is its own, not the
benchmark's: on Linux the peak is read from `VmHWM`, because `ru_maxrss` survives `exec`
and would report the parent's peak, which holds the seeded sandboxes),
against DayZero sandboxes in this process, the source seeded directly in its state. Pages
are streamed and the migration journal lives on disk: the large run should peak where the
small one does.
"""

from __future__ import annotations

import json

from _common import Figure, Sizes, run_python
from _sandboxes import dayzero_sandbox, seed_dayzero

__all__ = ["run"]

_PEAK = """
try:  # VmHWM belongs to this process image; ru_maxrss keeps the parent's across exec
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""

_CHILD = """
import json, resource, sys
import invoicekit
settings, page = json.loads(sys.argv[1]), int(sys.argv[2])
count = 0
with invoicekit.connect("dayzero", **settings) as gw:
    for invoice in gw.list_invoices(invoicekit.InvoiceQuery(page_size=page)):
        count += 1
""" + _PEAK + """
print(json.dumps({"count": count, "peak_kib": peak}))
"""

_MIGRATE_CHILD = """
import asyncio, json, os, resource, sys, tempfile
import invoicekit
from invoicekit.migration import CustomerPolicy, MigrationPolicy, migrate_async
source, target = json.loads(sys.argv[1]), json.loads(sys.argv[2])
page = int(sys.argv[3])

async def main():
    policy = MigrationPolicy(customers=CustomerPolicy(create_by_email=True))
    with tempfile.TemporaryDirectory() as tmp:
        async with invoicekit.connect_async("dayzero", **source) as src, \\
                invoicekit.connect_async("dayzero", **target) as dst:
            return await migrate_async(src, dst, journal=os.path.join(tmp, "journal.db"),
                                       policy=policy, page_size=page)

report = asyncio.run(main())
""" + _PEAK + """
print(json.dumps({"count": report.written, "failed": len(report.failures),
                  "seconds": round(report.elapsed, 2), "peak_kib": peak}))
"""


def _peak(count: int, page: int) -> dict[str, int]:
    sandbox = dayzero_sandbox()
    try:
        seed_dayzero(sandbox, count, lines=1)
        result: dict[str, int] = run_python(_CHILD, [json.dumps(sandbox.settings()), str(page)])
    finally:
        sandbox.stop()
    if result["count"] != count:
        raise RuntimeError(f"listed {result['count']} invoices, expected {count}")
    return result


def _migrate_peak(count: int, page: int) -> dict[str, int]:
    """Peak RSS of a fresh interpreter migrating *count* invoices DayZero -> DayZero."""
    source, target = dayzero_sandbox(), dayzero_sandbox()
    try:
        seed_dayzero(source, count, lines=1)
        result: dict[str, int] = run_python(_MIGRATE_CHILD, [
            json.dumps(source.settings()), json.dumps(target.settings()), str(page)])
    finally:
        source.stop()
        target.stop()
    if result["count"] != count or result["failed"]:
        raise RuntimeError(f"migrated {result['count']} invoices ({result['failed']} failed), "
                           f"expected {count}")
    return result


def run(sizes: Sizes) -> list[Figure]:
    small = _peak(sizes.memory_small, sizes.memory_page)
    large = _peak(sizes.memory_large, sizes.memory_page)
    m_small = _migrate_peak(sizes.migrate_memory_small, sizes.memory_page)
    m_large = _migrate_peak(sizes.migrate_memory_large, sizes.memory_page)
    return [Figure(
        f"memory.list_{sizes.memory_large}", f"peak RSS listing {sizes.memory_large:,} invoices "
        f"(pages of {sizes.memory_page})", large["peak_kib"] / 1024, small["peak_kib"] / 1024,
        "MiB", f"listing {sizes.memory_small:,}", "lower", 1.2,
        notes="flat means pages are streamed, not accumulated",
        extra={"small": small, "large": large}), Figure(
        f"memory.migrate_{sizes.migrate_memory_large}",
        f"peak RSS of migrate_async copying {sizes.migrate_memory_large:,} invoices DayZero -> "
        f"DayZero (pages of {sizes.memory_page}, SQLite journal)",
        m_large["peak_kib"] / 1024, m_small["peak_kib"] / 1024, "MiB",
        f"migrating {sizes.migrate_memory_small:,}", "lower", 1.2,
        notes="flat means the source is streamed and the journal, not memory, holds the plan",
        extra={"small": m_small, "large": m_large})]
