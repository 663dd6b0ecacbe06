"""`invoicekit fleet ...`: submit a manifest, watch it, retry a merchant, run a worker.

The CLI's `fleet` subcommand hands its arguments to `run(argv, json_output=...)`.
Every command but `worker` reads the journal database named by the manifest (the fleet's
source of truth); `submit` and `retry` also need the broker (`--broker` or
`INVOICEKIT_FLEET_BROKER`). `--json` prints machine-readable output instead of a table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from .. import errors

__all__ = ["MANIFEST_ENV", "build_parser", "run"]

MANIFEST_ENV = "INVOICEKIT_FLEET_MANIFEST"
_COLUMNS = ("merchant", "state", "seen", "done", "needs mapping", "cannot carry", "failed",
            "last error", "rate/min")


def build_parser(prog: str = "invoicekit fleet") -> argparse.ArgumentParser:
    """The parser of `invoicekit fleet` and its commands."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Migrate many merchants on Celery workers (see docs/fleet.md).")
    parser.add_argument("--json", action="store_true", help="print JSON")
    sub = parser.add_subparsers(dest="fleet_command", metavar="COMMAND", required=True)

    def with_manifest(p: argparse.ArgumentParser, *, positional: bool = False) -> None:
        if positional:
            p.add_argument("manifest", metavar="MANIFEST", help="the fleet manifest (TOML)")
        else:
            p.add_argument("-m", "--manifest", default=os.environ.get(MANIFEST_ENV),
                           help=f"the fleet manifest (default: ${MANIFEST_ENV})")
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                       help="print JSON")

    submit = sub.add_parser("submit", help="queue one task per merchant of a manifest")
    with_manifest(submit, positional=True)
    submit.add_argument("--broker", help="broker URL (default: $INVOICEKIT_FLEET_BROKER)")
    status = sub.add_parser("status", help="each merchant's state, counts, last error, rate")
    with_manifest(status)
    report = sub.add_parser("report", help="the fleet's plan and verification, added up")
    with_manifest(report)
    retry = sub.add_parser("retry", help="queue merchants again (their journals resume)")
    retry.add_argument("merchants", metavar="MERCHANT", nargs="+")
    with_manifest(retry)
    retry.add_argument("--broker", help="broker URL (default: $INVOICEKIT_FLEET_BROKER)")
    worker = sub.add_parser("worker", help="run a Celery worker for the fleet's tasks")
    worker.add_argument("--broker", help="broker URL (default: $INVOICEKIT_FLEET_BROKER)")
    worker.add_argument("--backend", help="result backend URL (optional; status never uses it)")
    worker.add_argument("--concurrency", type=int, default=1,
                        help="merchants this worker runs at once (default 1)")
    worker.add_argument("--pool", choices=("prefork", "solo", "threads"), default="prefork")
    worker.add_argument("--visibility-timeout", type=float, default=None,
                        help="seconds before a dead worker's task is delivered again "
                             "(Redis; default 3600)")
    worker.add_argument("--loglevel", default="INFO")
    worker.add_argument("--hostname", help="the worker's node name (Celery's -n)")
    worker.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS)
    return parser


def _manifest(args: argparse.Namespace) -> str:
    if not args.manifest:
        raise errors.ConfigurationError(
            f"no manifest: pass --manifest PATH or set {MANIFEST_ENV}", setting="manifest")
    return str(args.manifest)


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def _status_rows(found: Sequence[Any]) -> list[list[str]]:
    rows = [list(_COLUMNS)]
    for s in found:
        rows.append([s.merchant, s.state, str(s.seen), str(s.done), str(s.needs_mapping),
                     str(s.cannot_carry), str(s.failed), (s.error or "")[:100],
                     "" if s.rate is None else f"{s.rate:.1f}"])
    return rows


def _print(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def run(argv: Sequence[str], *, json_output: bool = False) -> int:
    """Run `invoicekit fleet` with *argv*; returns the exit status (0: all well; 1: some
    merchant failed or is incomplete, for `status` and `report`)."""
    args = build_parser().parse_args(list(argv))
    as_json = json_output or bool(getattr(args, "json", False))
    command = args.fleet_command
    if command == "worker":
        return _worker(args)
    from . import _api

    if command in ("submit", "retry"):
        if command == "submit":
            sent = _api.submit(args.manifest, broker=args.broker)
        else:
            sent = _api.retry(_manifest(args), args.merchants, broker=args.broker)
        if as_json:
            _print({"queued": sent})
        else:
            print(f"queued {len(sent)} merchant{'s' if len(sent) != 1 else ''}: "
                  f"{', '.join(sent[:10])}{' ...' if len(sent) > 10 else ''}")
        return 0
    if command == "status":
        found = _api.status(_manifest(args))
        if as_json:
            _print([s.to_dict() for s in found])
        else:
            print(_table(_status_rows(found)))
        return 1 if any(s.state in ("failed", "incomplete") for s in found) else 0
    report = _api.fleet_report(_manifest(args))
    if as_json:
        _print(report)
    else:
        inv = report["invoices"]
        print(f"Fleet: {report['merchants']} merchants; "
              + ", ".join(f"{k} {v}" for k, v in report["states"].items()))
        print("Invoices: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in inv.items()))
        if report["not_carried"]:
            print("Not carried:")
            for item in report["not_carried"]:
                print(f"  {item['count']:>6}  {item['reason']}")
        print(_table(_status_rows(_api.status(_manifest(args)))))
    return 0 if report["ok"] else 1


def _worker(args: argparse.Namespace) -> int:
    from ._tasks import BACKEND_ENV, BROKER_ENV, VISIBILITY_ENV, make_app

    if args.concurrency < 1:
        raise errors.InvalidRequest(f"--concurrency must be at least 1, got {args.concurrency}")
    # The env carries the settings to prefork children and to `invoicekit.fleet.worker`.
    if args.broker:
        os.environ[BROKER_ENV] = args.broker
    if args.backend:
        os.environ[BACKEND_ENV] = args.backend
    if args.visibility_timeout is not None:
        os.environ[VISIBILITY_ENV] = str(args.visibility_timeout)
    app = make_app()
    argv = ["worker", f"--pool={args.pool}", f"--concurrency={args.concurrency}",
            f"--loglevel={args.loglevel}", "--without-gossip", "--without-mingle"]
    if args.hostname:
        argv.append(f"--hostname={args.hostname}")
    sys.stdout.flush()
    app.worker_main(argv)
    return 0
