"""OAuth: refresh before expiry and on a 401, once under concurrency; spent refresh tokens."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

import invoicekit
from invoicekit import Secret, errors
from invoicekit_salla import SallaProvider, SallaTokens
from invoicekit_salla.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, SallaSandbox

Connect = Callable[..., invoicekit.Gateway]
TOKEN_PATH = "/oauth2/token"


@pytest.fixture
def order_invoice(sandbox: SallaSandbox, gw: invoicekit.Gateway) -> str:
    """An invoice id to read back (issued from a seeded order)."""
    from invoicekit import InvoiceDraft

    return gw.create_invoice(InvoiceDraft(order_id="1000001", from_order=True)).id


def test_refreshes_before_expiry_and_hands_over_both_tokens(
        sandbox: SallaSandbox, connect: Connect, order_invoice: str) -> None:
    received: list[SallaTokens] = []
    settings = sandbox.oauth_settings(lifetime=30)  # inside the 60 s refresh margin
    old_access, old_refresh = settings["token"], settings["refresh_token"]
    gw = connect(**settings, on_token_refresh=received.append)
    assert gw.get_invoice(order_invoice).id == order_invoice
    assert sandbox.count("POST", TOKEN_PATH) == 1
    (tokens,) = received
    new_access, new_refresh = tokens.access_token.get(), tokens.refresh_token.get()
    assert new_access != old_access
    assert new_refresh != old_refresh
    # the expiry Salla sent, read as sent; a fresh lifetime of the sandbox's 14 days, counted
    # from the refresh, which came after the 30-second grant was issued
    issued = sandbox.tokens[new_access].expires
    assert issued is not None
    assert tokens.expires.timestamp() == issued
    assert issued - settings["expires"] >= 14 * 24 * 3600 - 30
    assert sandbox.tokens[old_access].revoked, "the sandbox retired the old access token"
    assert sandbox.refresh_tokens[old_refresh].used
    last = sandbox.requests[-1]
    assert last.headers["authorization"] == f"Bearer {new_access}"
    assert "scope" in repr(tokens) or tokens.scope is not None
    assert new_access not in repr(tokens)
    # A second call needs no refresh: the new token is good for the sandbox's lifetime.
    gw.get_invoice(order_invoice)
    assert sandbox.count("POST", TOKEN_PATH) == 1


def test_refreshes_once_on_a_401(sandbox: SallaSandbox, connect: Connect,
                                 order_invoice: str) -> None:
    settings = sandbox.oauth_settings()
    sandbox.expire_token(settings["token"])  # the server says no before the client expects it
    received: list[SallaTokens] = []
    gw = connect(**settings, on_token_refresh=received.append)
    assert gw.get_invoice(order_invoice).id == order_invoice
    assert sandbox.count("POST", TOKEN_PATH) == 1
    assert len(received) == 1
    statuses = [r.path for r in sandbox.requests[-3:]]
    assert statuses == [f"/admin/v2/orders/invoices/{order_invoice}", TOKEN_PATH,
                        f"/admin/v2/orders/invoices/{order_invoice}"]


def test_a_missing_scope_is_not_refreshed_away(sandbox: SallaSandbox,
                                               connect: Connect) -> None:
    settings = sandbox.oauth_settings(scopes=("orders.read",))
    gw = connect(**settings)
    before = sandbox.snapshot()
    from invoicekit import InvoiceDraft

    with pytest.raises(errors.PermissionDenied) as caught:
        gw.create_invoice(InvoiceDraft(order_id="1000002", from_order=True))
    assert caught.value.scope == "orders.read_write"
    assert sandbox.count("POST", TOKEN_PATH) == 0, "a new token would lack the scope too"
    assert sandbox.count("POST", "/orders/invoices$") == 1
    assert sandbox.snapshot() == before


def test_concurrent_threads_refresh_once(sandbox: SallaSandbox, connect: Connect,
                                         order_invoice: str) -> None:
    received: list[SallaTokens] = []
    gw = connect(**sandbox.oauth_settings(lifetime=5), on_token_refresh=received.append)
    barrier = threading.Barrier(8)
    failures: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        try:
            gw.get_invoice(order_invoice)
        except BaseException as exc:  # collected and asserted on below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert sandbox.count("POST", TOKEN_PATH) == 1
    assert len(received) == 1


def test_concurrent_tasks_refresh_once(sandbox: SallaSandbox, order_invoice: str) -> None:
    received: list[SallaTokens] = []

    async def main() -> list[str]:
        async with invoicekit.connect_async(
                "salla", **sandbox.oauth_settings(lifetime=5),
                on_token_refresh=received.append) as agw:
            found = await asyncio.gather(*(agw.get_invoice(order_invoice) for _ in range(8)))
            return [inv.id for inv in found]

    assert asyncio.run(main()) == [order_invoice] * 8
    assert sandbox.count("POST", TOKEN_PATH) == 1
    assert len(received) == 1


def test_spent_refresh_token_needs_reauthorisation(sandbox: SallaSandbox, connect: Connect,
                                                   order_invoice: str) -> None:
    settings = sandbox.oauth_settings(lifetime=5)
    # Another process already used this refresh token: it is spent.
    first = connect(**settings)
    first.get_invoice(order_invoice)
    second = connect(**settings)
    before = sandbox.snapshot()
    with pytest.raises(errors.AuthenticationError, match="authorise the app again") as caught:
        second.get_invoice(order_invoice)
    assert caught.value.code == "invalid_grant"
    assert settings["refresh_token"] not in str(caught.value)
    # Reusing a spent refresh token revokes the whole chain, the first gateway's too.
    with pytest.raises(errors.AuthenticationError) as revoked:
        first.get_invoice(order_invoice)
    assert (revoked.value.status, revoked.value.code) == (400, "invalid_grant")
    assert revoked.value.message == (
        "Salla refused the refresh token (invalid_grant): it was already used or revoked; "
        "the merchant must authorise the app again")
    assert sandbox.snapshot() == before


def test_expired_static_token_is_authentication_error(sandbox: SallaSandbox,
                                                      connect: Connect) -> None:
    sandbox.expire_token()
    before = sandbox.snapshot()
    with pytest.raises(errors.AuthenticationError) as caught:
        connect().get_invoice("1100000001")
    assert caught.value.status == 401
    assert sandbox.count("POST", TOKEN_PATH) == 0
    assert sandbox.snapshot() == before


def test_bad_client_secret(sandbox: SallaSandbox, connect: Connect) -> None:
    settings = {**sandbox.oauth_settings(lifetime=5), "client_secret": "wrong-secret-000"}
    with pytest.raises(errors.AuthenticationError) as caught:
        connect(**settings).get_invoice("1")
    assert caught.value.code == "invalid_client"
    assert "wrong-secret-000" not in str(caught.value)


def test_callback_failure_is_logged_and_the_call_succeeds(
        sandbox: SallaSandbox, connect: Connect, order_invoice: str,
        caplog: pytest.LogCaptureFixture) -> None:
    def broken(tokens: SallaTokens) -> None:
        raise OSError("database is down")

    gw = connect(**sandbox.oauth_settings(lifetime=5), on_token_refresh=broken)
    with caplog.at_level(logging.ERROR, logger="invoicekit.salla"):
        assert gw.get_invoice(order_invoice).id == order_invoice
    assert "on_token_refresh failed" in caplog.text


def test_first_token_from_refresh_token_alone(sandbox: SallaSandbox, connect: Connect,
                                              order_invoice: str) -> None:
    settings = {**sandbox.oauth_settings(), "token": None}
    del settings["expires"]
    assert connect(**settings).get_invoice(order_invoice).id == order_invoice
    assert sandbox.count("POST", TOKEN_PATH) == 1


def test_secrets_never_show(sandbox: SallaSandbox, connect: Connect, order_invoice: str,
                            caplog: pytest.LogCaptureFixture) -> None:
    settings = sandbox.oauth_settings(lifetime=5)
    secrets = [settings["token"], settings["refresh_token"], DEFAULT_CLIENT_SECRET]
    with caplog.at_level(logging.DEBUG):
        gw = connect(**settings)
        gw.get_invoice(order_invoice)
        sandbox.expire_token(sandbox.requests[-1].headers["authorization"][7:])
        sandbox.refresh_tokens.clear()  # the next refresh fails with invalid_grant
        with pytest.raises(errors.AuthenticationError) as caught:
            gw.get_invoice(order_invoice)
    provider = gw.provider_object
    texts = [repr(gw), repr(provider), str(caught.value), repr(caught.value), caplog.text,
             repr(getattr(provider, "oauth", None)), str(caught.value.raw)]
    for secret in [*secrets, sandbox.requests[-2].headers["authorization"][7:]]:
        for text in texts:
            assert secret not in text


@pytest.mark.parametrize(("settings", "setting"), [
    ({}, "token"),
    ({"client_id": "x", "refresh_token": "r"}, "client_secret"),
    ({"token": "t", "language": "fr"}, "language"),
    ({"token": "t", "token_url": "http://accounts.example/oauth2/token"}, "token_url"),
    ({"token": "t", "expires": "next week"}, "expires"),
])
def test_configuration_errors(settings: dict[str, Any], setting: str) -> None:
    with pytest.raises(errors.ConfigurationError) as caught:
        SallaProvider(**settings)
    assert caught.value.setting == setting


def test_expires_accepts_datetimes_and_unix_times() -> None:
    import datetime as dt

    when = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    for value in (when, int(when.timestamp()), str(int(when.timestamp())), when.isoformat()):
        provider = SallaProvider(token="t", client_id=DEFAULT_CLIENT_ID,
                                 client_secret=Secret(DEFAULT_CLIENT_SECRET),
                                 refresh_token="r", expires=value)
        assert provider.oauth.expires == when
        assert not provider.needs_refresh()
        assert provider.can_refresh()
