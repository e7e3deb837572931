#!/usr/bin/env python3
"""The process whose power gets cut: commits one row per transaction to a SQLite database in WAL
mode and prints each row's sequence number (flushed) only after COMMIT has returned, i.e. only
once SQLite has acknowledged it as committed. Runs until it is killed (or for --max-seconds).

    writer.py DB --synchronous FULL|NORMAL [--start N] [--autocheckpoint PAGES] [--seed S] [--setup-only]

Python's sqlite3 module must use the system's shared libsqlite3 (the one GRDB uses) so that an
LD_PRELOADed powercut.so sees its writes; selftest.py checks that the journal is not empty.
"""
import argparse
import random
import sqlite3
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--synchronous", choices=["FULL", "NORMAL"], required=True)
    ap.add_argument("--start", type=int, default=1)
    ap.add_argument("--autocheckpoint", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=60.0)
    ap.add_argument("--setup-only", action="store_true", help="create the schema and exit")
    a = ap.parse_args()
    rng = random.Random(a.seed)

    db = sqlite3.connect(a.db, isolation_level=None)  # no implicit transactions: we say BEGIN/COMMIT
    mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if mode != "wal":
        sys.exit(f"writer: journal_mode is {mode}, not wal")
    db.execute(f"PRAGMA synchronous={a.synchronous}")
    db.execute(f"PRAGMA wal_autocheckpoint={a.autocheckpoint}")
    # seq has no UNIQUE constraint on purpose: a row that came back twice must be visible.
    db.execute("CREATE TABLE IF NOT EXISTS acked(seq INTEGER NOT NULL, payload BLOB NOT NULL)")
    # Churn: rows rewritten and deleted, so that commits touch varied pages, free lists and
    # overflow pages, not only the tail of one b-tree.
    db.execute("CREATE TABLE IF NOT EXISTS churn(k INTEGER PRIMARY KEY, v BLOB NOT NULL)")
    if a.setup_only:
        db.close()
        return
    top = db.execute("SELECT max(seq) FROM acked").fetchone()[0] or 0
    seq = max(a.start, top + 1)

    deadline = time.monotonic() + a.max_seconds
    while time.monotonic() < deadline:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO acked VALUES (?, randomblob(?))", (seq, rng.randint(8, 6000)))
        k = rng.randint(1, 200)
        if rng.random() < 0.3:
            db.execute("DELETE FROM churn WHERE k = ?", (k,))
        else:
            db.execute("INSERT OR REPLACE INTO churn VALUES (?, randomblob(?))", (k, rng.randint(8, 5000)))
        db.execute("COMMIT")
        sys.stdout.write(f"{seq}\n")
        sys.stdout.flush()
        seq += 1


if __name__ == "__main__":
    main()
