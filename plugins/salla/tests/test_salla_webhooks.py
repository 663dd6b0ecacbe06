"""Webhook deliveries: signature and token strategies, tampering, staleness, dedup keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any

import pytest

from invoicekit import InvoiceKind, Money, Secret, errors
from invoicekit_salla import WebhookError, verify_webhook

SECRET = "whsec_0f3c9e1d7a2b"
NOW = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
INVOICE = {"id": 1128904162, "invoice_number": "1", "order_id": 1152394206,
           "type": "Tax Invoice", "date": "2024-03-01",
           "total": {"amount": 153, "currency": "SAR"},
           "items": [{"name": "شاحن آنكر 1000", "sku": "PRO-001", "quantity": 1,
                      "price": {"amount": "130.00", "currency": "SAR"}}]}


def delivery(created_at: str = "Fri Mar 01 2024 14:55:00 GMT+0300", *, event: str =
             "invoice.created", data: Any = None) -> bytes:
    payload = {"event": event, "merchant": 1305146709, "created_at": created_at,
               "data": INVOICE if data is None else data}
    return json.dumps(payload, ensure_ascii=False).encode()


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Salla-Signature": signature, "X-Salla-Security-Strategy": "Signature"}


def test_signed_invoice_created_becomes_an_invoice() -> None:
    body = delivery()
    event = verify_webhook(body, signed(body), secret=SECRET, now=NOW)
    assert event.event == "invoice.created"
    assert event.merchant == "1305146709"
    assert event.created_at == dt.datetime(2024, 3, 1, 11, 55, tzinfo=dt.UTC)
    invoice = event.invoice
    assert invoice is not None
    assert invoice.id == "1128904162"
    assert invoice.kind is InvoiceKind.INVOICE
    assert invoice.total == Money(Decimal("153"), "SAR")
    assert invoice.items[0].name == "شاحن آنكر 1000"


def test_headers_any_case_and_secret_object() -> None:
    body = delivery()
    headers = {k.lower(): v for k, v in signed(body).items()}
    event = verify_webhook(body, headers, secret=Secret(SECRET), now=NOW)
    assert event.invoice is not None


@pytest.mark.parametrize("tamper", [
    lambda b: b.replace(b"153", b"154"),
    lambda b: b + b" ",
    lambda b: b.replace("شاحن".encode(), "شاحر".encode()),
])
def test_tampered_body_is_rejected(tamper: Any) -> None:
    body = delivery()
    with pytest.raises(WebhookError) as caught:
        verify_webhook(tamper(body), signed(body), secret=SECRET, now=NOW)
    assert caught.value.reason == "bad_signature"
    assert SECRET not in str(caught.value)
    assert signed(body)["X-Salla-Signature"] not in str(caught.value)


def test_wrong_secret_unsigned_and_garbage_signature_are_rejected() -> None:
    body = delivery()
    for headers, reason in ((signed(body, "other-secret"), "bad_signature"),
                            ({}, "unsigned"),
                            ({"X-Salla-Signature": "  "}, "unsigned"),
                            ({"X-Salla-Signature": "zz\u0661"}, "bad_signature")):
        with pytest.raises(WebhookError) as caught:
            verify_webhook(body, headers, secret=SECRET, now=NOW)
        assert caught.value.reason == reason
        assert isinstance(caught.value, errors.InvoiceKitError)


def test_declared_strategy_must_match_the_configured_one() -> None:
    body = delivery()
    headers = {"X-Salla-Security-Strategy": "Token", "Authorization": f"Bearer {SECRET}"}
    with pytest.raises(WebhookError) as caught:
        verify_webhook(body, headers, secret=SECRET, now=NOW)
    assert caught.value.reason == "wrong_strategy"
    assert verify_webhook(body, headers, secret=SECRET, strategy="token", now=NOW).invoice


def test_token_strategy() -> None:
    body = delivery()
    assert verify_webhook(body, {"Authorization": SECRET}, secret=SECRET, strategy="token",
                          now=NOW).event == "invoice.created"
    for headers, reason in (({"Authorization": "Bearer nope"}, "bad_token"), ({}, "unsigned")):
        with pytest.raises(WebhookError) as caught:
            verify_webhook(body, headers, secret=SECRET, strategy="token", now=NOW)
        assert caught.value.reason == reason


@pytest.mark.parametrize("created_at", [
    "Fri Mar 01 2024 09:00:00 GMT+0300", "2024-02-29T12:00:00Z", "2024-03-01 13:00:00"])
def test_stale_delivery_is_rejected(created_at: str) -> None:
    body = delivery(created_at)
    with pytest.raises(WebhookError) as caught:
        verify_webhook(body, signed(body), secret=SECRET, now=NOW)
    assert caught.value.reason == "stale"
    event = verify_webhook(body, signed(body), secret=SECRET, now=NOW, max_age=None)
    assert event.invoice is not None


def test_created_at_formats() -> None:
    for text in ("Fri Mar 01 2024 14:55:00 GMT+0300 (Arabian Standard Time)",
                 "2024-03-01T11:55:00+00:00", "2024-03-01 14:55:00"):
        body = delivery(text)
        event = verify_webhook(body, signed(body), secret=SECRET, now=NOW)
        assert event.created_at == dt.datetime(2024, 3, 1, 11, 55, tzinfo=dt.UTC)


def test_undated_delivery_is_rejected_unless_age_is_not_checked() -> None:
    body = delivery("")
    with pytest.raises(WebhookError) as caught:
        verify_webhook(body, signed(body), secret=SECRET, now=NOW)
    assert caught.value.reason == "undated"
    assert verify_webhook(body, signed(body), secret=SECRET, max_age=None).created_at is None


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"data": {}}', b"\xff"])
def test_signed_but_unreadable_delivery(body: bytes) -> None:
    with pytest.raises(WebhookError) as caught:
        verify_webhook(body, signed(body), secret=SECRET, now=NOW)
    assert caught.value.reason == "malformed"


def test_signed_invoice_with_broken_data_is_malformed() -> None:
    body = delivery(data={"id": 1, "total": {"amount": "lots"}})
    with pytest.raises(WebhookError) as caught:
        verify_webhook(body, signed(body), secret=SECRET, now=NOW)
    assert caught.value.reason == "malformed"


def test_body_must_be_raw_bytes() -> None:
    body = delivery()
    with pytest.raises(WebhookError,
                       match=r"^salla: pass the raw request body as bytes, exactly as received$"):
        verify_webhook(body.decode(), signed(body), secret=SECRET, now=NOW)  # type: ignore[arg-type]


def test_bad_configuration() -> None:
    body = delivery()
    with pytest.raises(errors.ConfigurationError, match=r"^salla: the webhook secret is empty$"):
        verify_webhook(body, signed(body), secret="", now=NOW)
    with pytest.raises(errors.ConfigurationError,
                       match=r"^salla: strategy must be 'signature' or 'token', got 'none'$"):
        verify_webhook(body, signed(body), secret=SECRET, strategy="none", now=NOW)


def test_dedup_key_is_stable_across_repeats_and_differs_between_events() -> None:
    body = delivery()
    first = verify_webhook(body, signed(body), secret=SECRET, now=NOW)
    again = verify_webhook(body, signed(body), secret=SECRET, now=NOW)
    assert first.dedup_key == again.dedup_key
    # Salla documents no delivery id: the key is the SHA-256 of the raw body.
    assert first.dedup_key == "salla-" + hashlib.sha256(body).hexdigest()
    other = delivery("Fri Mar 01 2024 14:56:00 GMT+0300")
    assert verify_webhook(other, signed(other), secret=SECRET,
                          now=NOW).dedup_key != first.dedup_key
    another_invoice = delivery(data={**INVOICE, "id": 2})
    assert verify_webhook(another_invoice, signed(another_invoice), secret=SECRET,
                          now=NOW).dedup_key != first.dedup_key


def test_issue13_distinct_deliveries_in_the_same_second_do_not_share_a_dedup_key() -> None:
    """Two updates of one invoice in the same second, and two undated deliveries, are
    distinct deliveries (the old key, merchant + event + data.id + created_at, made each
    pair collide, and the second was dropped as a repeat)."""
    same_second = [delivery(event="invoice.updated", data={**INVOICE, "invoice_number": n})
                   for n in ("1", "2")]
    undated = [delivery("", event="order.updated", data={"id": 5, "status": s})
               for s in ("new", "shipped")]
    for pair in (same_second, undated):
        keys = {verify_webhook(b, signed(b), secret=SECRET, now=NOW, max_age=None).dedup_key
                for b in pair}
        assert len(keys) == 2


def test_other_events_have_no_invoice() -> None:
    body = delivery(event="order.created", data={"id": 5, "status": "new"})
    event = verify_webhook(body, signed(body), secret=SECRET, now=NOW)
    assert event.invoice is None
    assert event.data == {"id": 5, "status": "new"}


# ---- issue 13, item 11: hostile deliveries are refused typed -------------------------------
@pytest.mark.parametrize(("strategy", "headers"), [
    ("token", {"Authorization": "Bearer \udcff\udcfe"}),
    ("token", {"Authorization": "\ud800"}),
    ("signature", {"X-Salla-Signature": "ab\udc80cd"}),
])
def test_issue13_surrogate_header_values_are_a_webhook_error(strategy: str,
                                                             headers: dict[str, str]) -> None:
    body = delivery()
    with pytest.raises(WebhookError) as caught:
        verify_webhook(body, headers, secret=SECRET, strategy=strategy, now=NOW)
    assert caught.value.reason == "malformed"
    assert "header is not valid text" in str(caught.value)


def test_issue13_deeply_nested_signed_body_is_a_webhook_error() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(WebhookError) as caught:
        verify_webhook(body, signed(body), secret=SECRET, now=NOW)
    assert caught.value.reason == "malformed"
    assert "nested too deeply" in str(caught.value)
    nested_data = b'{"event":"invoice.created","data":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(WebhookError, match=r"^salla: delivery body is nested too deeply to read$"):
        verify_webhook(nested_data, signed(nested_data), secret=SECRET, now=NOW)


@pytest.mark.parametrize("created_at", [
    "Fri Mar 01 2024 15:10:00 GMT+0300",    # 15 minutes ahead of NOW
    "2024-03-02T12:00:00Z",                 # a day ahead
    "2099-01-01 00:00:00",                  # Riyadh time, decades ahead
])
def test_issue13_future_dated_delivery_is_refused_like_a_stale_one(created_at: str) -> None:
    body = delivery(created_at)
    with pytest.raises(WebhookError) as caught:
        verify_webhook(body, signed(body), secret=SECRET, now=NOW)
    assert caught.value.reason == "stale"
    assert "dated in the future" in str(caught.value)


def test_small_clock_skew_is_allowed() -> None:
    body = delivery("Fri Mar 01 2024 15:04:00 GMT+0300")  # 4 minutes ahead of NOW
    assert verify_webhook(body, signed(body), secret=SECRET, now=NOW).invoice is not None
    with pytest.raises(WebhookError) as caught:
        verify_webhook(body, signed(body), secret=SECRET, now=NOW,
                       clock_skew=dt.timedelta(minutes=1))
    assert caught.value.reason == "stale"
    assert str(caught.value) == (
        "salla: delivery is dated in the future (created 2024-03-01T15:04:00+03:00)")


@pytest.mark.parametrize("created_at", ["0001-01-01T00:00:00+05:00",
                                        "9999-12-31T23:59:59-05:00"])
def test_created_at_at_the_edge_of_the_calendar_is_refused_typed(created_at: str) -> None:
    body = delivery(created_at)
    with pytest.raises(WebhookError) as caught:
        verify_webhook(body, signed(body), secret=SECRET, now=NOW)
    assert caught.value.reason in ("undated", "stale")


def test_bytes_header_values_are_read_and_junk_headers_refused() -> None:
    body = delivery()
    as_bytes = {k.encode(): v.encode() for k, v in signed(body).items()}
    assert verify_webhook(body, as_bytes, secret=SECRET, now=NOW).invoice is not None  # type: ignore[arg-type]
    with pytest.raises(WebhookError) as caught:
        verify_webhook(body, [("X-Salla-Signature", "x")], secret=SECRET, now=NOW)  # type: ignore[arg-type]
    assert caught.value.reason == "malformed"


def test_secret_that_is_not_text_is_a_configuration_error() -> None:
    body = delivery()
    with pytest.raises(errors.ConfigurationError, match="not valid text"):
        verify_webhook(body, signed(body), secret="\udcff", now=NOW)
