"""The command's parts that need no server: options to policy, progress display, errors."""

from __future__ import annotations

import argparse
import io
from decimal import Decimal
from pathlib import Path

import pytest

from invoicekit.migration import Progress
from invoicekit.migration._cli import ProgressDisplay, add_arguments, policy_from_args, run


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["--from", "a.toml", "--to", "b.toml", "--journal", "j.db", *argv])


def resolve_order(invoice: object) -> str:
    return "1"


def test_options_become_the_stated_policy(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text('{"a@example.sa": "cus-1"}', "utf-8")
    args = parse("--rate", "SAR:USD=0.2666", "--rounding", "ROUND_HALF_EVEN", "--due-days", "7",
                 "--create-customers", "--customer-map", str(tmp_path / "c.json"),
                 "--order-resolver", f"{__name__}:resolve_order", "--extras-as-lines")
    policy = policy_from_args(args)
    assert policy.currency.rate_for("SAR") == ("USD", Decimal("0.2666"))
    assert policy.currency.rounding == "ROUND_HALF_EVEN"
    assert policy.due_days == 7
    assert policy.extras_as_lines
    assert policy.customers.create_by_email
    assert policy.customers.mapping == {"a@example.sa": "cus-1"}
    assert policy.orders.resolver is resolve_order


@pytest.mark.parametrize(("argv", "message"), [
    (["--rate", "SAR-USD"], "FROM:TO=RATE"),
    (["--order-resolver", "nowhere_at_all:f"], "cannot load --order-resolver"),
    (["--customer-map", "/nonexistent/c.csv"], "cannot read mapping file"),
    (["--since", "2026-02-01", "--until", "2026-01-01"], "--since is after --until"),
])
def test_bad_options_are_one_line_errors(argv: list[str], message: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run(parse(*argv), stdout=out, stderr=err) == 2
    assert message in err.getvalue()
    assert err.getvalue().count("\n") == 1
    assert out.getvalue() == ""


def test_progress_on_a_terminal_redraws_one_bar() -> None:
    stream = io.StringIO()
    show = ProgressDisplay(stream, tty=True)
    show(Progress("copy", 0, 200))
    show(Progress("copy", 200, 200, failed=1))
    show.close()
    text = stream.getvalue()
    assert text.count("\r") == 2
    assert "[########################] copy: 200/200" in text
    assert "1 failed" in text
    assert text.endswith("\n")


def test_progress_elsewhere_prints_plain_lines_with_rate_and_eta() -> None:
    stream = io.StringIO()
    show = ProgressDisplay(stream, tty=False, every=0.0)
    show(Progress("plan", 150))
    show(Progress("copy", 50, 200))
    show(Progress("copy", 200, 200))
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("plan: 150 (")
    assert "/s" in lines[0]
    assert lines[1].startswith("copy: 50/200 (")
    assert "ETA" in lines[1]
    assert lines[2].startswith("copy: 200/200")
    assert "\r" not in stream.getvalue()
