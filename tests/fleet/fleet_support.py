"""Real components for the fleet tests: a Redis server (the broker) on a loopback port in a
temporary directory, Celery worker processes (`invoicekit fleet worker`), and a fleet of
merchants: each its own Salla store (one Salla sandbox) and DayZero business (one DayZero
sandbox), with a manifest whose secrets are `${ENV}` references the workers resolve."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from pg_support import free_port, stop_server  # the migration tests' helpers (via conftest)

import invoicekit
from invoicekit import InvoiceDraft
from invoicekit.migration import marker

HOW_REDIS = "install the Redis server (Debian: `apt-get install redis-server`)"


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway Redis server; yields its URL (database 0)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(f"redis-server is not installed: {HOW_REDIS}")
    try:
        import redis
    except ImportError:
        pytest.skip("the redis client is not installed: pip install 'invoicekit[fleet]'")
    base = Path(tempfile.mkdtemp(prefix="invoicekit-redis-"))
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--dir", str(base)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client = redis.Redis.from_url(url, socket_connect_timeout=1)
                client.ping()
                client.close()
                break
            except redis.exceptions.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    err = server.stderr.read().decode() if server.stderr else ""
                    raise RuntimeError(f"redis-server did not start: {err}") from None
                time.sleep(0.05)
        yield url
    finally:
        stop_server(server, base, grace=15)


@attrs.define
class Worker:
    """A `invoicekit fleet worker --pool solo` process (its pid is the task runner's)."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while "ready." not in self.text():
            if self.process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited with {self.process.returncode}:"
                                     f"\n{self.text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"worker {self.name} not ready after {timeout} s:\n"
                                     f"{self.text()[-3000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL, and reap it (a zombie would still look alive to the lease check)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(20)


@contextlib.contextmanager
def workers(count: int, broker: str, env: dict[str, str], folder: Path, *,
            visibility_timeout: float = 4) -> Iterator[list[Worker]]:
    """*count* real Celery workers (separate processes), ready; stopped afterwards."""
    started: list[Worker] = []
    try:
        for n in range(1, count + 1):
            log = folder / f"worker{n}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "invoicekit", "fleet", "worker", "--broker", broker,
                     "--pool", "solo", "--visibility-timeout", str(visibility_timeout),
                     "--hostname", f"w{n}@%h", "--loglevel", "INFO"],
                    stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env})
            started.append(Worker(f"w{n}", process, log))
        for worker in started:
            worker.wait_ready()
        yield started
    finally:
        for worker in started:
            worker.stop()


@attrs.define
class Fleet:
    """Sandboxes, manifest and environment of a fleet of merchants."""

    manifest: Path
    env: dict[str, str]
    tokens: list[str]
    sources: dict[str, list[str]]
    """Per merchant: its source (Salla) invoice ids."""
    businesses: dict[str, str]
    """Per merchant: its DayZero business id."""

    def copies(self, dz: Any, merchant: str) -> dict[str, int]:
        """How many copies of each of *merchant*'s source invoices its business holds."""
        with dz.lock:
            texts = [json.dumps(inv, ensure_ascii=False) for inv in dz.invoices.values()
                     if inv["_business"] == self.businesses[merchant]]
        return {sid: sum(marker("salla", sid) in t for t in texts)
                for sid in self.sources[merchant]}


def make_fleet(folder: Path, journal: str, salla: Any, dz: Any, merchants: int, invoices: int,
               *, prefix: str, lease_seconds: float = 3, bad: frozenset[int] = frozenset(),
               ) -> Fleet:
    """*merchants* merchants with *invoices* Salla invoices each; the merchants numbered in
    *bad* have a DayZero token the sandbox does not know."""
    env: dict[str, str] = {}
    tokens: list[str] = []
    sources: dict[str, list[str]] = {}
    businesses: dict[str, str] = {}
    lines = [f"journal = {json.dumps(journal)}", f"lease_seconds = {lease_seconds}",
             "settle = 1", "", "[policy]", 'rates = ["SAR:USD=0.2666"]', "due_days = 30",
             "extras_as_lines = true", ""]
    for n in range(1, merchants + 1):
        mid = f"{prefix}-{n:03d}"
        store = salla.add_store(f"store-{mid}", f"متجر {n}")
        salla_token = salla.add_token(f"salla-secret-{mid}", store=store)
        dz_token = f"dz_test_secret_{mid}"
        business = dz.add_business(f"Business {n}", token=dz_token)
        with dz.lock:
            customer = dz._add_customer(business, f"عميل {n}", f"buyer{n}@example.sa")["id"]
        ids: list[str] = []
        mapping = ["source,target"]
        with invoicekit.connect("salla", token=salla_token, base_url=salla.url) as gw:
            for k in range(invoices):
                order = salla.add_order(store=store, customer=f"عميل {n}",
                                        email=f"buyer{n}@example.sa", shipping=Decimal(0),
                                        items=[{"name": f"منتج {k}", "sku": f"S-{k}",
                                                "product_id": str(k + 1), "quantity": 1,
                                                "price": Decimal(f"{10 + k}.50")}])
                ids.append(gw.create_invoice(InvoiceDraft(order_id=order, from_order=True)).id)
                mapping.append(f"order:{order},{customer}")
        (folder / f"{mid}.csv").write_text("\n".join(mapping) + "\n", "utf-8")
        sources[mid] = ids
        businesses[mid] = business
        var = mid.upper().replace("-", "_")
        env[f"SALLA_{var}"] = salla_token
        env[f"DAYZERO_{var}"] = "dz_test_wrong_token" if n in bad else dz_token
        tokens += [salla_token, dz_token]
        lines += ["[[merchants]]", f'id = "{mid}"',
                  f'source = {{ provider = "salla", token = "${{SALLA_{var}}}", '
                  f'base_url = "{salla.url}" }}',
                  f'target = {{ provider = "dayzero", token = "${{DAYZERO_{var}}}", '
                  f'business_id = "{business}", base_url = "{dz.url}" }}',
                  f'policy = {{ customer_map = "{mid}.csv" }}', ""]
    manifest = folder / f"{prefix}.toml"
    manifest.write_text("\n".join(lines), "utf-8")
    return Fleet(manifest, env, tokens, sources, businesses)


def wait_for(what: str, check: Callable[[], bool], describe: Callable[[], str],
             timeout: float) -> None:
    """Poll *check* until true; after *timeout* s fail saying *what* and *describe()*."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout:.0f} s\n{describe()}")
        time.sleep(0.2)
