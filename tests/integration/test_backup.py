"""Backup and restore through the real allotd (issue 8, item 7).

`allotd --backup DIR2 --data DIR` is taken while clients price invoices and
record usage. The copy must verify, serve as a store of its own (a second
allotd on DIR2), hold every write answered before the backup began exactly as
answered, hold nothing sent after it ended, and be a consistent cut: its
allotments are the sum of the writes in it, and its threshold events are a
prefix of the live store's. A backup never overwrites a store.

Restore (the procedure these tests follow; DIR2 must not hold a store yet):
    allotd --backup /backups/allot-DATE --data /var/lib/allot   # hot, while serving
    allotd --verify --data /backups/allot-DATE                  # exit 0: the copy is whole
    # to restore: stop allotd, keep the old directory, put a copy of the backup in place
    mv /var/lib/allot /var/lib/allot.old && cp -a /backups/allot-DATE /var/lib/allot
    allotd --verify --data /var/lib/allot && allotd --data /var/lib/allot ...

Run: ctest -R it_backup   (or, with ALLOTD and ALLOT_PYGEN exported,
/usr/bin/python3 -m unittest -v test_backup from this directory)
"""

import collections
import os
import random
import stat
import sys
import threading
import time
import unittest

import grpc

import harness
from builders import (AMT, CAL_MONTH, QTY, enrollment, invoice, line, member, price_raw,
                      put_member, put_plan, put_services, rule, usage_raw, version)
from harness import AllotTestCase, Watcher, pb, run_backup, run_verify

SEED = int(os.environ.get("ALLOT_IT_SEED") or random.SystemRandom().randrange(1 << 30))
LONG = 30.0
MEMBERS = ["m%d" % i for i in range(4)]
MONTHS = ["2025-%02d" % m for m in range(1, 7)]
PRICERS = 4


def setup_catalog(st):
    put_services(st, {"HOME_VISIT": 15000, "97110": 9000, "LAB": 5000})
    put_plan(st, "p", version("2025-01-01", [
        rule("hv", ["HOME_VISIT"], QTY, 10, CAL_MONTH),
        rule("pt", ["97110"], QTY, 6, CAL_MONTH, thresholds=[50, 100]),
        rule("lab", ["LAB"], AMT, 10000000, CAL_MONTH, thresholds=[1, 5, 10])]))
    for m in MEMBERS:
        put_member(st, member(m, [enrollment("p", "2025-01-01")]))


class Load:
    """PRICERS threads pricing fresh invoices and one recording usage, until
    stop(). Every write is kept with the time its request was sent and the
    time its answer came."""

    def __init__(self, channel, seed):
        self.ch = channel
        self.lock = threading.Lock()
        self.requests = {}   # id -> (kind, request)
        self.sent = {}       # id -> monotonic time the request was sent
        self.answers = {}    # id -> (monotonic time answered, response bytes)
        self.errors = []
        self._stop = threading.Event()
        rng = random.Random(seed)
        self.threads = [threading.Thread(target=self._price, args=(t, rng.random()), daemon=True)
                        for t in range(PRICERS)]
        self.threads.append(threading.Thread(target=self._usage, args=(rng.random(),),
                                             daemon=True))
        for t in self.threads:
            t.start()

    def _send(self, key, kind, req, fn):
        with self.lock:
            self.requests[key] = (kind, req)
            self.sent[key] = time.monotonic()
        try:
            body, replayed = fn(self.ch, req, timeout=LONG)
        except grpc.RpcError as e:
            self.errors.append((key, e.code(), e.details()))
            return
        if replayed:
            self.errors.append((key, "a fresh write was answered as a replay"))
        with self.lock:
            self.answers[key] = (time.monotonic(), body)

    def _price(self, t, seed):
        r = random.Random(seed)
        i = 0
        while not self._stop.is_set():
            lines = [line(r.choice(["HOME_VISIT", "HOME_VISIT", "97110", "LAB"]),
                          "%s-%02d" % (r.choice(MONTHS), r.randint(1, 28)), r.randint(1, 2))
                     for _ in range(r.randint(1, 3))]
            key = "t%d-%d" % (t, i)
            i += 1
            self._send(key, "invoice", invoice(key, r.choice(MEMBERS), lines), price_raw)

    def _usage(self, seed):
        r = random.Random(seed)
        i = 0
        while not self._stop.is_set():
            key = "u%d" % i
            i += 1
            req = pb.RecordUsageRequest(
                usage_id=key, member_id=r.choice(MEMBERS), rule_key="lab",
                service_date="%s-%02d" % (r.choice(MONTHS), r.randint(1, 28)),
                amount=r.randint(1000, 60000), source=pb.USAGE_SOURCE_EXTERNAL)
            self._send(key, "usage", req, usage_raw)
            time.sleep(0.002)

    def answered(self):
        with self.lock:
            return dict(self.answers)

    def stop(self):
        self._stop.set()
        for t in self.threads:
            t.join(60)
        return [t for t in self.threads if t.is_alive()]


def watch_all(stub, n_min=0):
    """Every threshold event stored, from seq 1."""
    w = Watcher(stub, pb.WatchThresholdsRequest(from_seq=1), timeout=120)
    try:
        w.wait_for(n_min, 20)
        return w.quiet(0.5)
    finally:
        w.cancel()


class BackupRestore(AllotTestCase):
    def msg(self, text):
        return "%s (ALLOT_IT_SEED=%d)" % (text, SEED)

    def verify_ok(self, data_dir):
        rc, out = run_verify(data_dir)
        self.assertEqual(rc, 0, "allotd --verify --data %s: %s" % (data_dir, out))
        self.assertIn("ledger ok", out)

    def test_hot_backup_under_write_load_then_restore(self):
        a = self.start_server()
        setup_catalog(a.stub)
        load = Load(a.channel, SEED)
        backup_dir = os.path.join(self.tmpdir(), "backup")
        try:
            deadline = time.monotonic() + 30
            while len(load.answers) < 300 and not load.errors:
                self.assertLess(time.monotonic(), deadline, "the load is too slow")
                time.sleep(0.01)
            # the backup, with writes still being answered around and during it
            t0 = time.monotonic()
            before = load.answered()
            rc, out = run_backup(a.data_dir, backup_dir)
            t1 = time.monotonic()
            self.assertEqual(rc, 0, out)
            self.assertEqual(harness.sanitizer_reports(out), [], out)
            self.assertIn(backup_dir, out)
            time.sleep(0.3)
        finally:
            hung = load.stop()
        self.assertEqual(hung, [], "client threads hang")
        self.assertEqual(load.errors, [], self.msg("errors in the load"))
        answered = load.answered()
        during = [k for k, (ta, _) in answered.items() if load.sent[k] >= t0 and ta <= t1]
        after = sorted(k for k, ts in load.sent.items() if ts > t1)
        # the load ran before, through and after the backup (how many writes
        # were answered while it ran depends on how fast it is: reported only)
        self.assertTrue(before, "no write was answered before the backup")
        self.assertTrue(after, "no write was sent after the backup")
        sys.stderr.write("\n    [backup took %.0f ms; %d writes answered before it, %d during, "
                         "%d sent after] " % ((t1 - t0) * 1000, len(before), len(during),
                                              len(after)))

        # the copy: whole, readable by its owner only, and never the live store
        self.verify_ok(backup_dir)
        self.verify_ok(a.data_dir)
        mode = stat.S_IMODE(os.stat(os.path.join(backup_dir, "data.mdb")).st_mode)
        self.assertEqual(mode & 0o077, 0, "backup data.mdb is mode %o" % mode)
        mode = stat.S_IMODE(os.stat(backup_dir).st_mode)
        self.assertEqual(mode & 0o077, 0, "backup directory is mode %o" % mode)

        # restore: a second allotd on the copy, next to the live one
        b = self.new_server(workdir=self.tmpdir(), data_dir=backup_dir).start()
        self.assertNotEqual(a.port, b.port)

        # 1. the copy is consistent on its own, before anything is written to it:
        # in every allotment, used is the sum of the entries behind it, and
        # those entries name the writes the copy holds
        used = {}
        entries = collections.Counter()      # (kind, id) -> units or cents
        for m in MEMBERS:
            for month in MONTHS:
                resp = b.stub.GetAllotments(pb.GetAllotmentsRequest(member_id=m,
                                                                    as_of=month + "-15"))
                for al in resp.allotments:
                    self.assertEqual(al.used, sum(h.amount for h in al.history),
                                     "allotment %s/%s/%s: used is not the sum of its entries"
                                     % (m, al.rule_key, al.period_start))
                    used[(m, al.rule_key, al.period_start)] = al.used
                    for h in al.history:
                        key = ("invoice", h.invoice_id) if h.invoice_id else ("usage", h.usage_id)
                        entries[key] += h.amount
        events_b = watch_all(b.stub)

        # 2. every write answered before the backup began is in it, byte for byte
        for key, (_, body) in sorted(before.items()):
            kind, req = load.requests[key]
            got, replayed = (price_raw if kind == "invoice" else usage_raw)(
                b.channel, req, timeout=LONG)
            self.assertTrue(replayed, self.msg("%s %s, answered before the backup, is not in it"
                                               % (kind, key)))
            self.assertEqual(got, body, self.msg("%s %s replays other bytes from the backup"
                                                 % (kind, key)))

        # 3. every write the entries name is whole in the copy (it replays, with
        # the bytes the live server answered), and the allotments are exactly
        # the sum of the writes present
        want = collections.Counter()
        for kind, key in sorted(entries):
            _, req = load.requests[key]
            got, replayed = (price_raw if kind == "invoice" else usage_raw)(
                b.channel, req, timeout=LONG)
            self.assertTrue(replayed, "%s %s has entries in the backup but no record"
                            % (kind, key))
            if key in answered:
                self.assertEqual(got, answered[key][1])
            drawn = 0
            if kind == "invoice":
                r = pb.PriceInvoiceResponse.FromString(got)
                for ln in r.lines:
                    for u in ln.rules:
                        drawn += u.drawn
                        if u.drawn:
                            want[(r.member_id, u.rule_key, u.period_start)] += u.drawn
            else:
                u = pb.RecordUsageResponse.FromString(got).rule
                drawn = u.drawn
                want[(req.member_id, u.rule_key, u.period_start)] += u.drawn
            self.assertEqual(entries[(kind, key)], drawn,
                             "%s %s: its entries in the backup are not what it drew" % (kind, key))
        self.assertEqual({k: v for k, v in used.items() if v}, dict(want),
                         "the backup's allotments are not the sum of the writes in it")

        # 4. its threshold events are numbered 1..n, name writes it holds, and are
        # the first n events of the live store (the copy is a cut of one history)
        self.assertEqual([e.seq for e in events_b], list(range(1, len(events_b) + 1)))
        for e in events_b:
            key = ("invoice", e.invoice_id) if e.invoice_id else ("usage", e.usage_id)
            self.assertIn(key, entries, "event %d names a write the backup does not hold"
                          % e.seq)
        events_a = watch_all(a.stub, len(events_b))
        self.assertEqual(events_b, events_a[:len(events_b)],
                         "the backup's events are not a prefix of the live store's")

        # 5. nothing sent after the backup ended is in it: each prices afresh
        for key in after:
            kind, req = load.requests[key]
            self.assertNotIn((kind, key), entries)
            _, replayed = (price_raw if kind == "invoice" else usage_raw)(
                b.channel, req, timeout=LONG)
            self.assertFalse(replayed, "%s %s was sent after the backup ended but is in it"
                             % (kind, key))

        self.assertEqual(b.stop(), 0)
        self.assertEqual(a.stop(), 0)
        self.verify_ok(backup_dir)
        self.verify_ok(a.data_dir)
        for s in (a, b):
            self.assertEqual(harness.sanitizer_reports(s.log_text(all_runs=True)), [])

    def test_backup_never_overwrites_a_store(self):
        a = self.start_server()
        setup_catalog(a.stub)
        price_raw(a.channel, invoice("i1", "m0", [line("HOME_VISIT", "2025-01-02", 2)]))
        dest = os.path.join(self.tmpdir(), "backup")
        rc, out = run_backup(a.data_dir, dest)
        self.assertEqual(rc, 0, out)
        price_raw(a.channel, invoice("i2", "m0", [line("HOME_VISIT", "2025-01-03", 1)]))
        digest = harness.tree_digest(dest)
        live = harness.tree_digest(a.data_dir)

        # into a directory that holds a store: the backup just taken, or the
        # live data directory itself
        for target in (dest, a.data_dir):
            with self.subTest(target=target):
                rc, out = run_backup(a.data_dir, target)
                self.assertEqual(harness.sanitizer_reports(out), [], out)
                self.assertEqual(rc, 1, "backup into %s: exit %d:\n%s" % (target, rc, out))
                self.assertIn(target, out)
                self.assertIn("already holds a store", out)
        self.assertEqual(harness.tree_digest(dest), digest, "the earlier backup was changed")
        self.assertEqual(harness.tree_digest(a.data_dir), live, "the live store was changed")

        # a destination that cannot be a directory, or whose parent is missing
        f = os.path.join(self.tmpdir(), "file")
        with open(f, "w") as fh:
            fh.write("x")
        for target in (f, os.path.join(self.tmpdir(), "no", "such", "dir")):
            with self.subTest(target=target):
                rc, out = run_backup(a.data_dir, target)
                self.assertEqual(harness.sanitizer_reports(out), [], out)
                self.assertEqual(rc, 1, "backup into %s: exit %d:\n%s" % (target, rc, out))
                self.assertIn(target, out)

        # the server was never disturbed, and the first backup restores i1 only
        self.assertEqual(price_raw(a.channel, invoice("i2", "m0", [
            line("HOME_VISIT", "2025-01-03", 1)]))[1], True)
        self.assertEqual(a.stop(), 0)
        self.verify_ok(dest)
        b = self.new_server(workdir=self.tmpdir(), data_dir=dest).start()
        self.assertTrue(price_raw(b.channel, invoice("i1", "m0", [
            line("HOME_VISIT", "2025-01-02", 2)]))[1])
        self.assertFalse(price_raw(b.channel, invoice("i2", "m0", [
            line("HOME_VISIT", "2025-01-03", 1)]))[1])

    def test_backup_and_verify_of_a_missing_store_fail(self):
        # A mistyped --data must not produce an empty "backup" (or an "ok"
        # from --verify) and must not create a store where there was none.
        for mode in ("--backup", "--verify"):
            d = self.tmpdir()
            missing = os.path.join(d, "no-such-store")
            dest = os.path.join(d, "backup")
            args = (["--backup", dest] if mode == "--backup" else ["--verify"]) + \
                ["--data", missing]
            with self.subTest(mode=mode):
                rc, out = harness.run_allotd(args)
                self.assertEqual(harness.sanitizer_reports(out), [], out)
                self.assertEqual(rc, 1, "`allotd %s`: exit %d:\n%s" % (" ".join(args), rc, out))
                self.assertIn(missing, out)
                self.assertFalse(os.path.exists(missing), "%s created %s"
                                 % (args[0], missing))
                self.assertFalse(os.path.exists(os.path.join(dest, "data.mdb")),
                                 "a backup was written from a store that does not exist")


if __name__ == "__main__":
    unittest.main()
