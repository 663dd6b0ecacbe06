"""Fleet migration: thousands of merchants migrated by Celery workers, journals in
PostgreSQL (the `fleet` extra: `pip install 'invoicekit[fleet]'`).

A manifest (TOML, see `load_manifest`) lists the merchants, each with its source and
target settings (`${ENV}` references for every secret) and its policy; `submit` queues
one task per merchant, each migrating that merchant with `migrate()` into its own journal
(migration id = merchant id) in the shared PostgreSQL database. One task per merchant
because each merchant's provider rate limit bounds its migration: more workers, more
merchants at once.

```python
from invoicekit import fleet

fleet.submit("fleet.toml", broker="redis://localhost:6379/0")
for s in fleet.status("fleet.toml"):
    print(s.merchant, s.state, s.done, s.error)
```

Workers: `invoicekit fleet worker --broker redis://...` (or `celery -A
invoicekit.fleet.worker worker`). Nothing here is imported by `import invoicekit`, and
Celery and psycopg only when used. See `docs/fleet.md`.
"""

from __future__ import annotations

from ._api import fleet_report, retry, status, submit
from ._board import MerchantStatus
from ._manifest import Manifest, Merchant, load_manifest
from ._tasks import TASK_NAME, Outcome, make_app, run_merchant

__all__ = [
    "TASK_NAME",
    "Manifest",
    "Merchant",
    "MerchantStatus",
    "Outcome",
    "fleet_report",
    "load_manifest",
    "make_app",
    "retry",
    "run_merchant",
    "status",
    "submit",
]
