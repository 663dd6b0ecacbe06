"""End to end: a Salla store (the Salla sandbox) migrates to DayZero (the DayZero sandbox)
over real sockets, planned, copied with concurrency, verified; and the command line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from migrate_support import fill_salla_store, policy

import invoicekit
from invoicekit import Customer, Invoice
from invoicekit.migration import CustomerPolicy, marker, migrate, migrate_async
from invoicekit.migration._cli import main
from invoicekit_dayzero.sandbox import DayZeroSandbox
from invoicekit_salla.sandbox import SallaSandbox

ORDERS = 240


@pytest.fixture
def store() -> Iterator[tuple[SallaSandbox, dict[str, str]]]:
    """A Salla store with a few hundred invoices (see `fill_salla_store`)."""
    with SallaSandbox() as sandbox:
        yield sandbox, fill_salla_store(sandbox, ORDERS)


@pytest.fixture
def small_store() -> Iterator[tuple[SallaSandbox, dict[str, str]]]:
    """The same kind of store with 40 orders, for the command-line runs."""
    with SallaSandbox() as sandbox:
        yield sandbox, fill_salla_store(sandbox, 40)


def buyer_of(sandbox: SallaSandbox):  # type: ignore[no-untyped-def]
    """The customer policy's resolver: a Salla invoice names no customer; its order does
    (an application would ask Salla's orders API; the test asks the sandbox)."""
    def resolve(invoice: Invoice) -> Customer | None:
        buyer = sandbox.orders[str(invoice.order_id)]["customer"]
        return Customer(name=buyer["name"], email=buyer["email"])
    return resolve


def test_salla_store_to_dayzero_plan_copy_verify(
        store: tuple[SallaSandbox, dict[str, str]], tmp_path: Path) -> None:
    sandbox, expected = store
    stated = policy(customers=CustomerPolicy(create_by_email=True, resolver=buyer_of(sandbox)))
    journal = tmp_path / "salla-to-dayzero.db"
    with DayZeroSandbox() as dz, \
            invoicekit.connect("salla", **sandbox.settings()) as salla, \
            invoicekit.connect("dayzero", **dz.settings()) as dayzero:
        plan = migrate(salla, dayzero, journal=journal, policy=stated, plan_only=True,
                       plan_path=tmp_path / "plan.jsonl")
        assert dz.invoices == {}
        assert dz.customers == {}
        assert plan.seen == len(expected)
        verdicts = {e.source_id: e.category for e in plan.not_carried}
        assert verdicts == {sid: v for sid, v in expected.items() if v != "ready"}
        reasons = {e.source_id: e.reason or "" for e in plan.not_carried}
        assert all(reasons[sid] for sid in verdicts)
        assert any("credit note" in r for r in reasons.values())
        assert any("whole numbers" in r for r in reasons.values())
        assert any("no email" in r and "عميل رقم" in r for r in reasons.values())
        lines = (tmp_path / "plan.jsonl").read_text("utf-8").splitlines()
        assert len(lines) == len(expected)

    ready = sum(1 for v in expected.values() if v == "ready")
    with DayZeroSandbox() as dz:
        async def run() -> invoicekit.MigrationReport:
            async with invoicekit.connect_async("salla", **sandbox.settings()) as salla, \
                    invoicekit.connect_async("dayzero", **dz.settings()) as dayzero:
                return await migrate_async(salla, dayzero, journal=tmp_path / "copy.db",
                                           policy=stated, concurrency=8, verify=True)

        report = asyncio.run(run())
        assert report.written == ready
        assert report.verified == ready
        assert report.mismatches == ()
        assert report.ok
        tags = [inv["description"] for inv in dz.invoices.values()]
        for sid, verdict in expected.items():
            found = sum(1 for t in tags if marker("salla", sid) in (t or ""))
            assert found == (1 if verdict == "ready" else 0)
        some = next(iter(dz.invoices.values()))
        assert some["currency"] == "USD"
        assert "original total" in some["description"]
        assert "SAR" in some["description"]
        assert len(dz.customers) == len({f"buyer{n % 60}" for n in range(1, ORDERS + 1)
                                         if n % 15})


def test_the_command_line_plans_and_copies(
        small_store: tuple[SallaSandbox, dict[str, str]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    sandbox, expected = small_store
    with DayZeroSandbox() as dz:
        salla_cfg, dz_cfg = write_configs(tmp_path, sandbox, dz)
        mapping = customer_map(sandbox, dz, tmp_path)
        args = ["--from", str(salla_cfg), "--to", str(dz_cfg), "--journal",
                str(tmp_path / "j.db"), "--rate", "SAR:USD=0.2666", "--due-days", "30",
                "--extras-as-lines", "--customer-map", str(mapping), "--json"]
        assert main([*args, "--plan"]) == 0
        plan = json.loads(capsys.readouterr().out)
        assert plan["plan_only"] is True
        assert plan["categories"]["ready"] == sum(v == "ready" for v in expected.values())
        assert dz.invoices == {}
        assert main([*args, "--verify"]) == 2  # the journal holds a plan: --resume needed
        assert "--resume" in capsys.readouterr().err
        assert main([*args, "--resume", "--verify", "--concurrency", "4"]) == 0
        done = json.loads(capsys.readouterr().out)
        assert done["written"] == plan["categories"]["ready"]
        assert done["mismatches"] == []
        assert main([*args, "--resume"]) == 0
        assert json.loads(capsys.readouterr().out)["written"] == 0


def write_configs(tmp_path: Path, salla: SallaSandbox, dz: DayZeroSandbox
                  ) -> tuple[Path, Path]:
    """TOML configs for the two sandboxes (what a user passes to --from and --to)."""
    s, d = salla.settings(), dz.settings()
    salla_cfg = tmp_path / "salla.toml"
    salla_cfg.write_text(f'[invoicekit]\nprovider = "salla"\ntoken = "{s["token"]}"\n'
                         f'base_url = "{s["base_url"]}"\n', "utf-8")
    dz_cfg = tmp_path / "dayzero.toml"
    dz_cfg.write_text(f'[invoicekit]\nprovider = "dayzero"\ntoken = "{d["token"]}"\n'
                      f'business_id = "{d["business_id"]}"\nbase_url = "{d["base_url"]}"\n',
                      "utf-8")
    return salla_cfg, dz_cfg


def customer_map(salla: SallaSandbox, dz: DayZeroSandbox, tmp_path: Path) -> Path:
    """A CSV mapping `order:<id>` to DayZero customers made up front (buyers with email)."""
    ids: dict[str, str] = {}
    rows = ["source,target"]
    with invoicekit.connect("dayzero", **dz.settings()) as dayzero:
        for order_id, order in salla.orders.items():
            buyer = order["customer"]
            if not buyer["email"]:
                continue
            if buyer["email"] not in ids:
                made = dayzero.create_customer(Customer(name=buyer["name"], email=buyer["email"]))
                assert made.id is not None
                ids[buyer["email"]] = made.id
            rows.append(f"order:{order_id},{ids[buyer['email']]}")
    path = tmp_path / "customers.csv"
    path.write_text("\n".join(rows) + "\n", "utf-8")
    return path
