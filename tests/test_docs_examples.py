"""Every code example in README.md and the documentation site runs, and runs on its own.

Each ```python block runs alone in a fresh module, as a reader who copies it into a new file
runs it (a `<!-- continues -->` block after the blocks it continues, for a guide that builds
one file step by step), and each page's blocks also run in order in one namespace, against
the fake provider and the sandboxes the examples start themselves. A block opts out with a
`<!-- skip-example -->` line right before it, only where running it is impossible (real
credentials, a real provider's servers).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import invoicekit
from docs_support import (
    CONTINUES_MARKER,
    ROOT,
    SKIP_MARKER,
    CodeBlock,
    call_example_tests,
    extract_blocks,
    isolated,
    new_module,
    pages,
    run_blocks,
    standalone_units,
)


def _python_blocks(page: Path) -> list[CodeBlock]:
    return [b for b in extract_blocks(page.read_text(encoding="utf-8"), page) if b.is_python]


PAGES_WITH_EXAMPLES = [p for p in pages() if _python_blocks(p)]


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES,
                         ids=[str(p.relative_to(ROOT)) for p in PAGES_WITH_EXAMPLES])
def test_page_examples_run(page: Path) -> None:
    blocks = _python_blocks(page)
    name = "docs_example_" + re.sub(r"\W", "_", str(page.relative_to(ROOT)))
    module = new_module(page, name)
    try:
        with isolated():
            ran = run_blocks(blocks, module.__dict__)
            call_example_tests(module.__dict__, page)
    finally:
        del sys.modules[name]
    assert ran == sum(1 for b in blocks if not b.skip)


UNITS = [unit for page in pages() for unit in standalone_units(
    extract_blocks(page.read_text(encoding="utf-8"), page))]


@pytest.mark.parametrize("unit", UNITS, ids=[unit[-1].location() for unit in UNITS])
def test_each_example_runs_on_its_own(unit: list[CodeBlock]) -> None:
    page = unit[-1].path
    name = "docs_alone_" + re.sub(r"\W", "_", unit[-1].location())
    module = new_module(page, name)
    try:
        with isolated():
            run_blocks(unit, module.__dict__)
            call_example_tests(module.__dict__, page)
    finally:
        del sys.modules[name]


def test_continuation_markers_precede_python_blocks_after_a_first() -> None:
    for page in pages():
        text = page.read_text(encoding="utf-8")
        blocks = [b for b in extract_blocks(text, page) if b.is_python]
        assert text.count(CONTINUES_MARKER) == sum(b.continues for b in blocks), page
        assert not (blocks and blocks[0].continues), f"{page}: a first block continues nothing"


def test_continuing_blocks_run_after_what_they_continue() -> None:
    page = ("```python\nx = 40\n```\n\n<!-- continues -->\n```python\ny = x + 2\n```\n\n"
            "```python\nz = 1\n```\n")
    units = standalone_units(extract_blocks(page, Path("guide.md")))
    assert [[b.line for b in unit] for unit in units] == [[2], [2, 7], [11]]
    namespace: dict[str, Any] = {}
    run_blocks(units[1], namespace)
    assert namespace["y"] == 42


def test_every_skip_marker_precedes_a_python_block() -> None:
    stray = []
    for page in pages():
        text = page.read_text(encoding="utf-8")
        blocks = extract_blocks(text, page)
        markers = text.count(SKIP_MARKER)
        skipped = sum(1 for b in blocks if b.skip and b.is_python)
        if markers != skipped:
            stray.append(f"{page.relative_to(ROOT)}: {markers} markers, {skipped} skipped blocks")
    assert not stray, "a skip marker must sit right before a ```python fence: " + "; ".join(stray)


def test_examples_exist_and_most_of_them_run() -> None:
    blocks = [b for p in pages() for b in _python_blocks(p)]
    assert len(blocks) >= 10
    skipped = [b for b in blocks if b.skip]
    assert len(skipped) * 3 <= len(blocks), (
        "more than a third of the examples are skipped: " + ", ".join(
            b.location() for b in skipped))


def test_readme_quick_start_keeps_its_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(python3 dev\.py \w+)", quick, flags=re.MULTILINE)
    assert commands == ["python3 dev.py demo", "python3 dev.py test"]


def test_changelog_is_the_same_on_the_site() -> None:
    root = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    site = (ROOT / "docs" / "changelog.md").read_text(encoding="utf-8")
    assert site == root, "docs/changelog.md must be a copy of CHANGELOG.md"
    assert re.search(r"^## \[0\.1\.0\] - Unreleased$", root, flags=re.MULTILINE)
    assert invoicekit.__version__ == "0.1.0"


# ---- the extractor itself ---------------------------------------------------------------------
PAGE = """\
# Title

```python
x = 40
```

Some text.

<!-- skip-example -->
```python
raise RuntimeError("needs real credentials")
```

1. In a list:

    ```python
    y = x + 2
    ```

```bash
python3 dev.py demo
```
"""


def test_extract_blocks_languages_lines_skips_and_indents() -> None:
    blocks = extract_blocks(PAGE, Path("page.md"))
    assert [(b.language, b.line, b.skip) for b in blocks] == [
        ("python", 4, False), ("python", 11, True), ("python", 17, False), ("bash", 21, False)]
    assert blocks[2].code == "y = x + 2\n"


def test_run_blocks_shares_names_and_honours_skips() -> None:
    namespace: dict[str, Any] = {}
    assert run_blocks(extract_blocks(PAGE, Path("page.md")), namespace) == 2
    assert namespace["y"] == 42


def test_a_failing_example_points_at_its_page_and_line() -> None:
    page = "Intro\n\n```python\nvalue = 1\nraise ValueError('broken example')\n```\n"
    with pytest.raises(ValueError, match="broken example") as caught:
        run_blocks(extract_blocks(page, Path("docs/broken.md")), {})
    last = caught.traceback[-1]
    assert (Path(str(last.path)).name, last.lineno + 1) == ("broken.md", 5)


def test_an_unclosed_fence_is_an_error() -> None:
    with pytest.raises(ValueError, match="never closed"):
        extract_blocks("```python\nx = 1\n", Path("bad.md"))


def test_isolated_undoes_registrations_and_subscriptions() -> None:
    from invoicekit.testing import FakeProvider

    providers = [p.name for p in invoicekit.available_providers()]
    handlers = {name: list(hs) for name, hs in invoicekit.events._handlers.items()}
    with isolated():
        invoicekit.register("docsexample", FakeProvider)
        invoicekit.events.on_sent(lambda event: None)
        assert "docsexample" in [p.name for p in invoicekit.available_providers()]
    assert [p.name for p in invoicekit.available_providers()] == providers
    assert invoicekit.events._handlers == handlers


def test_example_tests_are_called_with_fixtures_and_live_ones_left_out() -> None:
    page = (
        "```python\n"
        "import pytest\n"
        "seen = []\n"
        "@pytest.mark.invoicekit_profile('dayzero')\n"
        "def test_uses_the_fake(invoicekit_fake):\n"
        "    seen.append(invoicekit_fake.profile)\n"
        "@pytest.mark.live\n"
        "def test_needs_an_account():\n"
        "    raise AssertionError('live tests must not run here')\n"
        "def helper_is_not_a_test():\n"
        "    raise AssertionError('not a test')\n"
        "```\n"
    )
    path = Path("docs/example-tests.md")
    namespace: dict[str, Any] = {}
    run_blocks(extract_blocks(page, path), namespace)
    assert call_example_tests(namespace, path) == ["test_uses_the_fake"]
    assert namespace["seen"] == ["dayzero"]
