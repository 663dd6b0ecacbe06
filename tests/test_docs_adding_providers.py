"""`docs/ADDING_PROVIDERS.md` is true: its example provider passes the contract suite.

The guide's code blocks are run, in order, as one module (exactly what a reader copies),
and the contract test classes the guide itself defines are collected here, so the guide's
provider, sandbox and tests are what runs, sync and async.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import invoicekit
from docs_support import ROOT, extract_blocks, isolated, load_module
from invoicekit import Capability, errors

GUIDE = ROOT / "docs" / "ADDING_PROVIDERS.md"

with isolated():
    # Loading the guide registers "acme" in-process; `isolated` undoes that at once, so
    # collecting this module leaves no trace, and `_acme_registered` below registers it
    # only while these tests run.
    guide = load_module(GUIDE, "invoicekit_acme_guide")

acme_sandbox = guide.acme_sandbox
TestAcmeContract = guide.TestAcmeContract
TestAcmeAsyncContract = guide.TestAcmeAsyncContract


@pytest.fixture(autouse=True)
def _acme_registered() -> Iterator[None]:
    with isolated():
        invoicekit.register("acme", guide.AcmeProvider)
        yield


def test_guide_has_no_skipped_examples() -> None:
    blocks = extract_blocks(GUIDE.read_text(encoding="utf-8"), GUIDE)
    python = [b for b in blocks if b.is_python]
    assert len(python) >= 6, "the guide builds its provider in several runnable steps"
    assert not [b.location() for b in python if b.skip], "every guide example must run"


def test_capabilities_are_derived_from_the_overridden_operations() -> None:
    assert guide.AcmeProvider.class_capabilities() == frozenset({
        Capability.CREATE_INVOICE, Capability.GET_INVOICE, Capability.LIST_INVOICES,
        Capability.SEND_INVOICE,
    })


def test_connect_finds_the_registered_provider(acme_sandbox: Any) -> None:
    with invoicekit.connect("acme", **acme_sandbox.settings()) as gw:
        assert gw.provider == "acme"
        assert "acme_sandbox_token" not in repr(gw)
        with pytest.raises(errors.UnsupportedFeature,
                           match=r"^acme: acme does not support void invoice$"):
            gw.void_invoice("acme_00000001")


def test_malformed_body_is_a_typed_error(acme_sandbox: Any) -> None:
    from invoicekit.testing.sandbox import Fault

    with invoicekit.connect("acme", max_retries=0, **acme_sandbox.settings()) as gw:
        acme_sandbox.faults.push(Fault.status_code(200, {"id": 7}, method="GET"))
        with pytest.raises(errors.ProviderUnavailable, match="unexpected AcmeInvoice"):
            gw.get_invoice("acme_00000001")


def test_error_mapping_keeps_message_and_fields(acme_sandbox: Any) -> None:
    from invoicekit.testing.sandbox import Fault

    body = {"error": {"message": "رقم الفاتورة مكرر", "fields": {"number": ["taken"]}}}
    with invoicekit.connect("acme", **acme_sandbox.settings()) as gw:
        acme_sandbox.faults.push(Fault.status_code(422, body, method="POST"))
        with pytest.raises(errors.ValidationError) as caught:
            gw.create_invoice(acme_sandbox.sample_draft(1))
    assert caught.value.message == "رقم الفاتورة مكرر"
    assert caught.value.fields == {"number": ["taken"]}


def test_html_error_page_is_a_typed_error() -> None:
    request = guide.Request("GET", "/invoices")
    response = guide.Response(502, {"content-type": "text/html"}, b"<html>Bad gateway</html>",
                              request)
    error = guide.acme_error(response)
    assert isinstance(error, errors.ProviderUnavailable)
    assert "Bad gateway" in error.message


def test_entry_points_of_step_5_make_the_plugin_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, acme_sandbox: Any) -> None:
    """Installed as the guide's pyproject says, `connect("acme")` and `invoicekit sandbox
    acme` find the plugin with no in-process registration."""
    from invoicekit import _registry
    from invoicekit.cli import _load_sandbox
    from plugin_support import write_dist

    monkeypatch.setattr(_registry, "_registered", {})
    monkeypatch.syspath_prepend(str(write_dist(tmp_path, "invoicekit_acme", f"""
        [invoicekit.providers]
        acme = {guide.__name__}:AcmeProvider

        [invoicekit.sandboxes]
        acme = {guide.__name__}:AcmeSandbox
    """)))
    info = {p.name: p for p in invoicekit.available_providers()}["acme"]
    assert info.distribution == "invoicekit_acme"
    assert Capability.SEND_INVOICE in info.capabilities
    assert _load_sandbox("acme") is guide.AcmeSandbox
    with invoicekit.connect("acme", **acme_sandbox.settings()) as gw:
        created = gw.create_invoice(acme_sandbox.sample_draft(99_001))
        assert gw.get_invoice(created.id) == created
