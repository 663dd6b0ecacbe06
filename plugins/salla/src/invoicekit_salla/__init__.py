"""Salla provider for invoicekit: order invoices of Salla stores (Saudi Arabia).

```python
import invoicekit

with invoicekit.connect("salla", token="...") as gw:      # language="en" for English messages
    invoice = gw.get_invoice("1128904162")
    gw.send_invoice(invoice)
```

Besides the provider (registered as `salla`), the package offers webhook verification
(`invoicekit_salla.webhooks`), ZATCA QR decoding (`invoicekit_salla.zatca`), OAuth token
renewal (`invoicekit_salla.oauth`) and an emulator of Salla's API for tests and demos
(`invoicekit_salla.sandbox`, also `invoicekit sandbox salla`). See `docs/providers/salla.md`.
"""

from __future__ import annotations

from ._provider import LANGUAGES, SallaProvider
from ._rules import SALLA_ID
from .oauth import TOKEN_URL, SallaTokens
from .webhooks import WebhookError, WebhookEvent, verify_webhook
from .zatca import ZatcaQr, ZatcaQrError, decode_qr, encode_qr

__all__ = [
    "LANGUAGES",
    "SALLA_ID",
    "TOKEN_URL",
    "SallaProvider",
    "SallaTokens",
    "WebhookError",
    "WebhookEvent",
    "ZatcaQr",
    "ZatcaQrError",
    "decode_qr",
    "encode_qr",
    "verify_webhook",
]
