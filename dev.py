#!/usr/bin/env python3
"""Developer entry point: `python3 dev.py demo` and `python3 dev.py test`.

Each command creates `.venv` (once; again when a pyproject or requirements file changes),
installs the core and every plugin in `plugins/` in editable mode, then runs.
Needs only Python 3.11+ and access to the package registry.

    python3 dev.py demo     # the end-to-end demo against the bundled sandboxes
    python3 dev.py test     # ruff, mypy --strict and the whole pytest suite
    python3 dev.py lint     # ruff and mypy only
    python3 dev.py docs     # build the documentation site strictly
    python3 dev.py bench    # the benchmarks (bench/), printed and written as JSON
    python3 dev.py matrix   # the pytest suite on every Python >= 3.11 found on this machine,
                            # then once with every dependency at its declared lower bound
    python3 dev.py package  # build the wheels and sdists, check them (twine, with the newest
                            # and the lowest allowed hatchling), install the wheels in fresh
                            # venvs and use them as a user would (the wheel smoke test)
    python3 dev.py sandbox  # `invoicekit sandbox ...` (an emulated provider API on loopback)
    python3 dev.py mutate   # mutation testing (mutmut) of the modules that carry promises,
                            # each against its own tests; the kill rate per module
    python3 dev.py mutate money journal   # only those modules (names: `dev.py mutate --list`)
    python3 dev.py mutate --full          # every function of each module (slow)

`matrix` and `package` keep their environments in `.matrix/` (made with uv, which the
first command installs into `.venv`); extra arguments of `test` and `matrix` go to pytest.
`mutate` works in `.mutation/` (a folder per module, kept for `mutmut show NAME` there).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import venv
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
MATRIX = ROOT / ".matrix"
DIST = ROOT / "dist"
MIN_PYTHON = (3, 11)


def bin_dir(env: Path) -> Path:
    """The scripts folder of the virtual environment *env*."""
    return env / ("Scripts" if os.name == "nt" else "bin")


def python_of(env: Path) -> Path:
    """The interpreter of the virtual environment *env*."""
    return bin_dir(env) / ("python.exe" if os.name == "nt" else "python")


BIN = bin_dir(VENV)
PY = python_of(VENV)
UV = BIN / ("uv.exe" if os.name == "nt" else "uv")


def plugins() -> list[Path]:
    return sorted(p for p in (ROOT / "plugins").glob("*") if (p / "pyproject.toml").is_file())


def projects() -> list[Path]:
    """The folders of the three distributions: the core first, then each plugin."""
    return [ROOT, *plugins()]


def fingerprint(*extra: str) -> str:
    h = hashlib.sha256(sys.version.encode())
    for part in extra:
        h.update(part.encode())
    for f in [ROOT / "pyproject.toml", ROOT / "requirements-dev.txt"] + [
        p / "pyproject.toml" for p in plugins()
    ]:
        h.update(str(f.relative_to(ROOT)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def run(*cmd: str | Path, check: bool = True, env_dir: Path = VENV, cwd: Path = ROOT,
        capture: bool = False) -> subprocess.CompletedProcess[str]:
    """Run *cmd* with *env_dir*'s scripts first on PATH; exit on failure when *check*."""
    env = dict(os.environ)
    env.setdefault("PYTHONUTF8", "1")
    env.setdefault("NO_MKDOCS_2_WARNING", "1")  # mkdocs-material's banner is not our output
    env["PATH"] = f"{bin_dir(env_dir)}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, check=False, text=True,
                            capture_output=capture)
    if check and result.returncode != 0:
        if capture:
            print(result.stdout, result.stderr, sep="\n", file=sys.stderr)
        sys.exit(f"failed ({result.returncode}): {' '.join(str(c) for c in cmd)}")
    return result


def ensure_env() -> None:
    stamp = VENV / ".invoicekit-stamp"
    want = fingerprint()
    if stamp.is_file() and stamp.read_text() == want and PY.exists():
        return
    if not PY.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    # pip's own progress lines, not --quiet: a first install takes a while and should show it.
    print("installing invoicekit, its plugins and the dev tools into .venv ...", flush=True)
    run(PY, "-m", "pip", "install", "--upgrade", "pip")
    args: list[str | Path] = ["-e", ROOT]
    for p in plugins():
        args += ["-e", p]
    run(PY, "-m", "pip", "install", "-r", ROOT / "requirements-dev.txt", *args)
    stamp.write_text(want)


def lint() -> None:
    print("== ruff", flush=True)
    run(PY, "-m", "ruff", "check", ".")
    print("== mypy --strict", flush=True)
    run(PY, "-m", "mypy")


# ---- interpreters -------------------------------------------------------------------------


def interpreters() -> dict[tuple[int, int], Path]:
    """One interpreter per Python version >= 3.11 found here: `python3.N` on PATH, pyenv's
    versions (`$PYENV_ROOT`, else `~/.pyenv`) and the one running this script.

    For each minor version the newest patch release wins; free-threaded builds are left out.
    """
    candidates: list[str] = [sys.executable]
    for minor in range(MIN_PYTHON[1], 30):
        found = shutil.which(f"python3.{minor}")
        if found:
            candidates.append(found)
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates += sorted(glob.glob(str(pyenv_root / "versions" / "*" / "bin" / "python3")))
    probe = ("import sys, sysconfig; print(*sys.version_info[:3], "
             "int(bool(sysconfig.get_config_var('Py_GIL_DISABLED'))), sys.executable)")
    best: dict[tuple[int, int], tuple[int, Path]] = {}
    for candidate in candidates:
        try:
            out = subprocess.run([candidate, "-c", probe], capture_output=True, text=True,
                                 timeout=30, check=True).stdout.split(maxsplit=4)
        except (OSError, subprocess.SubprocessError):
            continue  # e.g. a pyenv shim for a version that is not selected
        major, minor, patch, free_threaded = (int(x) for x in out[:4])
        if (major, minor) < MIN_PYTHON or free_threaded:
            continue
        if (major, minor) not in best or patch > best[(major, minor)][0]:
            best[(major, minor)] = (patch, Path(out[4].strip()))
    return {version: path for version, (_, path) in sorted(best.items())}


# ---- lower bounds -------------------------------------------------------------------------

_LOWER_BOUND = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*"
                          r"(?:[<>=!~]=?[^,;]*,\s*)*>=\s*([0-9][^,;\s]*)")


def lower_bounds() -> dict[str, str]:
    """`{distribution: lowest allowed version}` for every third-party requirement (runtime
    and extras) of the three pyprojects. A name bounded differently in two pyprojects is an
    error: the matrix could not honour both."""
    import tomllib  # here, not at the top: dev.py first tells a Python 3.10 user what it needs

    bounds: dict[str, str] = {}
    for project in projects():
        meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        requirements = list(meta.get("dependencies", []))
        for extra in meta.get("optional-dependencies", {}).values():
            requirements += extra
        for requirement in requirements:
            name = re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower()
            name = re.sub(r"[-_.]+", "-", name)
            if name.startswith("invoicekit"):
                continue  # our own distributions: installed from this checkout
            match = _LOWER_BOUND.match(requirement)
            if match is None:
                sys.exit(f"{project.name}/pyproject.toml: {requirement!r} has no lower bound")
            if bounds.setdefault(name, match.group(2)) != match.group(2):
                sys.exit(f"{name} has two lower bounds: {bounds[name]} and {match.group(2)}")
    return bounds


def build_backend_lower_bound() -> str:
    """The lowest hatchling the three pyprojects allow (they must agree)."""
    import tomllib

    found = set()
    for project in projects():
        data = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
        for requirement in data["build-system"]["requires"]:
            match = _LOWER_BOUND.match(requirement)
            if match and match.group(1) == "hatchling":
                found.add(match.group(2))
    if len(found) != 1:
        sys.exit(f"the pyprojects disagree on the lowest hatchling: {sorted(found)}")
    return found.pop()


# ---- environments made with uv ------------------------------------------------------------


def uv_env(name: str, python: Path, *requirements: str | Path,
           constraints: Mapping[str, str] | None = None) -> Path:
    """`.matrix/NAME`: a venv on *python* with *requirements* installed (by uv), rebuilt when
    the pyprojects, the requirements or the interpreter change."""
    env = MATRIX / name
    stamp = env / ".invoicekit-stamp"
    want = fingerprint(str(python), *map(str, requirements), json.dumps(constraints))
    if stamp.is_file() and stamp.read_text() == want and python_of(env).exists():
        return env
    print(f"== {name}: creating the environment with {python}", flush=True)
    run(UV, "venv", "--quiet", "--clear", "--python", python, env)
    args: list[str | Path] = []
    if constraints:
        pins = env / "lower-bounds.txt"
        pins.write_text("".join(f"{n}=={v}\n" for n, v in sorted(constraints.items())))
        args += ["--constraint", pins]
    run(UV, "pip", "install", "--python", python_of(env), *args, *requirements)
    stamp.write_text(want)
    return env


def editable_checkout(extras: str = "") -> list[str | Path]:
    args: list[str | Path] = ["-r", ROOT / "requirements-dev.txt"]
    for project in projects():
        args += ["-e", f"{project}{extras}"]
    return args


def pytest_counts(report: Path) -> dict[str, int]:
    """passed/failed/errors/skipped from a junit XML report of pytest."""
    suite = ET.parse(report).getroot()
    if suite.tag == "testsuites":
        suite = suite[0]
    counts = {k: int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}
    return {"passed": counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"],
            "failed": counts["failures"], "errors": counts["errors"],
            "skipped": counts["skipped"]}


def matrix(pytest_args: list[str]) -> int:
    """The suite on each interpreter, then on the lowest with the lowest dependencies."""
    found = interpreters()
    if not found:
        sys.exit("no Python >= 3.11 found")
    bounds = lower_bounds()
    runs: list[tuple[str, Path, Mapping[str, str] | None]] = [
        (f"py{major}.{minor}", path, None) for (major, minor), path in found.items()]
    lowest_python = next(iter(found.values()))
    runs.append((f"lowest-deps-{runs[0][0]}", lowest_python, bounds))
    print("== matrix: " + ", ".join(f"{name} ({path})" for name, path, _ in runs), flush=True)
    print("   lower bounds: " + ", ".join(f"{n}=={v}" for n, v in sorted(bounds.items())),
          flush=True)
    results: list[tuple[str, str, float, int, dict[str, int]]] = []
    for name, python, constraints in runs:
        started = time.monotonic()
        env = uv_env(name, python, *editable_checkout("[testing]"), constraints=constraints)
        if constraints:
            installed = run(UV, "pip", "freeze", "--python", python_of(env),
                            capture=True).stdout.lower()
            wrong = [f"{n}=={v}" for n, v in constraints.items()
                     if not re.search(rf"^{re.escape(n)}=={re.escape(v)}(\.0)*$", installed,
                                      re.MULTILINE)]
            if wrong:
                sys.exit(f"{name}: not installed at the lower bound: {', '.join(wrong)}")
        report = env / "pytest.xml"
        report.unlink(missing_ok=True)
        print(f"== {name}: pytest", flush=True)
        version = run(python_of(env), "-c", "import platform; print(platform.python_version())",
                      env_dir=env, capture=True).stdout.strip()
        code = run(python_of(env), "-m", "pytest", "-q", f"--junitxml={report}", *pytest_args,
                   check=False, env_dir=env).returncode
        counts = pytest_counts(report) if report.is_file() else {}
        results.append((name, version, time.monotonic() - started, code, counts))
    print("\n== matrix results")
    failed = False
    for name, version, seconds, code, counts in results:
        failed |= code != 0 or not counts.get("passed")
        shown = ", ".join(f"{v} {k}" for k, v in counts.items()) or "no report"
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"   {name:<22} Python {version:<8} {shown:<48} {seconds:6.0f} s  {status}")
    return 1 if failed else 0


# ---- the wheel smoke test -----------------------------------------------------------------

SMOKE_TEST = '''\
"""A user's test suite: the fixtures come from the installed wheels' pytest plugins."""

from decimal import Decimal

import invoicekit
from invoicekit import Customer, InvoiceDraft, LineItem, Money


def test_the_fake_fixture_records_what_is_sent(invoicekit_fake):
    draft = InvoiceDraft(customer=Customer(name="Ada", email="ada@example.com"),
                         items=(LineItem(name="Plan", quantity=Decimal(1),
                                         unit_price=Money("9.00", "USD")),))
    invoicekit_fake.send_invoice(invoicekit_fake.create_invoice(draft))
    assert [r.recipient for r in invoicekit_fake.outbox] == ["ada@example.com"]


def test_the_salla_sandbox_fixture_serves_the_salla_provider(salla_sandbox):
    order_id = salla_sandbox.add_order(email="buyer@example.sa")
    with invoicekit.connect("salla", **salla_sandbox.settings()) as gw:
        invoice = gw.create_invoice(InvoiceDraft(order_id=order_id, from_order=True))
        assert gw.get_invoice(invoice.id).order_id == order_id
        gw.send_invoice(invoice)
    assert [(s.order_id, s.to) for s in salla_sandbox.sent] == [(order_id, "buyer@example.sa")]
'''


def readme_first_example() -> tuple[str, str]:
    """The README's first Python block and the output its `print(...)  # ...` comment shows."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```python\n(.*?)```", readme, re.DOTALL)
    if match is None:
        sys.exit("README.md has no Python example")
    code = match.group(1)
    shown = re.search(r"^\s*print\(.*\)\s+#\s*(.+)$", code, re.MULTILINE)
    if shown is None:
        sys.exit("the README's first example does not show its output in a comment")
    return code, shown.group(1).strip()


def build_all(out: Path, *, isolated: bool, builder: Path) -> list[Path]:
    """Build every distribution's sdist and wheel into *out* with *builder*'s `build`."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for project in projects():
        flags = ["--installer", "uv"] if isolated else ["--no-isolation"]
        run(python_of(builder), "-m", "build", *flags, "--outdir", out, project,
            env_dir=builder, capture=True)
    built = sorted(out.iterdir())
    if len(built) != 2 * len(projects()):
        sys.exit(f"expected a wheel and an sdist per distribution, got {built}")
    return built


def package() -> int:
    """Build, check, install from the wheels and use them as a user would."""
    timings: list[tuple[str, float]] = []
    started = time.monotonic()
    python = sys.executable
    tools = uv_env("build-tools", Path(python), "build[uv]>=1.2", "twine>=6.1",
                   "check-wheel-contents>=0.6")
    hatchling_min = build_backend_lower_bound()
    lowest = uv_env("build-lowest-hatchling", Path(python), "build>=1.2",
                    f"hatchling=={hatchling_min}")

    print("== package: building with the newest hatchling", flush=True)
    built = build_all(DIST, isolated=True, builder=tools)
    print("== package: building with the lowest allowed hatchling "
          f"(hatchling=={hatchling_min})", flush=True)
    built_lowest = build_all(DIST / "lowest-hatchling", isolated=False, builder=lowest)
    for files in (built, built_lowest):
        print("== twine check --strict " + " ".join(f.name for f in files), flush=True)
        run(python_of(tools), "-m", "twine", "check", "--strict", *files, env_dir=tools)
    wheels = [f for f in built if f.suffix == ".whl"]
    print("== check-wheel-contents", flush=True)
    run(python_of(tools), "-m", "check_wheel_contents", *wheels, env_dir=tools)
    timings.append(("build and check", time.monotonic() - started))

    by_name = {w.name.split("-")[0].replace("_", "-"): w for w in wheels}
    requirements = [f"{name}[testing] @ {wheel.as_uri()}" for name, wheel in by_name.items()]
    code, expected = readme_first_example()
    for index, ((major, minor), interpreter) in enumerate(interpreters().items()):
        started = time.monotonic()
        name = f"smoke-py{major}.{minor}"
        env = MATRIX / name
        print(f"== {name}: the wheels in a fresh venv ({interpreter})", flush=True)
        run(UV, "venv", "--quiet", "--clear", "--python", interpreter, env)
        # The tests run from the sdists below also use hypothesis, and the core's mypy and
        # pytest-timeout: the tools of requirements-dev.txt they need, nothing else.
        run(UV, "pip", "install", "--quiet", "--python", python_of(env), *requirements,
            *(dev_requirements(*SDIST_TEST_TOOLS) if index == 0 else ()))
        check_installed_from_wheels(env)
        with tempfile.TemporaryDirectory(prefix="invoicekit-smoke-") as tmp:
            work = Path(tmp)
            smoke_steps(env, work, code, expected)
            if index == 0:  # on one Python: the matrix covers the others
                sdist_tests(env, work, [f for f in built if f.name.endswith(".tar.gz")])
        timings.append((name, time.monotonic() - started))
    print("\n== package: passed")
    for label, seconds in timings:
        print(f"   {label:<20} {seconds:6.0f} s")
    return 0


def check_installed_from_wheels(env: Path) -> None:
    """invoicekit and its plugins import from the venv's site-packages, not this checkout."""
    probe = ("import invoicekit, invoicekit_salla, invoicekit_dayzero\n"
             "for m in (invoicekit, invoicekit_salla, invoicekit_dayzero): print(m.__file__)")
    files = run(python_of(env), "-c", probe, env_dir=env, cwd=env, capture=True).stdout.split()
    outside = [f for f in files if "site-packages" not in f or f.startswith(str(ROOT / "src"))]
    if len(files) != 3 or outside:
        sys.exit(f"not installed from the wheels: {files}")


def smoke_steps(env: Path, work: Path, readme_code: str, expected: str) -> None:
    """`invoicekit providers`, the README's first example and a user's pytest project."""
    out = run(bin_dir(env) / "invoicekit", "providers", env_dir=env, cwd=work,
              capture=True).stdout
    missing = [n for n in ("fake", "salla", "dayzero") if not re.search(rf"\b{n}\b", out)]
    if missing:
        sys.exit(f"`invoicekit providers` does not list {missing}:\n{out}")
    print("   invoicekit providers: fake, salla and dayzero listed", flush=True)
    example = work / "readme_example.py"
    example.write_text(readme_code, encoding="utf-8")
    printed = run(python_of(env), example, env_dir=env, cwd=work, capture=True).stdout.strip()
    if printed != expected:
        sys.exit(f"the README's first example printed {printed!r}, the README says {expected!r}")
    print(f"   README example: {printed}", flush=True)
    project = work / "userapp"
    project.mkdir()
    (project / "test_userapp.py").write_text(SMOKE_TEST, encoding="utf-8")
    result = run(python_of(env), "-m", "pytest", "-q", "-W", "error", "--strict-markers",
                 "-p", "no:cacheprovider", env_dir=env, cwd=project, capture=True)
    if not re.search(r"\b2 passed\b", result.stdout):
        sys.exit(f"the user's pytest project did not pass both tests:\n{result.stdout}")
    print("   a user's pytest project with invoicekit_fake and salla_sandbox: 2 passed",
          flush=True)


def dev_requirements(*names: str) -> list[str]:
    """The lines of requirements-dev.txt for the tools *names* (comments dropped)."""
    found = {}
    for line in (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        name = re.split(r"[\s\[<>=!~]", requirement, maxsplit=1)[0]
        if name in names:
            found[name] = requirement
    if len(found) != len(names):
        sys.exit(f"requirements-dev.txt lacks {sorted(set(names) - set(found))}")
    return [found[n] for n in names]


# What the tests run from the sdists need beyond the `testing` extra.
SDIST_TEST_TOOLS = ("hypothesis", "mypy", "pytest-timeout")


def sdist_tests(env: Path, work: Path, sdists: list[Path]) -> None:
    """Each distribution's tests pass from its unpacked sdist, against the installed wheels
    (the core's tests need the plugins: they are installed, from their wheels)."""
    for sdist in sdists:
        with tarfile.open(sdist) as archive:
            archive.extractall(work, filter="data")
        unpacked = work / sdist.name.removesuffix(".tar.gz")
        print(f"   pytest in the unpacked {sdist.name}", flush=True)
        result = run(python_of(env), "-m", "pytest", "-q", env_dir=env, cwd=unpacked,
                     capture=True)
        print("   " + result.stdout.strip().splitlines()[-1], flush=True)


# ---- mutation testing ---------------------------------------------------------------------


class MutationTarget(NamedTuple):
    """One module that carries a promise, the tests that guard it and the part mutated.

    *project* is the distribution's folder (the core or a plugin), *module* the file under
    its `src/`, *tests* the test files (under the project's `tests/`) that may kill a
    mutant; mutmut then runs, for each mutant, only those of them that executed the mutated
    function. *functions* narrows a large module to the functions that carry the promise
    (mutmut's names: `x_function`, `xǁClassǁmethod`).
    """

    project: str
    module: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ("*",)
    deselect: str = ""  # a `pytest -k` expression for tests too slow to run per mutant
    # Survivors read and found equivalent (the reasons: docs/reliability.md, "Equivalent
    # mutants"). They are left out of the kill rate, the usual mutation score: a change no
    # test can notice says nothing about the tests. Names as mutmut's, without the module.
    equivalent: tuple[str, ...] = ()
    # Seconds a test may take against a mutant (pytest-timeout; 0: the project's setting).
    # A mutant that makes a retry loop endless otherwise runs until mutmut's CPU limit,
    # about 30 times the tests' own time: minutes each.
    test_timeout: int = 0

    @property
    def dotted(self) -> str:
        return self.module.removesuffix(".py").replace("/", ".")

    def globs(self) -> list[str]:
        """mutmut's mutant-name patterns for the mutated part of the module."""
        return [f"{self.dotted}.{f}__mutmut_*" if f != "*" else f"{self.dotted}.*"
                for f in self.functions]


_ENGINE = "xǁHttpEngineǁ"
_JOURNAL = "xǁJournalǁ"
_SQLITE = "xǁ_SQLiteǁ"


def _mutants(function: str, *numbers: int) -> tuple[str, ...]:
    """mutmut's names for the mutants *numbers* of *function* (`x_f`, `xǁClassǁmethod`)."""
    return tuple(f"{function}__mutmut_{n}" for n in numbers)


MUTATION_TARGETS: dict[str, MutationTarget] = {
    "money": MutationTarget(".", "invoicekit/_money.py", (
        "test_core_money.py", "test_core_money_promises.py", "test_reliability_secrets.py"),
        equivalent=(*_mutants("x__amount", 3, 5, 6), *_mutants("x__exact", 4),
                    *_mutants("xǁMoneyǁfrom_minor", 21, 22),
                    *_mutants("xǁMoneyǁquantize", 8, 9, 12, 21, 22))),
    "redaction": MutationTarget(".", "invoicekit/_secrets.py", (
        "test_http_security.py", "test_http_redaction_promises.py",
        "test_reliability_secrets.py"), equivalent=(
            *_mutants("x_redact_value", 7, 11, 19, 48, 51, 52, 67, 70, 71),
            *_mutants("x_register_secret", 3, 18, 19, 20, 24, 25),
            *_mutants("x_scrub_exception", 7, 27),
            *_mutants("xǁSecretǁ__eq__", 8, 11), *_mutants("xǁSecretǁ__hash__", 2, 3, 4),
            *_mutants("xǁ_RedactingFilterǁfilter", 4, 10))),
    "throttle": MutationTarget(".", "invoicekit/_throttle.py", (
        "test_http_throttle.py", "test_http_throttle_promises.py",
        "test_reliability_throttle.py"), deselect=(
            "not 200_tasks and not 32_threads and not thousand_waiters and not burst"),
        equivalent=(
            *_mutants("xǁThrottleǁ__init__", 30, 34, 35, 39, 40, 41, 42, 43),
            *_mutants("xǁTicketǁ__init__", 6), *_mutants("x_parse_retry_after", 12),
            *_mutants("xǁThrottleǁ_learn_remaining", 12), *_mutants("xǁThrottleǁ_advance", 8),
            *_mutants("xǁThrottleǁ_learn_reset", 29, 47, 56),
            *_mutants("xǁThrottleǁwait_for", 21))),
    # The retry policy: which answers are retried, how long to wait, which error comes out.
    # The direct tests on `httpx.MockTransport` only: the sandbox (real sockets) and thread
    # tests of test_http_faults.py and test_http_throttle.py prove the same rules end to
    # end, at ten times the cost per mutant.
    "retry": MutationTarget(".", "invoicekit/_http.py", (
        "test_http_engine.py", "test_http_retry_promises.py"), tuple(
            _ENGINE + name for name in ("attempts", "_retry_sleep", "_backoff", "_error",
                                        "_as_outcome_unknown", "_transport_error",
                                        "_blocked")),
        test_timeout=10, equivalent=_mutants(_ENGINE + "attempts", 4, 5, 7, 13)),
    # Exactly once: the states an entry goes through, the transactions that record them,
    # the schema check and the lease, tested on the journal itself (a file and a second
    # connection, seconds in all). Left out: the PostgreSQL runs (a server per mutant) and
    # whole migrations (their failure paths reach the journal through the same calls); the
    # SIGKILL and CLI tests run the unmutated module in a child process.
    "journal": MutationTarget(".", "invoicekit/migration/_journal.py", (
        "migration/test_journal_promises.py", "migration/test_journal.py"), (
            *(_JOURNAL + name for name in (
                "transaction", "upsert", "mark_*", "_check_version", "get", "get_many",
                "pending_customers", "customer", "customer_*", "customers_in_flight",
                "_take_lease", "_extend_lease", "marks_done", "_record_done")),
            *(_SQLITE + name for name in ("begin", "commit", "rollback")), "x__entry"),
        deselect=("not postgresql and not killed and not shown_location and not two_runs "
                  "and not through_a_symlink"),
        # `durable=None` for `durable=False`: both falsy, the same relaxed commit.
        equivalent=(*_mutants(_JOURNAL + "mark_failed", 1), *_mutants(_JOURNAL + "marks_done", 1))),
    # The readers: amounts, currencies and dates, and for Salla the assembly of an invoice
    # too (`to_invoice`, `_item`: 17 s more). DayZero's `to_invoice`, `invoice_page` and
    # `_unusable` add 60 s, past the readers' three minutes: the Reliability page has their
    # figures (`dev.py mutate --full` takes each whole module, the writers too). The
    # generated-payload (hypothesis) tests are left out: seconds each for every surviving
    # mutant, and the `*_reader_promises.py` tests kill every mutant they killed.
    "salla-reader": MutationTarget("plugins/salla", "invoicekit_salla/_wire.py", (
        "test_salla_wire.py", "test_salla_reader.py", "test_salla_reader_promises.py"), (
            "x__number", "x_read_amount", "x__not_an_amount", "x__money", "x__tax",
            "x__currency", "x__currency_of", "x__own_currency", "x__date", "x__kind",
            "x_to_invoice", "x__item", "x_kind_from_label", "x__text", "x__item_fault"),
        deselect="not generated_quirky_payloads and not garbage_never_escapes",
        equivalent=(*_mutants("x__currency", 7, 8), *_mutants("x__date", 13),
                    *_mutants("x__item", 2, 62, 136, 145, 154),
                    *_mutants("x__item_fault", 7, 8, 9),
                    *_mutants("x__money", 17, 18, 29, 30, 44, 45),
                    *_mutants("x__number", 10, 11), *_mutants("x__tax", 16),
                    *_mutants("x_kind_from_label", 1, 27, 28))),
    "dayzero-reader": MutationTarget("plugins/dayzero", "invoicekit_dayzero/_wire.py", (
        "test_dayzero_wire.py", "test_dayzero_reader.py", "test_dayzero_reader_promises.py"), (
            "x__cents", "x__money", "x__currency", "x__day", "x__text", "x__strict_bool",
            "x__strict_str", "x__shown", "x__wrong"),
        deselect="not generated_invoices_read_exactly and not one_odd_value",
        equivalent=(*_mutants("x__currency", 18, 19), *_mutants("x__money", 2, 3),
                    *_mutants("x__wrong", 8))),
}
MUTATION = ROOT / ".mutation"
KILLED = {"killed", "timeout"}  # mutmut's statuses that count as a kill


def mutation_workdir(name: str, target: MutationTarget) -> Path:
    """`.mutation/NAME`, laid anew: a copy of the project's `src`, `tests` and
    `pyproject.toml` (its pytest settings), and mutmut's settings in `setup.cfg`.

    mutmut names a mutant after its path under `src/` and runs from one project root; a
    folder per target gives each plugin's module its importable name and each module its
    own test selection, and leaves the repository's files untouched.
    """
    work = MUTATION / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    project = ROOT / target.project
    # Copies, not links: a build backend walking the repository would meet the sources
    # twice through a link (hatchling then leaves `src/` out of the sdist).
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(project / "src", work / "src", ignore=ignore)
    shutil.copytree(project / "tests", work / "tests", ignore=ignore)
    shutil.copy2(project / "pyproject.toml", work / "pyproject.toml")
    selection = "\n".join(f"    tests/{t}" for t in target.tests)
    if target.deselect:
        selection += f"\n    -k\n    {target.deselect}"
    (work / "setup.cfg").write_text(
        "[mutmut]\n"
        "source_paths =\n    src\n"
        f"only_mutate =\n    src/{target.module}\n"
        f"pytest_add_cli_args_test_selection =\n{selection}\n"
        + (f"pytest_add_cli_args =\n    -o\n    timeout={target.test_timeout}\n"
           if target.test_timeout else "")
        # mutmut's own change detection compares against git, which this folder is not in.
        + "use_git_change_detection = false\n",
        encoding="utf-8")
    return work


def mutation_results(work: Path, target: MutationTarget) -> dict[str, str]:
    """`{mutant name: status}` for the mutants of *target* (from `mutmut results --all`)."""
    import fnmatch

    out = run(BIN / "mutmut", "results", "--all", "true", cwd=work, capture=True).stdout
    results: dict[str, str] = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and any(fnmatch.fnmatchcase(name, g) for g in target.globs()):
            results[name] = status
    return results


_SQL_STATEMENT = re.compile(
    r"\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA|BEGIN|COMMIT|ROLLBACK|WITH)\b",
    re.IGNORECASE)
_SQL_QUOTED = re.compile(r"'[^']*'")


def sql_case_mutants(work: Path, target: MutationTarget, names: list[str]) -> set[str]:
    """The mutants among *names* whose only change is the case of an SQL statement's words.

    mutmut also writes every string in lower and in upper case. SQLite and PostgreSQL read
    keywords and the names of tables, columns and pragmas in any case, so such a mutant runs
    the same statement: no test can notice it. Found by comparing each mutant's syntax tree
    with the original function's (mutmut keeps both in `mutants/`): the two differ in one
    string only, that string is an SQL statement, it differs only in case, and every
    quoted value in it (`'in_flight'`, which the database does compare) is unchanged.
    """
    import ast

    source = work / "mutants" / "src" / target.module
    if not names or not source.is_file():
        return set()
    functions = {node.name: node for node in ast.walk(ast.parse(source.read_text("utf-8")))
                 if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}

    def strings(node: ast.AST) -> list[object]:
        return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant)]

    def shape(node: ast.AST) -> str:
        copy = ast.parse(ast.unparse(node)).body[0]
        assert isinstance(copy, ast.FunctionDef | ast.AsyncFunctionDef)
        copy.name = "f"
        for n in ast.walk(copy):
            if isinstance(n, ast.Constant) and isinstance(n.value, str):
                n.value = n.value.casefold()
        return ast.dump(copy)

    found: set[str] = set()
    for name in names:
        function = name.rpartition(".")[2]
        mutant = functions.get(function)
        original = functions.get(function.rpartition("__mutmut_")[0] + "__mutmut_orig")
        if mutant is None or original is None or shape(mutant) != shape(original):
            continue
        changed = [(a, b) for a, b in zip(strings(original), strings(mutant), strict=False)
                   if a != b]
        if (len(changed) == 1 and all(isinstance(v, str) for v in changed[0])
                and _SQL_STATEMENT.match(str(changed[0][0]))
                and _SQL_QUOTED.findall(str(changed[0][0]))
                == _SQL_QUOTED.findall(str(changed[0][1]))):
            found.add(name)
    return found


def mutate(names: list[str], *, full: bool = False) -> int:
    """Run mutmut on each target in turn; print and write the kill rate per module.

    *full*: every function of each module, not only the part that carries its promise.
    """
    if os.name == "nt":
        sys.exit("dev.py mutate needs fork(): run it on Linux or macOS")
    unknown = [n for n in names if n not in MUTATION_TARGETS]
    if unknown:
        sys.exit(f"unknown module {unknown}; try: {', '.join(MUTATION_TARGETS)}")
    summary_file = MUTATION / "summary.json"
    summary: dict[str, dict[str, object]] = {}
    if summary_file.is_file():  # the modules not run this time keep their last figures
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
    for name in names or list(MUTATION_TARGETS):
        target = MUTATION_TARGETS[name]
        if full:
            target = target._replace(functions=("*",))
        work = mutation_workdir(name, target)
        print(f"== mutate {name}: {target.project}/src/{target.module}", flush=True)
        started = time.monotonic()
        log = work / "mutmut.log"
        with log.open("w", encoding="utf-8") as sink:
            env = {**os.environ, "PYTHONUTF8": "1"}
            env.pop("PYTHONPATH", None)
            code = subprocess.run(
                [str(BIN / "mutmut"), "run", "--max-children", str(os.cpu_count() or 2),
                 *target.globs()], cwd=work, env=env, stdout=sink, stderr=subprocess.STDOUT,
                check=False).returncode
        seconds = round(time.monotonic() - started)
        results = mutation_results(work, target)
        if code != 0 or not results:
            print(log.read_text(encoding="utf-8")[-3000:], file=sys.stderr)
            sys.exit(f"mutmut failed on {name} (exit {code}); its log: {log}")
        killed = sum(status in KILLED for status in results.values())
        listed = {f"{target.dotted}.{n}" for n in target.equivalent}
        # A listed mutant that was killed or is gone: the module changed and its mutants
        # were numbered anew, so the list must be read again.
        stale = sorted(n for n in listed if results.get(n, "killed") in KILLED)
        unlisted = sorted(n for n, status in results.items()
                          if status not in KILLED and n not in listed)
        sql_case = sql_case_mutants(work, target, unlisted)  # found, not listed
        equivalent = sorted(n for n in listed if n not in stale) + sorted(sql_case)
        survivors = [n for n in unlisted if n not in sql_case]
        counted = len(results) - len(equivalent)
        summary[name] = {"module": f"{target.project}/src/{target.module}".removeprefix("./"),
                         "mutants": len(results), "equivalent": len(equivalent),
                         "sql_case": len(sql_case), "killed": killed,
                         "kill_rate": round(100 * killed / counted, 1) if counted else 100.0,
                         "kill_rate_of_all": round(100 * killed / len(results), 1),
                         "seconds": seconds,
                         "survivors": {n: results[n] for n in survivors},
                         "stale_equivalent": stale}
        print(f"   {killed}/{counted} killed ({summary[name]['kill_rate']}%) in {seconds}s; "
              f"{len(equivalent)} equivalent left out, {len(sql_case)} of them SQL case changes "
              f"({summary[name]['kill_rate_of_all']}% of all {len(results)})", flush=True)
        for survivor in survivors:
            print(f"   {results[survivor]:>10}  {survivor}", flush=True)
        for mutant in stale:
            print(f"   listed as equivalent but {results.get(mutant, 'not found')}: {mutant}"
                  " (read the list again)", flush=True)
        summary_file.write_text(json.dumps(summary, indent=2, ensure_ascii=False),
                                encoding="utf-8")
    print("\n== kill rate per module, equivalent mutants left out (* from an earlier run)")
    for name, row in summary.items():
        name = name if name in (names or MUTATION_TARGETS) else f"{name} *"
        counted = int(row["mutants"]) - int(row.get("equivalent", 0))  # type: ignore[call-overload]
        print(f"{row['kill_rate']:>6}%  {row['killed']:>4}/{counted:<4} "
              f"{row['seconds']:>5}s  {name}")
    print(f"\nSee a survivor: cd .mutation/MODULE && ../../.venv/bin/mutmut show NAME; "
          f"the figures are in {summary_file}")
    return 0


# ---- commands -----------------------------------------------------------------------------


def cmd_demo(rest: list[str]) -> int:
    return run(PY, ROOT / "examples" / "demo.py", *rest, check=False).returncode


def cmd_test(rest: list[str]) -> int:
    lint()
    print("== pytest", flush=True)
    code = run(PY, "-m", "pytest", *rest, check=False).returncode
    if code == 5:
        sys.exit("pytest collected no tests: that is a failure")
    return code


def cmd_lint(rest: list[str]) -> int:
    lint()
    return 0


def cmd_docs(rest: list[str]) -> int:
    return run(PY, "-m", "mkdocs", "build", "--strict", *rest, check=False).returncode


def cmd_bench(rest: list[str]) -> int:
    return run(PY, "bench/run.py", *rest, check=False).returncode


def cmd_sandbox(rest: list[str]) -> int:
    return run(PY, "-m", "invoicekit", "sandbox", *rest, check=False).returncode


def cmd_mutate(rest: list[str]) -> int:
    if rest == ["--list"]:
        for name, target in MUTATION_TARGETS.items():
            print(f"{name:15} {target.project}/src/{target.module}".replace("./", ""))
        return 0
    full = "--full" in rest
    return mutate([n for n in rest if n != "--full"], full=full)


def cmd_matrix(rest: list[str]) -> int:
    return matrix(rest)


def cmd_package(rest: list[str]) -> int:
    if rest:
        sys.exit("dev.py package takes no arguments")
    return package()


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "demo": cmd_demo, "test": cmd_test, "lint": cmd_lint, "docs": cmd_docs,
    "bench": cmd_bench, "matrix": cmd_matrix, "package": cmd_package, "sandbox": cmd_sandbox,
    "mutate": cmd_mutate,
}


def main(argv: list[str]) -> None:
    if sys.version_info < MIN_PYTHON:  # dev.py may run on an older python3
        sys.exit("invoicekit needs Python 3.11 or newer")
    command = argv[0] if argv else "help"
    if command in ("help", "-h", "--help"):
        print(__doc__)
        return
    handler = COMMANDS.get(command)
    if handler is None:  # before any environment is built: a typo costs nothing
        sys.exit(f"unknown command {command!r}; try: {', '.join(COMMANDS)}")
    ensure_env()
    sys.exit(handler(argv[1:]))


if __name__ == "__main__":
    main(sys.argv[1:])
