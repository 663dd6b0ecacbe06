"""Settings checked at connect time; the token never shows in reprs, errors or logs."""

from __future__ import annotations

import logging

import pytest
from dayzero_support import BUSINESS, TOKEN, Recorder, wire_invoice

import invoicekit
from invoicekit import Capability, errors
from invoicekit_dayzero import DayZeroProvider


def test_connect_by_name() -> None:
    with invoicekit.connect("dayzero", token=TOKEN, business_id=BUSINESS) as gw:
        assert gw.provider == "dayzero"
        assert gw.base_url == "https://api.ondayzero.com/api/v1"
        assert isinstance(gw, invoicekit.InvoiceGateway)


def test_capabilities_come_from_the_code() -> None:
    assert DayZeroProvider.class_capabilities() == {
        Capability.CREATE_INVOICE, Capability.GET_INVOICE, Capability.LIST_INVOICES,
        Capability.SEND_INVOICE, Capability.VOID_INVOICE, Capability.FINALIZE_INVOICE,
        Capability.PDF_URL, Capability.CREATE_CUSTOMER, Capability.SEND_CC,
        Capability.SEND_PDF,
    }
    info = {p.name: p for p in invoicekit.available_providers()}["dayzero"]
    assert info.distribution == "invoicekit-dayzero"
    assert Capability.CREDIT_NOTE not in info.capabilities


@pytest.mark.parametrize("bad", ["not-a-uuid", "", "3fa85f64-5717-4562-b3fc-2c963f66afa6\n",
                                 "../3fa85f64-5717-4562-b3fc-2c963f66afa6", 42])
def test_business_id_must_be_a_uuid(bad: object) -> None:
    with pytest.raises(errors.ConfigurationError) as info:
        invoicekit.connect("dayzero", token=TOKEN, business_id=bad)
    assert info.value.setting == "business_id"


@pytest.mark.parametrize("bad", ["", "sk_live_123", "dz_abc def", "dz_abc\r\nX-Evil: 1"])
def test_token_form(bad: str) -> None:
    with pytest.raises(errors.ConfigurationError) as info:
        invoicekit.connect("dayzero", token=bad, business_id=BUSINESS)
    assert info.value.setting == "token"
    if bad:
        assert bad not in str(info.value)


def test_missing_and_unknown_settings() -> None:
    with pytest.raises(errors.ConfigurationError, match="business_id"):
        invoicekit.connect("dayzero", token=TOKEN)
    with pytest.raises(errors.ConfigurationError, match="bussiness_id"):
        invoicekit.connect("dayzero", token=TOKEN, business_id=BUSINESS,
                           bussiness_id=BUSINESS)
    with pytest.raises(errors.ConfigurationError, match="user_email"):
        invoicekit.connect("dayzero", token=TOKEN, business_id=BUSINESS, user_email="nope")


def test_plain_http_is_refused_except_loopback() -> None:
    with pytest.raises(errors.ConfigurationError, match="https"):
        invoicekit.connect("dayzero", token=TOKEN, business_id=BUSINESS,
                           base_url="http://api.ondayzero.com/api/v1")


def test_from_config_with_env_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DZ_TOKEN_FOR_TEST", TOKEN)
    with invoicekit.from_config({"provider": "dayzero", "token": "${DZ_TOKEN_FOR_TEST}",
                                 "business_id": BUSINESS}) as gw:
        assert gw.provider == "dayzero"
        assert TOKEN not in repr(gw.provider_object)


def test_token_never_shows(recorder: Recorder, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    recorder.reply(401, {"detail": f"token {TOKEN} has expired"})
    client = recorder.client()
    gw = invoicekit.connect("dayzero", token=TOKEN, business_id=BUSINESS, http_client=client)
    provider = gw.provider_object
    assert TOKEN not in repr(provider)
    assert TOKEN not in repr(gw)
    assert TOKEN not in repr(vars(provider))
    with pytest.raises(errors.AuthenticationError) as info:
        gw.get_invoice(wire_invoice()["id"])
    assert info.value.status == 401
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(info.value.raw)
    assert info.value.message == "token *** has expired"
    logging.getLogger("invoicekit").info("provider says %s", TOKEN)
    assert TOKEN not in caplog.text
    assert "***" in caplog.text
    gw.close()
    client.close()
