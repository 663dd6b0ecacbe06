"""The journal's durability switch, seen from inside a transaction.

Written against a mutant `python3 dev.py mutate journal` found alive (docs/reliability.md,
"Mutation testing"): `durable` inverted, so the in-flight mark would be committed without a
full sync and the bookkeeping after it with one. SQLite reports the level it runs at:
`PRAGMA synchronous` is 2 for FULL and 1 for NORMAL.
"""

from __future__ import annotations

from pathlib import Path

from invoicekit.migration._journal import Journal


def _level(db: object) -> int:
    return int(db.execute("PRAGMA synchronous").fetchone()[0])  # type: ignore[attr-defined]


def test_a_durable_transaction_syncs_fully_and_a_light_one_only_for_its_length(
        tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", source="salla", target="dayzero", resume=True)
    try:
        with journal.transaction(durable=True) as db:
            assert _level(db) == 2
        with journal.transaction(durable=False) as db:
            assert _level(db) == 1
        with journal.transaction() as db:  # durable unless told otherwise
            assert _level(db) == 2
    finally:
        journal.close()
