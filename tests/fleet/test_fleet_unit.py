"""The fleet without workers: what `import invoicekit` costs, the manifest's checks, the
app factory's, and the command line's status and report on a real journal database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fleet_support import free_port

from invoicekit import errors, fleet
from invoicekit.cli import main

MANIFEST = """\
journal = "postgresql://fleet@${{FLEET_DB_HOST}}/journals?sslmode=disable"
lease_seconds = 30

[policy]
rates = ["SAR:USD=0.2666"]
due_days = 30

[[merchants]]
id = "store-1"
source = {{ provider = "salla", token = "${{STORE_1_SALLA}}" }}
target = {{ provider = "dayzero", token = {target_token}, business_id = "b-1" }}
policy = {{ due_days = 14 }}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text(text, "utf-8")
    return path


def test_import_invoicekit_imports_no_fleet_celery_redis_or_psycopg() -> None:
    code = ("import sys, invoicekit, invoicekit.cli; "
            "print(sorted(m for m in ('celery', 'kombu', 'redis', 'psycopg', "
            "'invoicekit.fleet') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
    # invoicekit.fleet itself imports Celery and psycopg only when used
    code = ("import sys, invoicekit.fleet; "
            "print(sorted(m for m in ('celery', 'psycopg') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_manifest_reads_merchants_policy_and_journal_per_merchant(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, MANIFEST.format(target_token='"${STORE_1_DAYZERO}"'))
    manifest = fleet.load_manifest(path)
    assert [m.id for m in manifest.merchants] == ["store-1"]
    assert manifest.lease_seconds == 30.0
    merchant = manifest.merchant("store-1")
    assert merchant.source == {"provider": "salla", "token": "${STORE_1_SALLA}"}
    assert manifest.policy(merchant).due_days == 14
    monkeypatch.setenv("FLEET_DB_HOST", "db.internal:5433")
    assert manifest.journal_url("store-1") == (
        "postgresql://fleet@db.internal:5433/journals?sslmode=disable&migration=store-1")
    with pytest.raises(errors.ConfigurationError, match="no merchant 'store-2'"):
        manifest.merchant("store-2")


@pytest.mark.parametrize(("text", "message"), [
    (MANIFEST.format(target_token='"dz_live_0123456789"'),
     "store-1.target.token must be an ${ENV} reference: secrets stay out of the manifest"),
    (MANIFEST.format(target_token='"${X}"').replace("postgresql://", "sqlite://"),
     "journal must be a PostgreSQL URL"),
    (MANIFEST.format(target_token='"${X}"').replace("due_days = 30", "due_dayz = 30"),
     "store-1: unknown policy setting 'due_dayz'"),
    (MANIFEST.format(target_token='"${X}"') + '[[merchants]]\nid = "store-1"\n'
     'source = { provider = "salla" }\ntarget = { provider = "dayzero" }\n',
     "merchant id 'store-1' appears twice"),
    ('journal = "postgresql://h/db"\n', "no merchants"),
    ("journal = [", "not valid TOML"),
])
def test_manifest_refuses_what_it_cannot_run(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(errors.ConfigurationError) as caught:
        fleet.load_manifest(path)
    assert message in str(caught.value)
    assert "dz_live_0123456789" not in str(caught.value)


def test_make_app_without_a_broker_says_how_to_name_one(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("celery", reason="needs the fleet extra: pip install 'invoicekit[fleet]'")
    monkeypatch.delenv("INVOICEKIT_FLEET_BROKER", raising=False)
    with pytest.raises(errors.ConfigurationError, match="pass --broker URL or set "
                                                        "INVOICEKIT_FLEET_BROKER"):
        fleet.make_app()
    app = fleet.make_app("redis://127.0.0.1:1/0", visibility_timeout=30)
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.broker_transport_options["visibility_timeout"] == 30
    assert fleet.TASK_NAME in app.tasks


def test_cli_status_and_report_read_the_journal_database(
        journal_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = MANIFEST.format(target_token='"${X}"').replace(
        "postgresql://fleet@${FLEET_DB_HOST}/journals?sslmode=disable", journal_db)
    path = write(tmp_path, text)
    assert main(["--json", "fleet", "status", "--manifest", str(path)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [{"merchant": "store-1", "state": "not submitted", "seen": 0, "done": 0,
                     "needs_mapping": 0, "cannot_carry": 0, "failed": 0, "error": None,
                     "rate": None, "worker": None, "runs": 0}]
    assert main(["fleet", "status", "-m", str(path)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["merchant", "state", "seen"]
    assert table[1].split()[:6] == ["store-1", "not", "submitted", "0", "0", "0"]
    assert main(["fleet", "report", "--json", "-m", str(path)]) == 1  # nothing done yet
    report = json.loads(capsys.readouterr().out)
    assert report["merchants"] == 1
    assert report["states"] == {"not submitted": 1}
    assert report["ok"] is False


def test_cli_without_a_manifest_fails_with_a_usage_error(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("INVOICEKIT_FLEET_MANIFEST", raising=False)
    assert main(["fleet", "status"]) == 2
    assert "no manifest: pass --manifest PATH or set INVOICEKIT_FLEET_MANIFEST" in \
        capsys.readouterr().err


def test_submit_to_an_unreachable_broker_is_a_clear_error(journal_db: str, tmp_path: Path
                                                          ) -> None:
    text = MANIFEST.format(target_token='"${X}"').replace(
        "postgresql://fleet@${FLEET_DB_HOST}/journals?sslmode=disable", journal_db)
    path = write(tmp_path, text)
    port = free_port()  # nothing listens there
    with pytest.raises(errors.ConfigurationError) as caught:
        fleet.submit(path, broker=f"redis://:hunter2@127.0.0.1:{port}/0")
    assert str(caught.value).startswith("cannot send the fleet's tasks to the broker: ")
    assert "hunter2" not in str(caught.value)


def test_the_board_without_psycopg_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from invoicekit.fleet._board import Board

    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` raises ImportError
    with pytest.raises(errors.ConfigurationError,
                       match=r"^the fleet needs psycopg: pip install 'invoicekit\[fleet\]'$"):
        Board("postgresql://nobody@127.0.0.1:1/none")
