"""The `invoicekit` command line (also `python -m invoicekit`).

```
invoicekit providers                       installed providers, versions, capabilities
invoicekit doctor                          check plugins, configuration and the account
invoicekit get ID                          one invoice
invoicekit list [filters] [--limit N]      invoices, fetched lazily page by page
invoicekit create FILE [--dry-run]         a draft from a JSON or TOML file
invoicekit finalize ID                     turn a draft into a numbered invoice
invoicekit void ID                         void an open invoice
invoicekit send ID [--cc] [--attach-pdf]   email an invoice to its customer
invoicekit sandbox [NAME] [--seed N]       run a provider's sandbox API on loopback
invoicekit migrate ...                     move invoices between providers
invoicekit fleet submit|status|worker|...  migrate many merchants on Celery workers
invoicekit --version                       the core's and each plugin's version
```

The provider comes from `--config FILE` (a TOML file with an `[invoicekit]` table) or,
without it, from `INVOICEKIT_PROVIDER` and `INVOICEKIT_<SETTING>` environment variables.
`--json` makes every command print JSON. Errors are one line on stderr, prefixed
`invoicekit: error:`, and the exit status says what kind of failure it was:

| status | meaning |
|---|---|
| 0 | done |
| 1 | the operation failed: the provider refused it, the invoice was not found, a check failed |
| 2 | bad usage or configuration: nothing was sent |
| 70 | a bug in invoicekit or a plugin (run again with `--debug` for the traceback) |
| 130 | interrupted (Ctrl-C) |

Tables and progress bars use `rich`, imported only here and only when a command prints
to a terminal: `import invoicekit` never loads it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import functools
import importlib
import io
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import attrs

from . import errors

if TYPE_CHECKING:
    from ._gateway import Gateway
    from ._model import Invoice, InvoiceDraft, SendReceipt
    from ._money import Money

__all__ = ["main"]

PROG = "invoicekit"
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
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


def _money(value: Money | None) -> str:
    """`23.00 SAR`: padded to the currency's minor units, never rounded."""
    if value is None:
        return "-"
    amount = value.amount
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -value.minor_units:
        try:
            amount = amount.quantize(Decimal(1).scaleb(-value.minor_units))
        except ArithmeticError:  # more digits than the context holds: shown as it is
            pass
    return f"{amount} {value.currency}"


def _label(value: str) -> str:
    """An enum value for people: `credit_note` -> `credit note`."""
    return value.replace("_", " ")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *,
           right: Iterable[int] = ()) -> None:
    """Rows under a header, columns aligned. On a terminal a rich table; otherwise plain
    lines (two spaces between columns, no trailing blanks) that `grep` and `cut` read."""
    right = set(right)
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(box=None, header_style="bold", pad_edge=False)
        for i, head in enumerate(headers):
            table.add_column(head, justify="right" if i in right else "left",
                             overflow="fold")
        for row in rows:
            table.add_row(*row)
        Console(highlight=False).print(table)
        return
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        _out("  ".join(cells).rstrip())


def _print_invoice(inv: Invoice) -> None:
    customer = inv.customer
    who = "-"
    if customer is not None:
        who = " ".join(filter(None, (customer.name, f"<{customer.email}>" if customer.email
                                     else None, f"[{customer.id}]" if customer.id else None)))
    status = _label(inv.status.value)
    if inv.provider_status and inv.provider_status != inv.status.value:
        status = f"{status} ({inv.provider_status})"
    rows = [
        ("id", inv.id), ("provider", inv.provider), ("number", inv.number or "-"),
        ("kind", _label(inv.kind.value)), ("status", status),
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
            line = f"  {item.quantity} x {item.name} @ {_money(item.unit_price)}"
            _out(f"{line} = {_money(item.total)}" if item.total is not None else line)


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


# ---- errors in the command line's own words ------------------------------------------------
# The library's messages name its Python API; a CLI user needs the flag that does the same.
_CLI_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"pass ignore_unsupported=True \(gateway\.with_options\)"),
     "pass --ignore-unsupported"),
    (re.compile(r"gateway\.with_options\(ignore_unsupported=True\)"), "--ignore-unsupported"),
    (re.compile(r"finalize it first \(gateway\.finalize_invoice\) or pass "
                r"SendOptions\(auto_finalize=True\)"),
     "finalize it first (`invoicekit finalize ID`) or pass --auto-finalize"),
    (re.compile(r"SendOptions\(auto_finalize=True\)"), "--auto-finalize"),
    (re.compile(r"pass resume=True \(--resume\)"), "pass --resume"),
    (re.compile(r"resume=True"), "--resume"),
)


def error_text(exc: errors.InvoiceKitError, *, doing: str | None = None,
               base_url: str | None = None) -> str:
    """One line saying what failed and where, in the command line's words.

    The provider's own message stays verbatim (Arabic stays Arabic); *doing* (what the
    command was doing, with the id) goes before it and the request line after it.
    """
    text = " ".join(str(exc).split()) or type(exc).__name__
    if exc.provider and text.startswith(f"{exc.provider}: {exc.provider} "):
        text = text[len(exc.provider) + 2:]  # "salla: salla does not support ..."
    if isinstance(exc, errors.UnsupportedFeature) and exc.feature:
        # One name per capability on every surface: the `Capability` value (`send_cc`).
        text = text.replace(f"support {_label(exc.feature)}", f"support {exc.feature}")
    for pattern, words in _CLI_WORDS:
        text = pattern.sub(words, text)
    if doing and not isinstance(exc, errors.ConfigurationError):
        text = f"{doing}: {text}"
    if isinstance(exc, errors.ProviderError):
        method, path = getattr(exc, "method", None), getattr(exc, "path", None)
        if method and path and f"{method} {path}" not in text:
            text += f" [{method} {path}" + (f" at {base_url}]" if base_url else "]")
        elif base_url and base_url not in text:
            text += f" [at {base_url}]"
    from ._secrets import redact

    return redact(text)  # a platform that echoes a token back never prints it


def exit_status(exc: errors.InvoiceKitError) -> int:
    """2 for a configuration error (nothing was sent), 1 for any other failure."""
    return EXIT_USAGE if isinstance(exc, errors.ConfigurationError) else EXIT_ERROR


# ---- gateway from --config or the environment ----------------------------------------------
def _settings(args: argparse.Namespace) -> dict[str, Any]:
    from ._registry import load_settings

    if args.config is None and not os.environ.get("INVOICEKIT_PROVIDER"):
        raise errors.ConfigurationError(
            "no provider configured: pass --config FILE or set INVOICEKIT_PROVIDER",
            setting="provider")
    settings = load_settings(args.config)
    if args.provider_language is not None:
        settings["language"] = args.provider_language
    return settings


def _connect(args: argparse.Namespace, settings: dict[str, Any]) -> Gateway:
    from ._registry import connect

    settings = dict(settings)
    name = str(settings.pop("provider"))
    try:
        gw = connect(name, **settings)
    except errors.ConfigurationError as exc:
        if args.provider_language is not None and exc.setting == "language":
            raise errors.ConfigurationError(
                f"--provider-language: provider {name!r} has no language setting "
                f"({exc.message})", setting="language", provider=name) from exc
        raise
    args.base_url = gw.base_url
    return gw


def _gateway(args: argparse.Namespace) -> Gateway:
    return _connect(args, _settings(args))


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
        _table(["PROVIDER", "DISTRIBUTION", "VERSION", "CAPABILITIES"], [
            [i.name, i.distribution, i.version,
             f"FAILED TO LOAD: {i.error}" if i.error is not None
             else ", ".join(sorted(c.value for c in i.capabilities))]
            for i in infos])
    return EXIT_ERROR if any(i.error for i in infos) else EXIT_OK


def _sandbox_entry_points() -> dict[str, Any]:
    from .testing._fake import sandbox_entry_points

    return sandbox_entry_points()


def _load_sandbox(name: str) -> type[Any]:
    from .testing._fake import find_sandbox

    cls = find_sandbox(name)
    if cls is None:
        installed = ", ".join(sorted(_sandbox_entry_points())) or "none"
        raise errors.ConfigurationError(
            f"no sandbox named {name!r}; installed: {installed} (`invoicekit sandbox --list`)",
            setting="sandbox")
    return cls


def _account_checks(args: argparse.Namespace, check: Callable[[str, str, str], None]) -> None:
    """Connect with the configured settings and make one cheap authenticated read."""
    from ._model import Capability, InvoiceQuery

    source = args.config if args.config is not None else "the environment"
    try:
        settings = _settings(args)
        gw = _connect(args, settings)
    except errors.InvoiceKitError as exc:
        check("fail", "configuration", f"{source}: {error_text(exc)}")
        return
    keys = ", ".join(sorted(k for k in settings if k != "provider")) or "no settings"
    check("ok", "configuration", f"{source}: provider {gw.provider!r} ({keys})")
    where = gw.base_url or "in memory"
    with gw:
        if not gw.supports(Capability.LIST_INVOICES):
            check("note", "account", f"{gw.provider} cannot list invoices; nothing to read")
            return
        try:
            next(iter(gw.list_invoices(InvoiceQuery(page_size=1))), None)
        except errors.AuthenticationError as exc:
            check("ok", "reachability", f"{where} answered")
            check("fail", "authentication", error_text(exc, base_url=gw.base_url))
        except errors.PermissionDenied as exc:
            check("ok", "reachability", f"{where} answered")
            check("ok", "authentication", "the credentials were accepted")
            scope = getattr(exc, "scope", None)
            check("fail", "scopes", "the credentials cannot read invoices"
                  + (f" (missing scope {scope})" if scope else "") + ": "
                  + error_text(exc, base_url=gw.base_url))
        except errors.ProviderUnavailable as exc:
            check("fail", "reachability",
                  f"cannot reach {gw.provider} at {where}: {error_text(exc)}")
        except errors.InvoiceKitError as exc:
            check("fail", "account", error_text(exc, base_url=gw.base_url))
        else:
            check("ok", "reachability", f"{where} answered")
            check("ok", "authentication", "the credentials were accepted")
            check("ok", "scopes", "can read invoices (doctor never writes: write access "
                                  "shows at the first create or send)")


def _cmd_doctor(args: argparse.Namespace) -> int:
    from .__about__ import __version__
    from ._registry import available_providers

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
    try:
        importlib.import_module(_MIGRATE_MODULE)
    except ImportError as exc:
        check("note", "migrate", f"the migrate command is unavailable: {exc}")
    else:
        check("ok", "migrate", "available")
    if args.config is None and not os.environ.get("INVOICEKIT_PROVIDER"):
        check("note", "configuration",
              "nothing to check: pass --config FILE or set INVOICEKIT_PROVIDER")
    else:
        _account_checks(args, check)
    failed = any(c["status"] == "fail" for c in checks)
    if args.json:
        _out(_dump({"ok": not failed, "checks": checks}))
    else:
        for c in checks:
            _out(f"{c['status'].upper():<4}  {c['check']}: {c['detail']}")
        _out("problems found" if failed else "no problems found")
    return EXIT_ERROR if failed else EXIT_OK


def _show_invoice(args: argparse.Namespace, invoice: Invoice) -> None:
    if args.json:
        _out(_dump(invoice))
    else:
        _print_invoice(invoice)


def _cmd_get(args: argparse.Namespace) -> int:
    args.doing = f"get invoice {args.invoice_id}"
    with _gateway(args) as gw:
        _show_invoice(args, gw.get_invoice(args.invoice_id))
    return EXIT_OK


_LIST_HEADERS = ["ID", "NUMBER", "KIND", "STATUS", "ISSUED", "TOTAL", "CUSTOMER"]


def _list_row(invoice: Invoice) -> list[str]:
    customer = invoice.customer.name if invoice.customer else None
    return [invoice.id, invoice.number or "-", _label(invoice.kind.value),
            _label(invoice.status.value),
            invoice.issue_date.isoformat() if invoice.issue_date else "-",
            _money(invoice.total), customer or "-"]


def _cmd_list(args: argparse.Namespace) -> int:
    from ._model import InvoiceQuery, InvoiceStatus

    args.doing = "list invoices"
    query = InvoiceQuery(
        from_date=args.from_date, to_date=args.to_date,
        status=InvoiceStatus(args.status) if args.status else None,
        customer_id=args.customer, order_id=args.order, search=args.search,
        page_size=args.page_size,
    )
    count = 0
    rows: list[list[str]] = []
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
                rows.append(_list_row(invoice))
            count += 1
        if args.json:
            sys.stdout.write("\n]\n" if count else "]\n")
    if not args.json:
        if rows:
            _table(_LIST_HEADERS, rows, right={5})
        else:
            _out("no invoices match")
    return EXIT_OK


# -- create: a draft from a file ---------------------------------------------------------
_DRAFT_KEYS = ("kind", "order_id", "customer", "number", "issue_date", "due_date", "currency",
               "items", "subtotal", "shipping", "cash_on_delivery", "discount", "tax_rate",
               "tax", "total", "description", "document_url", "from_order")
_DRAFT_AMOUNTS = ("subtotal", "shipping", "cash_on_delivery", "discount", "tax", "total")
_CUSTOMER_KEYS = ("id", "name", "email", "tax_id", "phone")
_ITEM_KEYS = ("name", "quantity", "unit_price", "discount", "tax_rate", "tax", "total", "sku",
              "product_id")
_ITEM_AMOUNTS = ("unit_price", "discount", "tax", "total")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not an amount")


def _read_draft_file(path: str) -> dict[str, Any]:
    import tomllib

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise errors.ConfigurationError(
            f"cannot read draft file {path!r}: {exc.strerror}", setting="FILE") from exc
    except UnicodeDecodeError as exc:
        raise errors.InvalidRequest(f"draft file {path!r} is not UTF-8") from exc
    # Numbers are read as Decimal in both formats: no amount ever passes through a float.
    try:
        if path.endswith(".toml"):
            data: Any = tomllib.loads(text, parse_float=Decimal)
        else:
            data = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        kind = "TOML" if path.endswith(".toml") else "JSON (name it .toml for TOML)"
        raise errors.InvalidRequest(f"draft file {path!r} is not valid {kind}: {exc}") from exc
    if not isinstance(data, dict):
        raise errors.InvalidRequest(f"draft file {path!r} must hold one object (a table)")
    return data


def _check_keys(data: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise errors.InvalidRequest(
            f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"allowed: {', '.join(allowed)}")


def _draft_money(value: Any, currency: str | None, where: str) -> Money | None:
    from ._money import Money

    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise errors.InvalidRequest(f"{where} must be an amount such as \"23.00\"",
                                    fields={where: ["not an amount"]})
    if currency is None:
        raise errors.InvalidRequest(f"{where} needs the draft's `currency`",
                                    fields={"currency": ["required with amounts"]})
    try:
        return Money(value, currency)
    except (ValueError, TypeError) as exc:
        raise errors.InvalidRequest(f"{where}: {exc}", fields={where: [str(exc)]}) from exc


def _draft_from_data(data: Mapping[str, Any], path: str) -> InvoiceDraft:
    from ._model import Customer, InvoiceDraft, InvoiceKind, LineItem

    _check_keys(data, _DRAFT_KEYS, path)
    currency = data.get("currency")
    if currency is not None and not isinstance(currency, str):
        raise errors.InvalidRequest("currency must be an ISO 4217 code such as \"SAR\"")
    fields: dict[str, Any] = {}
    try:
        for key in ("order_id", "number", "description", "document_url", "currency"):
            if data.get(key) is not None:
                fields[key] = str(data[key])
        for key in ("issue_date", "due_date"):
            if data.get(key) is not None:
                value = data[key]
                fields[key] = value if isinstance(value, dt.date) else \
                    dt.date.fromisoformat(str(value))
        if data.get("kind") is not None:
            fields["kind"] = InvoiceKind(data["kind"])
        if data.get("tax_rate") is not None:
            fields["tax_rate"] = Decimal(str(data["tax_rate"]))
    except ValueError as exc:
        raise errors.InvalidRequest(f"{path}: {exc}") from exc
    if "from_order" in data:
        if not isinstance(data["from_order"], bool):
            raise errors.InvalidRequest("from_order must be true or false")
        fields["from_order"] = data["from_order"]
    for key in _DRAFT_AMOUNTS:
        fields[key] = _draft_money(data.get(key), currency, key)
    if data.get("customer") is not None:
        customer = data["customer"]
        if not isinstance(customer, Mapping):
            raise errors.InvalidRequest("customer must be an object with name and email")
        _check_keys(customer, _CUSTOMER_KEYS, "customer")
        fields["customer"] = Customer(**{k: None if v is None else str(v)
                                         for k, v in customer.items()})
    items = []
    for n, item in enumerate(data.get("items") or (), start=1):
        where = f"items[{n}]"
        if not isinstance(item, Mapping):
            raise errors.InvalidRequest(f"{where} must be an object")
        _check_keys(item, _ITEM_KEYS, where)
        if "name" not in item or "quantity" not in item or "unit_price" not in item:
            raise errors.InvalidRequest(f"{where} needs name, quantity and unit_price")
        values: dict[str, Any] = {k: _draft_money(item.get(k), currency, f"{where}.{k}")
                                  for k in _ITEM_AMOUNTS}
        try:
            values["quantity"] = Decimal(str(item["quantity"]))
            if item.get("tax_rate") is not None:
                values["tax_rate"] = Decimal(str(item["tax_rate"]))
        except ArithmeticError as exc:
            raise errors.InvalidRequest(f"{where}: quantity and tax_rate must be numbers") \
                from exc
        for key in ("name", "sku", "product_id"):
            if item.get(key) is not None:
                values[key] = str(item[key])
        items.append(LineItem(**values))
    fields["items"] = tuple(items)
    try:
        return InvoiceDraft(**fields)
    except (ValueError, TypeError) as exc:
        if isinstance(exc, errors.InvoiceKitError):
            raise
        raise errors.InvalidRequest(f"{path}: {exc}") from exc


def _dry_run(args: argparse.Namespace, gw: Gateway, draft: InvoiceDraft) -> dict[str, Any]:
    """What `create` would send: the first request an HTTP provider would make, or the
    checked draft for an in-memory provider. Nothing is sent."""
    checked = gw.check_draft(draft)
    if gw.base_url is None:
        return {"provider": gw.provider, "sent": False, "draft": _jsonable(checked)}
    op = gw.provider_object.create_invoice(checked)
    try:
        request = next(op)
    except StopIteration:
        return {"provider": gw.provider, "sent": False, "draft": _jsonable(checked)}
    finally:
        op.close()
    plan: dict[str, Any] = {
        "provider": gw.provider, "sent": False, "method": request.method.upper(),
        "url": gw.base_url + request.render_path(), "path": request.path,
    }
    if request.params:
        plan["params"] = dict(request.params)
    if request.json is not None:
        plan["json"] = _jsonable(request.json)
    if request.data:
        plan["form"] = dict(request.data)
    if request.files:
        plan["files"] = {k: f"{v[0]} ({len(v[1])} bytes, {v[2]})" for k, v in request.files.items()}
    if request.operation and request.operation != "create_invoice":
        plan["note"] = (f"this is the first request ({request.operation}); the invoice itself "
                        "is created by the next one, with what this one returns")
    return plan


def _cmd_create(args: argparse.Namespace) -> int:
    args.doing = f"create from {args.file}"
    draft = _draft_from_data(_read_draft_file(args.file), args.file)
    with _gateway(args) as gw:
        if args.dry_run:
            plan = _dry_run(args, gw, draft)
            if args.json:
                _out(_dump(plan))
            elif "method" in plan:
                _out(f"dry run: nothing sent. {gw.provider} would receive:")
                _out(f"{plan['method']} {plan['url']}")
                if "json" in plan:
                    _out(json.dumps(plan["json"], ensure_ascii=False, indent=2))
                for key in ("params", "form", "files"):
                    if key in plan:
                        _out(f"{key}: {json.dumps(plan[key], ensure_ascii=False)}")
                if "note" in plan:
                    _out(f"({plan['note']})")
            else:
                _out(f"dry run: nothing created. The draft passes {gw.provider}'s checks:")
                _out(json.dumps(plan["draft"], ensure_ascii=False, indent=2))
            return EXIT_OK
        _show_invoice(args, gw.create_invoice(draft))
    return EXIT_OK


def _cmd_finalize(args: argparse.Namespace) -> int:
    args.doing = f"finalize invoice {args.invoice_id}"
    with _gateway(args) as gw:
        _show_invoice(args, gw.finalize_invoice(args.invoice_id))
    return EXIT_OK


def _cmd_void(args: argparse.Namespace) -> int:
    args.doing = f"void invoice {args.invoice_id}"
    with _gateway(args) as gw:
        _show_invoice(args, gw.void_invoice(args.invoice_id))
    return EXIT_OK


def _cmd_send(args: argparse.Namespace) -> int:
    from ._model import Capability, SendOptions

    args.doing = f"send invoice {args.invoice_id}"
    with _gateway(args) as gw:
        auto_finalize = args.auto_finalize
        if auto_finalize and not gw.supports(Capability.FINALIZE_INVOICE):
            # Refused like --cc is: a flag the provider cannot honour is never dropped
            # silently, and --ignore-unsupported drops it on purpose.
            if not args.ignore_unsupported:
                raise errors.UnsupportedFeature(
                    f"{gw.provider} does not support finalize_invoice (it has no drafts); "
                    "pass --ignore-unsupported to send without --auto-finalize",
                    feature=Capability.FINALIZE_INVOICE.value, provider=gw.provider)
            auto_finalize = False
        options = SendOptions(cc_sender=args.cc, attach_pdf=True if args.attach_pdf else None,
                              auto_finalize=auto_finalize)
        sender = gw.with_options(ignore_unsupported=True) if args.ignore_unsupported else gw
        receipt = sender.send_invoice(args.invoice_id, options)
    if args.json:
        _out(_dump(receipt))
    else:
        _print_receipt(receipt)
    return EXIT_OK if receipt.sent else EXIT_ERROR


# -- sandbox ------------------------------------------------------------------------------
def _sandbox_rows() -> list[dict[str, str]]:
    rows = []
    for name, ep in sorted(_sandbox_entry_points().items()):
        dist = ep.dist.name if ep.dist is not None else "-"
        try:
            cls = _load_sandbox(name)
        except errors.ConfigurationError as exc:
            rows.append({"name": name, "distribution": dist, "port": "-", "error": str(exc)})
        else:
            rows.append({"name": name, "distribution": dist, "port": str(cls.default_port),
                         "error": ""})
    return rows


def _cmd_sandbox_list(args: argparse.Namespace, *, usage: bool) -> int:
    rows = _sandbox_rows()
    if args.json:
        _out(_dump([{**r, "error": r["error"] or None} for r in rows]))
        return EXIT_OK
    if usage:
        _out(f"usage: {PROG} sandbox NAME [--host HOST] [--port PORT] [--seed N] [options]\n\n"
             "Run a provider's sandbox (an emulator of its API) on loopback, until Ctrl-C.\n"
             f"`{PROG} sandbox NAME --help` lists that sandbox's own options.\n")
    if not rows:
        from .testing._fake import SANDBOX_ENTRY_POINT_GROUP

        _out("no sandboxes are installed (plugins register them in the entry-point group "
             f"{SANDBOX_ENTRY_POINT_GROUP})")
        return EXIT_OK
    _table(["SANDBOX", "DISTRIBUTION", "DEFAULT PORT"],
           [[r["name"], r["distribution"], "FAILED TO LOAD" if r["error"] else r["port"]]
            for r in rows])
    return EXIT_OK


def _seeding(cls: type[Any], *, as_json_: bool = False) -> type[Any]:
    """*cls* with a `--seed N` option: N invoices created through the provider's own API
    once the sandbox listens, so `invoicekit list` has something to show. With *as_json_*
    its start-up lines are JSON (`{"sandbox", "url", "settings"}`, `{"seeded": [ids]}`)."""

    class Seeding(cls):  # type: ignore[misc]
        seed_count = 0
        as_json = as_json_

        @classmethod
        def add_arguments(klass, parser: argparse.ArgumentParser) -> None:
            # The sandbox builds its own parser: give it the one error prefix too.
            parser.error = functools.partial(_Parser.error, parser)  # type: ignore[method-assign,arg-type]
            super().add_arguments(parser)
            parser.add_argument("--seed", type=_non_negative, default=0, metavar="N",
                                help="create N invoices once the sandbox listens")

        @classmethod
        def from_arguments(klass, args: argparse.Namespace, *, host: str, port: int) -> Any:
            server = super().from_arguments(args, host=host, port=port)
            server.seed_count = args.seed
            return server

        def serve_forever(self) -> None:
            if self.seed_count:
                try:
                    created = self.seed(self.seed_count)
                except errors.InvoiceKitError:
                    self.stop()  # e.g. a sandbox without sample_draft(): nothing to seed with
                    raise
                sys.stdout.write(json.dumps({"seeded": list(created)}) + "\n" if self.as_json
                                 else f"seeded {len(created)} invoices: {', '.join(created)}\n")
                sys.stdout.flush()
            super().serve_forever()

        def describe(self) -> str:
            if not self.as_json:
                return str(super().describe())
            # The sandbox's public test credentials, as `connect(name, **settings)` takes them.
            return json.dumps({"sandbox": self.name, "url": self.url,
                               "settings": self.settings()})

    Seeding.__name__ = Seeding.__qualname__ = cls.__name__
    return Seeding


def _cmd_sandbox(args: argparse.Namespace, rest: list[str]) -> int:
    if args.name is None or args.list:
        if args.name is not None:
            raise errors.ConfigurationError("--list takes no sandbox name", setting="sandbox")
        asked = bool({"-h", "--help"} & set(rest))
        unknown = [a for a in rest if a not in ("-h", "--help")]
        if unknown:
            raise errors.ConfigurationError(
                f"name a sandbox before its options ({' '.join(unknown)}): "
                f"`{PROG} sandbox NAME ...`; `{PROG} sandbox --list` shows the names",
                setting="sandbox")
        return _cmd_sandbox_list(args, usage=asked or not args.list)
    cls = _seeding(_load_sandbox(args.name), as_json_=args.json)
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
    parser = _Parser(
        prog=f"{PROG} migrate", description="Move invoices from one provider to another.")
    add_arguments(parser)
    namespace = argparse.Namespace(config=args.config, json=args.json, debug=args.debug)
    return int(run(parser.parse_args(rest, namespace=namespace)))


def _versions() -> list[dict[str, Any]]:
    """The core's version and each plugin distribution's, with what it provides."""
    from .__about__ import __version__, distribution_version
    from ._registry import _entry_points

    found: dict[str, dict[str, Any]] = {
        "invoicekit": {"distribution": "invoicekit", "version": __version__,
                       "providers": [], "sandboxes": []}}
    groups = (("providers", _entry_points()), ("sandboxes", _sandbox_entry_points()))
    for kind, eps in groups:
        for name, ep in sorted(eps.items()):
            dist = ep.dist.name if ep.dist is not None else "(unknown)"
            entry = found.setdefault(dist, {"distribution": dist,
                                            "version": distribution_version(dist),
                                            "providers": [], "sandboxes": []})
            entry[kind].append(name)
    return list(found.values())


def _print_version(args: argparse.Namespace) -> int:
    versions = _versions()
    if args.json:
        _out(_dump(versions))
        return EXIT_OK
    for v in versions:
        parts = [f"{label} {', '.join(v[kind])}"
                 for kind, label in (("providers", "provider"), ("sandboxes", "sandbox"))
                 if v[kind]]
        _out(f"{v['distribution']} {v['version']}" + (f" ({'; '.join(parts)})" if parts else ""))
    return EXIT_OK


# ---- parsing -------------------------------------------------------------------------------
def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a YYYY-MM-DD date") from None


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _non_negative(text: str) -> int:
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def _at_least_one(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse with the one error prefix every command uses (`invoicekit: error:`)."""

    def error(self, message: str) -> NoReturn:
        """Print the usage and one `invoicekit: error:` line; exit 2 (bad usage)."""
        self.print_usage(sys.stderr)
        where = self.prog.removeprefix(PROG).strip()
        self.exit(EXIT_USAGE, f"{PROG}: error: {where + ': ' if where else ''}{message}\n")


def _parser() -> argparse.ArgumentParser:
    from ._model import InvoiceStatus

    # The common options work before or after the command: `invoicekit --json list`
    # and `invoicekit list --json`. SUPPRESS keeps a subcommand from resetting them.
    common = _Parser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="TOML file with an [invoicekit] table (default: environment)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print JSON")
    common.add_argument("--provider-language", metavar="LANG", default=argparse.SUPPRESS,
                        help="ask the platform for its messages in LANG (e.g. en) where it "
                             "has a language setting; default: the configured one")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks of unexpected errors")

    parser = _Parser(
        prog=PROG, parents=[common],
        description="Create, read, list and send invoices on any invoicekit provider.",
        epilog="exit status: 0 done, 1 the operation failed, 2 bad usage or configuration "
               "(nothing sent), 70 a bug (see --debug), 130 interrupted")
    parser.add_argument("--version", action="store_true",
                        help="print the core's and each plugin's version")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("providers", parents=[common], help="installed providers and capabilities")
    sub.add_parser("doctor", parents=[common],
                   help="check plugins, configuration, reachability and credentials")

    get = sub.add_parser("get", parents=[common], help="show one invoice")
    get.add_argument("invoice_id", metavar="ID")

    lst = sub.add_parser("list", parents=[common], help="list invoices")
    lst.add_argument("--from-date", type=_date, metavar="YYYY-MM-DD")
    lst.add_argument("--to-date", type=_date, metavar="YYYY-MM-DD")
    lst.add_argument("--status", choices=[s.value for s in InvoiceStatus])
    lst.add_argument("--customer", metavar="ID", help="customer id")
    lst.add_argument("--order", metavar="ID", help="order id")
    lst.add_argument("--search", metavar="TEXT")
    lst.add_argument("--page-size", type=_at_least_one, metavar="N",
                     help="invoices per request (at least 1)")
    lst.add_argument("--limit", type=_non_negative, default=50, metavar="N",
                     help="stop after N invoices (default 50; 0: no limit)")

    create = sub.add_parser("create", parents=[common],
                            help="create an invoice from a JSON or TOML draft file")
    create.add_argument("file", metavar="FILE", help="the draft (.json, or .toml)")
    create.add_argument("--dry-run", action="store_true",
                        help="check the draft and show the request, without sending it")

    fin = sub.add_parser("finalize", parents=[common], help="finalize a draft (assigns a number)")
    fin.add_argument("invoice_id", metavar="ID")
    void = sub.add_parser("void", parents=[common], help="void an open invoice")
    void.add_argument("invoice_id", metavar="ID")

    send = sub.add_parser("send", parents=[common], help="email an invoice to its customer")
    send.add_argument("invoice_id", metavar="ID")
    send.add_argument("--cc", action="store_true", help="copy the sender")
    send.add_argument("--attach-pdf", action="store_true", help="attach the PDF")
    send.add_argument("--auto-finalize", action="store_true",
                      help="finalize a draft first (providers with drafts)")
    send.add_argument("--ignore-unsupported", action="store_true",
                      help="drop the options this provider cannot honour instead of refusing")

    # A sandbox defines its own options (--host, --port, --plan...); parsed when it runs.
    box = sub.add_parser("sandbox", parents=[common], add_help=False,
                         help="run a provider's sandbox API (`sandbox --list`, "
                              "`sandbox NAME --help`)")
    box.add_argument("name", metavar="NAME", nargs="?")
    box.add_argument("--list", action="store_true", help="list the installed sandboxes")

    # The migration engine defines its own options; they are parsed when it runs.
    sub.add_parser("migrate", parents=[common], add_help=False,
                   help="move invoices between providers (see `migrate --help`)")
    # The fleet (optional extra) defines its own commands; they are parsed when it runs.
    sub.add_parser("fleet", parents=[common], add_help=False,
                   help="migrate many merchants on Celery workers (see `fleet --help`)")
    return parser


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "providers": _cmd_providers, "doctor": _cmd_doctor, "get": _cmd_get, "list": _cmd_list,
    "create": _cmd_create, "finalize": _cmd_finalize, "void": _cmd_void, "send": _cmd_send,
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
    for name, default in (("config", None), ("json", False), ("debug", False),
                          ("provider_language", None)):
        if not hasattr(args, name):
            setattr(args, name, default)
    if args.command is None and not args.version:
        parser.error("a command is required (see --help)")
    if rest and args.command not in ("migrate", "sandbox", "fleet"):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return args, rest


def _exit_code(code: object) -> int:
    if code is None:
        return EXIT_OK
    return code if isinstance(code, int) else EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the console script exits with it)."""
    _safe_streams()
    try:
        args, rest = _parse(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # --help, or a usage error argparse already reported
        return _exit_code(exc.code)
    args.doing, args.base_url = None, None
    try:
        if args.version:
            return _print_version(args)
        if args.command == "migrate":
            return _cmd_migrate(args, rest)
        if args.command == "fleet":
            from .fleet._cli import run as run_fleet

            return run_fleet(rest, json_output=args.json)
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
        _fail(error_text(exc, doing=args.doing, base_url=args.base_url))
        return exit_status(exc)
    except BrokenPipeError:
        # `invoicekit list | head`: the reader left; stop quietly.
        _silence_stdout()
        return EXIT_ERROR
    except Exception as exc:
        if args.debug:
            raise
        _fail(f"unexpected {type(exc).__name__}: {exc} (a bug: run again with --debug for "
              "the traceback)")
        return EXIT_INTERNAL


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
