"""pytest plugin (entry point `pytest11`): the `dayzero_sandbox` fixture.

```python
def test_my_app(dayzero_sandbox):
    gw = invoicekit.connect("dayzero", **dayzero_sandbox.settings())
```

The sandbox is imported only when a test asks for the fixture, so installing the plugin
costs nothing at pytest start-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .sandbox import DayZeroSandbox

__all__ = ["dayzero_sandbox"]


@pytest.fixture
def dayzero_sandbox() -> Iterator[DayZeroSandbox]:
    """A fresh DayZero sandbox on a free loopback port, stopped after the test."""
    from .sandbox import DayZeroSandbox

    with DayZeroSandbox() as sandbox:
        yield sandbox
