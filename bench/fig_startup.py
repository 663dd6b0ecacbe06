"""Start-up: `import invoicekit; invoicekit.connect(...)` in a fresh interpreter vs `import httpx`.

Measured on invoicekit **as a user installs it**: once per benchmark run the core and both
plugins are built into wheels (`pip wheel`) and installed with their dependencies into
a temporary virtual environment (`pip install`, which compiles every module to bytecode
as any wheel install does). The development `.venv` is not used for these figures: its
editable install finds modules through a path hook and compiles nothing ahead of time,
which is not what a user's process pays.

Each case runs in its own new interpreter of that environment (so nothing is already
imported), timed inside it (its CPU time) from just before the import to just after
`connect()` returns; the cases alternate run by run. The interpreter's own start (the same for every
case) is reported beside them.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

from _common import ROOT, Figure, Sizes, python_env, ratios

__all__ = ["run"]

# CPU time of the child (imports are CPU work once the files are cached): other jobs on a
# shared machine do not add their share of the wall clock to one case or the other.
_TIMED = ("import time; t = time.process_time_ns(); {}; "
          "print((time.process_time_ns() - t) / 1e6)")
CASES = {
    "httpx": "import httpx",
    "fake": "import invoicekit; invoicekit.connect('fake')",
    "salla": "import invoicekit; invoicekit.connect('salla', token='bench-token')",
    "dayzero": "import invoicekit; invoicekit.connect('dayzero', token='dz_bench', "
               "business_id='5b1f2a3c-0d4e-4f6a-8b9c-1d2e3f405162')",
    "import_only": "import invoicekit",
}


def _pip(python: Path, *args: str | Path) -> None:
    done = subprocess.run([str(python), "-m", "pip", "--quiet", *map(str, args)],
                          capture_output=True, text=True, env=python_env(), check=False,
                          timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"pip {args[0]} failed:\n{done.stderr[-3000:]}")


def installed_python(where: Path) -> Path:
    """A new virtual environment in *where* with invoicekit and its plugins installed from
    wheels, as `pip install invoicekit invoicekit-salla invoicekit-dayzero` leaves them
    (bytecode compiled); its interpreter. The new environment's own pip builds and installs
    the wheels, so the benchmark runs from environments made without pip (uv's) too."""
    wheels = where / "wheels"
    projects = [ROOT, *sorted(p for p in (ROOT / "plugins").glob("*")
                              if (p / "pyproject.toml").is_file())]
    env_dir = where / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    _pip(python, "wheel", "--no-deps", "--wheel-dir", wheels, *projects)
    _pip(python, "install", "--compile", *sorted(wheels.glob("*.whl")))
    return python


def _once(python: Path, code: str) -> float:
    done = subprocess.run([str(python), "-c", _TIMED.format(code)], capture_output=True,
                          text=True, env=python_env(), check=True, timeout=120, cwd="/")
    return float(done.stdout.strip())


def _bare(python: Path) -> float:
    start = time.perf_counter_ns()
    subprocess.run([str(python), "-c", "pass"], env=python_env(), check=True, timeout=120)
    return (time.perf_counter_ns() - start) / 1e6


def run(sizes: Sizes) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="invoicekit-bench-") as tmp:
        python = installed_python(Path(tmp))
        samples: dict[str, list[float]] = {name: [] for name in CASES}
        bare: list[float] = []
        for code in CASES.values():  # warm the OS file cache once
            _once(python, code)
        for _ in range(sizes.startup_runs):
            for name, code in CASES.items():
                samples[name].append(_once(python, code))
            bare.append(_bare(python))
    med = {name: statistics.median(values) for name, values in samples.items()}
    interpreter = round(statistics.median(bare), 1)
    extra = {"interpreter_start_ms": interpreter, "install": "wheels installed by pip "
             "(bytecode compiled) into a temporary virtual environment",
             "samples_ms": {k: [round(x, 1) for x in v] for k, v in samples.items()}}
    figures = [
        Figure("startup.connect_fake", "import invoicekit; connect('fake') in a new interpreter",
               med["fake"], med["httpx"], "ms", "import httpx", "lower", 1.1, extra=extra,
               round_ratios=ratios(samples["fake"], samples["httpx"])),
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
