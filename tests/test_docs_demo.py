"""The README's first command works: `examples/demo.py` completes every step.

The demo runs in a subprocess exactly as `python3 dev.py demo` runs it (a fresh
interpreter, the sandboxes on loopback, no network), so a broken step anywhere in the stack
fails this test with the demo's own output in the message.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo.py"


@pytest.fixture(scope="module")
def demo_run() -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOICEKIT_")}
    env["PYTHONUTF8"] = "1"
    return subprocess.run(
        [sys.executable, str(DEMO)], cwd=ROOT, env=env, capture_output=True, text=True,
        encoding="utf-8", timeout=120, check=False,
    )


def _output(run: subprocess.CompletedProcess[str]) -> str:
    return f"--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"


def test_demo_exits_zero(demo_run: subprocess.CompletedProcess[str]) -> None:
    assert demo_run.returncode == 0, _output(demo_run)
    assert demo_run.stdout.rstrip().endswith("All steps passed."), _output(demo_run)
    assert "FAILED" not in demo_run.stdout


def test_demo_walks_through_every_step(demo_run: subprocess.CompletedProcess[str]) -> None:
    out = demo_run.stdout
    for n in range(1, 5):
        assert f"[{n}/4]" in out, f"step {n} missing\n{_output(demo_run)}"
    assert out.count("    ok\n") == 4, _output(demo_run)


def test_demo_salla_story_keeps_arabic_and_decodes_the_qr(
        demo_run: subprocess.CompletedProcess[str]) -> None:
    out = demo_run.stdout
    assert "قهوة عربية فاخرة 500 غ x 2 @ 45.00 SAR" in out
    assert "ZATCA QR total / VAT:  270.25 / 35.25" in out
    assert "تم ارسال رسالة الفاتورة بنجاح" in out  # Salla's own words, verbatim
    assert "event invoice_sent: salla" in out


def test_demo_dayzero_story_sends_with_cc_and_pdf(
        demo_run: subprocess.CompletedProcess[str]) -> None:
    out = demo_run.stdout
    assert "finalized:             OPEN, number INV-" in out
    assert "PDF attached:          True" in out
    assert "cc:                    owner@sandbox.example" in out
    assert "event invoice_sent: dayzero" in out


def test_demo_switches_provider_by_config(demo_run: subprocess.CompletedProcess[str]) -> None:
    out = demo_run.stdout
    assert 'invoicekit.toml says provider = "salla"' in out
    assert 'invoicekit.toml now says provider = "dayzero"' in out
    assert "salla invoices:        1, totalling 270.25 SAR" in out
    assert "dayzero invoices:      1, totalling 2547.00 USD" in out


def test_demo_migration_plans_copies_and_verifies(
        demo_run: subprocess.CompletedProcess[str]) -> None:
    out = demo_run.stdout
    assert "plan: 2 ready, 0 need a mapping, 1 cannot be carried" in out
    assert "[credit_note] cannot carry" in out
    assert "Verified 2 copies: no mismatch" in out
    assert "re-run writes:         0" in out
    assert "72.06 USD for noura@example.sa" in out  # 270.25 SAR at 0.2666, parts rounded
