"""Testing kit: the in-memory fake provider, the shared contract suite, the pytest plugin.

```python
from invoicekit.testing import FakeGateway

gw = FakeGateway(profile="salla")          # or invoicekit.connect("fake", profile="salla")
gw.send_invoice(gw.create_invoice(gw.sample_draft()))
assert gw.outbox[-1].sent
```

`invoicekit.testing.contract` (the reusable pytest suite) and
`invoicekit.testing.sandbox` (the base of provider sandboxes) are imported on their own,
so importing this package needs neither pytest nor an HTTP server.
"""

from __future__ import annotations

from ._fake import (
    DEFAULT_PROFILE,
    OPERATIONS,
    SANDBOX_ENTRY_POINT_GROUP,
    AsyncFakeGateway,
    FakeCall,
    FakeGateway,
    FakeOptions,
    FakeProvider,
    profiles,
    register_sandbox,
)

__all__ = [
    "DEFAULT_PROFILE",
    "OPERATIONS",
    "SANDBOX_ENTRY_POINT_GROUP",
    "AsyncFakeGateway",
    "FakeCall",
    "FakeGateway",
    "FakeOptions",
    "FakeProvider",
    "instant_waits",
    "profiles",
    "register_sandbox",
]


def instant_waits(enabled: bool = True) -> bool:
    """Make retry backoff and throttle waits take no time (for test suites); returns the
    previous setting, so it can be restored.

    The test-mode switch, like stamina's `set_testing()`: the number of attempts, which
    requests are retried and the throttle's statistics stay exactly as in production; only
    the sleeping is skipped. The pytest plugin's `invoicekit_no_wait` fixture does this for
    one test.
    """
    from .. import _http

    return _http.testing_instant_waits(enabled)
