"""The retry policy's promises, field by field: what a retry logs, how long it waits, and what
an error that comes out of the HTTP layer carries.

Written against the mutants `python3 dev.py mutate retry` found alive (docs/reliability.md,
"Mutation testing"). Waits are instant (`instant_waits`); the expected delays are worked
out by hand from the `RetryPolicy` given.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from tests.http_support import ThingsProvider, instant_waits
from tests.test_http_engine import THING, Refreshing, Script

import invoicekit
from invoicekit import ResponseInfo, RetryPolicy, errors
from invoicekit import _http as http_layer
from invoicekit.provider import Response

PATH = "/things/{thing_id}"


class TerseProvider(ThingsProvider):
    """Its errors say only what the provider sent: the HTTP layer adds the rest."""

    def error_from_response(self, response: Response) -> errors.ProviderError:
        cls = errors.error_for_status(response.status)
        return cls("busy", code="later", fields={"total": ["odd"]}, raw={"echo": 1})


class BrokenParser(ThingsProvider):
    def error_from_response(self, response: Response) -> Any:
        return "not an error"


def gateway(handler: Script, provider: type[ThingsProvider] = ThingsProvider,
            **settings: Any) -> invoicekit.Gateway:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return invoicekit.Gateway(provider(token="tok_retry_promises_1"), http_client=client,
                              base_url="https://things.example/api", **settings)


def test_each_retry_is_logged_with_its_reason_delay_and_count(
        caplog: pytest.LogCaptureFixture) -> None:
    script = Script(httpx.Response(503, json={"message": "busy"}, headers={"Retry-After": "2"}),
                    httpx.Response(429, json={"message": "slow"}, headers={"Retry-After": "1"}),
                    httpx.ConnectError("refused"),
                    httpx.Response(200, json=THING))
    caplog.set_level(logging.INFO, logger="invoicekit")
    policy = RetryPolicy(max_retries=3, jitter=False, backoff_initial=0.5)
    with instant_waits(), gateway(script, retry=policy) as gw:
        assert gw.get_invoice("7").number == "INV-7"
    retries = [(r.getMessage(), r.levelname, r.http_provider, r.http_method, r.http_path,
                r.http_retry, r.http_retry_delay, r.http_retry_reason)
               for r in caplog.records if hasattr(r, "http_retry_reason")]
    # The third wait is the backoff: 0.5 * 2**2 = 2.0 s (no jitter, under backoff_max).
    assert retries == [
        (f"httpkit GET {PATH}: HTTP 503, retrying in 2.00s (retry 1 of 3)", "INFO",
         "httpkit", "GET", PATH, 1, 2.0, "HTTP 503"),
        (f"httpkit GET {PATH}: HTTP 429, retrying in 1.00s (retry 2 of 3)", "INFO",
         "httpkit", "GET", PATH, 2, 1.0, "HTTP 429"),
        (f"httpkit GET {PATH}: ConnectError, retrying in 2.00s (retry 3 of 3)", "INFO",
         "httpkit", "GET", PATH, 3, 2.0, "ConnectError"),
    ]


def test_jitter_draws_each_wait_between_zero_and_the_backoff(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    drawn: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return high / 4

    monkeypatch.setattr(http_layer.random, "uniform", uniform)
    caplog.set_level(logging.INFO, logger="invoicekit")
    script = Script(httpx.ConnectError("refused"), httpx.ConnectError("refused"),
                    httpx.Response(200, json=THING))
    policy = RetryPolicy(max_retries=2, backoff_initial=0.5)
    with instant_waits(), gateway(script, retry=policy) as gw:
        gw.get_invoice("7")
    assert drawn == [(0, 0.5), (0, 1.0)]
    assert [r.http_retry_delay for r in caplog.records
            if hasattr(r, "http_retry_delay")] == [0.125, 0.25]


def test_an_error_gets_the_provider_status_request_id_and_call_it_answered() -> None:
    script = Script(httpx.Response(409, json={}, headers={"X-Request-Id": "req-409"}))
    with gateway(script, TerseProvider) as gw, pytest.raises(errors.Conflict) as info:
        gw.get_invoice("7")
    error = info.value
    assert (error.provider, error.status, error.request_id) == ("httpkit", 409, "req-409")
    assert (error.method, error.path) == ("GET", PATH)
    assert (error.message, error.code) == ("busy", "later")


def test_a_write_answered_503_is_an_unknown_outcome_that_keeps_every_field() -> None:
    script = Script(httpx.Response(503, json={}, headers={"X-Request-Id": "req-503",
                                                          "Retry-After": "5"}))
    with instant_waits(), gateway(script, TerseProvider) as gw, \
            pytest.raises(errors.OutcomeUnknown) as info:
        gw.send_invoice("7")
    error = info.value
    assert error.message == ("POST /things/{thing_id}/send got HTTP 503: busy; the write may "
                             "or may not have happened and was not repeated")
    assert (error.provider, error.status, error.code) == ("httpkit", 503, "later")
    assert dict(error.fields) == {"total": ["odd"]}
    assert error.raw == {"echo": 1}
    assert (error.request_id, error.retry_after) == ("req-503", 5.0)
    assert len(script.seen) == 1  # never repeated


def test_a_parser_that_returns_no_error_is_named_in_the_cause() -> None:
    script = Script(httpx.Response(404, json={"message": "gone"}))
    with gateway(script, BrokenParser) as gw, pytest.raises(errors.NotFound) as info:
        gw.get_invoice("7")
    assert isinstance(info.value.__cause__, TypeError)
    assert str(info.value.__cause__) == "error_from_response returned str"


def test_a_300_answer_is_not_a_success() -> None:
    """2xx ends at 299: a 300 (multiple choices) is a redirect the engine never follows."""
    script = Script(httpx.Response(300, json=THING, headers={"Location": "/elsewhere"}))
    with instant_waits(), gateway(script) as gw, pytest.raises(
            errors.ProviderUnavailable, match="unexpected HTTP 300 redirect to '/elsewhere'"):
        gw.get_invoice("7")
    assert len(script.seen) == 1


@pytest.mark.parametrize(("status", "refused"), [
    (503, errors.ProviderUnavailable), (429, errors.RateLimited)])
@pytest.mark.parametrize(("retry_after", "retried"), [("30", True), ("31", False)])
def test_a_retry_after_equal_to_the_cap_is_waited_one_past_it_is_not(
        status: int, refused: type[errors.ProviderError], retry_after: str,
        retried: bool) -> None:
    script = Script(httpx.Response(status, json={"message": "busy"},
                                   headers={"Retry-After": retry_after}),
                    httpx.Response(200, json=THING))
    policy = RetryPolicy(max_retries=1, retry_after_cap=30)
    with instant_waits(), gateway(script, retry=policy, throttle=False) as gw:
        if retried:
            assert gw.get_invoice("7").number == "INV-7"
        else:
            with pytest.raises(refused) as info:
                gw.get_invoice("7")
            assert type(info.value) is refused
            assert (info.value.retry_after, info.value.message) == (31.0, "busy")
    assert len(script.seen) == (2 if retried else 1)


# ---- what a transport failure says -------------------------------------------------------
def test_a_read_that_never_connected_says_what_failed_and_why() -> None:
    cause = httpx.ConnectError("refused")
    script = Script(cause)
    with gateway(script, retry=RetryPolicy(max_retries=0)) as gw, \
            pytest.raises(errors.ProviderUnavailable) as info:
        gw.get_invoice("7")
    error = info.value
    assert type(error) is errors.ProviderUnavailable
    assert error.message == f"GET {PATH} failed: ConnectError: refused"
    assert (error.provider, error.method, error.path) == ("httpkit", "GET", PATH)
    assert error.__cause__ is cause


def test_a_write_that_may_have_arrived_says_so_and_no_details_when_there_are_none() -> None:
    script = Script(httpx.ReadError(""))
    with gateway(script) as gw, pytest.raises(errors.OutcomeUnknown) as info:
        gw.create_invoice(invoicekit.InvoiceDraft(number="A"))
    error = info.value
    assert error.message == ("POST /things failed after it may have reached httpkit "
                             "(ReadError: no details); the write may or may not have happened "
                             "and was not repeated")
    assert (error.provider, error.method, error.path) == ("httpkit", "POST", "/things")
    assert len(script.seen) == 1


def test_the_details_of_a_transport_failure_stop_at_200_characters() -> None:
    script = Script(httpx.ConnectError("x" * 250))
    with gateway(script, retry=RetryPolicy(max_retries=0)) as gw, \
            pytest.raises(errors.ProviderUnavailable) as info:
        gw.get_invoice("7")
    assert info.value.message == f"GET {PATH} failed: ConnectError: " + "x" * 200


def test_a_call_held_by_a_retry_after_is_refused_before_sending() -> None:
    # The throttle's clock stands still: the 90 s of the Retry-After are all left.
    throttle = invoicekit.Throttle(clock=lambda: 100.0, wall_clock=lambda: 1_700_000_000.0)
    script = Script(httpx.Response(429, json={"message": "slow"}, headers={"Retry-After": "90"}))
    with gateway(script, retry=RetryPolicy(retry_after_cap=30), throttle=throttle) as gw:
        with pytest.raises(errors.RateLimited, match="slow"):
            gw.get_invoice("7")
        with pytest.raises(errors.RateLimited) as info:
            gw.get_invoice("7")
    error = info.value
    assert error.message == (f"GET {PATH} was not sent: httpkit's rate limit means waiting "
                             "90s, longer than retry_after_cap (30s)")
    assert (error.provider, error.retry_after) == ("httpkit", 90.0)
    assert len(script.seen) == 1


def test_the_unknown_outcome_of_a_write_answered_503_names_the_answer_as_its_cause() -> None:
    script = Script(httpx.Response(503, json={}))
    with instant_waits(), gateway(script, TerseProvider) as gw, \
            pytest.raises(errors.OutcomeUnknown) as info:
        gw.send_invoice("7")
    cause = info.value.__cause__
    assert isinstance(cause, errors.ProviderError)
    assert (type(cause).__name__, cause.message, cause.status) == (
        type(errors.error_for_status(503)("x")).__name__, "busy", 503)


# ---- answers that are neither success nor error ------------------------------------------
def test_a_redirect_without_a_location_says_only_its_status() -> None:
    script = Script(httpx.Response(302))
    with gateway(script) as gw, pytest.raises(errors.ProviderUnavailable) as info:
        gw.get_invoice("7")
    assert info.value.message.startswith(
        "unexpected HTTP 302; redirects are not followed, check base_url")
    assert (info.value.provider, info.value.status) == ("httpkit", 302)


def test_a_redirect_location_is_quoted_up_to_200_characters() -> None:
    location = "/" + "a" * 249
    script = Script(httpx.Response(301, headers={"Location": location}))
    with gateway(script) as gw, pytest.raises(errors.ProviderUnavailable) as info:
        gw.get_invoice("7")
    assert info.value.message.startswith(
        f"unexpected HTTP 301 redirect to '{location[:200]}'; redirects are not followed, "
        "check base_url")


# ---- requests outside the throttle: a credentials refresh --------------------------------
def test_a_token_request_honours_retry_after_and_tells_the_hooks_its_method(
        caplog: pytest.LogCaptureFixture) -> None:
    token_answers = [httpx.Response(429, headers={"Retry-After": "2"}),
                     httpx.Response(200, json={"access_token": "tok_fresh_retry_77"})]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example":
            return token_answers.pop(0)
        if request.headers["authorization"] == "Bearer tok_fresh_retry_77":
            return httpx.Response(200, json=THING)
        return httpx.Response(401, json={"message": "expired"})

    seen: list[invoicekit.RequestInfo] = []
    caplog.set_level(logging.INFO, logger="invoicekit")
    client = httpx.Client(transport=httpx.MockTransport(handler))
    policy = RetryPolicy(jitter=False, backoff_initial=0.5)
    with instant_waits(), invoicekit.Gateway(
            Refreshing(token="tok_stale_retry_77"), base_url="https://things.example/api",
            http_client=client, retry=policy,
            hooks=invoicekit.HttpHooks(on_request=seen.append)) as gw:
        assert gw.get_invoice("7").number == "INV-7"
    # The token endpoint's Retry-After (2 s), not the backoff (0.5 s).
    assert [r.http_retry_delay for r in caplog.records
            if hasattr(r, "http_retry_delay")] == [2.0]
    # A request without an operation name is named by its method.
    assert [(i.provider, i.operation, i.method, i.url, i.attempt) for i in seen] == [
        ("httpkit", "get_invoice", "GET", "https://things.example/api/things/7", 0),
        ("httpkit", "post", "POST", "https://auth.example/token", 0),
        ("httpkit", "post", "POST", "https://auth.example/token", 1),
        ("httpkit", "get_invoice", "GET", "https://things.example/api/things/7", 0)]


# ---- how long a request took, and how long a retry sleeps --------------------------------
class Timed(ThingsProvider):
    """Keeps the `elapsed` of each error response it parses."""

    rate_limit_model = "leaky"

    def __init__(self, token: str) -> None:
        super().__init__(token=token)
        self.elapsed: list[float] = []

    def error_from_response(self, response: Response) -> errors.ProviderError:
        self.elapsed.append(response.elapsed)
        return super().error_from_response(response)


def test_the_time_a_request_took_reaches_the_response_the_hooks_and_the_throttle(
        monkeypatch: pytest.MonkeyPatch) -> None:
    readings = iter([100.0, 102.0, 110.0, 112.0])  # each request: sent, then answered
    monkeypatch.setattr(http_layer.time, "monotonic", lambda: next(readings))
    throttle = invoicekit.Throttle(model="leaky", clock=lambda: 500.0,
                                   wall_clock=lambda: 1_700_000_000.0)
    # A bucket of 10 with 4 left, empty 8 s after the headers were written (epoch Reset):
    # written at most 2 s before they arrived, so it empties within 10 s of the request's
    # start, at least (6 - 1) / 10 = 0.5 slot a second.
    limits = {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "4",
              "X-RateLimit-Reset": "1700000008"}
    answers = Script(httpx.Response(200, json=THING, headers=limits),
                     httpx.Response(404, json={"message": "gone"}))
    done: list[ResponseInfo] = []
    client = httpx.Client(transport=httpx.MockTransport(answers))
    provider = Timed(token="tok_timed_4242")
    with invoicekit.Gateway(provider, base_url="https://things.example/api",
                            http_client=client, throttle=throttle,
                            hooks=invoicekit.HttpHooks(on_response=done.append)) as gw:
        gw.get_invoice("7")
        with pytest.raises(errors.NotFound, match="gone"):
            gw.get_invoice("8")
    assert [i.elapsed for i in done] == [2.0, 2.0]
    assert provider.elapsed == [2.0]
    told = [throttle.wait_for(throttle.enqueue()) for _ in range(4)]
    assert told[:3] == [0.0, 0.0, 0.0]
    assert told[3] == 2.0  # the 404 took the fourth slot: the next in 1 / 0.5 s


def test_a_retry_sleeps_for_the_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(http_layer.time, "sleep", slept.append)
    script = Script(httpx.Response(503, json={"message": "busy"}), httpx.Response(200, json=THING))
    with gateway(script, retry=RetryPolicy(jitter=False, backoff_initial=0.5),
                 throttle=False) as gw:
        assert gw.get_invoice("7").number == "INV-7"
    assert slept == [0.5]


def test_a_429_is_retried_even_when_left_out_of_the_retry_statuses(
        caplog: pytest.LogCaptureFixture) -> None:
    # A 429 is a refusal: nothing was done, so it is always safe to repeat.
    caplog.set_level(logging.INFO, logger="invoicekit")
    script = Script(httpx.Response(429, json={"message": "slow"}, headers={"Retry-After": "1"}),
                    httpx.Response(200, json=THING))
    policy = RetryPolicy(retry_statuses=frozenset({503}))
    with instant_waits(), gateway(script, retry=policy, throttle=False) as gw:
        assert gw.get_invoice("7").number == "INV-7"
    assert [r.http_retry_reason for r in caplog.records
            if hasattr(r, "http_retry_reason")] == ["HTTP 429"]


