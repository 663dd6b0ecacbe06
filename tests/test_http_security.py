"""Security of the HTTP layer: a canary secret found nowhere, hostile ids refused before
any request, header injection refused, redaction of logs and exceptions."""

from __future__ import annotations

import logging
import pickle
import re
import traceback
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from tests.http_support import (
    THING_ID,
    ThingsProvider,
    ThingsSandbox,
    arun,
    everything_said,
    instant_waits,
)

import invoicekit
from invoicekit import (
    HttpHooks,
    InvoiceDraft,
    Operation,
    PathParam,
    Request,
    SendOptions,
    Timeout,
    errors,
)
from invoicekit._secrets import Secret, install_log_redaction, redact, scrub_exception
from invoicekit.testing.sandbox import (
    Fault,
    Route,
    SandboxRequest,
    SandboxResponse,
    json_response,
)


@pytest.fixture(autouse=True)
def _instant() -> Iterator[None]:
    with instant_waits():
        yield


class EchoSandbox(ThingsSandbox):
    """A provider that misbehaves with credentials: it echoes them back."""

    def routes(self) -> list[Route]:
        return [*super().routes(),
                Route("GET", r"/echo-error", self.echo_error),
                Route("GET", r"/echo-ok", self.echo_ok)]

    def echo_error(self, request: SandboxRequest) -> SandboxResponse:
        auth = request.headers.get("authorization", "")
        return json_response(422, {"message": f"invalid credentials: {auth}"},
                             {"X-Debug-Token": auth})

    def echo_ok(self, request: SandboxRequest) -> SandboxResponse:
        return json_response(200, {"auth": request.headers.get("authorization", "")})


def echo_error() -> Operation[Any]:
    response = yield Request("GET", "/echo-error")
    return response.json()


def echo_into_a_parser_failure() -> Operation[Any]:
    response = yield Request("GET", "/echo-ok")
    data = response.json()
    raise KeyError(data["auth"])  # a careless parser quoting the body in its error


FAULTS = [
    Fault.status_code(429, {"m": 1}, headers={"Retry-After": "1"}),
    Fault.status_code(429, {"m": 1}, headers={"Retry-After": "9999"}),
    Fault.status_code(500, {"message": "boom"}),
    Fault.status_code(502, "<html>bad gateway</html>"),
    Fault.status_code(503, {"message": "down"}),
    Fault.stall(2.5),  # past the 1 s read timeout below, with room for a loaded machine
    Fault.reset(),
    Fault.truncate(),
    Fault.empty(200),
    Fault.status_code(200, "<p>hi</p>", content_type="text/html"),
    Fault.status_code(200, {"data": [1]}),
    Fault.lost_answer(),
]


def test_the_canary_token_is_found_nowhere(caplog: pytest.LogCaptureFixture) -> None:
    canary = f"canary_{uuid.uuid4().hex}"
    caplog.set_level(logging.DEBUG)  # invoicekit, httpx and httpcore all at DEBUG
    failed: list[BaseException] = []
    objects: list[object] = []

    def hook(info: object) -> None:
        raise RuntimeError(f"hook saw Bearer {canary}")  # an app's hook that leaks

    with EchoSandbox(canary) as sandbox:
        provider = ThingsProvider(token=canary)
        gw = invoicekit.Gateway(provider, base_url=sandbox.url,
                                hooks=HttpHooks(on_response=hook))
        objects += [gw, gw.with_options(timeout=3), provider, gw.throttle, gw.throttle.stats,
                    provider._token]

        thing = sandbox.add()
        objects.append(gw.get_invoice(str(thing)))  # success
        objects.append(gw.create_invoice(InvoiceDraft(number="C-1")))
        objects.append(gw.send_invoice(str(thing), SendOptions(cc_sender=True)))
        objects.extend(gw.list_invoices())
        for fault in FAULTS:
            # A gateway per fault: a long Retry-After holds every later call of its gateway.
            with invoicekit.Gateway(ThingsProvider(token=canary), base_url=sandbox.url,
                                    timeout=Timeout(connect=2, read=1.0)) as each:
                for call in (lambda: each.get_invoice(str(thing)),
                             lambda: each.create_invoice(InvoiceDraft(number="C-2"))):
                    sandbox.faults.clear()
                    sandbox.faults.push(fault)
                    try:
                        objects.append(call())
                    except errors.InvoiceKitError as exc:
                        failed.append(exc)
        for op in (echo_error, echo_into_a_parser_failure):
            with pytest.raises(errors.InvoiceKitError) as caught:
                gw.run(op())
            failed.append(caught.value)
        for hostile in ("../x", "1\r\nAuthorization: x"):
            with pytest.raises(errors.InvalidRequest) as refused:
                gw.get_invoice(hostile)
            failed.append(refused.value)
        # A wrong token: the provider's 401.
        with invoicekit.Gateway(ThingsProvider(token=f"{canary}_wrong"),
                                base_url=sandbox.url) as other, \
                pytest.raises(errors.AuthenticationError) as unauthorized:
            other.get_invoice(str(thing))
        failed.append(unauthorized.value)

        async def async_calls() -> None:
            async with invoicekit.AsyncGateway(ThingsProvider(token=canary),
                                               base_url=sandbox.url) as agw:
                objects.append(agw)
                objects.append(await agw.get_invoice(str(thing)))
                sandbox.faults.push(Fault.lost_answer())
                try:
                    await agw.create_invoice(InvoiceDraft(number="C-3"))
                except errors.OutcomeUnknown as exc:
                    failed.append(exc)
                try:
                    await agw.run(echo_into_a_parser_failure())
                except errors.ProviderUnavailable as exc:
                    failed.append(exc)

        arun(async_calls)
        gw.close()

    text = everything_said(caplog.records, *objects, *failed)
    assert canary not in text
    # The test looked where the canary would have been: every kind of error happened,
    # the libraries' DEBUG records were captured, and redaction did replace text.
    kinds = {type(e) for e in failed}
    assert {errors.ProviderUnavailable, errors.OutcomeUnknown, errors.RateLimited,
            errors.ValidationError, errors.InvalidRequest,
            errors.AuthenticationError} <= kinds
    assert len(failed) >= 20
    loggers = {r.name.split(".")[0] for r in caplog.records}
    assert {"invoicekit", "httpx", "httpcore"} <= loggers
    assert "***" in text
    echoed = [e for e in failed if isinstance(e, errors.ValidationError)]
    assert echoed[0].message == "invalid credentials: Bearer ***"
    unknown_parser = [e for e in failed if "KeyError" in str(e)]
    assert len(unknown_parser) == 2
    assert all(isinstance(e.__cause__, KeyError) for e in unknown_parser)


# ---- hostile ids ----------------------------------------------------------------------------
HOSTILE_IDS = [
    "../x", "..", ".", "1/send-invoice", "1/../2", "%2e%2e", "%2F", "1%0d%0a",
    "1\r\nX-Evil: 1", "1\n", "\r\n", " 1", "1 ", "1 2", "\t1", "١٢٣", "１２３", "²",
    "1" * 1000, "9" * 19, "", "-1", "+1", "1.0", "0x1f", "1e3", "1?x=1", "1#frag", "1;x",
    "\x00", "1\x00", "𝟙",
]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ThingsSandbox]:
    with ThingsSandbox("tok_hostile_123456") as server:
        yield server


@pytest.fixture(scope="module")
def gateway(sandbox: ThingsSandbox) -> Iterator[invoicekit.Gateway]:
    with invoicekit.Gateway(ThingsProvider(token="tok_hostile_123456"),
                            base_url=sandbox.url) as gw:
        yield gw


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_hostile_ids_are_refused_before_any_request(
        sandbox: ThingsSandbox, gateway: invoicekit.Gateway, hostile: str) -> None:
    sandbox.clear_log()
    for call in (gateway.get_invoice, gateway.send_invoice):
        with pytest.raises(errors.InvalidRequest) as caught:
            call(hostile)
        assert isinstance(caught.value, ValueError)  # bad input is also a ValueError
    assert sandbox.requests == []  # the server saw nothing


def _refusal(hostile: str) -> str:
    """The refusal of a malformed id: its repr (cut at 80 characters, so a huge id cannot
    flood a log) and the provider's label for its ids."""
    return f"^httpkit: {re.escape(repr(hostile)[:80])} is not a valid thing id$"


def test_hostile_ids_are_refused_by_the_async_gateway_too(sandbox: ThingsSandbox) -> None:
    sandbox.clear_log()

    async def async_calls() -> int:
        refused = 0
        async with invoicekit.AsyncGateway(ThingsProvider(token="tok_hostile_123456"),
                                           base_url=sandbox.url) as agw:
            for hostile in HOSTILE_IDS:
                with pytest.raises(errors.InvalidRequest, match=_refusal(hostile)):
                    await agw.get_invoice(hostile)
                with pytest.raises(errors.InvalidRequest, match=_refusal(hostile)):
                    await agw.send_invoice(hostile)
                refused += 2
        return refused

    assert arun(async_calls) == 2 * len(HOSTILE_IDS)
    assert sandbox.requests == []


@pytest.mark.parametrize(("value", "kind"), [
    (None, "NoneType"), (3.0, "float"), (True, "bool"), (b"1", "bytes"), (["1"], "list"),
    (object(), "object"),
])
def test_ids_of_the_wrong_type_are_refused(sandbox: ThingsSandbox, gateway: invoicekit.Gateway,
                                           value: Any, kind: str) -> None:
    sandbox.clear_log()
    with pytest.raises(errors.InvalidRequest, match=f"^httpkit: {kind} is not a valid thing id$"):
        gateway.get_invoice(value)
    assert sandbox.requests == []


def test_an_int_id_is_accepted() -> None:
    assert THING_ID.check(42) == "42"


@pytest.mark.parametrize("hostile", [
    "../x", "..", "%2e%2e", "1\r\nX-Evil: 1", "١٢٣", " 1", "1?admin=1", "1#x", "a b", "é",
])
def test_the_layer_refuses_an_id_formatted_into_the_path(
        sandbox: ThingsSandbox, gateway: invoicekit.Gateway, hostile: str) -> None:
    """A careless provider builds the path itself: the layer still refuses to send it."""
    sandbox.clear_log()
    provider = gateway.provider_object
    assert isinstance(provider, ThingsProvider)
    with pytest.raises(errors.InvalidRequest, match="refusing"):
        gateway.run(provider.unchecked_get(hostile))
    assert sandbox.requests == []


def test_a_path_param_must_match_its_declared_pattern(sandbox: ThingsSandbox) -> None:
    sandbox.clear_log()

    def op(params: Any) -> Operation[Any]:
        yield Request("GET", "/things/{thing_id}", path_params=params)

    with invoicekit.Gateway(ThingsProvider(token="tok_hostile_123456"),
                            base_url=sandbox.url) as gw:
        with pytest.raises(errors.InvalidRequest, match="thing id"):
            gw.run(op({"thing_id": PathParam("../x", THING_ID)}))
        with pytest.raises(errors.InvalidRequest, match="PathParam"):
            gw.run(op({"thing_id": "7"}))
        with pytest.raises(errors.InvalidRequest, match="needs parameters"):
            gw.run(op({}))
    assert sandbox.requests == []


@pytest.mark.parametrize("bad", ["v\r\nX-Evil: 1", "v\nX: y", "v\x00", "v\x7f"])
def test_header_injection_is_refused_without_echoing_the_value(
        sandbox: ThingsSandbox, bad: str) -> None:
    sandbox.clear_log()

    class Injected(ThingsProvider):
        def default_headers(self) -> dict[str, str]:
            return {"X-Tenant": bad}

    with invoicekit.Gateway(Injected(token="tok_hostile_123456"), base_url=sandbox.url) as gw, \
            pytest.raises(errors.InvalidRequest, match="X-Tenant") as caught:
        gw.get_invoice("1")
    assert bad not in str(caught.value)
    # A token that carries a header injection is refused, and never shown.
    token = "tok_evil_123456\r\nX-Evil: 1"
    with invoicekit.Gateway(ThingsProvider(token=token), base_url=sandbox.url) as gw, \
            pytest.raises(errors.InvalidRequest) as caught:
        gw.get_invoice("1")
    assert "tok_evil_123456" not in "".join(traceback.format_exception(caught.value))
    assert sandbox.requests == []


# ---- Secret and redaction -------------------------------------------------------------------
def test_secret_never_shows_its_value() -> None:
    secret = Secret("s3cr3t-value-xyz")
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", format(secret, ">5"),
                  repr([secret]), repr({"token": secret})):
        assert "s3cr3t-value-xyz" not in shown
    assert secret.get() == "s3cr3t-value-xyz"
    assert secret == Secret("s3cr3t-value-xyz")
    assert secret != Secret("other-value-xyz")
    assert secret != "s3cr3t-value-xyz"
    with pytest.raises(TypeError, match=r"^secrets are not picklable$"):
        pickle.dumps(secret)
    with pytest.raises(TypeError, match=r"^a secret must be a string$"):
        Secret(12345678)  # type: ignore[arg-type]


def test_redaction_filter_scrubs_messages_arguments_and_tracebacks(
        caplog: pytest.LogCaptureFixture) -> None:
    value = f"redact_me_{uuid.uuid4().hex}"
    Secret(value)
    install_log_redaction("invoicekit_custom_plugin")
    caplog.set_level(logging.DEBUG)
    logger = logging.getLogger("invoicekit_custom_plugin")
    logger.info("token is %s", value)
    try:
        raise ValueError(f"failed with {value}")
    except ValueError:
        logger.exception("it broke")
    logging.getLogger("httpx").debug(f"GET https://x.example/?token={value}")
    logger.info("short values like %s are not redacted", "abc")
    assert value not in caplog.text
    assert caplog.text.count("***") >= 3
    assert "abc" in caplog.text


def test_scrub_exception_cleans_the_whole_chain() -> None:
    value = f"scrub_me_{uuid.uuid4().hex}"
    Secret(value)
    group = ExceptionGroup("several", [ValueError(f"x {value}")])
    inner = KeyError(value)
    inner.__context__ = group
    outer = errors.ProviderUnavailable(f"outer {value}")
    outer.__cause__ = inner
    assert scrub_exception(outer) is outer
    text = "".join(traceback.format_exception(outer)) + repr(outer) + repr(inner)
    assert value not in text
    assert value not in repr(group.exceptions[0])
    assert outer.message == "outer ***"
    assert redact(f"a {value} b") == "a *** b"
