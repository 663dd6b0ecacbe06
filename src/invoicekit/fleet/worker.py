"""The Celery app a fleet worker runs: `celery -A invoicekit.fleet.worker worker`.

Configured from the environment (`INVOICEKIT_FLEET_BROKER`, default
`redis://localhost:6379/0`; `INVOICEKIT_FLEET_BACKEND`;
`INVOICEKIT_FLEET_VISIBILITY_TIMEOUT`); `invoicekit fleet worker` sets them from its
options and starts the same worker.
"""

from __future__ import annotations

import os

from ._tasks import BROKER_ENV, make_app

__all__ = ["DEFAULT_BROKER", "app"]

DEFAULT_BROKER = "redis://localhost:6379/0"
"""The broker when `INVOICEKIT_FLEET_BROKER` is not set (Celery's own habit: localhost)."""

app = make_app(os.environ.get(BROKER_ENV) or DEFAULT_BROKER)
"""The app, with the fleet's task registered (connecting only when it is used)."""
