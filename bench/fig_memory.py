"""Memory: peak RSS of a process listing 100,000 invoices vs one listing 1,000.

The listing runs in a fresh interpreter (so its peak is its own, not the benchmark's: on
Linux the peak is read from `VmHWM`, because `ru_maxrss` survives `exec` and would report
the parent's peak, which holds the seeded sandbox),
against a DayZero sandbox in this process seeded directly in its state. Pages are
streamed: the large listing should peak where the small one does.
"""

from __future__ import annotations

import json

from _common import Figure, Sizes, run_python
from _sandboxes import dayzero_sandbox, seed_dayzero

__all__ = ["run"]

_CHILD = """
import json, resource, sys
import invoicekit
settings, page = json.loads(sys.argv[1]), int(sys.argv[2])
count = 0
with invoicekit.connect("dayzero", **settings) as gw:
    for invoice in gw.list_invoices(invoicekit.InvoiceQuery(page_size=page)):
        count += 1
try:  # VmHWM belongs to this process image; ru_maxrss keeps the parent's across exec
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"count": count, "peak_kib": peak}))
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


def run(sizes: Sizes) -> list[Figure]:
    small = _peak(sizes.memory_small, sizes.memory_page)
    large = _peak(sizes.memory_large, sizes.memory_page)
    return [Figure(
        f"memory.list_{sizes.memory_large}", f"peak RSS listing {sizes.memory_large:,} invoices "
        f"(pages of {sizes.memory_page})", large["peak_kib"] / 1024, small["peak_kib"] / 1024,
        "MiB", f"listing {sizes.memory_small:,}", "lower", 1.10,
        notes="flat means pages are streamed, not accumulated",
        extra={"small": small, "large": large})]
