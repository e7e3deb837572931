#!/usr/bin/env python3
"""Proves the power-cut harness (powercut.so + powercut-apply) before anything relies on it.

    python3 Tests/PowerLoss/selftest.py [--cycles 30] [--lossy-cycles 30] [--seed S] [--keep]

Needs only cc and python3 (no Swift). Steps:
 1. Builds powercut.so and powercut-apply with cc -Wall -Wextra -Werror into a temporary folder.
 2. synthetic: a process under the shim makes overlapping writes, an extending write, a
    truncate, a write past a hole, an unsynced file renamed over a synced one and an unlinked
    file, then SIGKILLs itself. After --mode drop every file must be exactly its synced image;
    after --mode torn (many seeds) exactly one of the images a disk could hold, computed here
    independently from the list of operations.
 3. FULL: writer.py commits one row per transaction (WAL, synchronous=FULL) under the shim, is
    SIGKILLed after a random time, powercut-apply cuts the power (random seed, mostly torn,
    sometimes drop), and the database must pass PRAGMA integrity_check and hold every
    acknowledged row exactly once. Every cycle continues the database the previous one left.
 4. NORMAL (synchronous=NORMAL: WAL commits are not synced) and IGNORE_FSYNC (FULL, but a disk
    that lies about fsync): the harness must catch lost acknowledged rows in at least one cycle,
    or it could not catch anything.
Exits 0 when all four hold; the last line reads "selftest: N passed, N failed".
"""
import argparse
import itertools
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WRITER = os.path.join(HERE, "writer.py")
SUMMARY = re.compile(
    r"(?P<files>\d+) files? with (?P<unsynced>\d+) unsynced operations \((?P<writes>\d+) writes, (?P<truncs>\d+) "
    r"truncates\): (?P<dropped>\d+) dropped, (?P<kept>\d+) kept, (?P<torn>\d+) torn"
    r"(?: \((?P<torn_path>.*) at (?P<torn_off>\d+): (?P<torn_len>\d+) of \d+ bytes\))? "
    r"\[mode \w+, seed \d+, keep p=[\d.]+; journal (?P<records>\d+) records, (?P<syncs>\d+) syncs"
)


class Failure(Exception):
    pass


def clean_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERCUT_")}
    env.pop("LD_PRELOAD", None)
    return env


def build(tmp):
    cc = os.environ.get("CC", "cc")
    flags = ["-O2", "-Wall", "-Wextra", "-Werror"]
    so = os.path.join(tmp, "powercut.so")
    apply = os.path.join(tmp, "powercut-apply")
    for cmd in (
        [cc, "-shared", "-fPIC", *flags, "-o", so, os.path.join(HERE, "powercut.c"), "-ldl", "-lpthread"],
        [cc, *flags, "-o", apply, os.path.join(HERE, "powercut-apply.c")],
    ):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode or r.stderr.strip():
            raise Failure(f"build failed or warned: {' '.join(cmd)}\n{r.stderr}")
    return so, apply


def describe_sqlite_linkage():
    import _sqlite3

    r = subprocess.run(["ldd", _sqlite3.__file__], capture_output=True, text=True)
    lib = [line.split("=>")[1].split("(")[0].strip() for line in r.stdout.splitlines() if "libsqlite3" in line]
    how = f"dynamically linked to {lib[0]}" if lib else "NOT linked to a shared libsqlite3"
    # Even a SQLite compiled into _sqlite3.so would call libc through the PLT and be seen; only a
    # static executable would not. The journal check below is what proves interception.
    print(f"python3 {sys.version.split()[0]}: _sqlite3 is {how}; SQLite {sqlite3.sqlite_version}")


def run_apply(apply, journal, seed, mode):
    r = subprocess.run([apply, journal, "--seed", str(seed), "--mode", mode], capture_output=True, text=True,
                       env=clean_env())
    if r.returncode:
        raise Failure(f"powercut-apply failed ({r.returncode}): {r.stderr.strip()}")
    m = SUMMARY.search(r.stdout)
    if not m:
        raise Failure(f"powercut-apply printed no summary: {r.stdout!r} {r.stderr!r}")
    g = m.groupdict()
    out = {k: (int(v) if v and v.isdigit() else v) for k, v in g.items()}
    out.update(line=r.stdout.strip(), warnings=r.stderr.strip())
    return out


# ---- 2. synthetic ---------------------------------------------------------------------------

def synthetic_child(d):
    """Runs under the shim; the durable state at the end is f = A*100, t = b"" (see below)."""
    f = os.path.join(d, "f")
    fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)  # write-only: old bytes via /proc
    os.write(fd, b"A" * 100)
    os.fsync(fd)
    os.pwrite(fd, b"B" * 50, 25)       # overlaps the next one
    os.pwrite(fd, b"C" * 50, 50)
    os.lseek(fd, 0, os.SEEK_END)
    os.write(fd, b"D" * 30)            # extends 100 -> 130
    os.ftruncate(fd, 120)              # cuts 10 of them
    os.pwrite(fd, b"E" * 10, 200)      # past the end: a hole 120..200
    # The classic unsafe replace: new contents written, not synced, renamed over a synced file.
    t = os.path.join(d, "t")
    fd2 = os.open(t, os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd2, b"old contents")
    os.fsync(fd2)
    os.close(fd2)
    fd3 = os.open(t + ".tmp", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd3, b"new contents")
    os.close(fd3)
    os.rename(t + ".tmp", t)
    # Written and deleted: nothing left to restore, and no complaint about it.
    u = os.path.join(d, "u")
    fd4 = os.open(u, os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd4, b"scratch")
    os.unlink(u)
    os.write(fd4, b"more")             # to an unlinked file: not journaled
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


F_DURABLE = b"A" * 100
F_OPS = [("w", 25, b"B" * 50), ("w", 50, b"C" * 50), ("w", 100, b"D" * 30), ("t", 120, None), ("w", 200, b"E" * 10)]


def redo(image, ops):
    b = bytearray(image)
    for kind, off, data in ops:
        if kind == "t":
            del b[off:]
            b.extend(b"\0" * (off - len(b)))
        else:
            if len(b) < off:
                b.extend(b"\0" * (off - len(b)))
            b[off:off + len(data)] = data
    return bytes(b)


def f_images(torn):
    """Every image of f a power cut may leave, given which write was torn (None: none in f)."""
    out = set()
    for mask in itertools.product((0, 1), repeat=len(F_OPS)):
        ops = []
        for keep, op in zip(mask, F_OPS):
            if torn and op[0] == "w" and op[1] == torn[0]:
                ops.append(("w", op[1], op[2][:torn[1]]))
            elif keep:
                ops.append(op)
        out.add(redo(F_DURABLE, ops))
    return out


def synthetic(so, apply, tmp, seeds):
    base = os.path.join(tmp, "synthetic")
    for i, seed in enumerate(seeds):
        d = os.path.join(base, str(i), "data")
        os.makedirs(d)
        journal = os.path.join(base, str(i), "journal")
        env = dict(clean_env(), LD_PRELOAD=so, POWERCUT_PREFIX=d + "/", POWERCUT_JOURNAL=journal)
        p = subprocess.run([sys.executable, __file__, "--synthetic-child", d], env=env, capture_output=True, text=True)
        if p.returncode != -signal.SIGKILL:
            raise Failure(f"synthetic child ended with {p.returncode}: {p.stderr}")
        mode = "drop" if i == 0 else "torn"
        s = run_apply(apply, journal, seed, mode)
        f = open(os.path.join(d, "f"), "rb").read()
        t = open(os.path.join(d, "t"), "rb").read()
        if os.path.exists(os.path.join(d, "u")) or os.path.exists(os.path.join(d, "t.tmp")):
            raise Failure("synthetic: an unlinked or renamed name came back")
        if s["warnings"]:
            raise Failure(f"synthetic: unexpected warnings: {s['warnings']}")
        # f's five operations and t's one write ("new contents" on a new, empty inode)
        if s["unsynced"] != 6:
            raise Failure(f"synthetic: expected 6 unsynced operations, apply saw: {s['line']}")
        if mode == "drop":
            if f != F_DURABLE or t != b"":
                raise Failure(f"synthetic drop: f={f!r} t={t!r}")
            continue
        torn_f = (s["torn_off"], s["torn_len"]) if s["torn_path"] and s["torn_path"].endswith("/f") else None
        if f not in f_images(torn_f):
            raise Failure(f"synthetic seed {seed}: f is no image a power cut could leave: {f!r}\n{s['line']}")
        t_ok = {b"", b"new contents"} if torn_f or not s["torn"] else {b"new contents"[:s["torn_len"]]}
        if t not in t_ok:
            raise Failure(f"synthetic seed {seed}: t={t!r} not in {t_ok}\n{s['line']}")
    print(f"synthetic: {len(seeds)} cuts (1 drop, {len(seeds) - 1} torn) each left exactly a possible disk image")


# ---- 3./4. SQLite --------------------------------------------------------------------------

def verify(db):
    """(integrity problems or None, {seq: count}); a database that cannot be read is a problem."""
    try:
        con = sqlite3.connect(db)
        try:
            ic = [r[0] for r in con.execute("PRAGMA integrity_check")]
            rows = dict(con.execute("SELECT seq, count(*) FROM acked GROUP BY seq"))
        finally:
            con.close()
    except sqlite3.DatabaseError as e:
        return str(e), {}
    return (None if ic == ["ok"] else "; ".join(ic[:3])), rows


def phase(name, so, apply, tmp, cycles, synchronous, ignore_fsync, rng, lossy):
    base = os.path.join(tmp, name)
    data = os.path.join(base, "data")
    os.makedirs(data)
    db = os.path.join(data, "ledger.sqlite")
    journal = os.path.join(base, "journal")
    out_path, err_path = os.path.join(base, "stdout"), os.path.join(base, "stderr")
    acked, next_start = set(), 1
    # Under NORMAL only a checkpoint syncs the WAL, and an automatic one runs inside the COMMIT
    # that crosses the limit, before it is acknowledged: with a tiny limit almost every commit
    # would be synced before its row is printed, and there would be little left to lose.
    autocheckpoints = [64, 1000] if lossy else [4, 16, 64, 1000]

    def setup():
        # The schema is made durably, without the shim: with POWERCUT_IGNORE_FSYNC nothing the
        # writer does is ever durable, and a cut that took the tables too would say "no such
        # table" rather than show which acknowledged rows were lost.
        subprocess.run([sys.executable, WRITER, db, "--synchronous", "FULL", "--setup-only"], check=True,
                       env=clean_env())

    setup()
    st = dict(acked=0, lost_cycles=0, lost_rows=0, corrupt=0, unsynced=0, dropped=0, kept=0, torn=0, syncs=0,
              records=0)
    for c in range(cycles):
        seed = rng.randrange(2**32)
        cr = random.Random(seed)
        open(journal, "wb").close()  # a new, empty journal (left empty if the kill beats start-up)
        env = dict(clean_env(), LD_PRELOAD=so, POWERCUT_PREFIX=db, POWERCUT_JOURNAL=journal)
        if ignore_fsync:
            env["POWERCUT_IGNORE_FSYNC"] = "1"
        cmd = [sys.executable, WRITER, db, "--synchronous", synchronous, "--start", str(next_start),
               "--autocheckpoint", str(cr.choice(autocheckpoints)), "--seed", str(seed)]
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
            time.sleep(cr.uniform(0.15, 1.5))
            p.send_signal(signal.SIGKILL)
            p.wait()
        if p.returncode != -signal.SIGKILL:
            raise Failure(f"{name} cycle {c}: writer ended by itself ({p.returncode}): {open(err_path).read()}")
        printed = [int(x) for x in open(out_path).read().split("\n")[:-1]]  # the last piece may be cut
        acked.update(printed)
        st["acked"] += len(printed)
        mode = "drop" if cr.random() < 0.25 else "torn"
        s = run_apply(apply, journal, seed, mode)
        if s["warnings"]:
            print(f"{name} cycle {c}: {s['warnings']}", flush=True)
        for k in ("unsynced", "dropped", "kept", "torn", "syncs", "records"):
            st[k] += s[k]
        problem, rows = verify(db)
        lost = sorted(x for x in acked if x not in rows)
        dups = sorted(x for x, n in rows.items() if n > 1)
        where = f"{name} cycle {c} (seed {seed}, mode {mode}, {len(printed)} acknowledged this cycle)"
        if dups:
            raise Failure(f"{where}: rows present more than once: {dups[:10]}\n{s['line']}")
        if problem:
            if not lossy:
                raise Failure(f"{where}: database damaged: {problem}\n{s['line']}\nkept in {base}")
            st["corrupt"] += 1
            for suffix in ("", "-wal", "-shm"):  # start over: nothing to continue from
                if os.path.exists(db + suffix):
                    os.unlink(db + suffix)
            acked = set()
            setup()
        elif lost:
            if not lossy:
                raise Failure(f"{where}: {len(lost)} acknowledged rows lost, e.g. {lost[:10]}\n{s['line']}\n"
                              f"kept in {base}")
            st["lost_cycles"] += 1
            st["lost_rows"] += len(lost)
            acked.difference_update(lost)  # gone; not to be counted again next cycle
        next_start = max([next_start - 1, *printed, *rows.keys()]) + 1
    if st["records"] == 0 or st["unsynced"] == 0:
        raise Failure(f"{name}: the journal recorded nothing: LD_PRELOAD did not reach SQLite's writes")
    if synchronous == "FULL" and not ignore_fsync and st["syncs"] == 0:
        raise Failure(f"{name}: no fsync/fdatasync was journaled under synchronous=FULL")
    if ignore_fsync and st["syncs"]:
        raise Failure(f"{name}: syncs were journaled although POWERCUT_IGNORE_FSYNC=1")
    detected = st["lost_cycles"] + st["corrupt"]
    line = (f"{name}: {cycles} cycles, {st['acked']} rows acknowledged, lost rows in {st['lost_cycles']} cycles "
            f"({st['lost_rows']} rows), damaged database in {st['corrupt']} cycles; power cuts undid or tore "
            f"{st['unsynced']} unsynced operations ({st['dropped']} dropped, {st['kept']} kept, {st['torn']} torn), "
            f"{st['syncs']} syncs journaled")
    print(line, flush=True)
    if lossy and detected == 0:
        raise Failure(f"{name}: no cycle lost anything, so the harness did not prove it can catch a loss")
    return st


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--synthetic-child":
        synthetic_child(sys.argv[2])
        return 1  # not reached
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=30, help="cycles with synchronous=FULL (must lose nothing)")
    ap.add_argument("--lossy-cycles", type=int, default=30, help="cycles for each of NORMAL and IGNORE_FSYNC")
    ap.add_argument("--synthetic-seeds", type=int, default=40)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(2**32)
    print(f"selftest seed {seed} (replay with --seed {seed})", flush=True)
    rng = random.Random(seed)
    tmp = os.path.realpath(tempfile.mkdtemp(prefix="powercut-"))  # realpath: SQLite opens canonical paths
    passed = failed = 0
    started = time.monotonic()
    try:
        so, apply = build(tmp)
        describe_sqlite_linkage()
        steps = [
            lambda: synthetic(so, apply, tmp, [rng.randrange(2**32) for _ in range(a.synthetic_seeds)]),
            lambda: phase("FULL", so, apply, tmp, a.cycles, "FULL", False, rng, lossy=False),
            lambda: phase("NORMAL", so, apply, tmp, a.lossy_cycles, "NORMAL", False, rng, lossy=True),
            lambda: phase("IGNORE_FSYNC", so, apply, tmp, a.lossy_cycles, "FULL", True, rng, lossy=True),
        ]
        for step in steps:
            try:
                step()
                passed += 1
            except Failure as e:
                print(f"FAILED: {e}", flush=True)
                failed += 1
                a.keep = True
    except Failure as e:
        print(f"FAILED: {e}", flush=True)
        failed += 1
        a.keep = True
    finally:
        if a.keep:
            print(f"files kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"({time.monotonic() - started:.0f} s)")
    print(f"selftest: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
