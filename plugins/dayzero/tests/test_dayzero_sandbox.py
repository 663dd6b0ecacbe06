"""End to end over a real socket: the lifecycle, paging, bad input, rate limits and faults."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from dayzero_support import make_draft

import invoicekit
from invoicekit import (
    Customer,
    InvoiceQuery,
    InvoiceStatus,
    LineItem,
    Money,
    SendOptions,
    errors,
)
from invoicekit.testing.sandbox import Fault, RateLimit
from invoicekit_dayzero.sandbox import DEFAULT_TOKEN, DayZeroSandbox


def test_lifecycle_sync(gw: invoicekit.Gateway, sandbox: DayZeroSandbox) -> None:
    sent_events: list[str] = []
    gw.events.on_sent(lambda e: sent_events.append(e.invoice_id))
    draft = make_draft(2)
    invoice = gw.create_invoice(draft)
    assert invoice.status is InvoiceStatus.DRAFT
    assert invoice.number is None
    assert invoice.customer is not None
    assert invoice.customer.id in sandbox.customers
    assert invoice.total == Money("378.50", "USD")  # 1 x 125.50 + 2 x 126.50
    assert sandbox.invoices[invoice.id]["total"] == 37850
    assert gw.get_invoice(invoice.id) == invoice

    with pytest.raises(errors.InvalidRequest, match="draft"):
        gw.send_invoice(invoice)
    assert sandbox.sent == []

    opened = gw.finalize_invoice(invoice)
    assert opened.status is InvoiceStatus.OPEN
    assert opened.number == "INV-001"
    receipt = gw.send_invoice(opened, SendOptions(cc_sender=True, attach_pdf=True))
    assert receipt.sent
    assert receipt.recipient == "ada@example.com"
    assert receipt.cc == "owner@sandbox.example"
    assert receipt.pdf_attached is True
    (email,) = sandbox.sent
    assert (email.invoice_id, email.cc, email.pdf_attached) == (
        invoice.id, "owner@sandbox.example", True)
    assert receipt.message_id == email.message_id
    assert sent_events == [invoice.id]

    url = gw.get_pdf_url(invoice.id)
    assert url.startswith("https://")
    assert invoice.id in url

    sandbox.mark_paid(invoice.id, via="stripe")
    paid = gw.get_invoice(invoice.id)
    assert paid.status is InvoiceStatus.PAID
    assert paid.provider_status == "stripe_paid"
    assert paid.balance_due == Money("0", "USD")
    assert (paid.amount_paid, paid.total) == (Money("378.50", "USD"), Money("378.50", "USD"))
    before = sandbox.snapshot()
    with pytest.raises(errors.Conflict, match="Only open invoices can be voided"):
        gw.void_invoice(paid)
    assert sandbox.snapshot() == before


@pytest.mark.anyio
async def test_lifecycle_async(agw: invoicekit.AsyncGateway, sandbox: DayZeroSandbox) -> None:
    customer = await agw.create_customer(Customer(name="Grace Hopper", email="grace@navy.mil"))
    assert customer.id is not None
    invoice = await agw.create_invoice(make_draft(1, customer=Customer(id=customer.id),
                                                  currency="GBP"))
    assert invoice.customer == Customer(id=customer.id, name="Grace Hopper",
                                        email="grace@navy.mil")
    receipt = await agw.send_invoice(invoice.id, SendOptions(auto_finalize=True))
    assert receipt.sent
    assert receipt.cc is None
    assert receipt.pdf_attached is False
    fetched = await agw.get_invoice(invoice.id)
    assert fetched.status is InvoiceStatus.OPEN
    assert fetched.number == "INV-001"
    assert fetched.currency == "GBP"
    voided = await agw.void_invoice(fetched)
    assert voided.status is InvoiceStatus.VOID
    found = [inv.id async for inv in agw.list_invoices(InvoiceQuery(status=InvoiceStatus.VOID))]
    assert found == [invoice.id]
    assert await agw.get_pdf_url(invoice) != await agw.get_pdf_url(invoice)  # fresh each time


def test_sample_draft_is_valid_and_sendable(gw: invoicekit.Gateway,
                                            sandbox: DayZeroSandbox) -> None:
    sandbox.today = dt.date(2031, 5, 1)
    draft = sandbox.sample_draft(7)
    assert draft.customer is not None
    assert draft.customer.id in sandbox.customers
    assert draft.customer == Customer(id=draft.customer.id, name="Customer 7",
                                      email="customer7@example.com")
    assert (draft.currency, draft.issue_date, draft.due_date, draft.description) == (
        "USD", dt.date(2031, 5, 1), dt.date(2031, 5, 31), "Order 7")
    assert draft.items == (LineItem(name="Item 7", quantity=2, unit_price=Money("12.50", "USD"),
                                    total=Money("25.00", "USD")),)
    assert gw.check_draft(draft) is draft
    sandbox.clear_log()
    invoice = gw.create_invoice(draft)
    assert sandbox.count("POST", r"/customers$") == 0  # the customer already exists
    assert (invoice.total, invoice.issue_date) == (Money("25.00", "USD"), dt.date(2031, 5, 1))
    opened = gw.finalize_invoice(invoice)
    assert (opened.status, opened.number) == (InvoiceStatus.OPEN, "INV-001")
    receipt = gw.send_invoice(opened)
    assert (receipt.sent, receipt.recipient) == (True, "customer7@example.com")
    assert sandbox.sample_draft(8).customer != draft.customer  # unique for each n


def test_today_fixes_the_issue_date_of_undated_invoices(gw: invoicekit.Gateway,
                                                        sandbox: DayZeroSandbox) -> None:
    sandbox.today = dt.date(2030, 12, 24)
    invoice = gw.create_invoice(make_draft(1, issue_date=None))
    assert invoice.issue_date == dt.date(2030, 12, 24)
    assert sandbox.invoices[invoice.id]["issue_date"] == "2030-12-24"


def test_paging_is_lazy_and_complete(sandbox: DayZeroSandbox) -> None:
    customer_ids = []
    with invoicekit.connect("dayzero", **sandbox.settings()) as gw:
        for n in range(7):
            inv = gw.create_invoice(make_draft(1, customer=Customer(
                name=f"Customer {n % 2}", email=f"c{n % 2}@example.com")))
            customer_ids.append(inv.customer.id if inv.customer else None)
        sandbox.clear_log()
        iterator = gw.list_invoices(InvoiceQuery(page_size=3))
        first = next(iterator)
        assert sandbox.count("GET", r"/invoices$") == 1
        rest = list(iterator)
        assert len([first, *rest]) == 7
        assert sandbox.count("GET", r"/invoices$") == 3
        assert len({inv.id for inv in [first, *rest]}) == 7
        mine = list(gw.list_invoices(InvoiceQuery(customer_id=customer_ids[0], page_size=2)))
        assert len(mine) == 1  # each draft created its own customer
        assert list(gw.list_invoices(InvoiceQuery(search="customer 1"))) != []


@pytest.mark.parametrize(("wrap", "more_field"), [(True, "has_more"), (False, "has_more"),
                                                  (True, "has_next")])
def test_response_shape_variants(wrap: bool, more_field: str) -> None:
    with DayZeroSandbox(wrap_responses=wrap, more_field=more_field) as sandbox, \
            invoicekit.connect("dayzero", **sandbox.settings()) as gw:
        created = [gw.create_invoice(make_draft(1)) for _ in range(3)]
        listed = list(gw.list_invoices(InvoiceQuery(page_size=2)))
        assert [i.id for i in listed] == [i.id for i in created]
        receipt = gw.send_invoice(created[0].id, SendOptions(auto_finalize=True))
        assert receipt.sent


def test_date_filters_apply_to_issue_dates(gw: invoicekit.Gateway) -> None:
    early = gw.create_invoice(make_draft(1, issue_date=dt.date(2030, 1, 5)))
    late = gw.create_invoice(make_draft(1, issue_date=dt.date(2030, 3, 5)))
    query = InvoiceQuery(from_date=dt.date(2030, 2, 1), to_date=dt.date(2030, 12, 31))
    assert [i.id for i in gw.list_invoices(query)] == [late.id]
    assert early.id in {i.id for i in gw.list_invoices()}


# ---- bad input: the documented error, and nothing changes on the sandbox -------------------
def test_bad_drafts_change_nothing(gw: invoicekit.Gateway, sandbox: DayZeroSandbox) -> None:
    before = sandbox.snapshot()
    sandbox.clear_log()
    with pytest.raises(errors.InvalidRequest, match="SAR invoice cannot be created"):
        gw.create_invoice(make_draft(1, currency="SAR"))
    half = LineItem(name="Half", quantity=Decimal("0.5"), unit_price=Money("10", "USD"))
    with pytest.raises(errors.InvalidRequest, match="fractional"):
        gw.create_invoice(make_draft(1, items=(half,)))
    with pytest.raises(errors.InvalidRequest, match="not a valid DayZero id"):
        gw.get_invoice("12345")
    assert sandbox.requests == []
    assert sandbox.snapshot() == before


def test_sending_a_draft_changes_nothing(gw: invoicekit.Gateway, sandbox: DayZeroSandbox) -> None:
    invoice = gw.create_invoice(make_draft(1))
    before = sandbox.snapshot()
    with pytest.raises(errors.InvalidRequest, match="cannot send drafts"):
        gw.send_invoice(invoice.id)
    assert sandbox.count("POST", "/send") == 0
    assert sandbox.snapshot() == before


def test_the_sandbox_itself_refuses_drafts_and_fractions(sandbox: DayZeroSandbox) -> None:
    import httpx

    settings = sandbox.settings()
    headers = {"Authorization": f"Bearer {settings['token']}",
               "x-business-id": settings["business_id"]}
    with invoicekit.connect("dayzero", **settings) as gw:
        invoice = gw.create_invoice(make_draft(1))
    with httpx.Client(base_url=sandbox.url, headers=headers) as raw:
        answer = raw.post(f"/invoices/{invoice.id}/send", json={})
        assert answer.status_code == 409
        assert "finalize" in answer.json()["detail"]
        body = {"customer_id": invoice.customer.id if invoice.customer else "",
                "due_date": "2031-01-01",
                "line_items": [{"description": "x", "quantity": 1.5, "unit_price": 100}],
                "currency": "SAR"}
        answer = raw.post("/invoices", json=body)
        assert answer.status_code == 422
        locations = {".".join(map(str, d["loc"])) for d in answer.json()["detail"]}
        assert locations == {"body.line_items.0.quantity", "body.currency"}
    assert len(sandbox.invoices) == 1


def test_wrong_business_id(sandbox: DayZeroSandbox) -> None:
    other = sandbox.add_business("Other Co")
    settings = {**sandbox.settings(), "business_id": other}
    settings["token"] = DEFAULT_TOKEN  # valid token, but not for this business
    before = sandbox.snapshot()
    with invoicekit.connect("dayzero", **settings) as gw:
        with pytest.raises(errors.PermissionDenied, match="do not have access"):
            gw.create_invoice(make_draft(1))
        with pytest.raises(errors.PermissionDenied) as info:
            list(gw.list_invoices())
        assert (info.value.status, info.value.message) == (
            403, "You do not have access to this business")
    assert sandbox.snapshot() == before


def test_invoices_of_another_business_are_not_found(sandbox: DayZeroSandbox) -> None:
    with invoicekit.connect("dayzero", **sandbox.settings()) as gw:
        invoice = gw.create_invoice(make_draft(1))
    other = sandbox.add_business("Other Co")
    with invoicekit.connect("dayzero", **sandbox.settings(other)) as gw2:
        with pytest.raises(errors.NotFound,
                           match=f"^dayzero: no invoice {invoice.id} in business {other}$"):
            gw2.get_invoice(invoice.id)
        with pytest.raises(errors.NotFound, match="Invoice not found"):
            gw2.void_invoice(invoice.id)
    assert sandbox.invoices[invoice.id]["status"] == "draft"


def test_expired_token(gw: invoicekit.Gateway, sandbox: DayZeroSandbox) -> None:
    invoice = gw.create_invoice(make_draft(1))
    sandbox.expire_token()
    before = sandbox.snapshot()
    with pytest.raises(errors.AuthenticationError, match="expired") as info:
        gw.finalize_invoice(invoice)
    assert info.value.status == 401
    with pytest.raises(errors.AuthenticationError) as again:
        gw.create_invoice(make_draft(1))
    assert (again.value.status, again.value.message) == (401, "API token has expired")
    assert sandbox.snapshot() == before


def test_voiding_a_draft_is_a_conflict(gw: invoicekit.Gateway, sandbox: DayZeroSandbox) -> None:
    invoice = gw.create_invoice(make_draft(1))
    with pytest.raises(errors.Conflict) as info:
        gw.void_invoice(invoice)
    assert info.value.status == 409
    assert sandbox.invoices[invoice.id]["status"] == "draft"
    with pytest.raises(errors.Conflict) as twice:
        gw.finalize_invoice(gw.finalize_invoice(invoice))  # finalizing twice
    assert (twice.value.status, twice.value.message) == (
        409, "Only draft invoices can be finalized; this invoice is open")


def test_missing_invoice(gw: invoicekit.Gateway, sandbox: DayZeroSandbox) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    unknown = f"^dayzero: no invoice {missing} in business {sandbox.settings()['business_id']}$"
    with pytest.raises(errors.NotFound, match=unknown):
        gw.get_invoice(missing)
    with pytest.raises(errors.NotFound, match=unknown):
        gw.send_invoice(missing)
    with pytest.raises(errors.NotFound) as info:
        gw.get_pdf_url(missing)
    assert (info.value.status, info.value.message) == (404, "Invoice not found")


# ---- rate limits and faults -------------------------------------------------------------
def test_a_429_is_retried_for_reads_and_writes(gw: invoicekit.Gateway,
                                               sandbox: DayZeroSandbox) -> None:
    sandbox.faults.push(Fault.status_code(429, {"detail": "Rate limit exceeded"},
                                          headers={"Retry-After": "0"}, method="POST",
                                          path=r"/invoices$"))
    invoice = gw.create_invoice(make_draft(1, customer=Customer(id=_customer(gw))))
    assert sandbox.count("POST", r"/invoices$") == 2  # refused, so safe to repeat
    assert list(sandbox.invoices) == [invoice.id]


def _frozen() -> float:
    """A clock that never crosses a window boundary mid-test."""
    return 1_800_000_010.0


def test_rate_limit_headers_are_sent() -> None:
    import httpx

    with DayZeroSandbox(rate_limit=RateLimit(5, 60.0, model="window", clock=_frozen)) as sandbox:
        s = sandbox.settings()
        headers = {"Authorization": f"Bearer {s['token']}", "x-business-id": s["business_id"]}
        with httpx.Client(base_url=sandbox.url, headers=headers) as raw:
            first = raw.get("/invoices")
            second = raw.get("/invoices")
    assert first.headers["X-RateLimit-Limit"] == "5"
    assert int(first.headers["X-RateLimit-Remaining"]) == 4
    assert int(second.headers["X-RateLimit-Remaining"]) == 3
    assert int(first.headers["X-RateLimit-Reset"]) > 0


def test_rate_limit_error_carries_retry_after() -> None:
    with DayZeroSandbox(rate_limit=RateLimit(1, 60.0, model="window", clock=_frozen)) as sandbox, \
            invoicekit.connect("dayzero", throttle=False, max_retries=0,
                               **sandbox.settings()) as gw:
        list(gw.list_invoices())
        with pytest.raises(errors.RateLimited) as info:
            list(gw.list_invoices())
        assert info.value.retry_after is not None
        assert info.value.retry_after > 0
        assert info.value.message == "Rate limit exceeded. Try again later."


def test_lost_answer_on_create_is_outcome_unknown(gw: invoicekit.Gateway,
                                                  sandbox: DayZeroSandbox) -> None:
    sandbox.faults.push(Fault.lost_answer(method="POST", path=r"/invoices$"))
    with pytest.raises(errors.OutcomeUnknown, match=(
            r"^dayzero: POST /invoices failed after it may have reached dayzero \(ReadError: .*\); "
            r"the write may or may not have happened and was not repeated$")):
        gw.create_invoice(make_draft(1, customer=Customer(id=_customer(gw))))
    assert sandbox.count("POST", r"/invoices$") == 1  # never repeated
    assert len(sandbox.invoices) == 1  # it did happen: the caller must reconcile


def test_server_errors_on_reads_are_retried(gw: invoicekit.Gateway,
                                            sandbox: DayZeroSandbox) -> None:
    invoice = gw.create_invoice(make_draft(1))
    sandbox.faults.push(Fault.status_code(503, {"detail": "Service Unavailable"},
                                          method="GET", times=2))
    assert gw.get_invoice(invoice.id).id == invoice.id
    sandbox.faults.push(Fault.status_code(502, "<html>bad gateway</html>", method="GET",
                                          times=5))
    with pytest.raises(errors.ProviderUnavailable) as info:
        gw.get_invoice(invoice.id)
    assert (info.value.status, info.value.message) == (502, "HTTP 502: <html>bad gateway</html>")


def test_truncated_and_wrong_type_bodies(gw: invoicekit.Gateway,
                                         sandbox: DayZeroSandbox) -> None:
    sandbox.faults.push(Fault.status_code(200, "<html>maintenance</html>", method="GET",
                                          times=-1))
    with pytest.raises(errors.ProviderUnavailable, match="content type"):
        list(gw.list_invoices())
    sandbox.faults.clear()
    sandbox.faults.push(Fault.empty(201, method="POST", path="/send"))
    invoice = gw.finalize_invoice(gw.create_invoice(make_draft(1)))
    with pytest.raises(errors.OutcomeUnknown) as info:
        gw.send_invoice(invoice)
    assert (info.value.status, info.value.message) == (
        201, "empty response body where JSON was expected (HTTP 201, body: <empty>); "
        "the write may or may not have happened")


def test_user_email_is_the_cc(sandbox: DayZeroSandbox) -> None:
    with invoicekit.connect("dayzero", user_email="me@studio.example",
                            **sandbox.settings()) as gw:
        invoice = gw.create_invoice(make_draft(1))
        receipt = gw.send_invoice(invoice, SendOptions(cc_sender=True, auto_finalize=True))
    assert receipt.cc == "me@studio.example"
    assert sandbox.requests[-1].headers["x-user-email"] == "me@studio.example"


def test_describe_names_the_connection(sandbox: DayZeroSandbox) -> None:
    text = sandbox.describe()
    assert sandbox.url in text
    assert DEFAULT_TOKEN in text


def _customer(gw: invoicekit.Gateway) -> str:
    customer = gw.create_customer(Customer(name="Lin", email="lin@example.com"))
    assert customer.id is not None
    return customer.id
