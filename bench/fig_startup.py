"""Start-up: `import invoicekit; invoicekit.connect(...)` in a fresh interpreter vs `import httpx`.

Each case runs in its own new interpreter (so nothing is already imported), timed inside
it from just before the import to just after `connect()` returns; the cases alternate run
by run. The interpreter's own start (the same for every case) is reported beside them.
"""

from __future__ import annotations

import statistics
import subprocess
import time

from _common import PYTHON, Figure, Sizes, python_env

__all__ = ["run"]

_TIMED = "import time; t = time.perf_counter_ns(); {}; print((time.perf_counter_ns() - t) / 1e6)"
CASES = {
    "httpx": "import httpx",
    "fake": "import invoicekit; invoicekit.connect('fake')",
    "salla": "import invoicekit; invoicekit.connect('salla', token='bench-token')",
    "dayzero": "import invoicekit; invoicekit.connect('dayzero', token='dz_bench', "
               "business_id='5b1f2a3c-0d4e-4f6a-8b9c-1d2e3f405162')",
    "import_only": "import invoicekit",
}


def _once(code: str) -> float:
    done = subprocess.run([PYTHON, "-c", _TIMED.format(code)], capture_output=True, text=True,
                          env=python_env(), check=True, timeout=120)
    return float(done.stdout.strip())


def _bare() -> float:
    start = time.perf_counter_ns()
    subprocess.run([PYTHON, "-c", "pass"], env=python_env(), check=True, timeout=120)
    return (time.perf_counter_ns() - start) / 1e6


def run(sizes: Sizes) -> list[Figure]:
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    bare: list[float] = []
    for code in CASES.values():  # warm the OS file cache once
        _once(code)
    for _ in range(sizes.startup_runs):
        for name, code in CASES.items():
            samples[name].append(_once(code))
        bare.append(_bare())
    med = {name: statistics.median(values) for name, values in samples.items()}
    interpreter = round(statistics.median(bare), 1)
    extra = {"interpreter_start_ms": interpreter,
             "samples_ms": {k: [round(x, 1) for x in v] for k, v in samples.items()}}
    figures = [
        Figure("startup.connect_fake", "import invoicekit; connect('fake') in a new interpreter",
               med["fake"], med["httpx"], "ms", "import httpx", "lower", 1.5, extra=extra),
        Figure("startup.connect_salla", "import invoicekit; connect('salla', token=...)",
               med["salla"], med["httpx"], "ms", "import httpx", "lower", None,
               notes="includes importing httpx itself, so it cannot be below 1.0"),
        Figure("startup.connect_dayzero", "import invoicekit; connect('dayzero', ...)",
               med["dayzero"], med["httpx"], "ms", "import httpx", "lower", None,
               notes="includes importing httpx itself, so it cannot be below 1.0"),
        Figure("startup.import_invoicekit", "import invoicekit", med["import_only"],
               med["httpx"], "ms", "import httpx", "lower", None),
    ]
    return figures
