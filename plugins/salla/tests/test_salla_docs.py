"""Every Python example of `docs/providers/salla.md` runs, in order, in one namespace.

Examples written as pytest tests (`def test_...(salla_sandbox)`) are called with a sandbox.
Blocks preceded by `<!-- skip-example -->` need real credentials and are left out.
From the plugin's unpacked sdist (which has no docs folder) the module is skipped.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from invoicekit_salla.sandbox import SallaSandbox

PAGE = Path(__file__).resolve().parents[3] / "docs" / "providers" / "salla.md"
if not PAGE.is_file():  # the plugin's sdist ships its tests, not the repository's docs
    pytest.skip(f"the documentation ({PAGE}) is not here: run from the repository",
                allow_module_level=True)
_BLOCK = re.compile(r"(<!-- skip-example -->\n)?```python\n(.*?)```", re.DOTALL)


def test_every_salla_docs_example_runs() -> None:
    blocks = [(bool(skip), code) for skip, code in _BLOCK.findall(PAGE.read_text("utf-8"))]
    runnable = [code for skip, code in blocks if not skip]
    assert len(runnable) >= 8
    assert len(blocks) - len(runnable) == 1, "only the production OAuth snippet is skipped"
    namespace: dict[str, Any] = {"__name__": "salla_docs"}
    for index, code in enumerate(runnable):
        exec(compile(code, f"{PAGE.name}[{index}]", "exec"), namespace)
    tests = [v for k, v in namespace.items() if k.startswith("test_") and inspect.isfunction(v)]
    assert len(tests) == 1
    for test in tests:
        with SallaSandbox() as sandbox:
            test(sandbox)
            assert sandbox.sent, "the example sent an invoice"
