"""The public API surface: `__all__` is honest and sorted, private modules declare theirs."""

from __future__ import annotations

import importlib
import pkgutil

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
    for info in pkgutil.walk_packages(invoicekit.__path__, "invoicekit."):
        if info.name.endswith("__main__"):
            continue
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
