"""The contract suite fails for gateways that break it (so a green run means something)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import attrs
import pytest

from invoicekit import Capability, Invoice, InvoiceQuery, Money, Page, errors
from invoicekit._provider import Operation, done
from invoicekit.testing import FakeGateway, FakeProvider
from invoicekit.testing import contract as c


class WrongTotal(FakeProvider):
    def get_invoice(self, invoice_id: str) -> Operation[Invoice]:
        found = self._find(invoice_id)
        return done(attrs.evolve(found, total=Money("0.01", found.currency or "SAR")))


class FirstPageOnly(FakeProvider):
    def list_page(self, query: InvoiceQuery, cursor: str | None) -> Operation[Page]:
        page = yield from super().list_page(query, None)
        return Page(page.items, None)


class NoIdCheck(FakeProvider):
    def get_invoice(self, invoice_id: str) -> Operation[Invoice]:
        found = self._invoices.get(invoice_id)
        if found is None:
            raise errors.NotFound("nope", provider=self.name)
        return done(found)


class ClaimsVoid(FakeProvider):
    """Says it can void (the neutral fake's capabilities) but the operation refuses."""

    def void_invoice(self, invoice: Invoice | str) -> Operation[Invoice]:
        raise self._unsupported(Capability.VOID_INVOICE)


class WrongNotFound(FakeProvider):
    def _find(self, invoice: Invoice | str) -> Invoice:
        try:
            return super()._find(invoice)
        except errors.NotFound:
            raise errors.ProviderError(f"invoice {invoice} is gone", provider=self.name) from None


Check = Callable[..., Coroutine[Any, Any, None]]


@pytest.mark.parametrize(("provider", "check", "needs", "complaint"), [
    (WrongTotal(), c._check_round_trip, "make_draft",
     r"^get_invoice total Money\('0\.01', 'EUR'\) != created Money\('230\.00', 'EUR'\)"),
    (FirstPageOnly(), c._check_listing, "make_draft",
     r"^listing \(page_size=2\) missed \['inv_000003'\]"),
    (NoIdCheck(), c._check_invalid_id, "invalid_id",
     r"^get_invoice\('inv_\.\./x'\): expected InvalidRequest, got NotFound: fake: nope$"),
    (ClaimsVoid(), c._check_inside_capabilities, "make_draft",
     r"^an operation inside capabilities raised UnsupportedFeature: "
     r"fake: fake does not support void invoice$"),
    (WrongNotFound(), c._check_missing_id, "missing_id",
     r"^get_invoice\('inv_999999'\): expected NotFound, got ProviderError: "
     r"fake: invoice inv_999999 is gone$"),
])
def test_contract_catches_a_broken_gateway(provider: FakeProvider, check: Check,
                                           needs: str, complaint: str) -> None:
    gw = FakeGateway(provider)
    argument: Any = {"make_draft": provider.sample_draft, "invalid_id": "inv_../x",
                     "missing_id": "inv_999999"}[needs]
    with pytest.raises(AssertionError, match=complaint) as caught:
        c._run_without_loop(check(c._SyncSubject(gw), argument))
    assert check.__name__ in [entry.name for entry in caught.traceback]


def test_the_same_checks_pass_for_the_real_fake() -> None:
    provider = FakeProvider()
    subject = c._SyncSubject(FakeGateway(provider))
    c._run_without_loop(c._check_round_trip(subject, provider.sample_draft))
    c._run_without_loop(c._check_listing(subject, provider.sample_draft))
    c._run_without_loop(c._check_invalid_id(subject, "inv_../x"))
    c._run_without_loop(c._check_missing_id(subject, "inv_999999"))


def test_a_list_is_not_accepted_as_a_lazy_listing() -> None:
    class Eager(FakeGateway):
        def list_invoices(self, query: InvoiceQuery | None = None) -> Any:
            return list(super().list_invoices(query))

    with pytest.raises(AssertionError, match="lazy"):
        c._SyncSubject(Eager()).list_invoices()
