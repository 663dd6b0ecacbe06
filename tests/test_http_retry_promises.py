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
from tests.test_http_engine import THING, Script

import invoicekit
from invoicekit import RetryPolicy, errors
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


@pytest.mark.parametrize(("retry_after", "retried"), [("30", True), ("31", False)])
def test_a_retry_after_equal_to_the_cap_is_waited_one_past_it_is_not(
        retry_after: str, retried: bool) -> None:
    script = Script(httpx.Response(503, json={"message": "busy"},
                                   headers={"Retry-After": retry_after}),
                    httpx.Response(200, json=THING))
    policy = RetryPolicy(max_retries=1, retry_after_cap=30)
    with instant_waits(), gateway(script, retry=policy, throttle=False) as gw:
        if retried:
            assert gw.get_invoice("7").number == "INV-7"
        else:
            with pytest.raises(errors.ProviderUnavailable) as info:
                gw.get_invoice("7")
            assert info.value.retry_after == 31
    assert len(script.seen) == (2 if retried else 1)
