"""The fleet manifest: which merchants to migrate, how, and where their journals live.

A TOML file, read by `invoicekit fleet submit` and, again, by every worker (tasks carry
only the manifest's path and a merchant id, so no setting, and no secret, ever travels
through the broker):

```toml
journal = "postgresql://fleet@db.internal/journals"  # ${ENV} references allowed
lease_seconds = 60    # how long a dead worker's lease outlives it (optional)
settle = 10           # see migrate()'s settle (optional)

[policy]              # every merchant's, unless its own [merchants.policy] says otherwise
rates = ["SAR:USD=0.2666"]
due_days = 30
extras_as_lines = true
create_customers = true
customer_map = "customers.csv"   # relative to the manifest

[[merchants]]
id = "store-1001"
source = { provider = "salla", token = "${STORE_1001_SALLA_TOKEN}" }
target = { provider = "dayzero", token = "${STORE_1001_DAYZERO_TOKEN}", business_id = "b-1" }
```

Secrets are `${ENV}` references, expanded on the worker (as `from_config` does): a
literal value for a setting named like a secret (`token`, `secret`, `password`, `key`) is
refused, so a manifest can be committed and shipped to every machine as it is.
"""

from __future__ import annotations

import os
import re
import tomllib
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from .. import errors
from .._registry import _expand
from ..migration import CurrencyPolicy, CustomerPolicy, MigrationPolicy, OrderPolicy
from ..migration import load_mapping_file as _load_mapping
from ..migration._engine import DEFAULT_SETTLE
from ..migration._journal import DEFAULT_LEASE_SECONDS, is_database_url

__all__ = ["Manifest", "Merchant", "load_manifest"]

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_SECRET_NAME = re.compile(r"token|secret|password|passwd|key", re.IGNORECASE)
_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_POLICY_KEYS: Final = frozenset({"rates", "rounding", "due_days", "extras_as_lines",
                                 "create_customers", "customer_map", "order_map",
                                 "attach_pdf"})
_TOP_KEYS: Final = frozenset({"journal", "lease_seconds", "settle", "policy", "merchants"})
_MERCHANT_KEYS: Final = frozenset({"id", "source", "target", "policy"})


def _bad(path: Path, message: str, setting: str | None = None) -> errors.ConfigurationError:
    return errors.ConfigurationError(f"fleet manifest {str(path)!r}: {message}",
                                     setting=setting)


def _check_secrets(path: Path, where: str, settings: Mapping[str, Any]) -> None:
    for name, value in settings.items():
        if _SECRET_NAME.search(str(name)) and isinstance(value, str) \
                and value and not _REFERENCE.search(value):
            raise _bad(path, f"{where}.{name} must be an ${{ENV}} reference: secrets stay out "
                             "of the manifest (and of the broker)", setting=str(name))


def _positive(path: Path, data: Mapping[str, Any], key: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise _bad(path, f"{key} must be a positive number of seconds, got {value!r}", key)
    return float(value)


@attrs.frozen(slots=True)
class Merchant:
    """One merchant of the fleet: its id (also its migration id in the journal database),
    its source and target settings (as `from_config` takes them, `${ENV}` references not
    yet expanded) and its policy settings (the manifest's, overridden by its own)."""

    id: str
    source: Mapping[str, Any]
    target: Mapping[str, Any]
    policy: Mapping[str, Any]


@attrs.frozen(slots=True)
class Manifest:
    """A loaded fleet manifest (see the module docs for the format)."""

    path: Path
    journal: str
    """The journal database URL as written (`${ENV}` references not yet expanded)."""
    merchants: tuple[Merchant, ...]
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    settle: float = DEFAULT_SETTLE

    def merchant(self, merchant_id: str) -> Merchant:
        """The merchant *merchant_id* (`ConfigurationError` naming the manifest if absent)."""
        for merchant in self.merchants:
            if merchant.id == merchant_id:
                return merchant
        raise _bad(self.path, f"no merchant {merchant_id!r}", setting="merchants")

    def database_url(self) -> str:
        """The journal database's URL with `${ENV}` references expanded."""
        return str(_expand(self.journal, "journal", os.environ))

    def journal_url(self, merchant_id: str) -> str:
        """The journal of *merchant_id*: the database URL with `migration=<merchant id>`."""
        parts = urllib.parse.urlsplit(self.database_url())
        query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
                 if k != "migration"]
        query.append(("migration", merchant_id))
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))

    def policy(self, merchant: Merchant) -> MigrationPolicy:
        """The `MigrationPolicy` the manifest states for *merchant*."""
        return _policy(self.path, merchant.policy)


def _policy(path: Path, data: Mapping[str, Any]) -> MigrationPolicy:
    def flag(key: str) -> bool:
        value = data.get(key, False)
        if not isinstance(value, bool):
            raise _bad(path, f"policy {key} must be true or false, got {value!r}", key)
        return value

    def mapping(key: str) -> dict[str, str]:
        value = data.get(key)
        if value is None:
            return {}
        if not isinstance(value, str):
            raise _bad(path, f"policy {key} must be a file path, got {value!r}", key)
        return _load_mapping(path.parent / value)

    rates = data.get("rates", [])
    if not isinstance(rates, list) or not all(isinstance(r, str) for r in rates):
        raise _bad(path, "policy rates must be a list of \"FROM:TO=RATE\" strings", "rates")
    rounding = data.get("rounding")
    if rounding is not None and not isinstance(rounding, str):
        raise _bad(path, f"policy rounding must be a decimal rounding name, got {rounding!r}",
                   "rounding")
    due_days = data.get("due_days")
    if due_days is not None and (isinstance(due_days, bool) or not isinstance(due_days, int)):
        raise _bad(path, f"policy due_days must be a whole number, got {due_days!r}",
                   "due_days")
    currency = (CurrencyPolicy.parse(rates, rounding=rounding) if rounding
                else CurrencyPolicy.parse(rates))
    return MigrationPolicy(
        currency=currency,
        customers=CustomerPolicy(create_by_email=flag("create_customers"),
                                 mapping=mapping("customer_map")),
        orders=OrderPolicy(mapping=mapping("order_map"), attach_pdf=flag("attach_pdf")),
        due_days=due_days, extras_as_lines=flag("extras_as_lines"))


def _table(path: Path, value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(path, f"{where} must be a table, got {type(value).__name__}", where)
    return dict(value)


def load_manifest(path: str | Path) -> Manifest:
    """Read and check the manifest at *path* (`ConfigurationError` on anything wrong: an
    unreadable file, bad TOML, a missing or repeated merchant id, a literal secret, an
    unknown policy setting, a journal that is not a PostgreSQL URL)."""
    path = Path(path).resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _bad(path, f"cannot read it: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _bad(path, f"not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise _bad(path, f"unknown setting {unknown[0]!r} (known: {', '.join(sorted(_TOP_KEYS))})",
                   unknown[0])
    journal = data.get("journal")
    if not isinstance(journal, str) or not is_database_url(journal):
        raise _bad(path, "journal must be a PostgreSQL URL (postgresql://...): the workers "
                         "of a fleet share one journal database", "journal")
    defaults = _table(path, data.get("policy", {}), "policy")
    merchants: list[Merchant] = []
    seen: set[str] = set()
    raw = data.get("merchants", [])
    if not isinstance(raw, list) or not raw:
        raise _bad(path, "no merchants: add [[merchants]] tables", "merchants")
    for n, item in enumerate(raw, start=1):
        entry = _table(path, item, f"merchants[{n}]")
        extra = sorted(set(entry) - _MERCHANT_KEYS)
        if extra:
            raise _bad(path, f"merchants[{n}]: unknown setting {extra[0]!r}", extra[0])
        mid = entry.get("id")
        if not isinstance(mid, str) or not _ID.fullmatch(mid):
            raise _bad(path, f"merchants[{n}]: id must be letters, digits, '.', '_' or '-' "
                             f"(at most 128), got {mid!r}", "id")
        if mid in seen:
            raise _bad(path, f"merchant id {mid!r} appears twice", "id")
        seen.add(mid)
        sides = {}
        for side in ("source", "target"):
            settings = _table(path, entry.get(side), f"{mid}.{side}")
            if not isinstance(settings.get("provider"), str):
                raise _bad(path, f"{mid}.{side} needs a provider name", "provider")
            _check_secrets(path, f"{mid}.{side}", settings)
            sides[side] = settings
        policy = {**defaults, **_table(path, entry.get("policy", {}), f"{mid}.policy")}
        unknown_policy = sorted(set(policy) - _POLICY_KEYS)
        if unknown_policy:
            raise _bad(path, f"{mid}: unknown policy setting {unknown_policy[0]!r} (known: "
                             f"{', '.join(sorted(_POLICY_KEYS))})", unknown_policy[0])
        merchants.append(Merchant(mid, sides["source"], sides["target"], policy))
    manifest = Manifest(path, journal, tuple(merchants),
                        lease_seconds=_positive(path, data, "lease_seconds",
                                                DEFAULT_LEASE_SECONDS),
                        settle=_positive(path, data, "settle", DEFAULT_SETTLE))
    for merchant in manifest.merchants:
        manifest.policy(merchant)  # a bad policy is refused at submit time, not on a worker
    return manifest
