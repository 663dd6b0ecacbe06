"""The fleet end to end on real components: a Redis broker, a PostgreSQL journal database,
Celery worker processes, and merchants on the Salla and DayZero sandboxes over sockets."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

# The fleet extra (`invoicekit[fleet]`): absent where only the core is installed (the
# unpacked sdist's own test run), so these tests skip there and say what to install.
_EXTRA = "needs the fleet extra: pip install 'invoicekit[fleet]'"
redis = pytest.importorskip("redis", reason=_EXTRA)
pytest.importorskip("celery", reason=_EXTRA)

from fleet_support import Fleet, make_fleet, wait_for, workers  # noqa: E402

from invoicekit import fleet  # noqa: E402
from invoicekit.cli import main  # noqa: E402
from invoicekit.testing.sandbox import RateLimit  # noqa: E402
from invoicekit_dayzero.sandbox import DayZeroSandbox  # noqa: E402
from invoicekit_salla.sandbox import SallaSandbox  # noqa: E402

MERCHANTS = 50
INVOICES = 2


def _table(found: list[fleet.MerchantStatus]) -> str:
    return "\n".join(f"{s.merchant} {s.state} done={s.done} runs={s.runs} {s.error or ''}"
                     for s in found)


def _settled(manifest: Path, *, states: tuple[str, ...] = ("done", "failed")) -> bool:
    return all(s.state in states for s in fleet.status(manifest))


def _broker_messages(url: str) -> list[str]:
    """Every queued message in the Redis broker, envelope and decoded body."""
    client = redis.Redis.from_url(url)
    try:
        raw = [m.decode() for m in client.lrange("celery", 0, -1)]
    finally:
        client.close()
    return [r + "\n" + base64.b64decode(json.loads(r)["body"]).decode() for r in raw]


def _assert_exactly_once(f: Fleet, dz: DayZeroSandbox, merchants: list[str]) -> None:
    for mid in merchants:
        copies = f.copies(dz, mid)
        assert copies == dict.fromkeys(f.sources[mid], 1), (mid, copies)


def test_two_workers_migrate_fifty_merchants_exactly_once_and_a_bad_one_fails_alone(
        redis_url: str, journal_db: str, salla: SallaSandbox, dayzero: DayZeroSandbox,
        tmp_path: Path) -> None:
    f = make_fleet(tmp_path, journal_db, salla, dayzero, MERCHANTS, INVOICES, prefix="fifty",
                   bad=frozenset({7}))
    bad = "fifty-007"
    good = [m for m in f.sources if m != bad]

    app = fleet.make_app(redis_url)
    queued = fleet.submit(f.manifest, app=app)
    assert len(queued) == MERCHANTS
    # The broker holds one message per merchant: the manifest's path and a merchant id.
    messages = _broker_messages(redis_url)
    assert len(messages) == MERCHANTS
    assert any('"fifty-001"' in m and str(f.manifest) in m for m in messages)
    leaked = [t for t in f.tokens if any(t in m for m in messages)]
    assert leaked == []
    assert {s.state for s in fleet.status(f.manifest)} == {"queued"}

    # A visibility timeout far above a merchant's run: no task comes back while it runs.
    with workers(2, redis_url, f.env, tmp_path, visibility_timeout=120) as (w1, w2):
        wait_for("every merchant settled", lambda: _settled(f.manifest),
                 lambda: _table(fleet.status(f.manifest)) + "\n" + w1.text()[-2000:], 180)
        found = {s.merchant: s for s in fleet.status(f.manifest)}
        assert {m: s.state for m, s in found.items() if s.state != "done"} == {bad: "failed"}, \
            _table(list(found.values()))[:3000]
        assert found[bad].error is not None
        assert found[bad].error.startswith("AuthenticationError")
        assert "dz_test_wrong_token" not in found[bad].error
        assert all(found[m].done == INVOICES and found[m].seen == INVOICES for m in good)
        # both workers took part
        pids = {s.worker.rsplit(":", 1)[1] for s in found.values() if s.worker}
        assert pids == {str(w1.process.pid), str(w2.process.pid)}
        _assert_exactly_once(f, dayzero, good)
        assert all(inv["_business"] != f.businesses[bad] for inv in dayzero.invoices.values())

        # The same task delivered twice: both run (one may wait for the other's lease),
        # neither writes anything.
        before = dayzero.snapshot()["invoices"]
        target = good[0]
        runs = found[target].runs
        for _ in range(2):
            app.send_task(fleet.TASK_NAME, args=(str(f.manifest), target))
        wait_for("both duplicate deliveries ran",
                 lambda: (lambda s: s.runs >= runs + 2 and s.state == "done")(
                     fleet.status(f.manifest)[0]),
                 lambda: _table(fleet.status(f.manifest)[:1]), 90)
        assert dayzero.snapshot()["invoices"] == before
        _assert_exactly_once(f, dayzero, good)

        # `fleet retry` queues the failed merchant again; with the same wrong token it
        # fails again, alone, with the same clear status.
        bad_runs = found[bad].runs
        assert main(["fleet", "retry", bad, "-m", str(f.manifest), "--broker", redis_url]) == 0
        wait_for("the retried merchant ran again",
                 lambda: (lambda s: s.runs > bad_runs and s.state == "failed")(
                     {s.merchant: s for s in fleet.status(f.manifest)}[bad]),
                 lambda: _table(fleet.status(f.manifest)), 90)
        again = {s.merchant: s for s in fleet.status(f.manifest)}[bad]
        assert again.error == found[bad].error

        report = fleet.fleet_report(f.manifest)
        assert report["invoices"]["done"] == INVOICES * (MERCHANTS - 1)
        assert report["invoices"]["verified"] == INVOICES * (MERCHANTS - 1)
        assert report["invoices"]["duplicates"] == 0
        assert report["states"] == {"done": MERCHANTS - 1, "failed": 1}
        assert report["ok"] is False


def test_a_sigkilled_workers_merchant_is_resumed_by_the_other_worker_exactly_once(
        redis_url: str, journal_db: str, salla: SallaSandbox, tmp_path: Path) -> None:
    invoices = 12
    # Each business takes 5 requests a second: a merchant's run lasts long enough to be
    # caught in the middle (and well under the visibility timeout).
    with DayZeroSandbox(rate_limit=RateLimit(5, 1.0, model="leaky")) as dz:
        f = make_fleet(tmp_path, journal_db, salla, dz, 3, invoices, prefix="kill",
                       lease_seconds=3)
        assert main(["fleet", "submit", str(f.manifest), "--broker", redis_url]) == 0
        with workers(2, redis_url, f.env, tmp_path, visibility_timeout=15) as (w1, w2):
            mine = f":{w1.process.pid}"
            caught: list[fleet.MerchantStatus] = []

            def w1_mid_run() -> bool:
                caught[:] = [s for s in fleet.status(f.manifest) if s.state == "running"
                             and (s.worker or "").endswith(mine) and 0 < s.done < invoices]
                return bool(caught)

            wait_for("worker 1 in the middle of a merchant", w1_mid_run,
                     lambda: _table(fleet.status(f.manifest)) + "\n" + w1.text()[-2000:], 60)
            w1.kill()
            victim = caught[0]
            # Its worker is gone: the status says so (the board still says "running").
            now = {s.merchant: s for s in fleet.status(f.manifest)}[victim.merchant]
            assert (now.state, now.worker) == ("stalled", victim.worker), now
            wait_for("every merchant done after the kill",
                     lambda: _settled(f.manifest, states=("done",)),
                     lambda: _table(fleet.status(f.manifest)) + "\n" + w2.text()[-3000:], 90)
            after = {s.merchant: s for s in fleet.status(f.manifest)}[victim.merchant]
            assert after.worker is not None
            assert after.worker.endswith(f":{w2.process.pid}")
            assert after.runs >= 2
            assert after.done == invoices
            _assert_exactly_once(f, dz, list(f.sources))
            report = fleet.fleet_report(f.manifest)
            assert report["ok"] is True
            assert report["invoices"]["duplicates"] == 0
            assert report["invoices"]["verified"] == 3 * invoices
