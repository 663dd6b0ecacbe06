"""Migration between platforms: plan, copy exactly once, resume, verify.

```python
from decimal import Decimal
import invoicekit
from invoicekit.migration import CurrencyPolicy, CustomerPolicy, MigrationPolicy

policy = MigrationPolicy(
    currency=CurrencyPolicy({("SAR", "USD"): Decimal("0.2666")}),
    customers=CustomerPolicy(create_by_email=True),
    due_days=30,
)
with invoicekit.from_config("salla.toml") as src, invoicekit.from_config("dayzero.toml") as dst:
    plan = invoicekit.migrate(src, dst, journal="move.db", policy=policy, plan_only=True)
    print(plan.render())          # what carries over, what cannot and why; nothing written
    report = invoicekit.migrate(src, dst, journal="move.db", policy=policy, resume=True,
                                verify=True)
```

The engine knows no provider by name: it reads the target's `capabilities`, its
`requires_order_id` and its `check_draft` verdicts. See `docs/migration.md` for every
policy and what the journal guarantees.
"""

from __future__ import annotations

from ._draft import Mismatch, marker
from ._engine import migrate, migrate_async
from ._journal import Entry, Journal
from ._policy import (
    CurrencyPolicy,
    CustomerPolicy,
    MigrationPolicy,
    OrderPolicy,
    load_mapping_file,
)
from ._report import MigrationReport, PlanEntry, Progress

__all__ = [
    "CurrencyPolicy",
    "CustomerPolicy",
    "Entry",
    "Journal",
    "MigrationPolicy",
    "MigrationReport",
    "Mismatch",
    "OrderPolicy",
    "PlanEntry",
    "Progress",
    "load_mapping_file",
    "marker",
    "migrate",
    "migrate_async",
]

