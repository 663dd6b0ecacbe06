"""The documentation site as a reader meets it: the API reference is complete without
duplicates or private names, the feature matrix reads right in the repository, build code
stays out of the site, the docs' pytest example works under `--strict-markers`, the command
line page's draft files work, and the from-source install names what exists."""

from __future__ import annotations

import html
import importlib
import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from docs_support import ROOT, extract_blocks
from invoicekit import cli

pytest_plugins = ["pytester"]

REFERENCE = ROOT / "docs" / "reference.md"
DOCUMENTED = [
    "invoicekit", "invoicekit.errors", "invoicekit.provider", "invoicekit.migration",
    "invoicekit.testing", "invoicekit.testing.sandbox", "invoicekit_salla",
    "invoicekit_salla.sandbox", "invoicekit_salla.zatca", "invoicekit_salla.webhooks",
    "invoicekit_salla.oauth", "invoicekit_dayzero", "invoicekit_dayzero.sandbox",
]


def reference_sections() -> dict[str, list[str]]:
    """`{module: [members]}` of every `::: module` directive of the reference page."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in REFERENCE.read_text(encoding="utf-8").splitlines():
        directive = re.fullmatch(r"::: ([\w.]+)", line.strip())
        if directive:
            assert directive.group(1) not in sections, f"{directive.group(1)} twice"
            current = sections[directive.group(1)] = []
        elif current is not None and re.fullmatch(r" {8}- \w+", line):
            current.append(line.strip()[2:])
    return sections


def test_the_reference_covers_every_public_name_once() -> None:
    sections = reference_sections()
    assert set(DOCUMENTED) <= set(sections), set(DOCUMENTED) - set(sections)
    documented: dict[int, str] = {}
    for module_name, members in sections.items():
        module = importlib.import_module(module_name)
        for member in members:
            obj = getattr(module, member)  # a listed name that does not exist fails here
            where = f"{module_name}.{member}"
            assert id(obj) not in documented, f"{where} duplicates {documented[id(obj)]}"
            documented[id(obj)] = where
    missing = [f"{name}.{attr}" for name in DOCUMENTED
               for attr in importlib.import_module(name).__all__
               if attr != "__version__"
               and not inspect.ismodule(getattr(importlib.import_module(name), attr))
               and id(getattr(importlib.import_module(name), attr)) not in documented]
    assert not missing, f"public names missing from docs/reference.md: {missing}"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs")
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_the_site_leaves_build_code_out(site: Path) -> None:
    assert (site / "reference" / "index.html").is_file()
    assert not list(site.rglob("*.py")), "build code was copied into the site"


def test_the_reference_shows_no_private_names_in_signatures(site: Path) -> None:
    page = (site / "reference" / "index.html").read_text(encoding="utf-8")
    signatures = " ".join(re.findall(r'<div class="doc-signature.*?</div>', page, re.DOTALL))
    headings = " ".join(re.findall(r"<h[2-5][^>]*>.*?</h[2-5]>", page, re.DOTALL))
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    assert "Bases:" not in text  # bases would name private classes such as _GatewayBase
    assert not re.findall(r"invoicekit\w*\._\w+", text)
    private = re.findall(r"\b_[A-Za-z]\w*", html.unescape(re.sub(r"<[^>]+>", " ",
                                                              signatures + headings)))
    assert not private, private
    assert "FakeGateway" in text
    assert "ZatcaQr" in text


def test_the_feature_matrix_committed_is_what_the_code_says() -> None:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "_hooks.py")
    assert spec is not None
    assert spec.loader is not None
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    page = (ROOT / "docs" / "features.md").read_text(encoding="utf-8")
    assert page == hooks.render(page), "run `python docs/_hooks.py` to update docs/features.md"
    table = page.split(hooks.START, 1)[1].split(hooks.END, 1)[0]
    assert "| `get_pdf_url` | yes | yes | — |" in table  # dayzero, fake, salla
    assert "| `send_cc` | yes | yes | — |" in table
    assert "| `credit_note` | — | yes | yes |" in table
    assert "PDF_URL" not in table


def test_the_live_example_runs_under_strict_markers(pytester: pytest.Pytester) -> None:
    page = ROOT / "docs" / "testing.md"
    live = next(b for b in extract_blocks(page.read_text(encoding="utf-8"), page)
                if b.is_python and "@pytest.mark.live" in b.code)
    pytester.makepyfile(test_live_example=live.code)
    result = pytester.runpytest_inprocess("--strict-markers", "-p", "no:hypothesispytest",
                                          "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=0 if os.environ.get("SALLA_TOKEN") else 1)
    assert "not found in `markers`" not in result.stdout.str()


def cli_draft_blocks() -> list[tuple[str, str]]:
    page = ROOT / "docs" / "cli.md"
    return [(b.language, b.code) for b in extract_blocks(page.read_text(encoding="utf-8"), page)
            if b.language in ("json", "toml") and "[invoicekit]" not in b.code]


@pytest.mark.parametrize(("language", "code"), cli_draft_blocks())
def test_the_cli_page_drafts_pass_a_dry_run(language: str, code: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    draft = tmp_path / f"draft.{language}"
    draft.write_text(code, encoding="utf-8")
    profile = "dayzero" if language == "json" else "salla"
    config = tmp_path / "fake.toml"
    config.write_text(f'[invoicekit]\nprovider = "fake"\nprofile = "{profile}"\n')
    code_ = cli.main(["--config", str(config), "--json", "create", str(draft), "--dry-run"])
    out, err = capsys.readouterr()
    assert code_ == 0, err
    assert json.loads(out)["sent"] is False


def test_the_cli_page_documents_every_exit_status() -> None:
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    statuses = {int(n) for n in re.findall(r"^\| (\d+) \|", page, flags=re.MULTILINE)}
    assert statuses == {cli.EXIT_OK, cli.EXIT_ERROR, cli.EXIT_USAGE, cli.EXIT_INTERNAL,
                        cli.EXIT_INTERRUPTED}


def test_the_readme_from_checkout_install_names_what_exists() -> None:
    if not (ROOT / "plugins").is_dir():
        pytest.skip("not a checkout (an unpacked sdist of the core has no plugins/)")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### From a checkout", 1)[1].split("\n## ", 1)[0]
    command = next(line for line in section.splitlines() if "pip install" in line)
    paths = [ROOT / p for p in command.split("pip install", 1)[1].split()]
    names = set()
    core_version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for path in paths:
        project = tomllib.loads((path / "pyproject.toml").read_text())["project"]
        names.add(project["name"])
        for dependency in project.get("dependencies", []):
            if dependency.startswith("invoicekit"):
                # The core comes from the same command, so its pin must accept this version.
                from packaging.specifiers import SpecifierSet

                assert core_version in SpecifierSet(dependency[len("invoicekit"):])
    assert names == {"invoicekit", "invoicekit-salla", "invoicekit-dayzero"}
