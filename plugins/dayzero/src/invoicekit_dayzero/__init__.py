"""DayZero provider for invoicekit.

```python
import invoicekit

gw = invoicekit.connect("dayzero", token="dz_...", business_id="<business uuid>")
```

Installing this distribution registers the provider `dayzero` (entry point group
`invoicekit.providers`), its sandbox (`invoicekit.sandboxes`, also
`invoicekit_dayzero.sandbox.DayZeroSandbox`) and a pytest plugin with the
`dayzero_sandbox` fixture. See `docs/providers/dayzero.md`.
"""

from __future__ import annotations

from ._provider import DayZeroProvider
from ._rules import DAYZERO_ID, SUPPORTED_CURRENCIES

__all__ = ["DAYZERO_ID", "SUPPORTED_CURRENCIES", "DayZeroProvider"]
