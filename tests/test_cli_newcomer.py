"""The command line as a newcomer meets it (issue 14): every point checked by exit status
and message, against the real sandboxes where the point is about a platform."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.plugin_support import write_dist

from invoicekit import (
    Customer,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    LineItem,
    Money,
    _registry,
    cli,
    errors,
)
from invoicekit.migration import _cli as migrate_cli
from invoicekit.testing import FakeProvider
from invoicekit_dayzero.sandbox import DEFAULT_BUSINESS_ID, DayZeroSandbox
from invoicekit_salla.sandbox import DEFAULT_TOKEN, READ_ONLY_TOKEN, SallaSandbox


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, invoicekit_no_wait: None) -> None:
    for key in list(os.environ):
        if key.startswith("INVOICEKIT_"):
            monkeypatch.delenv(key)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("invoicekit: error: "), err
    assert "Traceback" not in err
    return lines[0]


def config(tmp_path: Path, name: str, **settings: str) -> str:
    path = tmp_path / f"{name}.toml"
    body = "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())
    path.write_text("[invoicekit]\n" + body, encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def salla() -> Iterator[SallaSandbox]:
    with SallaSandbox() as sandbox:
        sandbox.seed(2)
        yield sandbox


@pytest.fixture(scope="module")
def dayzero() -> Iterator[DayZeroSandbox]:
    with DayZeroSandbox() as sandbox:
        yield sandbox


def salla_config(tmp_path: Path, sandbox: SallaSandbox, token: str = DEFAULT_TOKEN) -> str:
    return config(tmp_path, "salla", provider="salla", token=token, base_url=sandbox.url)


def dayzero_config(tmp_path: Path, sandbox: DayZeroSandbox, **changes: str) -> str:
    settings = {"provider": "dayzero", **sandbox.settings(), **changes}
    return config(tmp_path, "dayzero", **settings)


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once the socket closes


# ---- messages speak CLI; refusals are consistent ----------------------------------------------
def test_send_cc_on_salla_names_the_flag(tmp_path: Path, salla: SallaSandbox,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    cfg = salla_config(tmp_path, salla)
    code, _, err = run(capsys, "--config", cfg, "send", "1100000001", "--cc")
    assert code == 1
    assert error_line(err) == (
        "invoicekit: error: send invoice 1100000001: salla does not support send_cc; "
        "pass --ignore-unsupported to send without it")


def test_send_auto_finalize_on_salla_is_refused_like_cc(
        tmp_path: Path, salla: SallaSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = salla_config(tmp_path, salla)
    sent_before = len(salla.sent)
    code, _, err = run(capsys, "--config", cfg, "send", "1100000001", "--auto-finalize")
    assert code == 1
    assert error_line(err) == (
        "invoicekit: error: send invoice 1100000001: salla does not support finalize_invoice "
        "(it has no drafts); pass --ignore-unsupported to send without --auto-finalize")
    assert len(salla.sent) == sent_before
    code, out, _ = run(capsys, "--config", cfg, "send", "1100000001", "--auto-finalize",
                       "--cc", "--ignore-unsupported")
    assert code == 0
    assert out.startswith("sent 1100000001")
    assert len(salla.sent) == sent_before + 1


def test_sending_a_dayzero_draft_names_the_flag(
        tmp_path: Path, dayzero: DayZeroSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = dayzero_config(tmp_path, dayzero)
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(DAYZERO_DRAFT), encoding="utf-8")
    code, out, _ = run(capsys, "--config", cfg, "--json", "create", str(draft))
    assert code == 0
    invoice_id = json.loads(out)["id"]
    code, _, err = run(capsys, "--config", cfg, "send", invoice_id)
    assert code == 1
    line = error_line(err)
    assert line.endswith("finalize it first (`invoicekit finalize ID`) or pass --auto-finalize")
    assert "SendOptions" not in line
    assert "gateway." not in line
    code, out, _ = run(capsys, "--config", cfg, "send", invoice_id, "--auto-finalize")
    assert code == 0
    assert out.startswith(f"sent {invoice_id} to ada@example.com")


# ---- errors say what failed and where ---------------------------------------------------------
def test_a_missing_salla_id_keeps_the_arabic_and_adds_id_and_request(
        tmp_path: Path, salla: SallaSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--config", salla_config(tmp_path, salla), "get", "999999")
    assert code == 1
    assert error_line(err) == (
        "invoicekit: error: get invoice 999999: salla HTTP 404: "
        "المحتوى الذي تحاول الوصول اليه غير متوفر "
        f"[GET /orders/invoices/{{invoice_id}} at {salla.url}]")


def test_provider_language_asks_the_platform_for_english(
        tmp_path: Path, salla: SallaSandbox, dayzero: DayZeroSandbox,
        capsys: pytest.CaptureFixture[str]) -> None:
    cfg = salla_config(tmp_path, salla)
    code, _, err = run(capsys, "--config", cfg, "--provider-language", "en", "get", "999999")
    assert code == 1
    line = error_line(err)
    assert "المحتوى" not in line
    assert "get invoice 999999: salla HTTP 404: " in line
    code, _, err = run(capsys, "--config", dayzero_config(tmp_path, dayzero),
                       "--provider-language", "en", "list")
    assert code == 2
    assert "--provider-language: provider 'dayzero' has no language setting" in error_line(err)


def test_a_missing_dayzero_id_is_not_found_without_a_200(
        tmp_path: Path, dayzero: DayZeroSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    code, _, err = run(capsys, "--config", dayzero_config(tmp_path, dayzero), "get", missing)
    assert code == 1
    line = error_line(err)
    assert "HTTP 200" not in line
    assert line == (f"invoicekit: error: get invoice {missing}: dayzero: no invoice {missing} "
                    f"in business {DEFAULT_BUSINESS_ID} [at {dayzero.url}]")


def test_a_config_pointed_at_the_wrong_sandbox_is_not_doubled(
        tmp_path: Path, salla: SallaSandbox, dayzero: DayZeroSandbox,
        capsys: pytest.CaptureFixture[str]) -> None:
    wrong = salla.url.replace("/admin/v2", "/api/v1")
    cfg = dayzero_config(tmp_path, dayzero, base_url=wrong)
    code, _, err = run(capsys, "--config", cfg, "list")
    assert code == 1
    line = error_line(err)
    assert "HTTP 404: HTTP 404" not in line
    assert line.startswith("invoicekit: error: list invoices: dayzero: HTTP 404: ")
    assert line.endswith(f"[GET /invoices at {wrong}]")


def test_a_closed_port_names_the_base_url(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    base = f"http://127.0.0.1:{closed_port()}/admin/v2"
    cfg = config(tmp_path, "closed", provider="salla", token=DEFAULT_TOKEN, base_url=base)
    code, _, err = run(capsys, "--config", cfg, "get", "1")
    assert code == 1
    line = error_line(err)
    assert line.startswith("invoicekit: error: get invoice 1: salla: GET /orders/invoices/"
                           "{invoice_id} failed: ConnectError")
    assert line.endswith(f"[at {base}]")


def test_provider_error_keeps_the_request_line_and_one_status() -> None:
    err = errors.NotFound("HTTP 404: {\"detail\": \"Not Found\"}", provider="dayzero",
                          status=404)
    assert str(err) == 'dayzero: HTTP 404: {"detail": "Not Found"}'
    assert (err.method, err.path) == (None, None)
    assert str(errors.NotFound("gone", provider="salla", status=404)) == "salla HTTP 404: gone"


# ---- doctor -----------------------------------------------------------------------------------
def doctor(capsys: pytest.CaptureFixture[str], cfg: str) -> tuple[int, dict[str, str]]:
    code, out, _ = run(capsys, "--json", "doctor", "--config", cfg)
    report = json.loads(out)
    assert report["ok"] is (code == 0)
    checks = {c["check"]: f"{c['status']}: {c['detail']}" for c in report["checks"]}
    return code, checks


def test_doctor_passes_with_good_credentials(tmp_path: Path, salla: SallaSandbox,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, checks = doctor(capsys, salla_config(tmp_path, salla))
    assert code == 0
    assert checks["reachability"] == f"ok: {salla.url} answered"
    assert checks["authentication"] == "ok: the credentials were accepted"
    assert checks["scopes"].startswith("ok: can read invoices")


def test_doctor_fails_on_a_closed_port_and_names_it(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    base = f"http://127.0.0.1:{closed_port()}/api/v1"
    cfg = config(tmp_path, "closed", provider="dayzero", token="dz_x",
                 business_id=DEFAULT_BUSINESS_ID, base_url=base)
    code, checks = doctor(capsys, cfg)
    assert code == 1
    assert checks["reachability"].startswith(f"fail: cannot reach dayzero at {base}: ")
    assert "ConnectError" in checks["reachability"]
    assert "authentication" not in checks


def test_doctor_fails_on_a_wrong_token(tmp_path: Path, salla: SallaSandbox,
                                       dayzero: DayZeroSandbox,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, checks = doctor(capsys, salla_config(tmp_path, salla, token="not-a-token"))
    assert code == 1
    assert checks["reachability"] == f"ok: {salla.url} answered"
    assert checks["authentication"].startswith("fail: salla HTTP 401")
    code, checks = doctor(capsys, dayzero_config(tmp_path, dayzero, token="dz_wrong"))
    assert code == 1
    assert checks["authentication"].startswith("fail: dayzero HTTP 401")


def test_doctor_reports_a_token_without_the_read_scope(
        tmp_path: Path, salla: SallaSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    code, checks = doctor(capsys, salla_config(tmp_path, salla, token=READ_ONLY_TOKEN))
    assert code == 0  # a read-only token reads: what doctor checks
    assert checks["scopes"].startswith("ok: can read invoices (doctor never writes")
    no_scope = salla.add_token(scopes=())
    code, checks = doctor(capsys, salla_config(tmp_path, salla, token=no_scope))
    assert code == 1
    assert checks["authentication"] == "ok: the credentials were accepted"
    assert checks["scopes"].startswith(
        "fail: the credentials cannot read invoices (missing scope orders.read)")


# ---- config mistakes --------------------------------------------------------------------------
def test_a_provider_of_the_wrong_type_says_so(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "five.toml").write_text("[invoicekit]\nprovider = 5\n")
    code, _, err = run(capsys, "--config", str(tmp_path / "five.toml"), "list")
    assert code == 2
    assert error_line(err) == (
        "invoicekit: error: the setting 'provider' must be a provider name "
        '(a string such as "salla"), got int')


def test_a_provider_typo_suggests_the_installed_name_never_a_package(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, "typo", provider="sala")
    code, _, err = run(capsys, "--config", cfg, "list")
    assert code == 2
    line = error_line(err)
    assert line.startswith("invoicekit: error: no invoicekit provider named 'sala' "
                           "(did you mean 'salla'?); installed: ")
    assert "pip install" not in line
    with pytest.raises(errors.ProviderNotFound) as info:
        _registry.load_provider("sala")
    assert info.value.suggestion == "salla"


# ---- create, finalize, void -------------------------------------------------------------------
DAYZERO_DRAFT: dict[str, Any] = {
    "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
    "currency": "USD", "due_date": "2026-03-01",
    "items": [{"name": "Consulting", "quantity": 3, "unit_price": "120.00"}],
}

SALLA_DRAFT_TOML = """\
order_id = "1000005"
number = "F-100"
currency = "SAR"
subtotal = "100.00"
shipping = "23"
cash_on_delivery = "0"
tax_rate = 15
tax = "18.45"
total = "141.45"

[customer]
name = "عميل"
email = "c@example.sa"

[[items]]
name = "منتج"
quantity = 1
unit_price = 100.00
"""


def test_create_dry_run_shows_the_request_and_sends_nothing(
        tmp_path: Path, salla: SallaSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    draft = tmp_path / "draft.toml"
    draft.write_text(SALLA_DRAFT_TOML, encoding="utf-8")
    cfg = salla_config(tmp_path, salla)
    before = salla.snapshot()
    code, out, _ = run(capsys, "--config", cfg, "--json", "create", str(draft), "--dry-run")
    assert code == 0
    plan = json.loads(out)
    assert plan["sent"] is False
    assert plan["method"] == "POST"
    assert plan["url"] == f"{salla.url}/orders/invoices"
    body = plan["json"]
    assert body["order_id"] == 1000005
    assert body["invoice_number"] == "F-100"
    assert body["data_type"] == "data"
    assert salla.snapshot() == before
    code, out, _ = run(capsys, "--config", cfg, "create", str(draft), "--dry-run")
    assert code == 0
    assert out.splitlines()[:2] == ["dry run: nothing sent. salla would receive:",
                                    f"POST {salla.url}/orders/invoices"]
    assert salla.snapshot() == before


def test_create_dry_run_on_the_fake_shows_the_checked_draft(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(DAYZERO_DRAFT), encoding="utf-8")
    cfg = config(tmp_path, "fake", provider="fake")
    code, out, _ = run(capsys, "--config", cfg, "--json", "create", str(draft), "--dry-run")
    assert code == 0
    plan = json.loads(out)
    assert plan["provider"] == "fake"
    assert plan["sent"] is False
    assert plan["draft"]["items"][0]["unit_price"] == {"amount": "120.00", "currency": "USD"}
    assert plan["draft"]["due_date"] == "2026-03-01"


def test_create_dry_run_on_a_platform_profile_shows_the_platform_request(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(DAYZERO_DRAFT), encoding="utf-8")
    cfg = config(tmp_path, "fake", provider="fake", profile="dayzero")
    code, out, _ = run(capsys, "--config", cfg, "--json", "create", str(draft), "--dry-run")
    assert code == 0
    plan = json.loads(out)
    # the DayZero profile is the DayZero provider: a customer without an id comes first
    assert (plan["provider"], plan["sent"], plan["method"], plan["path"]) == (
        "dayzero", False, "POST", "/customers")
    assert plan["json"] == {"name": "Ada Lovelace", "email": "ada@example.com"}


def test_create_finalize_void_on_dayzero(tmp_path: Path, dayzero: DayZeroSandbox,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    cfg = dayzero_config(tmp_path, dayzero)
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(DAYZERO_DRAFT), encoding="utf-8")
    code, out, _ = run(capsys, "--config", cfg, "create", str(draft))
    assert code == 0
    fields = dict(line.split(None, 1) for line in out.splitlines()
                  if line and not line.startswith(" ") and " " in line)
    invoice_id = fields["id"].strip()
    assert "status       draft" in out
    assert "total        360.00 USD" in out
    code, out, _ = run(capsys, "--config", cfg, "--json", "finalize", invoice_id)
    assert code == 0
    finalized = json.loads(out)
    assert finalized["status"] == "open"
    assert finalized["number"].startswith("INV-")
    code, out, _ = run(capsys, "--config", cfg, "--json", "void", invoice_id)
    assert code == 0
    assert json.loads(out)["status"] == "void"
    code, _, err = run(capsys, "--config", cfg, "void", invoice_id)
    assert code == 1
    assert error_line(err).startswith(f"invoicekit: error: void invoice {invoice_id}: dayzero")


@pytest.mark.parametrize(("content", "name", "message"), [
    ("{", "d.json", "is not valid JSON"),
    ("[invoicekit", "d.toml", "is not valid TOML"),
    ('{"currency": "USD", "total": true}', "d.json", 'total must be an amount such as "23.00"'),
    ('{"currency": "USD", "total": "abc"}', "d.json", "total: "),
    ('{"currency": "USD", "total": NaN}', "d.json", "NaN is not an amount"),
    ('{"colour": "red"}', "d.json", "unknown key colour; allowed: kind, order_id"),
    ('{"total": "5"}', "d.json", "total needs the draft's `currency`"),
    ('{"items": [{"name": "x"}]}', "d.json", "items[1] needs name, quantity and unit_price"),
    ("[]", "d.json", "must hold one object"),
])
def test_bad_draft_files_are_one_line_errors(tmp_path: Path, content: str, name: str,
                                             message: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    cfg = config(tmp_path, "fake", provider="fake")
    code, _, err = run(capsys, "--config", cfg, "create", str(tmp_path / name))
    assert code == 1
    assert message in error_line(err)


def test_finalize_where_there_are_no_drafts_is_refused(
        tmp_path: Path, salla: SallaSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--config", salla_config(tmp_path, salla), "finalize", "1")
    assert code == 1
    assert error_line(err) == ("invoicekit: error: finalize invoice 1: salla does not support "
                               "finalize_invoice")


# ---- sandbox --help, --list, --seed -----------------------------------------------------------
@pytest.mark.parametrize("argv", [["sandbox", "--help"], ["sandbox"], ["sandbox", "-h"]])
def test_sandbox_help_lists_the_sandboxes(argv: list[str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert out.startswith("usage: invoicekit sandbox NAME")
    rows = [line.split() for line in out.splitlines()]
    assert ["SANDBOX", "DISTRIBUTION", "DEFAULT", "PORT"] in rows
    assert ["salla", "invoicekit-salla", "8080"] in rows
    assert ["dayzero", "invoicekit-dayzero", "8081"] in rows


def test_sandbox_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "sandbox", "--list", "--json")
    assert code == 0
    names = {s["name"]: s for s in json.loads(out)}
    assert names["salla"]["distribution"] == "invoicekit-salla"
    assert names["salla"]["error"] is None


def test_sandbox_options_without_a_name_are_a_usage_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "sandbox", "--seed")
    assert code == 2
    assert "name a sandbox before its options" in error_line(err)


SEEDING_MODULE = '''
from invoicekit.testing.sandbox import SandboxServer

class SeedingSandbox(SandboxServer):
    name = "cli-seed"
    seeded = []

    def seed(self, count):
        SeedingSandbox.seeded.append(count)
        return [str(n) for n in range(1, count + 1)]

    def serve_forever(self):
        self.start()
        self.stop()
        raise KeyboardInterrupt
'''


def test_sandbox_seed_runs_the_sandboxes_seed(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ik_cli_seed_mod.py").write_text(textwrap.dedent(SEEDING_MODULE))
    monkeypatch.syspath_prepend(str(write_dist(tmp_path, "ik_cli_seed", """
        [invoicekit.sandboxes]
        cli-seed = ik_cli_seed_mod:SeedingSandbox
    """)))
    code, out, _ = run(capsys, "sandbox", "cli-seed", "--port", "0", "--seed", "3")
    assert code == 0
    assert "seeded 3 invoices: 1, 2, 3" in out
    module = sys.modules["ik_cli_seed_mod"]
    assert module.SeedingSandbox.seeded == [3]
    code, out, _ = run(capsys, "sandbox", "cli-seed", "--help")
    assert code == 0
    assert "--seed N" in out
    code, out, _ = run(capsys, "--json", "sandbox", "cli-seed", "--port", "0", "--seed", "2")
    assert code == 0
    first, _, last = out.splitlines()
    started = json.loads(first)
    assert started["sandbox"] == "cli-seed"
    assert started["settings"] == {"base_url": started["url"]}
    assert started["url"].startswith("http://127.0.0.1:")
    assert json.loads(last) == {"seeded": ["1", "2"]}


def test_the_real_sandboxes_seed_invoices_list_shows(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with SallaSandbox() as salla_box, DayZeroSandbox() as dz_box:
        salla_ids = salla_box.seed(2)
        dz_ids = dz_box.seed(3)
        code, out, _ = run(capsys, "--config", salla_config(tmp_path, salla_box), "list")
        assert code == 0
        assert [line.split()[0] for line in out.splitlines()[1:]] == sorted(salla_ids,
                                                                            reverse=True)
        code, out, _ = run(capsys, "--config", dayzero_config(tmp_path, dz_box), "--json",
                           "list")
        statuses = {i["id"]: i["status"] for i in json.loads(out)}
        assert statuses == {dz_ids[0]: "open", dz_ids[1]: "open", dz_ids[2]: "draft"}


# ---- list output ------------------------------------------------------------------------------
class KindsFake(FakeProvider):
    """An invoice and a credit note with amounts written without their minor units."""

    def __init__(self) -> None:
        super().__init__(today="2025-02-01")
        common: dict[str, Any] = {
            "provider": "fake", "status": InvoiceStatus.ISSUED, "currency": "SAR",
            "customer": Customer(name="عميل"),
            "items": (LineItem(name="x", quantity=Decimal(1), unit_price=Money("20", "SAR")),),
        }
        self.store(Invoice(id="inv_000001", number="F-1", kind=InvoiceKind.INVOICE,
                           total=Money("23", "SAR"), **common))
        self.store(Invoice(id="inv_000002", number="F-2", kind=InvoiceKind.CREDIT_NOTE,
                           total=Money("1234.5", "SAR"), **common))


def test_list_has_a_header_a_kind_column_and_padded_amounts(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(_registry, "_registered", {"kinds": KindsFake})
    monkeypatch.setenv("INVOICEKIT_PROVIDER", "kinds")
    code, out, _ = run(capsys, "list")
    assert code == 0
    assert out.splitlines() == [
        "ID          NUMBER  KIND         STATUS  ISSUED        TOTAL  CUSTOMER",
        "inv_000001  F-1     invoice      issued  -         23.00 SAR  عميل",
        "inv_000002  F-2     credit note  issued  -       1234.50 SAR  عميل",
    ]


def test_list_page_size_zero_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "list", "--page-size", "0")
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "invoicekit: error: list: argument --page-size: '0' must be at least 1")


def test_providers_names_capabilities_by_their_enum_value(
        capsys: pytest.CaptureFixture[str]) -> None:
    from invoicekit import Capability

    _, out, _ = run(capsys, "providers")
    assert out.splitlines()[0].split() == ["PROVIDER", "DISTRIBUTION", "VERSION",
                                           "CAPABILITIES"]
    dayzero_line = next(line for line in out.splitlines() if line.startswith("dayzero "))
    assert Capability.PDF_URL.value in dayzero_line
    assert "PDF_URL" not in out


def test_version_lists_the_core_and_each_plugin(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "invoicekit 0.1.0 (provider fake)"
    assert "invoicekit-salla 0.1.0 (provider salla; sandbox salla)" in lines
    assert "invoicekit-dayzero 0.1.0 (provider dayzero; sandbox dayzero)" in lines
    code, out, _ = run(capsys, "--version", "--json")
    assert {v["distribution"]: v["version"] for v in json.loads(out)}["invoicekit"] == "0.1.0"


def test_every_usage_error_has_the_one_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["get"], ["frobnicate"], ["migrate", "--resume"], []):
        code, _, err = run(capsys, *argv)
        assert code == 2, argv
        assert err.strip().splitlines()[-1].startswith("invoicekit: error: "), (argv, err)


def test_import_invoicekit_does_not_import_rich() -> None:
    code = ("import sys, invoicekit; invoicekit.connect('fake').close(); "
            "print('rich' in sys.modules, 'invoicekit.cli' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == ["False", "False"]
    code = "import sys, invoicekit.cli; print('rich' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == ["False"]  # only a command printing to a terminal loads it


# ---- migrate ------------------------------------------------------------------------------------
def test_a_journal_in_a_missing_folder_is_a_clear_usage_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, "fake", provider="fake")
    journal = tmp_path / "no-such-folder" / "move.db"
    code, _, err = run(capsys, "migrate", "--from", cfg, "--to", cfg, "--journal", str(journal),
                       "--plan")
    assert code == 2
    assert error_line(err) == (
        f"invoicekit: error: --journal {journal}: the folder "
        f"'{tmp_path / 'no-such-folder'}' does not exist; create it first (the journal must "
        "live somewhere that survives a crash)")


def test_customer_resolver_is_found_in_the_current_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ik_cli_shop.py").write_text("def customer_of(invoice):\n    return 'cus-1'\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "ik_cli_shop", raising=False)
    resolver = migrate_cli._resolver("ik_cli_shop:customer_of", "--customer-resolver")
    assert resolver(None) == "cus-1"  # type: ignore[arg-type]


def test_the_console_script_finds_a_resolver_in_the_current_directory(
        tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text("def customer_of(invoice):\n    return None\n")
    (tmp_path / "a.toml").write_text('[invoicekit]\nprovider = "fake"\n')
    script = Path(sys.executable).parent / "invoicekit"
    result = subprocess.run(
        [str(script), "migrate", "--from", "a.toml", "--to", "a.toml", "--journal", "j.db",
         "--customer-resolver", "shop:customer_of", "--plan"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert "No module named 'shop'" not in result.stderr
    assert result.returncode == 0, result.stderr
    assert "Migration plan: fake -> fake" in result.stdout


@pytest.fixture
def store_to_dayzero(tmp_path: Path) -> Iterator[tuple[list[str], str]]:
    """A Salla store with 12 invoices and an empty DayZero business: configs and args."""
    with SallaSandbox() as salla_box, DayZeroSandbox() as dz_box:
        ids = salla_box.seed(12)
        source = config(tmp_path, "from", provider="salla", token=DEFAULT_TOKEN,
                        base_url=salla_box.url)
        target = dayzero_config(tmp_path, dz_box)
        yield ["migrate", "--from", source, "--to", target, "--journal",
               str(tmp_path / "j.db"), "--rate", "SAR:USD=0.2666", "--due-days", "30",
               "--extras-as-lines"], ids[-1]  # the newest, listed first


def test_a_plan_with_nothing_ready_is_not_ok_and_groups_reasons(
        store_to_dayzero: tuple[list[str], str], capsys: pytest.CaptureFixture[str]) -> None:
    argv, newest = store_to_dayzero
    code, out, err = run(capsys, *argv, "--plan")
    assert code == 1, err
    lines = out.splitlines()
    assert "  plan: 0 ready, 12 need a mapping, 0 cannot be carried" in lines
    assert lines[-1] == ("NOT OK: nothing is ready to copy; give the mappings or policy "
                         "named above and plan again")
    reasons = [line for line in lines if line.startswith("  - ")]
    assert len(reasons) == 1  # one reason for twelve invoices, not twelve copies of it
    assert reasons[0].startswith("  - [invoice] needs mapping: ")
    listed = lines[lines.index(reasons[0]) + 1]
    assert listed.startswith(f"      12 invoices (each with its own ids): {newest} (no. ")
    assert listed.endswith(" and 2 more (the plan file lists each)")
    code, out, _ = run(capsys, *argv, "--plan", "--resume", "--json")
    assert json.loads(out)["nothing_to_copy"] is True


def test_a_copy_that_copies_nothing_is_not_ok(
        store_to_dayzero: tuple[list[str], str], capsys: pytest.CaptureFixture[str]) -> None:
    argv, _ = store_to_dayzero
    code, out, _ = run(capsys, *argv)
    assert code == 1
    assert "  written this run: 0 (0.0/s)" in out.splitlines()[4]
    assert out.splitlines()[-1].startswith("NOT OK: nothing is ready to copy")


def test_replanning_names_the_resume_flag_with_the_common_prefix(
        store_to_dayzero: tuple[list[str], str], capsys: pytest.CaptureFixture[str]) -> None:
    argv, _ = store_to_dayzero
    run(capsys, *argv, "--plan", "--create-customers")
    code, _, err = run(capsys, *argv, "--create-customers")
    assert code == 2
    line = error_line(err)
    assert "pass --resume" in line
    assert "resume=True" not in line


def test_progress_says_when_it_waits_for_the_rate_limit() -> None:
    import io
    import logging

    from invoicekit.migration import Progress

    now = [50.0]
    stream = io.StringIO()
    display = migrate_cli.ProgressDisplay(stream, tty=False, every=0.0, clock=lambda: now[0])
    display(Progress("copy", 0, 29))
    with migrate_cli.watch_rate_limit(display):
        logging.getLogger("invoicekit.http").debug(
            "%s %s %s waits %.3fs for the rate limit", "salla", "POST", "/orders/invoices",
            20.0)
    assert stream.getvalue().splitlines() == [
        "copy: 0/29 (starting)",
        "copy: 0/29 (starting, waiting 20s for the rate limit)",
    ]
    assert logging.getLogger("invoicekit.http").level == logging.NOTSET


def test_the_draft_reader_builds_the_same_draft_from_json_and_toml(tmp_path: Path) -> None:
    (tmp_path / "d.toml").write_text(SALLA_DRAFT_TOML, encoding="utf-8")
    draft = cli._draft_from_data(cli._read_draft_file(str(tmp_path / "d.toml")), "d.toml")
    assert draft.shipping == Money("23.00", "SAR")
    assert draft.items[0].unit_price == Money("100.00", "SAR")
    assert draft.customer == Customer(name="عميل", email="c@example.sa")
    data = {
        "order_id": "1000005", "number": "F-100", "currency": "SAR", "subtotal": "100.00",
        "shipping": "23", "cash_on_delivery": "0", "tax_rate": 15, "tax": "18.45",
        "total": "141.45", "customer": {"name": "عميل", "email": "c@example.sa"},
        "items": [{"name": "منتج", "quantity": 1, "unit_price": "100.00"}]}
    (tmp_path / "d.json").write_text(json.dumps(data), encoding="utf-8")
    assert cli._draft_from_data(cli._read_draft_file(str(tmp_path / "d.json")),
                                "d.json") == draft


def test_a_wait_is_said_at_once_between_regular_lines() -> None:
    import io
    import logging

    from invoicekit.migration import Progress

    now = [10.0]
    stream = io.StringIO()
    display = migrate_cli.ProgressDisplay(stream, tty=False, every=5.0, clock=lambda: now[0])
    display(Progress("copy", 0, 29))
    now[0] += 0.5
    with migrate_cli.watch_rate_limit(display):
        logging.getLogger("invoicekit.http").info(
            "%s %s %s: %s, retrying in %.2fs (retry %d of %d)", "salla", "POST", "/x",
            "HTTP 429", 12.0, 1, 2, extra={"http_retry_reason": "HTTP 429",
                                           "http_retry_delay": 12.0})
        logging.getLogger("invoicekit.http").debug(
            "%s %s %s waits %.3fs for the rate limit", "salla", "GET", "/x", 0.2)
    assert stream.getvalue().splitlines() == [
        "copy: 0/29 (starting)",
        "copy: 0/29 (starting, waiting 12s for the rate limit)",
    ]


def test_tables_on_a_terminal_are_drawn_by_rich(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(_registry, "_registered", {"kinds": KindsFake})
    monkeypatch.setenv("INVOICEKIT_PROVIDER", "kinds")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    code = cli.main(["list"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "rich" in sys.modules
    rows = [line.split() for line in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out).splitlines()]
    assert rows[0] == ["ID", "NUMBER", "KIND", "STATUS", "ISSUED", "TOTAL", "CUSTOMER"]
    assert rows[2] == ["inv_000002", "F-2", "credit", "note", "issued", "-", "1234.50", "SAR",
                       "عميل"]


def test_a_sandbox_option_error_has_the_one_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "sandbox", "salla", "--plan", "gold")
    assert code == 2
    assert err.strip().splitlines()[-1].startswith(
        "invoicekit: error: sandbox salla: argument --plan: invalid choice: 'gold'")


def test_an_echoed_token_never_reaches_the_error_line(
        tmp_path: Path, salla: SallaSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    canary = "canary-token-echoed-4f2a"
    cfg = salla_config(tmp_path, salla, token=canary)
    code, out, err = run(capsys, "--config", cfg, "get", "1")
    assert code == 1
    line = error_line(err)
    assert canary not in out + err
    assert cli.error_text(errors.NotFound(f"no invoice for {canary}", provider="salla",
                                          status=404)) == "salla HTTP 404: no invoice for ***"
    assert "HTTP 401" in line


def test_a_source_that_cannot_be_reached_fails_the_migration_with_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = f"http://127.0.0.1:{closed_port()}/admin/v2"
    source = config(tmp_path, "closed", provider="salla", token=DEFAULT_TOKEN, base_url=base)
    target = config(tmp_path, "fake", provider="fake")
    code, _, err = run(capsys, "migrate", "--from", source, "--to", target, "--journal",
                       str(tmp_path / "j.db"), "--plan")
    assert code == 1  # not a usage error: the options were fine, the platform was not there
    line = err.strip().splitlines()[-1]  # after the progress line
    assert line.startswith("invoicekit: error: migrate: salla: GET /orders/invoices failed: "
                           "ConnectError")
    assert line.endswith(f"[at {base}]")
