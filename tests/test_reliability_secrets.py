"""Issue 13, items 3, 4, 5, 8 and 13 (core parts).

3: a secret the provider echoes back (fields, request id, raw body, message) survives in
   no attribute of the error, nor in `str()`, tracebacks or pickles.
4: log records carry no secret in any attribute a formatter may read (extras, args,
   `exc_info`, `exc_text`, `stack_info`).
5: tracebacks rendered with their frames' locals (as error trackers do) show neither the
   refresh token nor the client secret of a failed OAuth refresh; half-built objects
   have a working `repr()`.
8: `Money` is exact at extreme sizes, or refuses with `InvalidRequest`.
13: `hooks=`, `retry=` and `throttle=` of the wrong kind are `ConfigurationError`s.
"""

from __future__ import annotations

import decimal
import json
import logging
import pickle
import traceback
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.http_support import ThingsProvider, instant_waits, mock_gateway

import invoicekit
from invoicekit import HttpHooks, Money, RetryPolicy, errors

CANARY = "tok_canary_echo_5f4e3d2c1b"


def echoing(request: httpx.Request) -> httpx.Response:
    """A provider that echoes the `Authorization` header everywhere it can."""
    auth = request.headers["authorization"]
    return httpx.Response(422, json={
        "message": f"bad request from {auth}",
        "code": auth,
        "fields": {"f": [auth], auth: ["key"]},
        "echo": {"nested": [auth, {"deeper": auth}]},
    }, headers={"X-Request-Id": auth})


class EchoProvider(ThingsProvider):
    """Reads fields and code out of the body, as real providers' error parsers do."""

    def error_from_response(self, response: invoicekit.Response) -> errors.ProviderError:
        body = response.json_object()
        return errors.ValidationError(body["message"], code=body["code"],
                                      fields=body["fields"], raw=body,
                                      status=response.status, provider=self.name)


def everything(exc: BaseException) -> str:
    parts = [str(exc), repr(exc), repr(exc.args), "".join(traceback.format_exception(exc)),
             repr(pickle.loads(pickle.dumps(exc)).__dict__)]
    for name in ("message", "fields", "raw", "request_id", "code"):
        parts.append(repr(getattr(exc, name, None)))
    parts.append(_with_locals(exc))  # as error trackers render it
    return "\n".join(parts)


# ---- item 3 -------------------------------------------------------------------------------------
def test_an_echoed_secret_survives_in_no_attribute_of_the_error() -> None:
    client = httpx.Client(transport=httpx.MockTransport(echoing))
    with invoicekit.Gateway(EchoProvider(token=CANARY), http_client=client,
                            base_url="https://things.example/api") as gw, \
            pytest.raises(errors.ValidationError) as info:
        gw.get_invoice("7")
    error = info.value
    assert CANARY not in everything(error)
    assert error.fields == {"f": ["Bearer ***"], "Bearer ***": ["key"]}
    assert error.request_id == "Bearer ***"
    assert error.code == "Bearer ***"
    assert error.raw["echo"] == {"nested": ["Bearer ***", {"deeper": "Bearer ***"}]}
    assert str(error) == ("httpkit HTTP 422: bad request from Bearer *** "
                          "(f: Bearer ***; Bearer ***: key) [request id Bearer ***]")


def test_errors_built_anywhere_are_redacted_even_when_set_later() -> None:
    invoicekit.Secret(CANARY)  # registered, as every provider's secrets are
    error = errors.ProviderError(f"x {CANARY}", fields={CANARY: [CANARY]}, raw=[CANARY],
                                 request_id=CANARY, code=CANARY)
    error.request_id = f"again {CANARY}"
    error.raw = {"body": CANARY.encode()}
    outcome = errors.OutcomeUnknown(f"lost: {CANARY}", fields={"a": [CANARY]})
    assert CANARY not in everything(error) + everything(outcome)
    assert error.request_id == "again ***"
    assert error.raw == {"body": b"***"}
    assert errors.InvalidRequest("bad", fields={"x": [CANARY]}).fields == {"x": ["***"]}


@pytest.mark.parametrize("debug", [False, True])
def test_cli_stderr_shows_no_echoed_secret(debug: bool, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from invoicekit import cli
    from invoicekit.testing.sandbox import Fault
    from invoicekit_salla.sandbox import SallaSandbox

    with SallaSandbox() as sandbox:
        token = sandbox.settings()["token"]
        echo = f"Bearer {token}"
        sandbox.faults.push(Fault.status_code(422, {
            "status": 422, "success": False,
            "error": {"code": echo, "message": f"rejected {echo}", "fields": {"f": [echo]}},
        }, headers={"X-Request-Id": echo}, method="GET"))
        monkeypatch.setenv("INVOICEKIT_PROVIDER", "salla")
        monkeypatch.setenv("INVOICEKIT_TOKEN", token)
        monkeypatch.setenv("INVOICEKIT_BASE_URL", sandbox.url)
        argv = ["get", "1", *(["--debug"] if debug else [])]
        if debug:
            with pytest.raises(errors.ValidationError) as info:
                cli.main(argv)
            shown = "".join(traceback.format_exception(info.value)) + _with_locals(info.value)
        else:
            assert cli.main(argv) == 1
            shown = capsys.readouterr().err
    assert "rejected Bearer ***" in shown
    assert token not in shown + capsys.readouterr().err


def test_the_migration_report_and_journal_show_no_echoed_secret(tmp_path: Path) -> None:
    from invoicekit.migration import CustomerPolicy, MigrationPolicy, migrate
    from invoicekit.testing import FakeGateway, FakeProvider

    canary = "tok_canary_journal_77aa88bb"
    invoicekit.Secret(canary)  # registered, as a gateway registers its provider's secrets
    source = FakeGateway(FakeProvider())
    source.seed(*(source.sample_draft(n) for n in (1, 2)))
    target = FakeGateway(FakeProvider())
    target.fail_always(errors.ValidationError(
        f"rejected Bearer {canary}", fields={"f": [canary]}, request_id=canary),
        operation="create_invoice")
    journal = tmp_path / "journal.db"
    report = migrate(source, target, journal=journal,
                     policy=MigrationPolicy(customers=CustomerPolicy(create_by_email=True)))
    assert "rejected Bearer *** (f: ***) [request id ***]" in report.render()
    assert canary not in report.render()
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"rejected Bearer ***" in on_disk
    assert canary.encode() not in on_disk


# ---- item 4 -------------------------------------------------------------------------------------
class JsonFormatter(logging.Formatter):
    """What structured-logging libraries do: every attribute, and the exception formatted
    by the formatter itself (with its frames' locals, like an error tracker)."""

    def format(self, record: logging.LogRecord) -> str:
        data = {k: repr(v) for k, v in record.__dict__.items() if k != "exc_info"}
        if record.exc_info and record.exc_info[1] is not None:
            data["exception"] = "".join(traceback.TracebackException.from_exception(
                record.exc_info[1], capture_locals=True).format())
        return json.dumps(data)


def test_log_records_carry_the_secret_in_no_attribute() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    def failing_hook(info: Any) -> None:
        raise RuntimeError(f"hook saw {CANARY}")

    handler = Keep(level=logging.DEBUG)
    logger = logging.getLogger("invoicekit")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        client = httpx.Client(transport=httpx.MockTransport(echoing))
        with invoicekit.Gateway(EchoProvider(token=CANARY), http_client=client,
                                base_url="https://things.example/api",
                                hooks=HttpHooks(on_response=failing_hook)) as gw, \
                pytest.raises(errors.ValidationError, match="bad request from Bearer \\*\\*\\*"
                              ) as caught:
            gw.get_invoice("7")
        assert caught.value.fields == {"f": ["Bearer ***"], "Bearer ***": ["key"]}
        logging.getLogger("invoicekit.http").info(
            "args %s", CANARY, extra={"custom": {"k": [CANARY]}}, stack_info=True)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    assert any(getattr(r, "http_request_id", None) == "Bearer ***" for r in records)
    assert any(r.exc_info for r in records)  # the failing hook's record
    formatter = JsonFormatter()
    for record in records:
        assert CANARY not in formatter.format(record)
        assert CANARY not in logging.Formatter().format(record)


# ---- item 5 -------------------------------------------------------------------------------------
def test_a_failed_refresh_shows_no_secret_in_locals() -> None:
    from invoicekit_salla.sandbox import SallaSandbox

    refresh_token = "rt_canary_locals_0a1b2c3d"
    client_secret = "cs_canary_locals_9z8y7x6w"
    with SallaSandbox() as sandbox:
        settings = sandbox.oauth_settings(lifetime=3600)
        settings.update(refresh_token=refresh_token, client_secret=client_secret,
                        token="expired_access_token_123456", expires=1)
        with invoicekit.connect("salla", **settings) as gw, \
                pytest.raises(errors.AuthenticationError) as info:
            gw.get_invoice("1")
    rendered = _with_locals(info.value)
    assert "refresh" in rendered  # the refresh frames are there...
    assert refresh_token not in rendered  # ...without the values
    assert client_secret not in rendered


def _with_locals(exc: BaseException) -> str:
    """The traceback as an error tracker renders it, without this test module's frames
    (whose locals hold the canaries the test planted)."""
    rendered = traceback.TracebackException.from_exception(exc, capture_locals=True)
    for te in _chain(rendered):
        te.stack = traceback.StackSummary.from_list(
            [frame for frame in te.stack if frame.filename != __file__])
    return "".join(rendered.format())


def _chain(te: traceback.TracebackException) -> list[traceback.TracebackException]:
    found = [te]
    for linked in (te.__cause__, te.__context__):
        if linked is not None:
            found.extend(_chain(linked))
    return found


def test_half_built_objects_have_a_repr() -> None:
    from invoicekit.testing import FakeGateway, FakeProvider
    from invoicekit_dayzero import DayZeroProvider
    from invoicekit_salla import SallaProvider
    from invoicekit_salla.oauth import OAuthSession

    for cls in (invoicekit.Gateway, invoicekit.AsyncGateway, FakeGateway, DayZeroProvider,
                SallaProvider, FakeProvider, OAuthSession, invoicekit.Throttle):
        half = cls.__new__(cls)  # what a constructor that raised leaves behind
        assert repr(half).startswith("<")
    # And the real thing: a constructor that raises half-way through.
    with pytest.raises(errors.ConfigurationError) as info:
        invoicekit.Throttle(model="leaky", enabled="no")  # type: ignore[arg-type]
    assert info.value.setting == "enabled"


# ---- item 8 -------------------------------------------------------------------------------------
def test_money_is_exact_at_extreme_sizes() -> None:
    assert str(Money.from_minor(10**30 + 1, "USD")) == "10000000000000000000000000000.01 USD"
    assert Money.from_minor(10**30 + 1, "USD").to_minor() == 10**30 + 1
    assert str(Money("1e30", "SAR").quantize()) == "1000000000000000000000000000000.00 SAR"
    total = Money("1e30", "SAR") + Money("0.01", "SAR")
    assert str(total) == "1000000000000000000000000000000.01 SAR"
    assert str(total - Money("1e30", "SAR")) == "0.01 SAR"
    assert str(Money("1e30", "SAR") * 3) == "3E+30 SAR"
    assert str(-Money("1.000000000000000000000000000001", "SAR")) == (
        "-1.000000000000000000000000000001 SAR")
    assert Money("1e-20", "SAR").quantize(decimal.ROUND_UP) == Money("0.01", "SAR")
    # Long but sensible: exact, never rounded to 28 digits.
    product = Money("1e99", "SAR") * Decimal("0." + "1" * 60)
    assert product.amount == Decimal("1" * 60 + "0" * 39)
    assert product.amount.as_tuple().digits == (1,) * 60


@pytest.mark.parametrize("make", [
    lambda: Money("1e999999", "SAR"),
    lambda: Money(Decimal("1e-999"), "SAR"),
    lambda: Money("1e99", "SAR") * Decimal("1e50"),
    lambda: Money("1." + "1" * 300, "SAR") * Decimal("1." + "1" * 300),  # 601 digits
    lambda: Money("1e99", "SAR") + Money("1e-99", "SAR") + Money("1e-100", "SAR") * Decimal(
        "1." + "1" * 250),
    lambda: Money.from_minor(10**400, "USD"),
    lambda: Money("1", "SAR").quantize("ROUND_SIDEWAYS"),
])
def test_money_out_of_range_is_a_typed_error(make: Any) -> None:
    with pytest.raises(errors.InvalidRequest) as info:
        make()
    assert isinstance(info.value, ValueError)
    assert not isinstance(info.value, decimal.DecimalException)
    assert "range" in str(info.value) or "exactly" in str(info.value) or "rounding" in str(
        info.value)


# ---- item 13 ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("setting", "value"), [
    ("hooks", print), ("hooks", [print]), ("hooks", "yes"),
    ("retry", 5), ("retry", {"max_retries": 5}),
    ("throttle", "no"), ("throttle", "false"), ("throttle", 0), ("throttle", None),
    ("ignore_unsupported", "no"),
])
def test_settings_of_the_wrong_kind_are_configuration_errors(setting: str, value: Any) -> None:
    with pytest.raises(errors.ConfigurationError) as info:
        invoicekit.connect("dayzero", token="dz_settings_123456",
                           business_id="5b1f2a3c-0d4e-4f6a-8b9c-1d2e3f405162", **{setting: value})
    assert info.value.setting == setting
    assert setting in str(info.value)


def test_throttle_false_from_config_text_turns_throttling_off() -> None:
    gw = invoicekit.from_config({"provider": "dayzero", "token": "dz_settings_123456",
                                 "business_id": "5b1f2a3c-0d4e-4f6a-8b9c-1d2e3f405162",
                                 "throttle": "no"})
    with gw:
        assert gw.throttle.enabled is False
    with mock_gateway(lambda r: httpx.Response(200, json={"data": {
            "id": 7, "number": "N", "total": "1"}}), throttle=False) as gw2, instant_waits():
        assert gw2.throttle.enabled is False
        assert gw2.get_invoice("7").id == "7"
    assert RetryPolicy(max_retries=5).max_retries == 5
