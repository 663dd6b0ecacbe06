"""The Celery app a fleet worker runs: `celery -A invoicekit.fleet.worker worker`.

Configured from the environment (`INVOICEKIT_FLEET_BROKER`, `INVOICEKIT_FLEET_BACKEND`,
`INVOICEKIT_FLEET_VISIBILITY_TIMEOUT`); `invoicekit fleet worker` sets them from its
options and starts the same worker.
"""

from __future__ import annotations

from ._tasks import make_app

app = make_app()
"""The app, with the fleet's task registered."""
