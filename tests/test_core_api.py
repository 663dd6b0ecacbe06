"""The public API surface: `__all__` is honest and sorted, private modules declare theirs."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from decimal import Decimal

import invoicekit


def _isort_key(name: str) -> tuple[int, str]:
    # The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions/modules.
    if name.isupper():
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def test_every_public_name_exists() -> None:
    missing = [name for name in invoicekit.__all__ if not hasattr(invoicekit, name)]
    assert missing == []


def test_all_is_sorted_and_unique() -> None:
    names = list(invoicekit.__all__)
    assert names == sorted(names, key=_isort_key)
    assert len(names) == len(set(names))


def test_unknown_attribute_is_an_attribute_error() -> None:
    assert not hasattr(invoicekit, "no_such_name")


def test_every_module_declares_all() -> None:
    missing = []
    has_celery = importlib.util.find_spec("celery") is not None
    for info in pkgutil.walk_packages(invoicekit.__path__, "invoicekit."):
        if info.name.endswith("__main__"):
            continue
        if info.name == "invoicekit.fleet.worker" and not has_celery:
            continue  # builds the Celery app on import: needs the fleet extra
        module = importlib.import_module(info.name)
        if not hasattr(module, "__all__"):
            missing.append(info.name)
        else:
            absent = [n for n in module.__all__ if not hasattr(module, n)]
            assert absent == [], f"{info.name}.__all__ names missing objects: {absent}"
    assert missing == []


def test_testing_package_does_not_need_pytest_or_httpx() -> None:
    import subprocess
    import sys

    code = ("import sys, invoicekit.testing, invoicekit.testing.pytest_plugin;"
            "print('httpx' in sys.modules, 'invoicekit.testing.contract' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


def test_plugins_docs_and_examples_use_only_the_public_sdk() -> None:
    """A plugin author has the public SDK only: no file of ours outside the core reaches
    into a private `invoicekit._*` module (so a third-party plugin can be built the same way)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    private = re.compile(r"(?:from|import)\s+invoicekit\._\w+|invoicekit\._[a-z]\w*\.")
    offenders = []
    for folder in ("plugins", "docs", "examples"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in (".py", ".md") or "__pycache__" in path.parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if private.search(line):
                    offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_plugin_sdk_module_exports_what_plugins_need() -> None:
    from invoicekit import provider

    for name in ("Provider", "Request", "Response", "IdPattern", "PathParam", "done",
                 "DraftProblems", "normalize_currency", "check_base_url", "register_secret",
                 "json_body", "structure_response", "base_converter"):
        assert name in provider.__all__, name
    assert list(provider.__all__) == sorted(provider.__all__, key=_isort_key)


def test_draft_problems_names_every_field_at_once() -> None:
    import pytest

    from invoicekit import errors
    from invoicekit.provider import DraftProblems

    problems = DraftProblems("acme")
    problems.raise_if_any()  # nothing recorded: no error
    assert not problems
    problems.add("total", "required")
    problems.add("items.0.quantity", "must be positive")
    problems.add("total", "must not be negative")
    assert problems
    with pytest.raises(errors.InvalidRequest) as info:
        problems.raise_if_any()
    assert info.value.fields == {"total": ["required", "must not be negative"],
                                 "items.0.quantity": ["must be positive"]}
    assert info.value.provider == "acme"
    assert str(info.value) == (
        "acme: draft refused before sending: total: required must not be negative; "
        "items.0.quantity: must be positive")


def test_decimal_from_wire_takes_only_unambiguous_thousands_commas() -> None:
    import pytest

    from invoicekit.provider import decimal_from_wire

    assert decimal_from_wire("1,234.50") == Decimal("1234.50")
    assert decimal_from_wire("1,234,567") == Decimal("1234567")
    assert decimal_from_wire(" 90.50 ") == Decimal("90.50")
    for text in ("90,50", "1,2,3", ",5", "1,234", "1_000", "1e3", "NaN", "١٢"):
        with pytest.raises(ValueError, match="is not an amount"):
            decimal_from_wire(text)
