"""A real PostgreSQL server for the journal tests, started on a loopback port in a
temporary directory and stopped afterwards.

PostgreSQL refuses to run as root, and the tests may run as root (CI does): the server
then runs as the `postgres` system user the Debian package creates. Where the binaries or
psycopg are missing, `postgres_server()` skips with a reason that says how to get them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HOW = ("install the PostgreSQL server (Debian: `apt-get install postgresql`) and psycopg "
       "(`pip install 'invoicekit[postgres]'`)")


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("postgres")
    return Path(on_path).parent if on_path else None


def stop_server(server: subprocess.Popen[bytes], base: str | Path, grace: float) -> None:
    """Stop a server the tests started: SIGTERM, SIGKILL after *grace* seconds; then its
    stderr pipe closed and its temporary folder *base* removed."""
    server.terminate()
    try:
        server.wait(grace)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    if server.stderr is not None:
        server.stderr.close()
    shutil.rmtree(base, ignore_errors=True)


def free_port() -> int:
    """A free TCP port on loopback (for a throwaway server of the tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Run a throwaway server; yields the URL of an empty database on it."""
    try:
        import psycopg
    except ImportError:
        pytest.skip(f"psycopg is not installed: {HOW}")
    bindir = _binaries()
    if bindir is None:
        pytest.skip(f"the PostgreSQL server binaries are not installed: {HOW}")
    user: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` system user to run "
                        f"the server as: {HOW}")
        user = "postgres"
    base = Path(tempfile.mkdtemp(prefix="invoicekit-pg-"))
    if user is not None:
        shutil.chown(base, user, user)
    data = base / "data"
    as_user = {"user": user, "group": user} if user else {}
    subprocess.run([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                    "--no-sync", "-E", "UTF8", "--locale=C"], check=True,
                   capture_output=True, cwd=base, **as_user)  # type: ignore[arg-type]
    port = free_port()
    server = subprocess.Popen(
        [str(bindir / "postgres"), "-D", str(data), "-p", str(port),
         "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={base}",
         "-c", "max_connections=50", "-c", "shared_buffers=16MB"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=base,
        **as_user)  # type: ignore[call-overload]
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with psycopg.connect(url, connect_timeout=2, autocommit=True) as conn:
                    conn.execute("CREATE DATABASE journals")
                break
            except psycopg.OperationalError:
                if server.poll() is not None or time.monotonic() > deadline:
                    err = server.stderr.read().decode() if server.stderr else ""
                    raise RuntimeError(f"PostgreSQL did not start: {err}") from None
                time.sleep(0.1)
        yield f"postgresql://postgres@127.0.0.1:{port}/journals"
    finally:
        # SIGTERM is PostgreSQL's "smart" shutdown after clients leave; fast enough here.
        stop_server(server, base, grace=30)
