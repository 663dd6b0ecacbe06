"""The `invoicekit` command line (also `python -m invoicekit`).

```
invoicekit providers                     installed providers, versions, capabilities, failures
invoicekit doctor                        check configuration and plugins; non-zero on problems
invoicekit get ID                        one invoice
invoicekit list [filters] [--limit N]    invoices, fetched lazily page by page
invoicekit send ID [--cc] [--attach-pdf] email an invoice to its customer
invoicekit sandbox NAME [--host] [--port]  run a provider's sandbox API on loopback
invoicekit migrate ...                   move invoices between providers
```

The provider comes from `--config FILE` (a TOML file with an `[invoicekit]` table) or,
without it, from `INVOICEKIT_PROVIDER` and `INVOICEKIT_<SETTING>` environment variables.
`--json` makes every command print JSON. Errors are one line on stderr and a non-zero
exit status (1: an invoicekit error, 2: bad usage, 130: interrupted), never a traceback
unless `--debug` asks for it. Only the standard library is used here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import importlib
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from . import errors

if TYPE_CHECKING:
    from ._gateway import Gateway
    from ._model import Invoice, SendReceipt

__all__ = ["main"]

PROG = "invoicekit"
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
SANDBOX_GROUP = "invoicekit.sandboxes"
_MIGRATE_MODULE = "invoicekit.migration._cli"


# ---- output ------------------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    """Domain objects as JSON values: Decimal and Money exact (strings), dates ISO 8601."""
    from ._money import Money

    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": value.currency}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if attrs.has(type(value)):
        return {f.name: _jsonable(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, Iterable):
        return [_jsonable(v) for v in value]
    return str(value)


def _dump(value: Any) -> str:
    return json.dumps(_jsonable(value), ensure_ascii=False, indent=2)


def _out(text: str = "") -> None:
    print(text)


def _money(value: Any) -> str:
    return "-" if value is None else str(value)


def _print_invoice(inv: Invoice) -> None:
    customer = inv.customer
    who = "-"
    if customer is not None:
        who = " ".join(filter(None, (customer.name, f"<{customer.email}>" if customer.email
                                     else None, f"[{customer.id}]" if customer.id else None)))
    status = inv.status.value
    if inv.provider_status and inv.provider_status != status:
        status = f"{status} ({inv.provider_status})"
    rows = [
        ("id", inv.id), ("provider", inv.provider), ("number", inv.number or "-"),
        ("kind", inv.kind.value), ("status", status),
        ("issue date", inv.issue_date.isoformat() if inv.issue_date else "-"),
        ("due date", inv.due_date.isoformat() if inv.due_date else "-"),
        ("order", inv.order_id or "-"), ("customer", who),
        ("subtotal", _money(inv.subtotal)), ("shipping", _money(inv.shipping)),
        ("tax", _money(inv.tax)), ("total", _money(inv.total)),
        ("balance due", _money(inv.balance_due)),
    ]
    if inv.pdf_url:
        rows.append(("pdf", inv.pdf_url))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        _out(f"{label:<{width}}  {value}")
    if inv.items:
        _out("items:")
        for item in inv.items:
            line = f"  {item.quantity} x {item.name} @ {item.unit_price}"
            _out(f"{line} = {item.total}" if item.total is not None else line)


def _print_receipt(receipt: SendReceipt) -> None:
    text = f"sent {receipt.invoice_id}" if receipt.sent else f"not sent: {receipt.invoice_id}"
    if receipt.recipient:
        text += f" to {receipt.recipient}"
    if receipt.cc:
        text += f" (cc {receipt.cc})"
    if receipt.pdf_attached:
        text += " with the PDF attached"
    _out(text)
    if receipt.message:
        _out(receipt.message)


# ---- gateway from --config or the environment ----------------------------------------------
def _gateway(args: argparse.Namespace) -> Gateway:
    from ._registry import from_config

    if args.config is None and not os.environ.get("INVOICEKIT_PROVIDER"):
        raise errors.ConfigurationError(
            "no provider configured: pass --config FILE or set INVOICEKIT_PROVIDER",
            setting="provider")
    return from_config(args.config)


# ---- commands ----------------------------------------------------------------------------
def _cmd_providers(args: argparse.Namespace) -> int:
    from ._registry import available_providers

    infos = available_providers(include_failed=True)
    if args.json:
        _out(_dump([{"name": i.name, "distribution": i.distribution, "version": i.version,
                     "capabilities": sorted(c.value for c in i.capabilities),
                     "error": i.error} for i in infos]))
    elif not infos:
        _out("no invoicekit providers are installed")
    else:
        width = max(len(i.name) for i in infos)
        for info in infos:
            source = f"{info.distribution} {info.version}"
            if info.error is not None:
                _out(f"{info.name:<{width}}  {source}  FAILED TO LOAD: {info.error}")
            else:
                caps = ", ".join(sorted(c.value for c in info.capabilities))
                _out(f"{info.name:<{width}}  {source}  {caps}")
    return 1 if any(i.error for i in infos) else 0


def _sandbox_entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    found: dict[str, Any] = {}
    for ep in entry_points(group=SANDBOX_GROUP):
        found.setdefault(ep.name, ep)
    return found


def _load_sandbox(name: str) -> type[Any]:
    from .testing.sandbox import SandboxServer

    eps = _sandbox_entry_points()
    if name not in eps:
        installed = ", ".join(sorted(eps)) or "none"
        raise errors.ConfigurationError(
            f"no sandbox named {name!r}; installed: {installed}", setting="sandbox")
    try:
        cls = eps[name].load()
    except Exception as exc:
        raise errors.ConfigurationError(
            f"sandbox {name!r} is installed but failed to load: {type(exc).__name__}: {exc}",
            setting="sandbox") from exc
    if not isinstance(cls, type) or not issubclass(cls, SandboxServer):
        raise errors.ConfigurationError(
            f"entry point {name!r} in {SANDBOX_GROUP} is not a SandboxServer subclass",
            setting="sandbox")
    return cls


def _cmd_doctor(args: argparse.Namespace) -> int:
    from .__about__ import __version__
    from ._registry import available_providers, connect, load_settings

    checks: list[dict[str, str]] = []

    def check(status: str, name: str, detail: str) -> None:
        checks.append({"status": status, "check": name, "detail": detail})

    check("ok", "invoicekit", f"version {__version__} on Python {sys.version.split()[0]}")
    infos = available_providers(include_failed=True)
    if not infos:
        check("fail", "providers", "no provider is installed")
    for info in infos:
        if info.error is None:
            check("ok", f"provider {info.name}", f"{info.distribution} {info.version}")
        else:
            check("fail", f"provider {info.name}", info.error)
    for name in sorted(_sandbox_entry_points()):
        try:
            _load_sandbox(name)
        except errors.ConfigurationError as exc:
            check("fail", f"sandbox {name}", str(exc))
        else:
            check("ok", f"sandbox {name}", "loads")
    if args.config is None and not os.environ.get("INVOICEKIT_PROVIDER"):
        check("note", "configuration",
              "nothing to check: pass --config FILE or set INVOICEKIT_PROVIDER")
    else:
        source = args.config if args.config is not None else "the environment"
        try:
            settings = load_settings(args.config)
            name = str(settings.pop("provider"))
            connect(name, **settings).close()
        except errors.InvoiceKitError as exc:
            check("fail", "configuration", f"{source}: {exc}")
        else:
            keys = ", ".join(sorted(settings)) or "no settings"
            check("ok", "configuration", f"{source}: provider {name!r} ({keys})")
    try:
        importlib.import_module(_MIGRATE_MODULE)
    except ImportError as exc:
        check("note", "migrate", f"the migrate command is unavailable: {exc}")
    else:
        check("ok", "migrate", "available")
    failed = any(c["status"] == "fail" for c in checks)
    if args.json:
        _out(_dump({"ok": not failed, "checks": checks}))
    else:
        for c in checks:
            _out(f"{c['status'].upper():<4}  {c['check']}: {c['detail']}")
        _out("problems found" if failed else "no problems found")
    return 1 if failed else 0


def _cmd_get(args: argparse.Namespace) -> int:
    with _gateway(args) as gw:
        invoice = gw.get_invoice(args.invoice_id)
    if args.json:
        _out(_dump(invoice))
    else:
        _print_invoice(invoice)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from ._model import InvoiceQuery, InvoiceStatus

    query = InvoiceQuery(
        from_date=args.from_date, to_date=args.to_date,
        status=InvoiceStatus(args.status) if args.status else None,
        customer_id=args.customer, order_id=args.order, search=args.search,
        page_size=args.page_size,
    )
    count = 0
    with _gateway(args) as gw:
        if args.json:
            sys.stdout.write("[")
        for invoice in gw.list_invoices(query):
            if args.limit and count >= args.limit:
                break
            if args.json:
                # Streamed item by item: a long listing never sits in memory whole.
                sys.stdout.write(("," if count else "") + "\n" + _dump(invoice))
            else:
                customer = invoice.customer.name if invoice.customer else None
                _out("  ".join([
                    invoice.id, invoice.number or "-", invoice.status.value,
                    invoice.issue_date.isoformat() if invoice.issue_date else "-",
                    _money(invoice.total), customer or "-",
                ]))
            count += 1
        if args.json:
            sys.stdout.write("\n]\n" if count else "]\n")
    if not args.json and count == 0:
        _out("no invoices match")
    return 0


def _cmd_send(args: argparse.Namespace) -> int:
    from ._model import SendOptions

    options = SendOptions(cc_sender=args.cc, attach_pdf=True if args.attach_pdf else None,
                          auto_finalize=args.auto_finalize)
    with _gateway(args) as gw:
        receipt = gw.send_invoice(args.invoice_id, options)
    if args.json:
        _out(_dump(receipt))
    else:
        _print_receipt(receipt)
    return 0 if receipt.sent else EXIT_ERROR


def _cmd_sandbox(args: argparse.Namespace, rest: list[str]) -> int:
    cls = _load_sandbox(args.name)
    # The sandbox parses its own options (--host, --port and those it adds, e.g. --plan).
    return int(cls.run_from_command_line(rest, prog=f"{PROG} sandbox {args.name}"))


def _cmd_migrate(args: argparse.Namespace, rest: list[str]) -> int:
    try:
        module = importlib.import_module(_MIGRATE_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name is not None and _MIGRATE_MODULE.startswith(exc.name):
            raise errors.ConfigurationError(
                f"the migrate command is not available in this installation "
                f"({_MIGRATE_MODULE} is missing)") from exc
        raise
    add_arguments: Callable[[argparse.ArgumentParser], object] = module.add_arguments
    run: Callable[[argparse.Namespace], int] = module.run
    parser = argparse.ArgumentParser(
        prog=f"{PROG} migrate", description="Move invoices from one provider to another.")
    add_arguments(parser)
    namespace = argparse.Namespace(config=args.config, json=args.json, debug=args.debug)
    return int(run(parser.parse_args(rest, namespace=namespace)))


# ---- parsing -------------------------------------------------------------------------------
def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def _parser() -> argparse.ArgumentParser:
    from ._model import InvoiceStatus

    # The common options work before or after the command: `invoicekit --json list`
    # and `invoicekit list --json`. SUPPRESS keeps a subcommand from resetting them.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="TOML file with an [invoicekit] table (default: environment)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print JSON")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks of unexpected errors")

    parser = argparse.ArgumentParser(
        prog=PROG, parents=[common],
        description="Create, read, list and send invoices on any invoicekit provider.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("providers", parents=[common], help="installed providers and capabilities")
    sub.add_parser("doctor", parents=[common], help="check configuration and plugins")

    get = sub.add_parser("get", parents=[common], help="show one invoice")
    get.add_argument("invoice_id", metavar="ID")

    lst = sub.add_parser("list", parents=[common], help="list invoices")
    lst.add_argument("--from-date", type=_date, metavar="YYYY-MM-DD")
    lst.add_argument("--to-date", type=_date, metavar="YYYY-MM-DD")
    lst.add_argument("--status", choices=[s.value for s in InvoiceStatus])
    lst.add_argument("--customer", metavar="ID", help="customer id")
    lst.add_argument("--order", metavar="ID", help="order id")
    lst.add_argument("--search", metavar="TEXT")
    lst.add_argument("--page-size", type=_positive, metavar="N")
    lst.add_argument("--limit", type=_positive, default=50, metavar="N",
                     help="stop after N invoices (default 50; 0: no limit)")

    send = sub.add_parser("send", parents=[common], help="email an invoice to its customer")
    send.add_argument("invoice_id", metavar="ID")
    send.add_argument("--cc", action="store_true", help="copy the sender")
    send.add_argument("--attach-pdf", action="store_true", help="attach the PDF")
    send.add_argument("--auto-finalize", action="store_true",
                      help="finalize a draft first (providers with drafts)")

    # A sandbox defines its own options (--host, --port, --plan...); parsed when it runs.
    box = sub.add_parser("sandbox", parents=[common], add_help=False,
                         help="run a provider's sandbox API (see `sandbox NAME --help`)")
    box.add_argument("name", metavar="NAME")

    # The migration engine defines its own options; they are parsed when it runs.
    sub.add_parser("migrate", parents=[common], add_help=False,
                   help="move invoices between providers (see `migrate --help`)")
    return parser


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "providers": _cmd_providers, "doctor": _cmd_doctor, "get": _cmd_get, "list": _cmd_list,
    "send": _cmd_send,
}


def _fail(message: str) -> None:
    first = " ".join(message.split()) or "failed"
    print(f"{PROG}: error: {first}", file=sys.stderr)


def _safe_streams() -> None:
    # Arabic provider messages must print on any terminal rather than crash it.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, io.UnsupportedOperation):
                pass


def _parse(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = _parser()
    args, rest = parser.parse_known_args(list(argv))
    # Not set_defaults(): the common options' action objects are shared with every
    # subcommand, and a default set on one would overwrite a value given to the other.
    for name, default in (("config", None), ("json", False), ("debug", False)):
        if not hasattr(args, name):
            setattr(args, name, default)
    if rest and args.command not in ("migrate", "sandbox"):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return args, rest


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    return code if isinstance(code, int) else EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    _safe_streams()
    try:
        args, rest = _parse(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # --help, or a usage error argparse already reported
        return _exit_code(exc.code)
    try:
        if args.command == "migrate":
            return _cmd_migrate(args, rest)
        if args.command == "sandbox":
            return _cmd_sandbox(args, rest)
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        _fail("interrupted")
        return EXIT_INTERRUPTED
    except SystemExit as exc:
        return _exit_code(exc.code)
    except errors.InvoiceKitError as exc:
        if args.debug:
            raise
        _fail(str(exc))
        return EXIT_ERROR
    except BrokenPipeError:
        # `invoicekit list | head`: the reader left; stop quietly.
        _silence_stdout()
        return EXIT_ERROR
    except Exception as exc:
        if args.debug:
            raise
        _fail(f"unexpected {type(exc).__name__}: {exc} (run again with --debug for details)")
        return EXIT_INTERNAL


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
