"""pytest plugin (entry point `pytest11`): the `salla_sandbox` fixture.

```python
def test_my_app(salla_sandbox):
    gw = invoicekit.connect("salla", **salla_sandbox.settings())
```

The sandbox module is imported only when a test asks for the fixture, so installing the
plugin costs nothing at pytest start-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .sandbox import SallaSandbox

__all__ = ["salla_sandbox"]


@pytest.fixture
def salla_sandbox() -> Iterator[SallaSandbox]:
    """A fresh Salla sandbox (seeded store, tokens and orders) on a free loopback port."""
    from .sandbox import SallaSandbox

    with SallaSandbox() as sandbox:
        yield sandbox
