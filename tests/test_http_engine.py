"""The HTTP layer's policy, unit by unit, with `httpx.MockTransport` (no sockets).

Execution (headers, timeouts, per-call overrides, client injection), the retry policy
for every status and transport failure, `Retry-After`, backoff, redirects, hooks,
logging, credential refresh and `connect_async` for a provider built on the layer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
from tests.http_support import ThingsProvider, arun, instant_waits, mock_gateway

import invoicekit
from invoicekit import (
    DEFAULT,
    HttpHooks,
    InvoiceDraft,
    Operation,
    Request,
    RequestInfo,
    Response,
    ResponseInfo,
    RetryPolicy,
    Timeout,
    _http,
    errors,
)
from invoicekit._registry import _registered
from invoicekit._throttle import Throttle

THING = {"data": {"id": 7, "number": "INV-7", "total": "90.50"}}
Handler = Any


@pytest.fixture(autouse=True)
def _instant() -> Iterator[None]:
    with instant_waits():
        yield


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=THING, headers={"X-Request-Id": "rid-1"})


class Script:
    """A transport handler answering from a list, recording what it was sent."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _retry_delays(caplog: pytest.LogCaptureFixture) -> list[float]:
    return [r.http_retry_delay for r in caplog.records if hasattr(r, "http_retry_delay")]


# ---- execution ----------------------------------------------------------------------------
def test_request_carries_user_agent_auth_and_provider_headers() -> None:
    script = Script(httpx.Response(200, json=THING))
    with mock_gateway(script, token="tok_headers_123456") as gw:
        gw.get_invoice("7")
    sent = script.seen[0]
    assert str(sent.url) == "https://things.example/api/things/7"
    ua = sent.headers["user-agent"]
    assert ua.startswith(f"invoicekit/{invoicekit.__version__} (invoicekit/")
    assert "provider httpkit" in ua
    assert sent.headers["authorization"] == "Bearer tok_headers_123456"
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["accept-language"] == "en"


def test_json_bodies_keep_arabic_as_utf8() -> None:
    script = Script(httpx.Response(201, json=THING))
    with mock_gateway(script) as gw:
        gw.create_invoice(InvoiceDraft(number="فاتورة-1"))
    assert "فاتورة-1".encode() in script.seen[0].content


def test_connect_and_read_timeouts_are_separate_and_overridable_per_call() -> None:
    script = Script(httpx.Response(200, json=THING))
    with mock_gateway(script) as gw:
        gw.get_invoice("7")
        gw.with_options(timeout=Timeout(connect=1.5, read=4.0)).get_invoice("7")
        gw.with_options(timeout=None).get_invoice("7")  # None: no timeout at all
        gw.with_options(timeout=DEFAULT).get_invoice("7")  # DEFAULT: the gateway's
        gw.with_options(timeout=2).get_invoice("7")
    timeouts = [r.extensions["timeout"] for r in script.seen]
    assert timeouts[0] == {"connect": 5.0, "read": 30.0, "write": 30.0, "pool": 10.0}
    assert timeouts[1] == {"connect": 1.5, "read": 4.0, "write": 30.0, "pool": 10.0}
    assert timeouts[2] == {"connect": None, "read": None, "write": None, "pool": None}
    assert timeouts[3] == timeouts[0]
    assert timeouts[4] == {"connect": 2.0, "read": 2.0, "write": 2.0, "pool": 2.0}


def test_gateway_timeout_applies_to_an_injected_client_too() -> None:
    script = Script(httpx.Response(200, json=THING))
    with mock_gateway(script, timeout=Timeout(connect=0.5, read=9.0)) as gw:
        gw.get_invoice("7")
    assert script.seen[0].extensions["timeout"]["connect"] == 0.5
    assert script.seen[0].extensions["timeout"]["read"] == 9.0


def test_max_retries_per_call_overrides_the_gateway() -> None:
    script = Script(httpx.Response(503, json={"message": "down"}))
    with mock_gateway(script, max_retries=4) as gw:
        with pytest.raises(errors.ProviderUnavailable) as info:
            gw.with_options(max_retries=0).get_invoice("7")
        assert (info.value.status, info.value.message) == (503, "down")
        assert len(script.seen) == 1
        with pytest.raises(errors.ProviderUnavailable) as info:
            gw.with_options(max_retries=DEFAULT).get_invoice("7")
        assert (info.value.status, info.value.message) == (503, "down")
        assert len(script.seen) == 1 + 5
        with pytest.raises(errors.ConfigurationError,
                           match=r"^max_retries must be a non-negative int, got -1$"):
            gw.with_options(max_retries=-1)


def test_with_options_views_share_the_connection_and_the_throttle() -> None:
    with mock_gateway(ok) as gw:
        view = gw.with_options(timeout=3)
        assert view.throttle is gw.throttle
        view.get_invoice("7")
        view.close()  # closing a view does not close the gateway
        gw.get_invoice("7")
        assert gw.throttle.stats.requests == 2


def test_an_injected_client_is_used_and_never_closed() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json=THING)

    client = httpx.Client(transport=httpx.MockTransport(handler),
                          headers={"X-Caller": "mine"}, follow_redirects=True)
    gw = invoicekit.Gateway(ThingsProvider(token="tok_injected_1234"),
                            base_url="https://things.example/api", http_client=client)
    gw.get_invoice("7")
    gw.close()
    assert calls[0].headers["x-caller"] == "mine"  # the caller's settings are respected
    assert not client.is_closed
    client.close()


def test_an_injected_async_client_is_used_and_never_closed() -> None:
    calls: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json=THING)

    async def go() -> bool:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with invoicekit.AsyncGateway(ThingsProvider(token="tok_injected_1234"),
                                           base_url="https://things.example/api",
                                           http_client=client) as agw:
            await agw.get_invoice("7")
        closed = client.is_closed
        await client.aclose()
        return closed

    assert arun(go) is False
    assert len(calls) == 1


def test_the_wrong_kind_of_client_is_a_configuration_error() -> None:
    async_client = httpx.AsyncClient()
    with pytest.raises(errors.ConfigurationError, match=r"httpx\.Client"):
        invoicekit.Gateway(ThingsProvider(token="tok_x_123456"), http_client=async_client)
    sync_client = httpx.Client()
    with pytest.raises(errors.ConfigurationError, match="AsyncClient"):
        invoicekit.AsyncGateway(ThingsProvider(token="tok_x_123456"), http_client=sync_client)
    sync_client.close()
    arun(async_client.aclose)


def test_a_closed_injected_client_is_a_configuration_error() -> None:
    client = httpx.Client(transport=httpx.MockTransport(ok))
    gw = invoicekit.Gateway(ThingsProvider(token="tok_x_123456"),
                            base_url="https://things.example/api", http_client=client)
    client.close()
    with pytest.raises(errors.ConfigurationError, match="closed"):
        gw.get_invoice("7")


def test_a_closed_gateway_refuses_calls() -> None:
    gw = mock_gateway(ok)
    gw.close()
    with pytest.raises(errors.ConfigurationError, match="this gateway is closed"):
        gw.get_invoice("7")


@pytest.mark.parametrize("url", [
    "https://api.example.com/v2", "http://127.0.0.1:8080/api", "http://localhost:1/x",
    "http://[::1]:9000", "https://api.example.com/",
])
def test_https_or_loopback_base_urls_are_accepted(url: str) -> None:
    gw = invoicekit.Gateway(ThingsProvider(token="tok_x_123456"), base_url=url)
    assert gw.base_url == url.rstrip("/")
    gw.close()


@pytest.mark.parametrize("url", [
    "http://api.example.com/v2", "http://10.0.0.1/api", "ftp://127.0.0.1/",
    "https://user:hunter2secret@api.example.com/", "https://api.example.com/?key=1",
    "https://api.example.com/#x", "https:///nohost", "https://api.example.com:99999/",
    "https://api.example.com/a b", "", "http://localhost.evil.example/",
])
def test_other_base_urls_are_refused(url: str) -> None:
    with pytest.raises(errors.ConfigurationError) as caught:
        invoicekit.Gateway(ThingsProvider(token="tok_x_123456"), base_url=url)
    assert "hunter2secret" not in str(caught.value)


def test_an_absolute_url_must_be_https_too() -> None:
    script = Script(httpx.Response(200, json={}))

    def leaky() -> Operation[Any]:
        response = yield Request("GET", "", absolute_url="http://evil.example/steal")
        return response

    with mock_gateway(script) as gw, pytest.raises(errors.ConfigurationError, match=(
            r"^absolute_url 'http://evil\.example/steal' is plain http; use https "
            r"\(plain http is allowed for loopback only\)$")):
        gw.run(leaky())
    assert script.seen == []


# ---- the retry policy --------------------------------------------------------------------
@pytest.mark.parametrize(("status", "retried", "error"), [
    (429, True, errors.RateLimited),
    (502, True, errors.ProviderUnavailable),
    (503, True, errors.ProviderUnavailable),
    (504, True, errors.ProviderUnavailable),
    (500, False, errors.ProviderUnavailable),
    (501, False, errors.ProviderUnavailable),
    (400, False, errors.ValidationError),
    (401, False, errors.AuthenticationError),
    (403, False, errors.PermissionDenied),
    (404, False, errors.NotFound),
    (409, False, errors.Conflict),
    (422, False, errors.ValidationError),
])
def test_reads_retry_exactly_the_policy_statuses(
        status: int, retried: bool, error: type[errors.ProviderError]) -> None:
    script = Script(httpx.Response(status, json={"message": f"status {status}"}))
    with mock_gateway(script) as gw, pytest.raises(error) as caught:
        gw.get_invoice("7")
    assert len(script.seen) == (3 if retried else 1)  # default: 2 retries
    assert type(caught.value) is error
    assert caught.value.status == status
    assert caught.value.message == f"status {status}"


@pytest.mark.parametrize(("status", "attempts", "error"), [
    (429, 3, errors.RateLimited),  # refused: safe to repeat
    (500, 1, errors.OutcomeUnknown),
    (502, 1, errors.OutcomeUnknown),
    (503, 1, errors.OutcomeUnknown),
    (504, 1, errors.OutcomeUnknown),
    (400, 1, errors.ValidationError),  # refused: certainly not carried out
    (409, 1, errors.Conflict),
])
def test_writes_are_repeated_only_after_a_refusal(
        status: int, attempts: int, error: type[errors.ProviderError]) -> None:
    script = Script(httpx.Response(status, json={"message": "no"}))
    with mock_gateway(script) as gw, pytest.raises(error) as caught:
        gw.create_invoice(InvoiceDraft(number="A"))
    assert len(script.seen) == attempts
    assert type(caught.value) is error
    assert caught.value.status == status


def test_a_retried_read_succeeds() -> None:
    script = Script(httpx.Response(503, json={"message": "busy"}),
                    httpx.Response(502, text="<html>bad gateway</html>"),
                    httpx.Response(200, json=THING))
    with mock_gateway(script) as gw:
        assert gw.get_invoice("7").number == "INV-7"
    assert len(script.seen) == 3


@pytest.mark.parametrize(("failure", "sent"), [
    (httpx.ConnectError, False),
    (httpx.ConnectTimeout, False),
    (httpx.PoolTimeout, False),
    (httpx.ReadTimeout, True),
    (httpx.WriteTimeout, True),
    (httpx.ReadError, True),
    (httpx.WriteError, True),
    (httpx.RemoteProtocolError, True),
    (httpx.LocalProtocolError, True),
    (ConnectionResetError, True),
])
def test_transport_failures(failure: type[Exception], sent: bool) -> None:
    read = Script(failure("simulated"))
    with mock_gateway(read) as gw, pytest.raises(errors.ProviderUnavailable) as caught:
        gw.get_invoice("7")
    assert type(caught.value) is errors.ProviderUnavailable
    assert len(read.seen) == 3  # reads retry every transport failure
    assert isinstance(caught.value.__cause__, failure)
    assert failure.__name__ in str(caught.value)

    write = Script(failure("simulated"))
    with mock_gateway(write) as gw, pytest.raises(errors.ProviderUnavailable) as caught:
        gw.create_invoice(InvoiceDraft(number="A"))
    if sent:
        assert type(caught.value) is errors.OutcomeUnknown
        assert len(write.seen) == 1  # never repeated once it may have arrived
    else:
        assert type(caught.value) is errors.ProviderUnavailable
        assert len(write.seen) == 3  # never opened: safe to retry
    assert isinstance(caught.value.__cause__, failure)


def test_a_custom_transport_bug_is_typed_and_not_retried() -> None:
    script = Script(RuntimeError("transport bug"))
    with mock_gateway(script) as gw, pytest.raises(errors.ProviderUnavailable) as caught:
        gw.get_invoice("7")
    assert len(script.seen) == 1
    assert isinstance(caught.value.__cause__, RuntimeError)
    with mock_gateway(script) as gw, pytest.raises(errors.OutcomeUnknown, match=(
            r"^httpkit: POST /things failed after it may have reached httpkit "
            r"\(RuntimeError: transport bug\); the write may or may not have happened and was "
            r"not repeated$")):
        gw.create_invoice(InvoiceDraft(number="A"))


def test_retry_after_seconds_are_honoured(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="invoicekit")
    script = Script(httpx.Response(429, headers={"Retry-After": "7"}),
                    httpx.Response(503, headers={"Retry-After": "2.5"}),
                    httpx.Response(200, json=THING))
    with mock_gateway(script) as gw:
        gw.get_invoice("7")
    assert _retry_delays(caplog) == [7.0, 2.5]


def test_retry_after_as_an_http_date_is_honoured(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="invoicekit")
    # The date is measured from "now": the throttle's injectable wall clock, fixed here, so
    # the delay is exact whatever the real clock says. 1_700_000_000 is 2023-11-14T22:13:20Z.
    throttle = Throttle(model=ThingsProvider.rate_limit_model, wall_clock=lambda: 1_700_000_000.0)
    script = Script(httpx.Response(429, headers={"Retry-After": "Tue, 14 Nov 2023 22:13:50 GMT"}),
                    httpx.Response(200, json=THING))
    with mock_gateway(script, throttle=throttle) as gw:
        gw.get_invoice("7")
    assert _retry_delays(caplog) == [30.0]


def test_retry_after_past_the_cap_fails_at_once_and_holds_later_calls() -> None:
    script = Script(httpx.Response(429, headers={"Retry-After": "90"}))
    with mock_gateway(script, retry=RetryPolicy(retry_after_cap=30)) as gw:
        with pytest.raises(errors.RateLimited) as caught:
            gw.get_invoice("7")
        assert caught.value.retry_after == 90
        assert len(script.seen) == 1
        # The provider asked everyone to wait: the next call is refused without a request.
        with pytest.raises(errors.RateLimited, match="was not sent") as held:
            gw.get_invoice("7")
        assert held.value.retry_after is not None
        assert held.value.retry_after > 30
        assert len(script.seen) == 1


def test_a_503_with_a_long_retry_after_is_not_waited_for() -> None:
    script = Script(httpx.Response(503, headers={"Retry-After": "600"}))
    with mock_gateway(script) as gw, pytest.raises(errors.ProviderUnavailable) as caught:
        gw.get_invoice("7")
    assert caught.value.retry_after == 600
    assert len(script.seen) == 1


def test_backoff_is_exponential_and_capped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="invoicekit")
    policy = RetryPolicy(max_retries=5, backoff_initial=0.5, backoff_max=3.0, jitter=False)
    with mock_gateway(Script(httpx.Response(503)), retry=policy) as gw, \
            pytest.raises(errors.ProviderUnavailable, match=r"^httpkit: HTTP 503: no body$"):
        gw.get_invoice("7")
    assert _retry_delays(caplog) == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_backoff_jitter_stays_under_the_ceiling(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="invoicekit")
    policy = RetryPolicy(max_retries=6, backoff_initial=1.0, backoff_max=4.0)
    with mock_gateway(Script(httpx.Response(504)), retry=policy) as gw, \
            pytest.raises(errors.ProviderUnavailable, match=r"^httpkit: HTTP 504: no body$"):
        gw.get_invoice("7")
    delays = _retry_delays(caplog)
    assert len(delays) == 6
    assert all(0 <= d <= c for d, c in zip(delays, [1, 2, 4, 4, 4, 4], strict=True))


def test_instant_waits_switch_returns_the_previous_setting() -> None:
    assert _http.testing_instant_waits(False) is True
    assert _http.testing_instant_waits(True) is False


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_never_followed(status: int) -> None:
    script = Script(httpx.Response(status, headers={"Location": "https://elsewhere.example/"}))
    client = httpx.Client(transport=httpx.MockTransport(script), follow_redirects=True)
    gw = invoicekit.Gateway(ThingsProvider(token="tok_redirect_1234"),
                            base_url="https://things.example/api", http_client=client)
    with pytest.raises(errors.ProviderUnavailable, match="redirect") as read:
        gw.get_invoice("7")
    assert type(read.value) is errors.ProviderUnavailable
    with pytest.raises(errors.OutcomeUnknown, match=r"elsewhere\.example"):
        gw.create_invoice(InvoiceDraft(number="A"))
    assert [str(r.url.host) for r in script.seen] == ["things.example", "things.example"]
    client.close()


def test_a_broken_error_parser_still_gives_a_typed_error() -> None:
    class Broken(ThingsProvider):
        def error_from_response(self, response: Any) -> errors.ProviderError:
            raise KeyError("error")

    client = httpx.Client(transport=httpx.MockTransport(
        lambda r: httpx.Response(404, json={"message": "gone"})))
    gw = invoicekit.Gateway(Broken(token="tok_broken_1234"),
                            base_url="https://things.example/api", http_client=client)
    with pytest.raises(errors.NotFound) as caught:
        gw.get_invoice("7")
    assert caught.value.message == "gone"
    assert isinstance(caught.value.__cause__, KeyError)
    client.close()


# ---- observability -----------------------------------------------------------------------
def test_log_records_name_method_template_status_duration_retry_and_request_id(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="invoicekit")
    script = Script(httpx.Response(503, headers={"X-Request-Id": "rid-503"}),
                    httpx.Response(200, json=THING, headers={"X-Request-Id": "rid-200"}))
    with mock_gateway(script) as gw:
        gw.get_invoice("7")
    records = [r for r in caplog.records if hasattr(r, "http_status")]
    assert [(r.http_method, r.http_path, r.http_status, r.http_retry, r.http_request_id)
            for r in records] == [
        ("GET", "/things/{thing_id}", 503, 0, "rid-503"),
        ("GET", "/things/{thing_id}", 200, 1, "rid-200"),
    ]
    assert all(r.http_duration_ms >= 0 for r in records)
    assert all(r.name == "invoicekit.http" for r in records)
    text = records[1].getMessage()
    assert "GET /things/{thing_id} -> 200" in text
    assert "retry 1" in text
    assert "rid-200" in text
    assert "ms" in text
    # The path template is logged, never the id-filled URL (ids can be personal data).
    assert "/things/7" not in caplog.text


def test_hooks_see_every_attempt() -> None:
    requests: list[RequestInfo] = []
    responses: list[ResponseInfo] = []
    hooks = HttpHooks(on_request=requests.append, on_response=[responses.append])
    script = Script(httpx.ReadError("reset"), httpx.Response(200, json=THING,
                                                             headers={"X-Request-Id": "r9"}))
    with mock_gateway(script, hooks=hooks) as gw:
        gw.get_invoice("7")
    assert [(i.operation, i.method, i.path, i.attempt) for i in requests] == [
        ("get_invoice", "GET", "/things/{thing_id}", 0),
        ("get_invoice", "GET", "/things/{thing_id}", 1)]
    assert requests[0].url == "https://things.example/api/things/7"
    assert [(i.status, i.attempt, i.request_id, i.error) for i in responses] == [
        (None, 0, None, "ReadError"), (200, 1, "r9", None)]
    assert all(i.provider == "httpkit" for i in responses)


def test_a_failing_hook_never_breaks_a_call(caplog: pytest.LogCaptureFixture) -> None:
    def explode(info: object) -> None:
        raise ValueError("hook bug")

    async def async_hook(info: object) -> None:
        return None

    seen: list[ResponseInfo] = []
    hooks = HttpHooks(on_request=(explode, async_hook), on_response=(explode, seen.append))
    with mock_gateway(ok, hooks=hooks) as gw:
        assert gw.get_invoice("7").number == "INV-7"
    assert len(seen) == 1  # the hook after the broken one still ran
    failures = [r for r in caplog.records if "hook" in r.getMessage()]
    assert len(failures) == 3
    assert any("hook bug" in (r.exc_text or "") or r.exc_info for r in failures)


def test_hooks_must_be_callable() -> None:
    with pytest.raises(errors.ConfigurationError, match=r"^a hook must be callable, got 42$"):
        HttpHooks(on_request=[42])  # type: ignore[list-item]


# ---- credentials refresh -----------------------------------------------------------------
class Refreshing(ThingsProvider):
    """Refreshes its token once on a 401 through a token endpoint."""

    def __init__(self, token: str) -> None:
        super().__init__(token=token)
        self.generation = 0

    @property
    def auth_generation(self) -> int:
        return self.generation

    def can_refresh(self) -> bool:
        return True

    def refresh(self) -> Operation[None]:
        response = yield Request("POST", "", absolute_url="https://auth.example/token",
                                 authenticated=False, json={"grant": "refresh"})
        self._token = invoicekit.Secret(response.json()["access_token"])
        self.generation += 1

    def secrets(self) -> tuple[str, ...]:
        return (self._token.get(),)


def test_a_401_refreshes_once_and_repeats(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("authorization")))
        if request.url.host == "auth.example":
            return httpx.Response(200, json={"access_token": "tok_fresh_abcdef123"})
        if request.headers["authorization"] == "Bearer tok_fresh_abcdef123":
            return httpx.Response(200, json=THING)
        return httpx.Response(401, json={"message": "expired"})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    gw = invoicekit.Gateway(Refreshing(token="tok_stale_abcdef123"),
                            base_url="https://things.example/api", http_client=client)
    assert gw.get_invoice("7").number == "INV-7"
    assert seen == [("/api/things/7", "Bearer tok_stale_abcdef123"), ("/token", None),
                    ("/api/things/7", "Bearer tok_fresh_abcdef123")]
    # A write refused with 401 is safe to repeat after the refresh as well.
    assert gw.create_invoice(InvoiceDraft(number="A")).number == "INV-7"
    assert "tok_fresh_abcdef123" not in caplog.text
    client.close()


def test_a_second_401_is_an_authentication_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example":
            return httpx.Response(200, json={"access_token": "tok_useless_123456"})
        return httpx.Response(401, json={"message": "revoked"})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    gw = invoicekit.Gateway(Refreshing(token="tok_stale_abcdef123"),
                            base_url="https://things.example/api", http_client=client)
    with pytest.raises(errors.AuthenticationError, match="revoked"):
        gw.get_invoice("7")
    client.close()


class ScopedRefreshing(Refreshing):
    """Maps a 401 that names a missing scope to PermissionDenied, as Salla's plugin does."""

    def error_from_response(self, response: Response) -> errors.ProviderError:
        if response.status == 401 and b"scope" in response.content:
            return errors.PermissionDenied("token lacks a scope", provider=self.name,
                                           status=401)
        return super().error_from_response(response)


def test_a_401_for_a_missing_scope_does_not_refresh() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        if request.url.host == "auth.example":
            return httpx.Response(200, json={"access_token": "tok_fresh_abcdef123"})
        return httpx.Response(401, json={"message": "needs scope orders.read"})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    gw = invoicekit.Gateway(ScopedRefreshing(token="tok_stale_abcdef123"),
                            base_url="https://things.example/api", http_client=client)
    with pytest.raises(errors.PermissionDenied) as info:
        gw.get_invoice("7")
    assert (info.value.status, info.value.message) == (401, "token lacks a scope")
    assert seen == ["things.example"], "renewing the token cannot add a scope"
    client.close()


def test_a_refresh_that_needs_a_refresh_is_a_configuration_error() -> None:
    class Recursive(Refreshing):
        def needs_refresh(self) -> bool:
            return True

        def refresh(self) -> Operation[None]:
            yield Request("POST", "/token")  # authenticated: a plugin bug
            self.generation += 1

    client = httpx.Client(transport=httpx.MockTransport(ok))
    gw = invoicekit.Gateway(Recursive(token="tok_recursive_123456"),
                            base_url="https://things.example/api", http_client=client)
    with pytest.raises(errors.ConfigurationError, match="authenticated=False"):
        gw.get_invoice("7")

    async def go() -> None:
        aclient = httpx.AsyncClient(transport=httpx.MockTransport(ok))
        agw = invoicekit.AsyncGateway(Recursive(token="tok_recursive_123456"),
                                      base_url="https://things.example/api",
                                      http_client=aclient)
        with pytest.raises(errors.ConfigurationError, match="authenticated=False"):
            await agw.get_invoice("7")
        await aclient.aclose()

    arun(go)
    client.close()


# ---- connect_async works for any provider built on the layer -------------------------------
@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(_registered, "httpkit", ThingsProvider)
    return "httpkit"


def test_connect_async_works_for_a_provider_built_on_the_layer(registered: str) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=THING)

    async def go() -> tuple[str | None, Mapping[str, Any]]:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        agw = invoicekit.connect_async(registered, token="tok_async_123456",
                                       base_url="https://things.example/api",
                                       http_client=client, timeout=3, max_retries=1)
        async with agw:
            assert isinstance(agw, invoicekit.AsyncInvoiceGateway)
            invoice = await agw.get_invoice("7")
        await client.aclose()
        return invoice.number, invoice.raw

    number, _ = arun(go)
    assert number == "INV-7"


def test_connect_works_for_a_provider_built_on_the_layer(registered: str) -> None:
    client = httpx.Client(transport=httpx.MockTransport(ok))
    with invoicekit.connect(registered, token="tok_sync_123456",
                            base_url="https://things.example/api", http_client=client) as gw:
        assert isinstance(gw, invoicekit.InvoiceGateway)
        assert gw.get_invoice("7").number == "INV-7"
    client.close()
