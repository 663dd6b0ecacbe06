"""The pytest plugin: fixtures, the profile marker and ini option, instant waits."""

from __future__ import annotations

import pytest

from invoicekit import Capability, _http
from invoicekit.testing import AsyncFakeGateway, FakeGateway

pytest_plugins = ["pytester"]


def test_fixture_gives_a_fresh_default_fake(invoicekit_fake: FakeGateway) -> None:
    assert isinstance(invoicekit_fake, FakeGateway)
    assert invoicekit_fake.profile == "default"
    assert invoicekit_fake.invoices == ()


@pytest.mark.invoicekit_profile("salla")
def test_marker_picks_the_profile(invoicekit_fake: FakeGateway,
                                  invoicekit_async_fake: AsyncFakeGateway) -> None:
    assert invoicekit_fake.profile == "salla"
    assert Capability.VOID_INVOICE not in invoicekit_fake.capabilities
    assert invoicekit_async_fake.profile == "salla"


@pytest.mark.invoicekit_profile("dayzero")
class TestMarkerOnAClass:
    def test_class_marker_applies(self, invoicekit_fake: FakeGateway) -> None:
        assert invoicekit_fake.profile == "dayzero"


def test_no_wait_turns_waits_off_and_restores(invoicekit_no_wait: None) -> None:
    assert _http._instant_waits is True


def test_no_wait_restores_the_previous_setting(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        from invoicekit import _http

        def test_inside(invoicekit_no_wait):
            assert _http._instant_waits is True

        def test_after():
            assert _http._instant_waits is False
    """)
    pytester.runpytest_inprocess("-p", "no:hypothesispytest").assert_outcomes(passed=2)


def test_ini_option_and_bad_marker(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ninvoicekit_profile = dayzero\n")
    pytester.makepyfile("""
        import pytest

        def test_ini(invoicekit_fake):
            assert invoicekit_fake.profile == "dayzero"

        @pytest.mark.invoicekit_profile("salla")
        def test_marker_wins(invoicekit_fake):
            assert invoicekit_fake.profile == "salla"

        @pytest.mark.invoicekit_profile()
        def test_bad_marker(invoicekit_fake):
            pass

        @pytest.mark.invoicekit_profile("stripe")
        def test_unknown_profile(invoicekit_fake):
            pass
    """)
    result = pytester.runpytest_inprocess("--strict-markers", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines(["*one profile name*", "*unknown fake profile 'stripe'*"])
