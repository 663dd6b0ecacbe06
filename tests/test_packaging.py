"""Release readiness: what the three distributions ship and declare, and the release tooling.

The wheels and sdists are built here in process with hatchling (no network), so a
pyproject edit that drops the LICENSE, a classifier or a declared dependency fails the
suite, not a release. `python3 dev.py package` builds them the way a release does and uses
them from a fresh environment; `python3 dev.py matrix` tests the lower bounds.
"""

from __future__ import annotations

import ast
import email.parser
import importlib.util
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import types
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = {"invoicekit": ROOT, "invoicekit-salla": ROOT / "plugins" / "salla",
            "invoicekit-dayzero": ROOT / "plugins" / "dayzero"}
REPO = "https://github.com/invoicekit/invoicekit"


def load_dev() -> types.ModuleType:
    """`dev.py` as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("invoicekit_dev_script", ROOT / "dev.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pyproject(name: str) -> dict[str, Any]:
    return tomllib.loads((PROJECTS[name] / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Path, Path]]]:
    """`{distribution: (wheel, sdist)}`, built with the hatchling installed here."""
    out = tmp_path_factory.mktemp("dist")
    result: dict[str, tuple[Path, Path]] = {}
    for name, folder in PROJECTS.items():
        target = out / name
        subprocess.run([sys.executable, "-m", "hatchling", "build", "-d", str(target)],
                       cwd=folder, check=True, capture_output=True)
        wheel = next(target.glob("*.whl"))
        sdist = next(target.glob("*.tar.gz"))
        result[name] = (wheel, sdist)
    yield result
    shutil.rmtree(out, ignore_errors=True)


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))


def sdist_top_level(sdist: Path) -> set[str]:
    with tarfile.open(sdist) as archive:
        return {m.name.split("/")[1] for m in archive.getmembers() if m.name.count("/") >= 1}


# ---- metadata -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROJECTS)
def test_wheel_metadata_states_license_urls_classifiers_and_author(
        name: str, built: dict[str, tuple[Path, Path]]) -> None:
    meta = wheel_metadata(built[name][0])
    assert meta["Name"] == name
    assert tuple(int(x) for x in meta["Metadata-Version"].split(".")) >= (2, 4)
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta["Author"] == "invoicekit maintainers"
    assert meta["Requires-Python"] == ">=3.11"
    classifiers = set(meta.get_all("Classifier") or [])
    assert {"Typing :: Typed", "Framework :: Pytest",
            "Programming Language :: Python :: 3.11", "Programming Language :: Python :: 3.12",
            "Programming Language :: Python :: 3.13"} <= classifiers
    # PEP 639: the SPDX expression replaces the license classifier (PyPI refuses both).
    assert not [c for c in classifiers if c.startswith("License ::")]
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert set(urls) == {"Homepage", "Documentation", "Source", "Changelog", "Issues"}
    assert all(u.startswith(REPO) for u in urls.values()), urls
    extras = {"invoicekit": ["fleet", "postgres", "testing"]}.get(meta["Name"], ["testing"])
    assert sorted(meta.get_all("Provides-Extra") or []) == extras


def test_the_testing_extra_brings_pytest(built: dict[str, tuple[Path, Path]]) -> None:
    core = wheel_metadata(built["invoicekit"][0]).get_all("Requires-Dist") or []
    assert "pytest>=8.2; extra == 'testing'" in core
    for plugin in ("invoicekit-salla", "invoicekit-dayzero"):
        requires = wheel_metadata(built[plugin][0]).get_all("Requires-Dist") or []
        assert "invoicekit[testing]<0.2,>=0.1; extra == 'testing'" in requires


def test_plugins_declare_every_third_party_module_they_import() -> None:
    for name in ("invoicekit-salla", "invoicekit-dayzero"):
        folder = PROJECTS[name] / "src"
        imported: set[str] = set()
        for path in folder.rglob("*.py"):
            if path.name == "pytest_plugin.py":
                continue  # loaded by pytest only: pytest comes with the `testing` extra
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    imported |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    imported.add(node.module.split(".")[0])
        third_party = {m for m in imported if m not in sys.stdlib_module_names
                       and not m.startswith("invoicekit")}
        declared = {re.split(r"[<>=\[ ]", r, maxsplit=1)[0]
                    for r in pyproject(name)["project"]["dependencies"]}
        assert third_party == {"attrs", "cattrs"}, (name, third_party)
        assert third_party <= declared, (name, declared)


# ---- contents -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROJECTS)
def test_wheel_ships_the_package_its_typed_marker_and_the_license(
        name: str, built: dict[str, tuple[Path, Path]]) -> None:
    package = name.replace("-", "_")
    with zipfile.ZipFile(built[name][0]) as archive:
        names = archive.namelist()
        license_text = archive.read(f"{package}-0.1.0.dist-info/licenses/LICENSE").decode()
    assert f"{package}/py.typed" in names
    assert f"{package}/__init__.py" in names
    assert {n.split("/")[0] for n in names} == {package, f"{package}-0.1.0.dist-info"}
    assert license_text == (ROOT / "LICENSE").read_text(encoding="utf-8")


def test_sdists_hold_what_building_and_testing_needs_and_nothing_else(
        built: dict[str, tuple[Path, Path]]) -> None:
    # hatchling always adds PKG-INFO and the .gitignore it read its exclusions from.
    assert sdist_top_level(built["invoicekit"][1]) == {
        "src", "tests", "docs", "examples", "README.md", "CHANGELOG.md", "LICENSE",
        "pyproject.toml", "PKG-INFO", ".gitignore"}
    for plugin in ("invoicekit-salla", "invoicekit-dayzero"):
        assert sdist_top_level(built[plugin][1]) == {
            "src", "tests", "README.md", "LICENSE", "pyproject.toml", "PKG-INFO", ".gitignore"}
    with tarfile.open(built["invoicekit"][1]) as archive:
        names = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
    assert "tests/test_bench_smoke.py" not in names  # bench/ stays in the repository
    assert "tests/test_fake_contract.py" in names
    assert not [n for n in names if "__pycache__" in n]


def test_license_files_are_the_mit_license_of_the_maintainers() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n\nCopyright (c) 2026 invoicekit maintainers\n")
    assert "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND" in text
    for folder in list(PROJECTS.values())[1:]:
        assert (folder / "LICENSE").read_text(encoding="utf-8") == text


@pytest.mark.parametrize("name", PROJECTS)
def test_long_descriptions_link_absolutely_to_files_that_exist(name: str) -> None:
    readme = (PROJECTS[name] / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert targets, "the README links somewhere"
    relative = [t for t in targets if not re.match(r"https?://", t)]
    assert relative == [], "a relative link breaks on the package index"
    for target in targets:
        match = re.match(rf"{re.escape(REPO)}/(?:blob|tree)/main/(.+)$", target)
        if match:
            assert (ROOT / match.group(1)).exists(), f"{name} README links to {target}"


def test_the_plugins_docs_tests_find_their_pages_here() -> None:
    """From an unpacked plugin sdist those tests skip; in the repository they must run."""
    for page in ("salla", "dayzero"):
        assert (ROOT / "docs" / "providers" / f"{page}.md").is_file()


# ---- lower bounds and build backend -------------------------------------------------------


def test_lower_bounds_are_the_tested_minimums() -> None:
    dev = load_dev()
    # cattrs 24.1: Converter.get_structure_hook; stevedore 5.6: DriverManager's
    # on_missing_entrypoints_callback (both checked against the releases before them);
    # msgspec 0.18.6: the encoder's `order=` (0.18.5 refuses it).
    assert dev.lower_bounds() == {"httpx": "0.27", "attrs": "23.1", "cattrs": "24.1",
                                  "stevedore": "5.6", "sniffio": "1.3", "msgspec": "0.18.6",
                                  "rich": "13.3.3", "pytest": "8.2", "psycopg": "3.1.4",
                                  "celery": "5.7", "redis": "6.4"}
    assert dev.build_backend_lower_bound() == "1.27"


def test_the_matrix_reads_pytest_counts_from_a_junit_report(tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    report.write_text('<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="10" '
                      'failures="1" errors="2" skipped="3"/></testsuites>')
    assert load_dev().pytest_counts(report) == {"passed": 4, "failed": 1, "errors": 2,
                                                "skipped": 3}


def test_the_matrix_finds_this_python_and_nothing_older_than_3_11() -> None:
    found = load_dev().interpreters()
    assert sys.version_info[:2] in found
    assert min(found) >= (3, 11)


def test_the_smoke_test_runs_the_readme_first_example_and_expects_its_output() -> None:
    code, expected = load_dev().readme_first_example()
    assert code.startswith("from decimal import Decimal\n")
    assert expected == "INV-0001 360.00 EUR -> ada@example.com"


# ---- dev.py --------------------------------------------------------------------------------


def test_an_unknown_dev_command_fails_before_building_anything(tmp_path: Path) -> None:
    shutil.copy(ROOT / "dev.py", tmp_path / "dev.py")
    result = subprocess.run([sys.executable, str(tmp_path / "dev.py"), "foo"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "unknown command 'foo'; try: demo, test, lint, docs, bench, matrix, package, sandbox, "
        "mutate")
    assert result.stdout == ""
    assert not (tmp_path / ".venv").exists()


def test_the_dev_environment_install_shows_pip_progress(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dev = load_dev()
    venv = tmp_path / ".venv"
    python = dev.python_of(venv)
    python.parent.mkdir(parents=True)
    python.write_text("")  # an existing interpreter: only the install step runs
    calls: list[list[str]] = []
    monkeypatch.setattr(dev, "VENV", venv)
    monkeypatch.setattr(dev, "PY", python)
    monkeypatch.setattr(dev, "run", lambda *cmd, **kw: calls.append([str(c) for c in cmd]))
    dev.ensure_env()
    assert [c[1:4] for c in calls] == [["-m", "pip", "install"]] * 2
    assert not [c for c in calls if {"--quiet", "-q"} & set(c)], calls
    assert [str(ROOT), str(ROOT / "plugins" / "dayzero"), str(ROOT / "plugins" / "salla")] == [
        c for i, c in enumerate(calls[1]) if calls[1][i - 1] == "-e"]
    assert (venv / ".invoicekit-stamp").read_text() == dev.fingerprint()


def test_ci_runs_the_readme_test_command_first_then_the_matrix_and_the_package_check() -> None:
    commands = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if re.match(r"^\s*(step\s+)?python3 dev\.py ", line)]
    verbs = [re.search(r"dev\.py (\w+)", line).group(1)  # type: ignore[union-attr]
             for line in commands]
    assert verbs[0] == "test"
    assert {"matrix", "package"} <= set(verbs)
