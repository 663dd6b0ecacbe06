"""`invoicekit migrate`: the command-line face of the migration engine.

The CLI's `migrate` subcommand calls `add_arguments(parser)` to declare the options and
`run(args)` to execute; `run` returns the exit status: 0 when everything planned was
carried (or the plan was written and something is ready to copy); 1 when something
failed, is left in flight, did not verify, nothing is ready to copy, or a provider failed
outside any one invoice (the source cannot be listed); 2 for a usage or configuration
error, nothing written (a bad option value, a journal in a folder that does not exist, the
journal of another migration); 130 when interrupted. Errors are one
`invoicekit: error: ...` line, as for every command.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import decimal
import importlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from .. import errors
from .._model import Invoice
from ._engine import migrate, migrate_async
from ._policy import CurrencyPolicy, CustomerPolicy, MigrationPolicy, OrderPolicy, load_mapping_file
from ._report import MigrationReport, Progress

__all__ = ["ProgressDisplay", "add_arguments", "main", "policy_from_args", "run",
           "watch_rate_limit"]

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
    # `shop:customer_of` means shop.py where the command runs, as `python -m` would find
    # it; a console script does not put the current directory on the import path itself.
    here = os.getcwd()
    if "" not in sys.path and here not in sys.path:
        sys.path.insert(0, here)
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


_MIN_ELAPSED_FOR_RATE = 1.0
"""Seconds of a phase before a rate is shown: a rate over a few milliseconds is noise."""


class ProgressDisplay:
    """Progress on *stream*: a rich progress bar on a terminal, a plain line every few
    seconds (and at each phase's end) otherwise.

    A rate (and an ETA) is shown only after a phase has run a second, and while the
    HTTP layer waits for a provider's rate limit the display says so (`waiting(seconds)`,
    fed by `watch_rate_limit`), instead of looking stuck.
    """

    def __init__(self, stream: TextIO, *, tty: bool | None = None, every: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.every = every
        self.clock = clock
        self.phase: str | None = None
        self.started = 0.0
        self.last = 0.0
        self.last_tick: Progress | None = None
        self.wait_until = 0.0
        self._announced = 0.0
        self._bar: Any = None
        self._task: Any = None

    def line(self, p: Progress, now: float) -> str:
        """The text of one progress tick."""
        text = f"{p.phase}: {p.done}" + (f"/{p.total}" if p.total is not None else "")
        return text + self.note(p, now)

    def note(self, p: Progress, now: float) -> str:
        """What follows the counts: rate and ETA once measurable, failures, waits."""
        elapsed = now - self.started
        parts = []
        if elapsed >= _MIN_ELAPSED_FOR_RATE and p.done:
            rate = p.done / elapsed
            parts.append(f"{rate:.1f}/s")
            if p.total is not None and p.done < p.total:
                parts.append(f"ETA {_eta((p.total - p.done) / rate)}")
        elif not p.done and not (p.total is not None and p.done >= p.total):
            parts.append("starting")
        if p.failed:
            parts.append(f"{p.failed} failed")
        if now < self.wait_until:
            parts.append(f"waiting {self.wait_until - now:.0f}s for the rate limit")
        return f" ({', '.join(parts)})" if parts else ""

    def _draw(self, p: Progress, now: float) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
        from rich.progress import Progress as Bar

        if self._bar is None:
            console = Console(file=self.stream, force_terminal=True)
            self._bar = Bar(TextColumn("{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TextColumn("{task.fields[note]}"),
                            console=console, auto_refresh=False)
            self._bar.start()
        if self._task is None:
            self._task = self._bar.add_task(p.phase, total=p.total, note="")
        self._bar.update(self._task, completed=p.done, total=p.total,
                         note=self.note(p, now).strip(" ()"))
        self._bar.refresh()

    def __call__(self, p: Progress) -> None:
        now = self.clock()
        if p.phase != self.phase:
            self.phase, self.started, self.last, self._task = p.phase, now, 0.0, None
        self.last_tick = p
        finished = p.total is not None and p.done >= p.total
        if self.tty:
            if finished or now - self.last >= 0.1:
                self._draw(p, now)
                self.last = now
        elif finished or now - self.last >= self.every:
            self.stream.write(self.line(p, now) + "\n")
            self.stream.flush()
            self.last = now

    def waiting(self, seconds: float) -> None:
        """The HTTP layer is waiting *seconds* for the provider's rate limit."""
        now = self.clock()
        self.wait_until = max(self.wait_until, now + seconds)
        p = self.last_tick
        if p is None:
            return
        if self.tty:
            self._draw(p, now)
        elif seconds >= 1 and (now - self.last >= self.every
                               or self.wait_until > self._announced + 1):
            # A wait of a second or more is said at once, even between regular lines:
            # otherwise the output would sit still for the whole wait.
            self.stream.write(self.line(p, now) + "\n")
            self.stream.flush()
            self.last, self._announced = now, self.wait_until

    def close(self) -> None:
        """Stop the bar (its last state stays on the terminal)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class _RateLimitWatch(logging.Handler):
    """Tells a `ProgressDisplay` when the HTTP layer waits for a rate limit: the throttle's
    pacing (a debug record) and a 429's `Retry-After` (a retry record)."""

    def __init__(self, display: ProgressDisplay) -> None:
        super().__init__(logging.DEBUG)
        self.display = display

    def emit(self, record: logging.LogRecord) -> None:
        wait: object = None
        if isinstance(record.msg, str) and record.msg.endswith("for the rate limit") \
                and isinstance(record.args, tuple) and record.args:
            wait = record.args[-1]
        elif getattr(record, "http_retry_reason", None) == "HTTP 429":
            wait = getattr(record, "http_retry_delay", None)
        if isinstance(wait, int | float):
            self.display.waiting(float(wait))


@contextmanager
def watch_rate_limit(display: ProgressDisplay) -> Iterator[None]:
    """While inside, rate-limit waits of the HTTP layer show on *display*."""
    logger = logging.getLogger("invoicekit.http")
    handler = _RateLimitWatch(display)
    level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.DEBUG:
        logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _options(args: argparse.Namespace, policy: MigrationPolicy,
             progress: Callable[[Progress], None]) -> dict[str, Any]:
    return {
        "journal": args.journal, "policy": policy, "plan_only": args.plan,
        "plan_path": args.plan_file, "since": args.since, "until": args.until,
        "resume": args.resume, "verify": args.verify, "page_size": args.page_size,
        "progress": progress,
    }


def _where(args: argparse.Namespace, source: Any, target: Any) -> None:
    """Remember each side's base URL, so an error can say where it happened (only when
    the two sides are different providers: otherwise the provider name cannot tell)."""
    if source.provider != target.provider:
        args.base_urls = {source.provider: source.base_url, target.provider: target.base_url}


def _run_sync(args: argparse.Namespace, options: dict[str, Any]) -> MigrationReport:
    from .._registry import from_config

    with from_config(args.source) as source, from_config(args.target) as target:
        _where(args, source, target)
        return migrate(source, target, **options)


async def _run_async(args: argparse.Namespace, options: dict[str, Any]) -> MigrationReport:
    from .._registry import from_config_async

    async with from_config_async(args.source) as source, \
            from_config_async(args.target) as target:
        _where(args, source, target)
        return await migrate_async(source, target, concurrency=args.concurrency, **options)


def run(args: argparse.Namespace, *, stdout: TextIO | None = None,
        stderr: TextIO | None = None) -> int:
    """Run `invoicekit migrate` with parsed *args*; returns the exit status."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    from ..cli import (
        EXIT_ERROR,
        EXIT_INTERRUPTED,
        EXIT_OK,
        EXIT_USAGE,
        PROG,
        error_text,
        exit_status,
    )

    display = ProgressDisplay(err)
    preparing = True  # until the options are understood, any error is a usage error
    try:
        if args.since and args.until and args.since > args.until:
            raise errors.ConfigurationError("--since is after --until", setting="since")
        _check_journal_folder(args.journal)
        options = _options(args, policy_from_args(args), display)
        preparing = False
        with watch_rate_limit(display):
            if args.concurrency > 1:
                report = asyncio.run(_run_async(args, options))
            else:
                report = _run_sync(args, options)
    except KeyboardInterrupt:
        display.close()
        err.write(f"{PROG}: error: interrupted; writes under way are reconciled when you "
                  "run again with --resume\n")
        return EXIT_INTERRUPTED
    except errors.InvoiceKitError as exc:
        display.close()
        where = getattr(args, "base_urls", {}).get(exc.provider)
        text = error_text(exc, doing="migrate", base_url=where)
        err.write(f"{PROG}: error: {' '.join(text.split())}\n")
        return EXIT_USAGE if preparing else exit_status(exc)
    display.close()
    if args.json:
        out.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(report.render() + "\n")
    return EXIT_OK if report.ok and not report.nothing_to_copy else EXIT_ERROR


def _check_journal_folder(journal: str) -> None:
    from ._journal import is_database_url

    if is_database_url(journal):
        return  # a PostgreSQL journal: the database, not a folder, is where it lives
    folder = Path(journal).expanduser().resolve().parent
    if not folder.is_dir():
        raise errors.ConfigurationError(
            f"--journal {journal}: the folder {str(folder)!r} does not exist; create it "
            "first (the journal must live somewhere that survives a crash)",
            setting="journal")


def main(argv: list[str] | None = None) -> int:
    """`python -m invoicekit.migration._cli ...`: the command without the `invoicekit` CLI."""
    from ..cli import _Parser

    parser = _Parser(prog="invoicekit migrate",
                     description="Copy invoices between platforms exactly once.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
