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


class Clock:
    """A hand-driven clock, so rates are exact and no test depends on wall time."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_on_a_terminal_draws_a_rich_bar() -> None:
    stream, clock = io.StringIO(), Clock()
    show = ProgressDisplay(stream, tty=True, clock=clock)
    show(Progress("copy", 0, 200))
    clock.now += 4.0
    show(Progress("copy", 200, 200, failed=1))
    show.close()
    text = stream.getvalue()
    assert "━" in text  # rich's bar, redrawn in place
    assert "200/200" in text
    assert "1 failed" in text
    assert "/s" not in text.split("200/200")[0]  # no rate on the first tick


def test_progress_elsewhere_prints_plain_lines_with_rate_and_eta() -> None:
    stream, clock = io.StringIO(), Clock()
    show = ProgressDisplay(stream, tty=False, every=0.0, clock=clock)
    show(Progress("plan", 150))
    clock.now += 10.0
    show(Progress("copy", 0, 200))
    clock.now += 2.0
    show(Progress("copy", 50, 200))
    clock.now += 6.0
    show(Progress("copy", 200, 200))
    assert stream.getvalue().splitlines() == [
        "plan: 150",  # no rate yet: a rate over no time is noise
        "copy: 0/200 (starting)",
        "copy: 50/200 (25.0/s, ETA 0m06s)",
        "copy: 200/200 (25.0/s)",
    ]
