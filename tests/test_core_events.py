"""Send events: global and per-gateway subscribers; a failing subscriber never breaks a send."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import invoicekit
from invoicekit import SendEvent, errors
from invoicekit.testing import FakeGateway


@pytest.fixture
def gw() -> Iterator[FakeGateway]:
    with invoicekit.connect("fake") as gateway:
        yield gateway


def test_gateway_subscriber_hears_sent_with_the_receipt(gw: FakeGateway) -> None:
    seen: list[SendEvent] = []
    gw.events.on_sent(seen.append)
    invoice = gw.create_invoice(gw.sample_draft(1))
    receipt = gw.send_invoice(invoice)
    assert len(seen) == 1
    assert seen[0].name == "invoice_sent"
    assert seen[0].receipt == receipt
    assert seen[0].invoice_id == invoice.id
    assert seen[0].provider == "fake"
    assert seen[0].error is None


def test_not_sent_carries_the_error(gw: FakeGateway) -> None:
    seen: list[SendEvent] = []
    gw.events.on_not_sent(seen.append)
    invoice = gw.create_invoice(gw.sample_draft(1))
    down = errors.ProviderUnavailable("down", provider="fake")
    gw.fail_next(down, "send_invoice")
    with pytest.raises(errors.ProviderUnavailable) as info:
        gw.send_invoice(invoice)
    assert info.value is down
    assert [e.name for e in seen] == ["invoice_not_sent"]
    assert seen[0].error is down
    assert seen[0].receipt is None


def test_failing_subscriber_never_breaks_the_send(gw: FakeGateway,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    after: list[SendEvent] = []

    def broken(event: SendEvent) -> None:
        raise RuntimeError("subscriber bug")

    gw.events.on_sent(broken)
    gw.events.on_sent(after.append)
    off_global = invoicekit.events.on_sent(broken)
    try:
        with caplog.at_level(logging.ERROR, logger="invoicekit.events"):
            receipt = gw.send_invoice(gw.create_invoice(gw.sample_draft(1)))
    finally:
        off_global()
    assert receipt.sent
    assert len(after) == 1  # later subscribers still ran
    assert len(gw.outbox) == 1
    failures = [r for r in caplog.records if "subscriber" in r.getMessage()]
    assert len(failures) == 2  # the gateway's and the global one, both logged
    assert all(r.exc_info is not None for r in failures)


def test_global_subscriber_hears_every_gateway_and_gateway_only_its_own() -> None:
    heard_globally: list[str] = []
    off = invoicekit.events.on_sent(lambda e: heard_globally.append(e.invoice_id))
    try:
        one = invoicekit.connect("fake")
        two = invoicekit.connect("fake", profile="salla")
        heard_by_one: list[str] = []
        one.events.on_sent(lambda e: heard_by_one.append(e.invoice_id))
        a = one.create_invoice(one.sample_draft(1))
        b = two.create_invoice(two.sample_draft(2))
        one.send_invoice(a)
        two.send_invoice(b)
    finally:
        off()
    assert heard_globally == [a.id, b.id]
    assert heard_by_one == [a.id]


def test_unsubscribe_stops_delivery(gw: FakeGateway) -> None:
    seen: list[SendEvent] = []
    off = gw.events.on("invoice_sent", seen.append)
    off()
    off()  # twice is harmless
    gw.send_invoice(gw.create_invoice(gw.sample_draft(1)))
    assert seen == []


def test_unknown_event_name_is_refused(gw: FakeGateway) -> None:
    with pytest.raises(errors.InvalidRequest, match="unknown event"):
        gw.events.on("invoice_paid", print)  # type: ignore[arg-type]


def test_with_options_view_shares_subscribers(gw: FakeGateway) -> None:
    seen: list[SendEvent] = []
    gw.events.on_sent(seen.append)
    view = gw.with_options(ignore_unsupported=True)
    view.send_invoice(gw.create_invoice(gw.sample_draft(1)))
    assert len(seen) == 1
