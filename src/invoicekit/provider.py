"""The plugin SDK: everything a provider plugin needs, as public names in one module.

A provider plugin (ours and third parties' alike) imports from here, from `invoicekit`
(the domain model and `errors`) and from `invoicekit.testing.sandbox` (the sandbox base),
never from a private `invoicekit._*` module:

```python
from invoicekit import Invoice, InvoiceDraft, errors
from invoicekit.provider import DraftProblems, IdPattern, Operation, PathParam, Provider, Request

ACME_ID = IdPattern("Acme id (digits)", r"[0-9]{1,12}")


class AcmeProvider(Provider):
    name = "acme"
    default_base_url = "https://api.acme.example/v1"

    def check_draft(self, draft: InvoiceDraft) -> InvoiceDraft:
        problems = DraftProblems(self.name)
        if draft.total is None:
            problems.add("total", "Acme needs a total")
        problems.raise_if_any()
        return draft

    def get_invoice(self, invoice_id: str) -> Operation[Invoice]:
        param = PathParam(ACME_ID.check(invoice_id, provider=self.name), ACME_ID)
        response = yield Request("GET", "/invoices/{id}", path_params={"id": param})
        return read_invoice(response)  # the plugin's one reader
```

What is here, by concern:

* **Operations** (sans-IO): `Provider` (default-deny base class), `Operation`, `Request`,
  `Response`, `done` (an operation that makes no request), `IdPattern` / `PathParam` (ids
  checked before they reach a URL).
* **Drafts**: `DraftProblems`, the one way a plugin's `check_draft` reports every problem
  of a draft at once (an `InvalidRequest` whose `fields` name each one). The gateway
  calls `check_draft` exactly once per create, after `check_features`; an operation does
  not check its draft again.
* **Money and currencies**: `normalize_currency`, `MINOR_UNITS`, `CURRENCY_ALIASES`,
  `to_decimal`.
* **Settings and secrets**: `check_base_url` (https, or loopback), `Secret`,
  `register_secret` (keep a value out of logs, errors and reprs), `redact`.
* **Wire formats**: `json_body` (exact JSON, `Decimal`s as numbers), the cattrs base
  converter and its helpers (`base_converter`, `structure`, `structure_response`,
  `explain`, `decimal_from_wire`, `AMOUNT_TEXT`, `parse_date`, `parse_datetime`, `dumps`).

Importing this module loads cattrs (for the converter helpers); `import invoicekit` does
not import it.
"""

from __future__ import annotations

from ._json import json_body
from ._money import CURRENCY_ALIASES, MINOR_UNITS, normalize_currency, to_decimal
from ._options import check_base_url
from ._provider import (
    DraftProblems,
    IdPattern,
    Operation,
    PathParam,
    Provider,
    Request,
    Response,
    done,
)
from ._secrets import Secret, redact, register_secret
from .convert import (
    AMOUNT_TEXT,
    base_converter,
    decimal_from_wire,
    dumps,
    explain,
    parse_date,
    parse_datetime,
    structure,
    structure_response,
)

__all__ = [
    "AMOUNT_TEXT",
    "CURRENCY_ALIASES",
    "MINOR_UNITS",
    "DraftProblems",
    "IdPattern",
    "Operation",
    "PathParam",
    "Provider",
    "Request",
    "Response",
    "Secret",
    "base_converter",
    "check_base_url",
    "decimal_from_wire",
    "done",
    "dumps",
    "explain",
    "json_body",
    "normalize_currency",
    "parse_date",
    "parse_datetime",
    "redact",
    "register_secret",
    "structure",
    "structure_response",
    "to_decimal",
]
