"""Guards on the test suite itself: checks that keep the tests able to catch a broken promise.

A `pytest.raises(SomeError)` that checks neither the message nor the exception's fields passes
when the code raises the right type for the wrong reason (a different field, a different
invoice, a message that lost its Arabic text). These tests read every test module's syntax tree
and fail, naming each offending file and line, when such a check creeps back in.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Test files that other work in flight was editing when this guard was added (their unchecked
#: `pytest.raises` are fixed there, then the file leaves this set). Each is listed only while
#: it has offenders: `test_exemptions_are_still_needed` fails once an exempt file is clean.
EXEMPT: frozenset[str] = frozenset({
})


def _test_files() -> list[Path]:
    """Every Python file under `tests/` and each plugin's `tests/`, sorted for stable output."""
    files = list((ROOT / "tests").rglob("*.py"))
    for plugin_tests in (ROOT / "plugins").glob("*/tests"):
        files.extend(plugin_tests.rglob("*.py"))
    return sorted(files)


def _is_pytest_raises(node: ast.AST) -> bool:
    """Whether `node` is a call of `pytest.raises` (or a bare imported `raises`)."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute):
        return (func.attr == "raises" and isinstance(func.value, ast.Name)
                and func.value.id == "pytest")
    return isinstance(func, ast.Name) and func.id == "raises"


def _has_match(call: ast.Call) -> bool:
    """Whether the call passes a `match=` that is not the literal `None`."""
    for keyword in call.keywords:
        if keyword.arg == "match":
            return not (isinstance(keyword.value, ast.Constant) and keyword.value.value is None)
    return False


def _names_loaded(nodes: list[ast.stmt]) -> set[str]:
    """The names read anywhere in `nodes` (nested functions included)."""
    return {
        node.id
        for statement in nodes
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


Parents = list[tuple[list[ast.stmt], int]]
"""The enclosing statement lists of a block, innermost first, each with the index of the
statement that contains the block."""


def _following(body: list[ast.stmt], index: int, parents: Parents) -> list[ast.stmt]:
    """The statements that run after `body[index]`, in this block and every enclosing one."""
    after = list(body[index + 1 :])
    for outer_body, outer_index in parents:
        after.extend(outer_body[outer_index + 1 :])
    return after


def _bodies(statement: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists nested directly inside `statement`."""
    for field in ("body", "orelse", "finalbody"):
        block = getattr(statement, field, None)
        if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
            yield block
    for handler in getattr(statement, "handlers", []):
        yield handler.body
    for case in getattr(statement, "cases", []):
        yield case.body


def _offenders_in(body: list[ast.stmt], parents: Parents) -> Iterator[int]:
    """Line numbers of unchecked `pytest.raises` calls in `body` (recursively)."""
    for index, statement in enumerate(body):
        checked: set[int] = set()
        if isinstance(statement, ast.With | ast.AsyncWith):
            for item in statement.items:
                var = item.optional_vars
                if (_is_pytest_raises(item.context_expr) and isinstance(var, ast.Name)
                        and var.id in _names_loaded(_following(body, index, parents))):
                    checked.add(id(item.context_expr))
        elif (isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None
                and _is_pytest_raises(statement.value)):
            # `info = pytest.raises(Error, func, arg)`: the callable form, checked if read later.
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            later = _names_loaded(_following(body, index, parents))
            if any(isinstance(t, ast.Name) and t.id in later for t in targets):
                checked.add(id(statement.value))
        nested = list(_bodies(statement))
        nested_nodes = {id(n) for block in nested for s in block for n in ast.walk(s)}
        for node in ast.walk(statement):
            if id(node) in nested_nodes or id(node) in checked:
                continue
            if isinstance(node, ast.Call) and _is_pytest_raises(node) and not _has_match(node):
                yield node.lineno
        for block in nested:
            yield from _offenders_in(block, [(body, index), *parents])


def unchecked_raises(path: Path) -> list[int]:
    """Lines in `path` where `pytest.raises` has neither `match=` nor a caught value read later.

    The name bound by `as NAME` counts as checked when it is read anywhere after the `with`
    statement in the enclosing blocks (typically `assert info.value.status == 404`).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return sorted(set(_offenders_in(tree.body, [])))


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_every_pytest_raises_checks_the_message_or_fields() -> None:
    """`pytest.raises` names the message (`match=`) or inspects the caught exception.

    Otherwise the test passes when the right type is raised for the wrong reason. Offenders are
    reported per file, so whoever adds one sees exactly where.
    """
    report = {
        _relative(path): lines
        for path in _test_files()
        if _relative(path) not in EXEMPT and (lines := unchecked_raises(path))
    }
    assert report == {}, "pytest.raises without match= or a checked `as NAME`:\n" + "\n".join(
        f"  {name}: lines {', '.join(map(str, lines))}" for name, lines in report.items()
    )


def test_exemptions_are_still_needed() -> None:
    """An exempt file that has become clean leaves the exemption set, so the guard covers it."""
    clean = sorted(name for name in EXEMPT if not unchecked_raises(ROOT / name))
    assert clean == []


def test_the_guard_sees_an_unchecked_raises(tmp_path: Path) -> None:
    """The checker flags the forms that check nothing and accepts the forms that do."""
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "import pytest\n"
        "def test_a():\n"
        "    with pytest.raises(ValueError):\n"  # 3: nothing checked
        "        f()\n"
        "    with pytest.raises(ValueError, match='bad'):\n"
        "        f()\n"
        "    with pytest.raises(ValueError) as info:\n"
        "        f()\n"
        "    assert info.value.args == ('bad',)\n"
        "    with pytest.raises(ValueError) as unused:\n"  # 10: bound but never read
        "        f()\n"
        "    pytest.raises(ValueError, f)\n"  # 12: callable form, result dropped
        "    with pytest.raises(ValueError, match=None):\n"  # 13: match=None matches anything
        "        f()\n"
        "    for x in range(2):\n"
        "        with pytest.raises(KeyError) as caught:\n"
        "            f()\n"
        "    assert caught.value.args\n"
        "    if x:\n"
        "        with pytest.raises(KeyError):\n"  # 20: nested and unchecked
        "            f()\n",
        encoding="utf-8",
    )
    assert unchecked_raises(sample) == [3, 10, 12, 13, 20]
