"""Every Python example of `docs/providers/dayzero.md` runs (against the sandbox).

From the plugin's unpacked sdist (which has no docs folder) the module is skipped.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from invoicekit_dayzero.sandbox import DayZeroSandbox

PAGE = Path(__file__).resolve().parents[3] / "docs" / "providers" / "dayzero.md"
if not PAGE.is_file():  # the plugin's sdist ships its tests, not the repository's docs
    pytest.skip(f"the documentation ({PAGE}) is not here: run from the repository",
                allow_module_level=True)
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_docs_example_runs(index: int) -> None:
    """The examples assert their own outcomes; pytest-style ones are called with a sandbox."""
    namespace: dict[str, Any] = {"__name__": f"dayzero_docs_{index}"}
    exec(compile(BLOCKS[index], f"{PAGE.name}[{index}]", "exec"), namespace)
    tests = [v for k, v in namespace.items() if k.startswith("test_") and inspect.isfunction(v)]
    for test in tests:
        with DayZeroSandbox() as sandbox:
            test(sandbox)
    assert tests or "gw" in namespace, "the example neither connected nor defined a test"
