"""mypy --strict proves the fake gateways satisfy the gateway protocols.

A small module is type-checked with `mypy.api.run`. Its last lines carry
`# type: ignore[...]` on assignments that must *fail*; under --strict an unused ignore is
itself an error, so the check fails both if the fake stops satisfying a protocol and if
the protocols become so loose that anything satisfies them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")
ROOT = Path(__file__).resolve().parents[1]

MODULE = '''
from __future__ import annotations

import invoicekit
from invoicekit import AsyncInvoiceGateway, InvoiceGateway
from invoicekit.testing import AsyncFakeGateway, FakeGateway


def sync_gateway(gw: FakeGateway) -> InvoiceGateway:
    return gw


def async_gateway(gw: AsyncFakeGateway) -> AsyncInvoiceGateway:
    return gw


def connected() -> FakeGateway:
    return invoicekit.connect("fake", profile="salla")  # typed as FakeGateway


def connected_async() -> AsyncFakeGateway:
    return invoicekit.connect_async("fake")


def any_provider(name: str) -> InvoiceGateway:
    return invoicekit.connect(name)


def outbox_size() -> int:
    with invoicekit.connect("fake") as gw:
        gw.send_invoice(gw.create_invoice(gw.sample_draft()))
        return len(gw.outbox)


not_a_gateway: InvoiceGateway = object()  # type: ignore[assignment]
sync_is_not_async: AsyncInvoiceGateway = FakeGateway()  # type: ignore[assignment]
async_is_not_sync: InvoiceGateway = AsyncFakeGateway()  # type: ignore[assignment]
plain_is_not_fake: FakeGateway = invoicekit.connect("salla")  # type: ignore[assignment]
'''


def test_fake_gateways_satisfy_the_protocols_under_mypy_strict(tmp_path: Path) -> None:
    module = tmp_path / "typing_fake_gateway.py"
    module.write_text(MODULE)
    # The project's own config and cache: `dev.py test` runs mypy just before pytest, so
    # the library's modules are already analysed and only this small module is new.
    stdout, stderr, status = mypy_api.run([
        "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(ROOT / ".mypy_cache"),
        "--strict", "--no-error-summary", "--show-error-codes", str(module),
    ])
    assert status == 0, stdout + stderr
    assert stdout.strip() == ""
