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
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def plugins() -> list[Path]:
    return sorted(p for p in (ROOT / "plugins").glob("*") if (p / "pyproject.toml").is_file())


def fingerprint() -> str:
    h = hashlib.sha256(sys.version.encode())
    for f in [ROOT / "pyproject.toml", ROOT / "requirements-dev.txt"] + [
        p / "pyproject.toml" for p in plugins()
    ]:
        h.update(str(f.relative_to(ROOT)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def run(*cmd: str | Path, check: bool = True) -> int:
    env = dict(os.environ)
    env.setdefault("PYTHONUTF8", "1")
    env.setdefault("NO_MKDOCS_2_WARNING", "1")  # mkdocs-material's banner is not our output
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env, check=False)
    if check and result.returncode != 0:
        sys.exit(result.returncode)
    return result.returncode


def ensure_env() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (dev.py may run on an older python3)
        sys.exit("invoicekit needs Python 3.11 or newer")
    stamp = VENV / ".invoicekit-stamp"
    want = fingerprint()
    if stamp.is_file() and stamp.read_text() == want and PY.exists():
        return
    if not PY.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    print("installing invoicekit, its plugins and the dev tools into .venv ...", flush=True)
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    args: list[str | Path] = ["-e", ROOT]
    for p in plugins():
        args += ["-e", p]
    run(PY, "-m", "pip", "install", "--quiet", "-r", ROOT / "requirements-dev.txt", *args)
    stamp.write_text(want)


def lint() -> None:
    print("== ruff", flush=True)
    run(PY, "-m", "ruff", "check", ".")
    print("== mypy --strict", flush=True)
    run(PY, "-m", "mypy")


def main(argv: list[str]) -> None:
    command = argv[0] if argv else "help"
    rest = argv[1:]
    if command in ("help", "-h", "--help"):
        print(__doc__)
        return
    ensure_env()
    if command == "demo":
        run(PY, ROOT / "examples" / "demo.py", *rest)
    elif command == "test":
        lint()
        print("== pytest", flush=True)
        code = run(PY, "-m", "pytest", *rest, check=False)
        if code == 5:
            sys.exit("pytest collected no tests: that is a failure")
        sys.exit(code)
    elif command == "lint":
        lint()
    elif command == "docs":
        run(PY, "-m", "mkdocs", "build", "--strict", *rest)
    elif command == "bench":
        run(PY, "bench/run.py", *rest)
    elif command == "sandbox":
        run(PY, "-m", "invoicekit", "sandbox", *rest)
    else:
        sys.exit(f"unknown command {command!r}; try: demo, test, lint, docs, bench")


if __name__ == "__main__":
    main(sys.argv[1:])
