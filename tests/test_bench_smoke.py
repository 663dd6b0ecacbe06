"""The benchmark suite runs end to end in its quick mode and reports every figure.

No timing is asserted (the machine is shared and noisy); only that `bench/run.py --quick`
completes, writes its JSON, and that each figure has a finite, positive ratio.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = {
    "conversion.salla_invoice_1_item",
    "conversion.salla_invoice_20_items",
    "conversion.salla_invoice_200_items",
    "conversion.dayzero_invoice",
    "unstructure.salla_draft",
    "unstructure.dayzero_draft",
    "overhead.salla_get_invoice_20_items",
    "overhead.dayzero_get_invoice_20_lines",
    "bulk.list_unthrottled",
    "bulk.migrate_unthrottled",
    "bulk.list_rate_limited_window",
    "bulk.list_rate_limited_leaky",
    "bulk.migrate_rate_limited",
    "startup.connect_fake",
    "startup.connect_salla",
    "startup.connect_dayzero",
    "startup.import_invoicekit",
}


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_quick_benchmarks_report_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--json", str(out)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=170, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["mode"] == "quick"
    assert result["failures"] == {}
    names = {f["name"] for f in result["figures"]}
    assert names >= EXPECTED, sorted(EXPECTED - names)
    assert any(n.startswith("memory.list_") for n in names)
    assert any(n.startswith("memory.migrate_") for n in names)
    for figure in result["figures"]:
        assert figure["ours"] > 0, figure
        assert figure["baseline"] > 0, figure
        assert math.isfinite(figure["ratio"]), figure
        assert figure["ratio"] > 0, figure
        assert figure["better"] in ("lower", "higher")
    # The printed table names every figure too.
    for name in names:
        assert f"| {name} |" in done.stdout
