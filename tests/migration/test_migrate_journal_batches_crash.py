"""Kill `migrate_async` (SIGKILL) while it writes in batches, resume, prove exactly once.

The async engine marks a batch of writes in flight per commit, ahead of sending them, so
a kill can leave marked writes that were never sent beside writes whose answer was lost.
The next run must tell them apart on the target (found: done; not found once the settle
time has passed: written again), and the last run must leave every ready invoice copied
exactly once. The sandboxes run in this process; the migration runs in a child.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_migrate_crash import (
    assert_each_ready_invoice_copied_once,
    child_env,
    done_count,
    journal_states,
    kill_once_done,
)
from test_migrate_sandboxes import customer_map

from invoicekit.migration import marker
from invoicekit_dayzero.sandbox import DayZeroSandbox
from invoicekit_salla.sandbox import SallaSandbox

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

CHILD = textwrap.dedent('''
    import asyncio, json, sys
    from decimal import Decimal
    import invoicekit
    from invoicekit.migration import (CurrencyPolicy, CustomerPolicy, MigrationPolicy,
                                      load_mapping_file, migrate_async)

    salla, dayzero, journal, customers, verify = sys.argv[1:6]
    policy = MigrationPolicy(
        currency=CurrencyPolicy({("SAR", "USD"): Decimal("0.2666")}),
        customers=CustomerPolicy(mapping=load_mapping_file(customers)),
        due_days=30, extras_as_lines=True)

    async def main() -> bool:
        async with invoicekit.connect_async("salla", **json.loads(salla)) as src, \\
                invoicekit.connect_async("dayzero", **json.loads(dayzero)) as dst:
            report = await migrate_async(src, dst, journal=journal, policy=policy,
                                         concurrency=4, resume=True, settle=0.5,
                                         page_size=10, verify=verify == "verify")
        print(report.render(), file=sys.stderr)
        return report.ok

    sys.exit(0 if asyncio.run(main()) else 1)
''')


def test_sigkill_during_batched_async_writes_then_resume_copies_each_invoice_once(
        sandboxes: tuple[SallaSandbox, DayZeroSandbox, dict[str, str]], tmp_path: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    salla, dz, expected = sandboxes
    journal = tmp_path / "journal.db"
    script = tmp_path / "child.py"
    script.write_text(CHILD, "utf-8")
    args = [json.dumps(salla.settings()), json.dumps(dz.settings()), str(journal),
            str(customer_map(salla, dz, tmp_path))]
    env = child_env(tmp_path_factory)
    rng = random.Random(int(os.environ.get("MIGRATE_CRASH_SEED", "20260301")))
    ready = sum(1 for v in expected.values() if v == "ready")
    kills = 0
    unsent = 0  # left in flight by a killed run with no copy on the target
    for round_ in range(3):
        wanted = done_count(journal) + rng.randint(1, 12)
        child = subprocess.Popen([sys.executable, str(script), *args, "copy"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        kills += kill_once_done(child, journal, wanted, round_)
        on_target = {sid for sid in expected for inv in dz.invoices.values()
                     if marker("salla", sid) in (inv["description"] or "")}
        unsent += sum(1 for sid, (state, _) in journal_states(journal).items()
                      if state == "in_flight" and sid not in on_target)
    assert kills == 3
    assert unsent > 0  # kills landed between a batch's mark and its writes
    assert 0 < done_count(journal) < ready
    final = subprocess.run([sys.executable, str(script), *args, "verify"], capture_output=True,
                           env=env, timeout=90, check=False)
    assert final.returncode == 0, final.stderr.decode()
    assert_each_ready_invoice_copied_once(dz, expected, journal)
