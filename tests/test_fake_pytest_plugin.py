"""The pytest plugin: fixtures, the profile marker and ini option, instant waits."""

from __future__ import annotations

import pytest

from invoicekit import Capability, _http
from invoicekit.testing import AsyncFakeGateway, FakeGateway

pytest_plugins = ["pytester"]

# The inner runs keep their tests in file order even where pytest-randomly is installed
# (`-p no:randomly` is accepted where it is not): "restores" means `test_after` runs after
# `test_inside`, and an error report is read in a known order.
INNER = ("-p", "no:hypothesispytest", "-p", "no:randomly")


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
    pytester.runpytest_inprocess(*INNER).assert_outcomes(passed=2)


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
    result = pytester.runpytest_inprocess("--strict-markers", *INNER)
    result.assert_outcomes(passed=2, errors=2)
    # Each error on its own: which comes first is the inner run's business, not the promise.
    result.stdout.fnmatch_lines(["*ERROR at setup of test_bad_marker*", "*one profile name*"])
    result.stdout.fnmatch_lines(["*ERROR at setup of test_unknown_profile*",
                                 "*unknown fake profile 'stripe'*"])
