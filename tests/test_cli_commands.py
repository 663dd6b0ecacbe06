"""The `invoicekit` command line: output, --json, and one-line errors with exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import attrs
import pytest
from tests.plugin_support import write_dist

from invoicekit import Customer, _registry, cli, errors
from invoicekit.testing import FakeProvider


class SeededFake(FakeProvider):
    """A fake that starts with three invoices, so one CLI run has something to show."""

    def __init__(self) -> None:
        super().__init__(today="2025-02-01")
        drafts = [self.sample_draft(n) for n in (1, 2, 3)]
        drafts[2] = attrs.evolve(drafts[2], customer=Customer(name="بلا بريد"))
        for draft in drafts:
            self._store(draft)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_registry, "_registered", {"seeded": SeededFake})
    for key in list(os.environ):
        if key.startswith("INVOICEKIT_"):
            monkeypatch.delenv(key)


@pytest.fixture
def seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVOICEKIT_PROVIDER", "seeded")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("invoicekit: error: ")
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0]


# ---- providers / doctor ----------------------------------------------------------------------
def test_providers_lists_the_fake(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "providers")
    line = next(line for line in out.splitlines() if line.startswith("fake "))
    assert "invoicekit" in line
    assert "send_cc" in line
    assert code in (0, 1)  # 1 only if some other installed plugin is broken


def test_providers_json(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "providers", "--json")
    data = {p["name"]: p for p in json.loads(out)}
    assert data["fake"]["error"] is None
    assert "create_invoice" in data["fake"]["capabilities"]
    assert data["seeded"]["distribution"] == "(in process)"


def only_fake_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    eps = _registry._entry_points()
    monkeypatch.setattr(_registry, "_entry_points", lambda: {"fake": eps["fake"]})
    monkeypatch.setattr(cli, "_sandbox_entry_points", dict)


def test_doctor_with_a_good_config_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    only_fake_installed(monkeypatch)
    config = tmp_path / "ik.toml"
    config.write_text('[invoicekit]\nprovider = "fake"\ntoday = "2025-01-01"\n')
    code, out, _ = run(capsys, "doctor", "--config", str(config))
    assert code == 0, out
    assert "OK    configuration" in out
    assert "no problems found" in out


def test_doctor_reports_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    only_fake_installed(monkeypatch)
    config = tmp_path / "ik.toml"
    config.write_text('[invoicekit]\nprovider = "fake"\nprofile = "stripe"\n')
    code, out, _ = run(capsys, "--json", "doctor", "--config", str(config))
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    assert [c["check"] for c in failed] == ["configuration"]
    assert "stripe" in failed[0]["detail"]


def test_doctor_without_config_is_a_note(capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    only_fake_installed(monkeypatch)
    code, out, _ = run(capsys, "doctor")
    assert code == 0
    assert "NOTE  configuration" in out


def test_doctor_and_providers_report_broken_plugins(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(write_dist(tmp_path, "ik_cli_broken", """
        [invoicekit.providers]
        cli-broken = ik_cli_missing_module:Provider
    """)))
    code, out, _ = run(capsys, "providers")
    assert code == 1
    assert "cli-broken" in out
    assert "FAILED TO LOAD" in out
    assert "ik_cli_missing_module" in out
    code, out, _ = run(capsys, "doctor")
    assert code == 1
    assert "FAIL  provider cli-broken" in out


# ---- get / list / send -----------------------------------------------------------------------
def test_get_prints_the_invoice_verbatim(capsys: pytest.CaptureFixture[str], seeded: None) -> None:
    code, out, _ = run(capsys, "get", "inv_000001")
    assert code == 0
    assert "inv_000001" in out
    assert "230.00 EUR" in out
    assert "Customer 1" in out


def test_get_json_is_exact(capsys: pytest.CaptureFixture[str], seeded: None) -> None:
    code, out, _ = run(capsys, "get", "inv_000002", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["total"] == {"amount": "230.00", "currency": "EUR"}
    assert data["status"] == "open"
    assert data["issue_date"] == "2025-02-01"
    assert data["items"][0]["quantity"] == "2"


def test_get_missing_and_malformed_ids(capsys: pytest.CaptureFixture[str], seeded: None) -> None:
    code, _, err = run(capsys, "get", "inv_999999")
    assert code == 1
    assert_one_line_error(err, "not found")
    code, _, err = run(capsys, "get", "../etc/passwd")
    assert code == 1
    assert_one_line_error(err, "not a valid")


def test_list_with_limit_and_filters(capsys: pytest.CaptureFixture[str], seeded: None) -> None:
    code, out, _ = run(capsys, "list", "--limit", "2", "--page-size", "1")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ["ID", "inv_000001", "inv_000002"]
    _, out, _ = run(capsys, "list", "--search", "بلا")
    assert [line.split()[0] for line in out.splitlines()] == ["ID", "inv_000003"]
    _, out, _ = run(capsys, "list", "--status", "void")
    assert out.strip() == "no invoices match"


def test_list_json_streams_an_array(capsys: pytest.CaptureFixture[str], seeded: None) -> None:
    _, out, _ = run(capsys, "--json", "list", "--limit", "0")
    assert [item["id"] for item in json.loads(out)] == ["inv_000001", "inv_000002", "inv_000003"]
    _, out, _ = run(capsys, "list", "--json", "--order", "0")
    assert json.loads(out) == []


@pytest.mark.parametrize("argv", [
    ["list", "--from-date", "yesterday"], ["list", "--limit", "-1"], ["list", "--status", "x"],
    ["get"], ["frobnicate"], ["list", "--bogus"], [],
])
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "Traceback" not in err
    assert "invoicekit" in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "providers" in out
    assert "migrate" in out


def test_send(capsys: pytest.CaptureFixture[str], seeded: None) -> None:
    code, out, _ = run(capsys, "send", "inv_000001", "--cc", "--attach-pdf")
    assert code == 0
    assert out.splitlines()[0] == (
        "sent inv_000001 to customer1@example.com (cc billing@example.com) with the PDF attached")
    code, out, _ = run(capsys, "send", "inv_000002", "--json")
    assert json.loads(out)["sent"] is True


def test_send_errors_are_one_line(capsys: pytest.CaptureFixture[str], seeded: None,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(capsys, "send", "inv_000003")
    assert code == 1
    assert_one_line_error(err, "email")
    monkeypatch.setenv("INVOICEKIT_PROVIDER", "fake")
    monkeypatch.setenv("INVOICEKIT_PROFILE", "salla")
    code, _, err = run(capsys, "send", "100000001", "--cc")
    assert code == 1
    assert_one_line_error(err, "send invoice 100000001: salla does not support send_cc; "
                               "pass --ignore-unsupported to send without it")


def test_send_salla_prints_the_arabic_message(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import invoicekit
    from invoicekit_salla.sandbox import SallaSandbox

    with SallaSandbox() as sandbox:
        with invoicekit.connect("salla", **sandbox.settings()) as gw:
            invoice = gw.create_invoice(sandbox.sample_draft(1))
        for key, value in sandbox.settings().items():
            monkeypatch.setenv(f"INVOICEKIT_{key.upper()}", value)
        monkeypatch.setenv("INVOICEKIT_PROVIDER", "salla")
        code, out, _ = run(capsys, "send", invoice.id)
    assert code == 0
    assert "تم ارسال رسالة الفاتورة بنجاح" in out


def test_config_file_choice_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[invoicekit]\nprovider = "seeded"\n')
    code, out, _ = run(capsys, "list", "--config", str(good))
    assert code == 0
    assert len(out.splitlines()) == 4  # the header and three invoices
    bad = tmp_path / "bad.toml"
    bad.write_text("[invoicekit\n")
    code, _, err = run(capsys, "--config", str(bad), "list")
    assert code == 2  # a configuration error: nothing was sent
    assert_one_line_error(err, "not valid TOML")


def test_no_configuration_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "list")
    assert code == 2
    assert_one_line_error(err, "--config FILE", "INVOICEKIT_PROVIDER")


# ---- failures that are not invoicekit errors -------------------------------------------------
def test_ctrl_c_is_one_line_and_130(capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(args: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setitem(cli._COMMANDS, "providers", interrupted)
    code, _, err = run(capsys, "providers")
    assert code == 130
    assert_one_line_error(err, "interrupted")


def test_unexpected_error_is_one_line_unless_debug(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def buggy(args: Any) -> int:
        raise KeyError("oops")

    monkeypatch.setitem(cli._COMMANDS, "providers", buggy)
    code, _, err = run(capsys, "providers")
    assert code == 70
    assert_one_line_error(err, "KeyError", "--debug")
    with pytest.raises(KeyError, match=r"^'oops'$"):
        cli.main(["providers", "--debug"])


def test_errors_never_leak_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IK_CLI_TOKEN", "canary-cli-secret")
    config = tmp_path / "secret.toml"
    config.write_text('[invoicekit]\nprovider = "fake"\ntoken = "${IK_CLI_TOKEN}"\n')
    code, out, err = run(capsys, "--config", str(config), "list")
    assert code == 2
    assert_one_line_error(err, "token")
    assert "canary-cli-secret" not in out + err


# ---- migrate and sandbox delegation ------------------------------------------------------------
def test_migrate_missing_module_is_a_clean_error(capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_MIGRATE_MODULE", "invoicekit.no_such_package._cli")
    code, _, err = run(capsys, "migrate", "--from", "a.toml")
    assert code == 2
    assert_one_line_error(err, "migrate command is not available")


def test_migrate_delegates_parsing_and_running(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    module = types.ModuleType("ik_test_migrate_cli")

    def add_arguments(parser: Any) -> None:
        parser.add_argument("--from", dest="source", required=True)
        parser.add_argument("--resume", action="store_true")

    def run_migration(args: Any) -> int:
        seen.update(vars(args))
        return 3

    module.add_arguments = add_arguments  # type: ignore[attr-defined]
    module.run = run_migration  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ik_test_migrate_cli", module)
    monkeypatch.setattr(cli, "_MIGRATE_MODULE", "ik_test_migrate_cli")
    code, _, _ = run(capsys, "--json", "migrate", "--from", "salla.toml", "--resume")
    assert code == 3
    assert seen == {"source": "salla.toml", "resume": True, "json": True, "config": None,
                    "debug": False}
    code, _, err = run(capsys, "migrate", "--resume")
    assert code == 2
    assert "--from" in err


SANDBOX_MODULE = '''
from invoicekit.testing.sandbox import SandboxServer

class InterruptedSandbox(SandboxServer):
    name = "cli-test"

    def serve_forever(self):
        self.start()
        self.stop()
        raise KeyboardInterrupt
'''


def test_sandbox_starts_prints_url_and_stops_on_ctrl_c(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ik_cli_sandbox_mod.py").write_text(textwrap.dedent(SANDBOX_MODULE))
    monkeypatch.syspath_prepend(str(write_dist(tmp_path, "ik_cli_sandbox", """
        [invoicekit.sandboxes]
        cli-test = ik_cli_sandbox_mod:InterruptedSandbox
        not-a-sandbox = ik_cli_sandbox_mod:SandboxServer.__init__
    """)))
    code, out, err = run(capsys, "sandbox", "cli-test", "--port", "0")
    assert code == 0
    assert "cli-test sandbox at http://127.0.0.1:" in out
    assert "stopped" in err
    assert "Traceback" not in err
    code, _, err = run(capsys, "sandbox", "cli-test", "--host", "0.0.0.0")
    assert code == 2
    assert_one_line_error(err, "loopback")
    code, _, err = run(capsys, "sandbox", "not-a-sandbox")
    assert code == 2
    assert_one_line_error(err, "not a SandboxServer")
    code, _, err = run(capsys, "sandbox", "nope")
    assert code == 2
    assert_one_line_error(err, "no sandbox named 'nope'", "cli-test")


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "invoicekit", "get", "x"],
                            capture_output=True, text=True, check=False,
                            env={k: v for k, v in os.environ.items()
                                 if not k.startswith("INVOICEKIT_")})
    assert result.returncode == 2
    assert result.stderr.startswith("invoicekit: error: no provider configured")
    assert errors.ConfigurationError.__name__ not in result.stderr
