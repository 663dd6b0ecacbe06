"""Running the documentation's code: extract the ```python blocks of a Markdown page, run them.

Every block runs on its own, in a fresh namespace, exactly as a reader who copies it into
a new file would run it (`standalone_units`). A guide that builds one file step by step
marks each later step with a `<!-- continues -->` line right before its fence (and says so
in its text): such a block runs after the blocks it continues. The blocks of a page also
run in order in one namespace (`run_blocks`), as the guide's own test loads it. A block
opts out with a `<!-- skip-example -->` line right before its fence, only where running it
is impossible (real credentials, a real provider's servers).

Each block is compiled with the page's path as its file name and its own line numbers, so a
failing example points at `docs/page.md:LINE` in the traceback.

Running a page must not leak into the rest of the test session: providers it registers
in-process and subscribers it adds to the global event bus are removed afterwards, and retry
waits are instant while it runs.
"""

from __future__ import annotations

import contextlib
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

import invoicekit
from invoicekit import _registry
from invoicekit._http import testing_instant_waits

__all__ = [
    "CONTINUES_MARKER",
    "ROOT",
    "SKIP_MARKER",
    "CodeBlock",
    "call_example_tests",
    "extract_blocks",
    "isolated",
    "load_module",
    "new_module",
    "pages",
    "run_blocks",
    "standalone_units",
]

ROOT = Path(__file__).resolve().parent.parent
SKIP_MARKER = "<!-- skip-example -->"
CONTINUES_MARKER = "<!-- continues -->"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")
_PYTHON = frozenset({"python", "py", "python3", "pycon"})


@attrs.frozen
class CodeBlock:
    """One fenced block of a page: its language, first code line (1-based) and code."""

    path: Path
    line: int
    language: str
    code: str
    skip: bool
    continues: bool = False

    @property
    def is_python(self) -> bool:
        """Whether this block is Python code the test suite runs."""
        return self.language in _PYTHON

    def location(self) -> str:
        """`docs/page.md:LINE`, for messages."""
        try:
            shown = self.path.relative_to(ROOT)
        except ValueError:
            shown = self.path
        return f"{shown}:{self.line}"


def extract_blocks(text: str, path: Path) -> list[CodeBlock]:
    """Every fenced code block of *text* (a Markdown page read from *path*)."""
    lines = text.splitlines()
    blocks: list[CodeBlock] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence = opening.group("indent"), opening.group("fence")
        language = (opening.group("info").split() or [""])[0].lower()
        previous = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()),
                        "")
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}:
                break
            line = lines[j]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            j += 1
        else:
            raise ValueError(f"{path}:{i + 1}: code fence is never closed")
        blocks.append(CodeBlock(path, i + 2, language, "\n".join(body) + "\n",
                                skip=previous == SKIP_MARKER,
                                continues=previous == CONTINUES_MARKER))
        i = j + 1
    return blocks


def standalone_units(blocks: list[CodeBlock]) -> list[list[CodeBlock]]:
    """Each runnable Python block with what a reader copies to run it: the block alone,
    or, for a `<!-- continues -->` block, the blocks it continues and then itself."""
    units: list[list[CodeBlock]] = []
    chain: list[CodeBlock] = []
    for block in blocks:
        if not block.is_python or block.skip:
            continue
        chain = [*chain, block] if block.continues else [block]
        units.append(chain)
    return units


def pages() -> list[Path]:
    """README.md and every Markdown page of the documentation site."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@contextlib.contextmanager
def isolated() -> Iterator[None]:
    """Undo what running examples does to process-wide state; retry waits are instant."""
    from invoicekit.testing import _fake

    registered = dict(_registry._registered)
    sandboxes = dict(_fake._registered_sandboxes)
    handlers = {name: list(hs) for name, hs in invoicekit.events._handlers.items()}
    previous_waits = testing_instant_waits(True)
    try:
        yield
    finally:
        testing_instant_waits(previous_waits)
        with _registry._lock:
            _registry._registered.clear()
            _registry._registered.update(registered)
        _fake._registered_sandboxes.clear()
        _fake._registered_sandboxes.update(sandboxes)
        with invoicekit.events._lock:
            for name, hs in handlers.items():
                invoicekit.events._handlers[name][:] = hs


def run_blocks(blocks: list[CodeBlock], namespace: dict[str, Any]) -> int:
    """Run the Python blocks that are not skipped, in order, in *namespace*; how many ran."""
    ran = 0
    for block in blocks:
        if not block.is_python or block.skip:
            continue
        # Pad with blank lines so tracebacks show the page's own line numbers.
        # dont_inherit: this module's `from __future__ import annotations` must not leak
        # into the examples (cattrs reads their annotations as real types).
        code = compile("\n" * (block.line - 1) + block.code, str(block.path), "exec",
                       dont_inherit=True)
        exec(code, namespace)
        ran += 1
    return ran


def _marks(function: Any) -> dict[str, Any]:
    return {mark.name: mark for mark in getattr(function, "pytestmark", [])}


@contextlib.contextmanager
def _fixture(name: str, marks: dict[str, Any]) -> Iterator[Any]:
    """The value of pytest fixture *name* as an example test would get it."""
    if name in ("invoicekit_fake", "invoicekit_async_fake"):
        from invoicekit.testing import AsyncFakeGateway, FakeGateway

        profile_mark = marks.get("invoicekit_profile")
        profile = profile_mark.args[0] if profile_mark is not None else "default"
        cls = FakeGateway if name == "invoicekit_fake" else AsyncFakeGateway
        yield cls(profile=profile)
    elif name == "salla_sandbox":
        from invoicekit_salla.sandbox import SallaSandbox

        with SallaSandbox() as sandbox:
            yield sandbox
    elif name == "dayzero_sandbox":
        from invoicekit_dayzero.sandbox import DayZeroSandbox

        with DayZeroSandbox() as sandbox:
            yield sandbox
    elif name == "tmp_path":
        import tempfile

        with tempfile.TemporaryDirectory(prefix="invoicekit-docs-") as tmp:
            yield Path(tmp)
    else:
        raise LookupError(f"example tests cannot use the fixture {name!r} here")


def call_example_tests(namespace: dict[str, Any], path: Path) -> list[str]:
    """Call every `test_*` function the page's examples defined, as pytest would.

    Fixtures the documentation uses are supplied (`invoicekit_fake`, honouring an
    `invoicekit_profile` mark, `invoicekit_async_fake`, `salla_sandbox`, `dayzero_sandbox`,
    `tmp_path`); tests marked `live` need real accounts and are left out. Returns the
    names of the tests called.
    """
    import inspect

    called = []
    for name, function in list(namespace.items()):
        if not (name.startswith("test_") and inspect.isfunction(function)
                and function.__code__.co_filename == str(path)):
            continue
        marks = _marks(function)
        if "live" in marks:
            continue
        with contextlib.ExitStack() as stack:
            arguments = {
                param: stack.enter_context(_fixture(param, marks))
                for param in inspect.signature(function).parameters
            }
            function(**arguments)
        called.append(name)
    return called


def new_module(path: Path, name: str) -> types.ModuleType:
    """An empty module *name* for a page's code, registered in `sys.modules` (so that
    attrs, cattrs and pickle can find the classes an example defines)."""
    module = types.ModuleType(name, f"the code of {path.name}")
    module.__file__ = str(path)
    sys.modules[name] = module
    return module


def load_module(path: Path, name: str) -> types.ModuleType:
    """Run a page's Python blocks as the module *name* (registered in `sys.modules`)."""
    module = new_module(path, name)
    blocks = extract_blocks(path.read_text(encoding="utf-8"), path)
    run_blocks(blocks, module.__dict__)
    return module
