"""invoicekit: create, read, list and send invoices through one provider-neutral API.

```python
import invoicekit

with invoicekit.connect("fake") as gw:
    invoice = gw.create_invoice(draft)
    gw.send_invoice(invoice)
```

Providers are plugins (`invoicekit-salla`, `invoicekit-dayzero`); the in-memory `fake`
ships with the core for tests. Heavy dependencies (httpx, cattrs, stevedore, the
plugins) are imported only when first needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors
from .__about__ import __version__
from ._events import EventBus, SendEvent, events
from ._gateway import AsyncGateway, AsyncInvoiceGateway, Gateway, InvoiceGateway
from ._model import (
    Capability,
    Customer,
    Invoice,
    InvoiceDraft,
    InvoiceKind,
    InvoiceQuery,
    InvoiceStatus,
    LineItem,
    Page,
    ProviderOptions,
    SendOptions,
    SendReceipt,
)
from ._money import Money
from ._options import DEFAULT, HttpHooks, RequestInfo, ResponseInfo, RetryPolicy, Timeout
from ._provider import IdPattern, Operation, PathParam, Provider, Request, Response
from ._registry import (
    ProviderInfo,
    available_providers,
    connect,
    connect_async,
    from_config,
    from_config_async,
    register,
)
from ._secrets import Secret
from ._throttle import Throttle, ThrottleStats

if TYPE_CHECKING:
    from .migration import MigrationReport, migrate, migrate_async

__all__ = [
    "DEFAULT",
    "AsyncGateway",
    "AsyncInvoiceGateway",
    "Capability",
    "Customer",
    "EventBus",
    "Gateway",
    "HttpHooks",
    "IdPattern",
    "Invoice",
    "InvoiceDraft",
    "InvoiceGateway",
    "InvoiceKind",
    "InvoiceQuery",
    "InvoiceStatus",
    "LineItem",
    "MigrationReport",
    "Money",
    "Operation",
    "Page",
    "PathParam",
    "Provider",
    "ProviderInfo",
    "ProviderOptions",
    "Request",
    "RequestInfo",
    "Response",
    "ResponseInfo",
    "RetryPolicy",
    "Secret",
    "SendEvent",
    "SendOptions",
    "SendReceipt",
    "Throttle",
    "ThrottleStats",
    "Timeout",
    "__version__",
    "available_providers",
    "connect",
    "connect_async",
    "errors",
    "events",
    "from_config",
    "from_config_async",
    "migrate",
    "migrate_async",
    "register",
]

_LAZY = {"migrate": "migration", "migrate_async": "migration", "MigrationReport": "migration"}


def __getattr__(name: str) -> Any:
    # The migration engine (sqlite3, asyncio machinery) loads on first use only.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'invoicekit' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
