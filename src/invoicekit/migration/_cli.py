"""`invoicekit migrate`: the command-line face of the migration engine.

The CLI's `migrate` subcommand calls `add_arguments(parser)` to declare the options and
`run(args)` to execute; `run` returns the exit status: 0 when everything planned was
carried (or the plan was written), 1 when something failed, is left in flight or did not
verify, 2 for a configuration error, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import decimal
import importlib
import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from .. import errors
from .._model import Invoice
from ._engine import migrate, migrate_async
from ._policy import CurrencyPolicy, CustomerPolicy, MigrationPolicy, OrderPolicy, load_mapping_file
from ._report import MigrationReport, Progress

__all__ = ["ProgressDisplay", "add_arguments", "main", "policy_from_args", "run"]

_ROUNDINGS = sorted(v for k, v in vars(decimal).items() if k.startswith("ROUND_"))


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of `invoicekit migrate` on *parser*."""
    parser.add_argument("--from", dest="source", required=True, metavar="CONFIG",
                        help="TOML config of the source account ([invoicekit] table)")
    parser.add_argument("--to", dest="target", required=True, metavar="CONFIG",
                        help="TOML config of the target account")
    parser.add_argument("--journal", required=True, metavar="FILE",
                        help="SQLite journal that makes the copy exactly-once and resumable")
    parser.add_argument("--plan", action="store_true",
                        help="dry run: classify every invoice, write nothing to the target")
    parser.add_argument("--plan-file", metavar="FILE",
                        help="write the plan as JSON lines (one invoice per line)")
    parser.add_argument("--since", type=_date, metavar="DATE",
                        help="only invoices issued on or after this date (YYYY-MM-DD)")
    parser.add_argument("--until", type=_date, metavar="DATE",
                        help="only invoices issued on or before this date")
    parser.add_argument("--concurrency", type=_positive, default=1, metavar="N",
                        help="writes at once (N > 1 runs the async engine; default 1)")
    parser.add_argument("--page-size", type=_positive, metavar="N",
                        help="invoices per page when listing the source")
    parser.add_argument("--resume", action="store_true",
                        help="continue the migration recorded in an existing journal")
    parser.add_argument("--verify", action="store_true",
                        help="re-read every copy from the target and list each mismatch")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    group = parser.add_argument_group("policies (nothing changes money unless stated here)")
    group.add_argument("--rate", action="append", default=[], metavar="FROM:TO=RATE",
                       help="convert FROM amounts to TO at RATE (1 FROM = RATE TO), e.g. "
                            "SAR:USD=0.2666; repeatable")
    group.add_argument("--rounding", choices=_ROUNDINGS, default=decimal.ROUND_HALF_UP,
                       help="rounding of converted amounts to the target's minor unit "
                            "(default ROUND_HALF_UP)")
    group.add_argument("--create-customers", action="store_true",
                       help="create a target customer (once) for each source customer email")
    group.add_argument("--customer-map", metavar="FILE",
                       help="JSON object or CSV source,target: source customer id or email "
                            "-> target customer id")
    group.add_argument("--customer-resolver", metavar="MODULE:FUNCTION",
                       help="a function called with each source Invoice, returning a target "
                            "customer id, a Customer to create by email, or None")
    group.add_argument("--order-map", metavar="FILE",
                       help="JSON object or CSV source,target: source invoice id or number "
                            "-> target order id")
    group.add_argument("--order-resolver", metavar="MODULE:FUNCTION",
                       help="a function called with each source Invoice, returning its "
                            "target order id or None")
    group.add_argument("--attach-pdf", action="store_true",
                       help="carry each invoice as its source PDF (a document_url invoice)")
    group.add_argument("--due-days", type=_non_negative, metavar="N",
                       help="for invoices without a due date: issue date plus N days")
    group.add_argument("--extras-as-lines", action="store_true",
                       help="carry shipping, cash on delivery, tax and discounts as line items")


def _resolver(spec: str, option: str) -> Callable[[Invoice], Any]:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise errors.ConfigurationError(
            f"{option} takes MODULE:FUNCTION, got {spec!r}", setting=option)
    try:
        module = importlib.import_module(module_name)
        func = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise errors.ConfigurationError(
            f"cannot load {option} {spec!r}: {exc}", setting=option) from exc
    if not callable(func):
        raise errors.ConfigurationError(f"{spec!r} is not callable", setting=option)
    result: Callable[[Invoice], Any] = func
    return result


def policy_from_args(args: argparse.Namespace) -> MigrationPolicy:
    """The `MigrationPolicy` the command-line options state."""
    customers = CustomerPolicy(
        create_by_email=args.create_customers,
        mapping=load_mapping_file(args.customer_map) if args.customer_map else {},
        resolver=(_resolver(args.customer_resolver, "--customer-resolver")
                  if args.customer_resolver else None))
    orders = OrderPolicy(
        mapping=load_mapping_file(args.order_map) if args.order_map else {},
        resolver=(_resolver(args.order_resolver, "--order-resolver")
                  if args.order_resolver else None),
        attach_pdf=args.attach_pdf)
    return MigrationPolicy(
        currency=CurrencyPolicy.parse(args.rate, rounding=args.rounding),
        customers=customers, orders=orders, due_days=args.due_days,
        extras_as_lines=args.extras_as_lines)


def _eta(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


class ProgressDisplay:
    """Progress on *stream*: a redrawn bar with counts, rate and ETA on a terminal,
    a plain line every few seconds (and at each phase's end) otherwise."""

    def __init__(self, stream: TextIO, *, tty: bool | None = None, every: float = 5.0) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.every = every
        self.phase: str | None = None
        self.started = 0.0
        self.last = 0.0

    def line(self, p: Progress, now: float) -> str:
        """The text of one progress tick."""
        elapsed = max(now - self.started, 1e-9)
        rate = p.done / elapsed
        text = f"{p.phase}: {p.done}" + (f"/{p.total}" if p.total is not None else "")
        text += f" ({rate:.1f}/s"
        if p.total is not None and rate > 0 and p.done < p.total:
            text += f", ETA {_eta((p.total - p.done) / rate)}"
        text += ")"
        if p.failed:
            text += f", {p.failed} failed"
        if self.tty and p.total:
            width = 24
            filled = int(width * min(p.done, p.total) / p.total)
            text = f"[{'#' * filled}{'.' * (width - filled)}] " + text
        return text

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if p.phase != self.phase:
            if self.tty and self.phase is not None:
                self.stream.write("\n")
            self.phase, self.started, self.last = p.phase, now, 0.0
        finished = p.total is not None and p.done >= p.total
        if self.tty:
            if finished or now - self.last >= 0.1:
                self.stream.write("\r\x1b[K" + self.line(p, now))
                self.stream.flush()
                self.last = now
        elif finished or now - self.last >= self.every:
            self.stream.write(self.line(p, now) + "\n")
            self.stream.flush()
            self.last = now

    def close(self) -> None:
        """End the bar's line on a terminal."""
        if self.tty and self.phase is not None:
            self.stream.write("\n")
            self.stream.flush()


def _options(args: argparse.Namespace, policy: MigrationPolicy,
             progress: Callable[[Progress], None]) -> dict[str, Any]:
    return {
        "journal": args.journal, "policy": policy, "plan_only": args.plan,
        "plan_path": args.plan_file, "since": args.since, "until": args.until,
        "resume": args.resume, "verify": args.verify, "page_size": args.page_size,
        "progress": progress,
    }


def _run_sync(args: argparse.Namespace, options: dict[str, Any]) -> MigrationReport:
    from .._registry import from_config

    with from_config(args.source) as source, from_config(args.target) as target:
        return migrate(source, target, **options)


async def _run_async(args: argparse.Namespace, options: dict[str, Any]) -> MigrationReport:
    from .._registry import from_config_async

    async with from_config_async(args.source) as source, \
            from_config_async(args.target) as target:
        return await migrate_async(source, target, concurrency=args.concurrency, **options)


def run(args: argparse.Namespace, *, stdout: TextIO | None = None,
        stderr: TextIO | None = None) -> int:
    """Run `invoicekit migrate` with parsed *args*; returns the exit status."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    display = ProgressDisplay(err)
    try:
        if args.since and args.until and args.since > args.until:
            raise errors.ConfigurationError("--since is after --until", setting="since")
        options = _options(args, policy_from_args(args), display)
        if args.concurrency > 1:
            report = asyncio.run(_run_async(args, options))
        else:
            report = _run_sync(args, options)
    except KeyboardInterrupt:
        display.close()
        err.write("invoicekit migrate: interrupted; writes under way are reconciled when you "
                  "run again with --resume\n")
        return 130
    except errors.InvoiceKitError as exc:
        display.close()
        err.write(f"invoicekit migrate: error: {exc}\n")
        return 2
    display.close()
    if args.json:
        out.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(report.render() + "\n")
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    """`python -m invoicekit.migration._cli ...`: the command without the `invoicekit` CLI."""
    parser = argparse.ArgumentParser(prog="invoicekit migrate",
                                     description="Copy invoices between platforms exactly once.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
