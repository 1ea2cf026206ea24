"""Fault tests through the real allotd (issue 8, item 6):

  KillDuringGroupCommit   kill -9 while several clients price invoices and
                          record usage, 20 rounds: --verify passes after each
                          crash, every answered write replays byte-identical,
                          every unanswered one is all there or not at all,
                          allotments and threshold events match what is stored
  MapFull                 --map-max 2M: writes fail RESOURCE_EXHAUSTED and
                          leave nothing; reads go on; a larger --map-max heals
  BadDataDir              a data directory that is a file, random bytes, another
                          program's LMDB, a newer schema, a truncated data.mdb,
                          unreadable: exit 1 and a message naming the path
  Deadlines               PriceInvoice / RecordUsage with 0.5-15 ms deadlines or
                          cancelled mid-flight under load: all or nothing
  MalformedBurst          garbage, oversized messages, unknown methods and raw
                          TCP junk while good traffic flows: every good call is
                          right, every bad one gets its code, the server stays up

Run: ctest -R it_faults   (or, with ALLOTD and ALLOT_PYGEN exported,
/usr/bin/python3 -m unittest -v test_faults from this directory).
ALLOT_IT_SEED=N replays the random choices of a failed run (the seed is printed
in every failure message).
"""

import collections
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest

import grpc

import harness
from builders import (AMT, CAL_MONTH, PRICE_INVOICE, QTY, RECORD_USAGE, REPLAYED, USED_UP,
                      COVERED, enrollment, invoice, line, member, price_raw, put_member,
                      put_plan, put_services, rule, usage_raw, version)
from harness import AllotTestCase, Watcher, health_pb2, pb, run_verify

SEED = int(os.environ.get("ALLOT_IT_SEED") or random.SystemRandom().randrange(1 << 30))
SC = grpc.StatusCode
LONG = 30.0  # seconds: the deadline of calls that must succeed, under load and ASan

# The catalog of the crash, deadline and map-full tests. "lab" is an amount
# rule so large that no pool reaches it: RecordUsage on it never clamps
# `remaining`, which keeps every threshold crossing computable from answers.
PRICES = {"HOME_VISIT": 15000, "97110": 9000, "LAB": 5000}
THRESHOLDS = {"hv": [70, 80, 90, 100], "pt": [50, 100], "lab": [1, 5, 10]}
LAB_ALLOWANCE = 10000000
MEMBERS = ["m%d" % i for i in range(4)]
MONTHS = ["2025-%02d" % m for m in range(1, 7)]


def setup_catalog(st, members=MEMBERS):
    put_services(st, PRICES)
    put_plan(st, "p", version("2025-01-01", [
        rule("hv", ["HOME_VISIT"], QTY, 10, CAL_MONTH),
        rule("pt", ["97110"], QTY, 6, CAL_MONTH, thresholds=THRESHOLDS["pt"]),
        rule("lab", ["LAB"], AMT, LAB_ALLOWANCE, CAL_MONTH, thresholds=THRESHOLDS["lab"])]))
    for m in members:
        put_member(st, member(m, [enrollment("p", "2025-01-01")]))


def random_invoice(rng, iid, members=MEMBERS, months=MONTHS, max_lines=3):
    lines = []
    for _ in range(rng.randint(1, max_lines)):
        code = rng.choice(["HOME_VISIT", "HOME_VISIT", "97110", "LAB"])
        date = "%s-%02d" % (rng.choice(months), rng.randint(1, 28))
        lines.append(line(code, date, rng.randint(1, 3)))
    return invoice(iid, rng.choice(members), lines)


def random_usage(rng, uid, members=MEMBERS, months=MONTHS):
    return pb.RecordUsageRequest(
        usage_id=uid, member_id=rng.choice(members), rule_key="lab",
        service_date="%s-%02d" % (rng.choice(months), rng.randint(1, 28)),
        amount=rng.randint(1000, 60000),
        source=rng.choice([pb.USAGE_SOURCE_PRIOR, pb.USAGE_SOURCE_EXTERNAL,
                           pb.USAGE_SOURCE_ADJUSTMENT]))


def crossed(rule_key, allowance, before, after):
    return [t for t in THRESHOLDS[rule_key] if before * 100 < t * allowance <= after * 100]


def note(text):
    """One line of numbers in the verbose output (what a run actually did)."""
    sys.stderr.write("\n    [%s] " % text)


def run_threads(fns, join_timeout=120):
    """Runs each fn in its own thread; returns (threads still alive, errors)."""
    errors = []

    def wrap(fn):
        try:
            fn()
        except BaseException as e:  # noqa: B902 - reported by the caller
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(fn,), daemon=True) for fn in fns]
    for t in threads:
        t.start()
    deadline = time.monotonic() + join_timeout
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    return [t for t in threads if t.is_alive()], errors


class FaultCase(AllotTestCase):
    """Bookkeeping of what is known to be stored, and the checks that the
    store agrees with it."""

    def setUp(self):
        self.requests = {}        # invoice id -> request
        self.usage_requests = {}  # usage id -> request
        self.present = {}         # invoice id -> response bytes, known stored
        self.present_usage = {}   # usage id -> response bytes, known stored
        self.events = []          # events seen by the last check_events

    def msg(self, text):
        return "%s (ALLOT_IT_SEED=%d)" % (text, SEED)

    def verify_store(self, data_dir):
        rc, out = run_verify(data_dir)
        self.assertEqual(rc, 0, self.msg("allotd --verify: %s" % out))
        self.assertIn("ledger ok", out)
        self.assertEqual(harness.sanitizer_reports(out), [], out)

    def assert_clean_log(self, s):
        text = s.log_text(all_runs=True)
        self.assertEqual(harness.sanitizer_reports(text), [], text)

    # -- resolving writes whose outcome the client does not know -------------
    def settle_invoice(self, ch, iid):
        """iid was sent but not answered: either all of it is stored (a
        retry replays it) or none of it (a retry prices it afresh, and then
        replays those bytes). Returns True when it was there."""
        req = self.requests[iid]
        got, replayed = price_raw(ch, req, timeout=LONG)
        if not replayed:
            again, replayed2 = price_raw(ch, req, timeout=LONG)
            self.assertTrue(replayed2, self.msg("re-priced invoice %s does not replay" % iid))
            self.assertEqual(again, got, self.msg("re-priced invoice %s replays other bytes"
                                                  % iid))
        self.present[iid] = got
        return replayed

    def settle_usage(self, ch, uid):
        req = self.usage_requests[uid]
        got, replayed = usage_raw(ch, req, timeout=LONG)
        if not replayed:
            again, replayed2 = usage_raw(ch, req, timeout=LONG)
            self.assertTrue(replayed2, self.msg("re-recorded usage %s does not replay" % uid))
            self.assertEqual(again, got)
        self.present_usage[uid] = got
        return replayed

    def check_answered(self, ch, answered, answered_usage):
        """Every answered write replays the very bytes the client got."""
        for iid, body in sorted(answered.items()):
            got, replayed = price_raw(ch, self.requests[iid], timeout=LONG)
            self.assertTrue(replayed, self.msg("answered invoice %s is gone" % iid))
            self.assertEqual(got, body, self.msg("answered invoice %s replays other bytes"
                                                 % iid))
            self.present[iid] = body
        for uid, body in sorted(answered_usage.items()):
            got, replayed = usage_raw(ch, self.usage_requests[uid], timeout=LONG)
            self.assertTrue(replayed, self.msg("answered usage %s is gone" % uid))
            self.assertEqual(got, body, self.msg("answered usage %s replays other bytes" % uid))
            self.present_usage[uid] = body

    # -- the store agrees with what is present -------------------------------
    def draws(self):
        """(member, rule key, period start) -> units or cents drawn, from the
        answers of every present invoice and usage record."""
        want = collections.Counter()
        for body in self.present.values():
            r = pb.PriceInvoiceResponse.FromString(body)
            for ln in r.lines:
                for u in ln.rules:
                    if u.drawn:
                        want[(r.member_id, u.rule_key, u.period_start)] += u.drawn
        for uid, body in self.present_usage.items():
            u = pb.RecordUsageResponse.FromString(body).rule
            want[(self.usage_requests[uid].member_id, u.rule_key, u.period_start)] += u.drawn
        return want

    def check_used(self, st, members=MEMBERS, months=MONTHS):
        got = collections.Counter()
        for m in members:
            for month in months:
                resp = st.GetAllotments(pb.GetAllotmentsRequest(member_id=m,
                                                                as_of=month + "-15"))
                for a in resp.allotments:
                    if a.used:
                        got[(m, a.rule_key, a.period_start)] += a.used
        self.assertEqual(dict(got), dict(self.draws()),
                         self.msg("allotments do not count each stored write exactly once"))

    def expected_events(self):
        want = collections.Counter()
        for iid, body in self.present.items():
            r = pb.PriceInvoiceResponse.FromString(body)
            for ln in r.lines:
                for u in ln.rules:
                    if u.drawn:
                        after = u.allowance - u.remaining
                        for p in crossed(u.rule_key, u.allowance, after - u.drawn, after):
                            want[(r.member_id, iid, ln.line_id, "", u.rule_key, p)] += 1
        for uid, body in self.present_usage.items():
            u = pb.RecordUsageResponse.FromString(body).rule
            after = u.allowance - u.remaining
            for p in crossed(u.rule_key, u.allowance, after - u.drawn, after):
                want[(self.usage_requests[uid].member_id, "", "", uid, u.rule_key, p)] += 1
        return want

    def check_events(self, st):
        want = self.expected_events()
        n = sum(want.values())
        w = Watcher(st, pb.WatchThresholdsRequest(from_seq=1), timeout=120)
        try:
            w.wait_for(n, 20)
            evs = w.quiet(0.2)
        finally:
            w.cancel()
        self.assertEqual([e.seq for e in evs], list(range(1, len(evs) + 1)),
                         self.msg("event seqs have gaps or duplicates"))
        self.assertEqual(evs[:len(self.events)], self.events,
                         self.msg("events seen before the crash changed or vanished"))
        got = collections.Counter((e.member_id, e.invoice_id, e.line_id, e.usage_id,
                                   e.rule_key, e.percent) for e in evs)
        self.assertEqual(got, want, self.msg("threshold events do not match the stored writes"))
        self.events = evs


# ---------------------------------------------------------------------------
# kill -9 during group commit
# ---------------------------------------------------------------------------

class KillDuringGroupCommit(FaultCase):
    ROUNDS = 20
    PRICERS = 5
    MIN_ANSWERED = 8       # answers in a round before the kill may come
    MAX_EXTRA_DELAY = 0.3  # then the kill comes within this many seconds

    def load_and_kill(self, rnd, rng):
        """PRICERS threads price fresh invoices and one records usage until
        SIGKILL, which comes at a random moment once the round has some
        answers. Returns (attempted invoice ids, attempted usage ids,
        answered invoices, answered usages)."""
        stop, killed = threading.Event(), threading.Event()
        lock = threading.Lock()
        attempted, attempted_usage = [], []
        answered, answered_usage = {}, {}
        early = []
        ch = self.s.channel

        def pricer(t):
            r = random.Random(rng.random())
            i = 0
            while not stop.is_set():
                iid = "r%d-t%d-%d" % (rnd, t, i)
                i += 1
                req = random_invoice(r, iid)
                with lock:
                    self.requests[iid] = req
                    attempted.append(iid)
                try:
                    body, replayed = price_raw(ch, req, timeout=LONG)
                except (grpc.RpcError, ValueError) as e:
                    if not killed.is_set():
                        early.append((iid, e))
                    return
                if replayed:
                    early.append((iid, "a fresh invoice was answered as a replay"))
                with lock:
                    answered[iid] = body

        def recorder():
            r = random.Random(rng.random())
            i = 0
            while not stop.is_set():
                uid = "r%d-u%d" % (rnd, i)
                i += 1
                req = random_usage(r, uid)
                with lock:
                    self.usage_requests[uid] = req
                    attempted_usage.append(uid)
                try:
                    body, replayed = usage_raw(ch, req, timeout=LONG)
                except (grpc.RpcError, ValueError) as e:
                    if not killed.is_set():
                        early.append((uid, e))
                    return
                if replayed:
                    early.append((uid, "a fresh usage was answered as a replay"))
                with lock:
                    answered_usage[uid] = body

        threads = [threading.Thread(target=pricer, args=(t,), daemon=True)
                   for t in range(self.PRICERS)]
        threads.append(threading.Thread(target=recorder, daemon=True))
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with lock:
                if len(answered) >= self.MIN_ANSWERED or early:
                    break
            time.sleep(0.005)
        time.sleep(rng.uniform(0, self.MAX_EXTRA_DELAY))
        killed.set()
        self.s.proc.kill()  # the crash, with a group commit most likely under way
        self.s.proc.wait()
        stop.set()
        self.s.close_channel()
        for t in threads:
            t.join(30)
            self.assertFalse(t.is_alive(), "a client thread hangs after the crash")
        self.assertEqual(early, [], self.msg("errors before the crash in round %d" % rnd))
        self.assertGreaterEqual(len(answered), self.MIN_ANSWERED,
                                self.msg("too little load in round %d" % rnd))
        return attempted, attempted_usage, answered, answered_usage

    def test_kill9_during_group_commit_20_rounds(self):
        rng = random.Random(SEED)
        self.s = self.start_server()
        setup_catalog(self.s.stub)
        stats = collections.Counter()
        for rnd in range(self.ROUNDS):
            attempted, attempted_usage, answered, answered_usage = self.load_and_kill(rnd, rng)
            self.verify_store(self.s.data_dir)
            self.s = self.new_server(workdir=self.s.workdir, data_dir=self.s.data_dir).start()
            ch = self.s.channel
            self.check_answered(ch, answered, answered_usage)
            for iid in attempted:
                if iid not in answered:
                    stats["invoice was there" if self.settle_invoice(ch, iid)
                          else "invoice was not"] += 1
            for uid in attempted_usage:
                if uid not in answered_usage:
                    stats["usage was there" if self.settle_usage(ch, uid)
                          else "usage was not"] += 1
            stats["answered"] += len(answered) + len(answered_usage)
            self.check_used(self.s.stub)
            self.check_events(self.s.stub)
        note("seed %d, %d rounds: %s" % (SEED, self.ROUNDS, dict(stats)))
        self.assertEqual(self.s.stop(), 0)
        self.verify_store(self.s.data_dir)
        self.assert_clean_log(self.s)
        # every round had unanswered writes in flight when the kill came
        self.assertGreater(stats["invoice was there"] + stats["invoice was not"], 0, stats)


# ---------------------------------------------------------------------------
# the map is full
# ---------------------------------------------------------------------------

def big_invoice(iid, member_id="m0", nlines=40, salt=0):
    """An invoice of nlines one-unit lines spread over the months: about
    15 KiB of store per invoice, so 2 MiB fill in a hundred or so."""
    return invoice(iid, member_id, [
        line("HOME_VISIT" if (k + salt) % 3 else "97110",
             "%s-%02d" % (MONTHS[k % len(MONTHS)], 1 + (k + salt) % 28), 1, line_id="l%d" % k)
        for k in range(nlines)])


class MapFull(FaultCase):
    def test_map_full_fails_cleanly_and_a_larger_map_recovers(self):
        s = self.start_server(extra_args=["--map-max", "2M"])
        setup_catalog(s.stub)
        ch = s.channel
        answered = {}
        failed = None
        for i in range(3000):
            iid = "fill-%d" % i
            self.requests[iid] = big_invoice(iid, MEMBERS[i % len(MEMBERS)], salt=i)
            try:
                answered[iid], _ = price_raw(ch, self.requests[iid], timeout=LONG)
            except grpc.RpcError as e:
                self.assertEqual(e.code(), SC.RESOURCE_EXHAUSTED, e.details())
                self.assertIn("full", e.details())
                failed = iid
                break
        self.assertIsNotNone(failed, "3000 big invoices did not fill a 2 MiB store")
        self.assertGreater(len(answered), 10)

        # the same invoice again: still full, and nothing of it was kept
        self.assertRpcError(SC.RESOURCE_EXHAUSTED, "full", price_raw, ch, self.requests[failed],
                            timeout=LONG)
        # a burst of concurrent writes of all sizes: each is all or nothing
        lock = threading.Lock()
        burst_ok, burst_failed, burst_bad = {}, [], []

        def writer(t):
            for k in range(6):
                iid = "burst-%d-%d" % (t, k)
                req = big_invoice(iid, MEMBERS[t], nlines=[1, 40, 3, 80, 2, 20][k], salt=t + k)
                with lock:
                    self.requests[iid] = req
                try:
                    body, _ = price_raw(ch, req, timeout=LONG)
                    with lock:
                        burst_ok[iid] = body
                except grpc.RpcError as e:
                    with lock:
                        (burst_failed if e.code() == SC.RESOURCE_EXHAUSTED
                         else burst_bad).append((iid, e.code(), e.details()))

        hung, errors = run_threads([lambda t=t: writer(t) for t in range(4)])
        self.assertEqual((hung, errors, burst_bad), ([], [], []))
        self.assertTrue(burst_failed, "the full store took every write of the burst")
        answered.update(burst_ok)
        note("full after %d invoices; burst while full: %d ok, %d RESOURCE_EXHAUSTED"
             % (len(answered) - len(burst_ok), len(burst_ok), len(burst_failed)))

        # reads go on while the store is full
        self.assertEqual(harness.health_check(ch, "").status,
                         health_pb2.HealthCheckResponse.SERVING)
        some = sorted(answered)[:5]
        self.check_answered(ch, {i: answered[i] for i in some}, {})
        preview = s.stub.PreviewInvoice(self.requests[failed], timeout=LONG)
        self.assertEqual(len(preview.lines), 40)
        self.assertEqual(len(s.stub.ListServices(pb.ListServicesRequest()).services),
                         len(PRICES))
        self.present = dict(answered)
        self.check_used(s.stub)
        self.assertEqual(s.stop(), 0)
        self.verify_store(s.data_dir)

        # a full store still starts with the same cap, serves reads, refuses the write
        s2 = self.new_server(workdir=s.workdir, data_dir=s.data_dir,
                             extra_args=["--map-max", "2M"]).start()
        self.check_used(s2.stub)
        self.assertRpcError(SC.RESOURCE_EXHAUSTED, "full", price_raw, s2.channel,
                            self.requests[failed], timeout=LONG)
        self.assertEqual(s2.stop(), 0)

        # with room to grow: every answered invoice is there, every failed one
        # prices afresh, and the store grows past the old cap
        s3 = self.new_server(workdir=s.workdir, data_dir=s.data_dir,
                             extra_args=["--map-max", "64M"]).start()
        self.check_answered(s3.channel, answered, {})
        for iid in [failed] + [i for i, _, _ in burst_failed]:
            self.assertFalse(self.settle_invoice(s3.channel, iid),
                             "invoice %s failed RESOURCE_EXHAUSTED but was stored" % iid)
        data_mdb = os.path.join(s.data_dir, "data.mdb")
        i = 0
        while os.path.getsize(data_mdb) <= 2 * 1024 * 1024:
            self.assertLess(i, 1000, "the store does not grow past 2 MiB")
            iid = "after-%d" % i
            self.requests[iid] = big_invoice(iid, MEMBERS[i % len(MEMBERS)], salt=i)
            self.present[iid], replayed = price_raw(s3.channel, self.requests[iid], timeout=LONG)
            self.assertFalse(replayed)
            i += 1
        self.check_used(s3.stub)
        self.assertEqual(s3.stop(), 0)
        self.verify_store(s.data_dir)
        for srv in (s, s2, s3):
            self.assert_clean_log(srv)


# ---------------------------------------------------------------------------
# data directories allotd must refuse
# ---------------------------------------------------------------------------

def mdb_load(env_dir, db, pairs):
    """Loads key/value pairs (bytes) into database db (None: the main one)
    of the LMDB environment env_dir with lmdb-utils' mdb_load, overwriting
    keys that exist."""
    text = ["VERSION=3", "format=bytevalue", "type=btree", "HEADER=END"]
    for k, v in pairs:
        text += [" " + k.hex(), " " + v.hex()]
    text.append("DATA=END")
    argv = ["mdb_load"] + (["-s", db] if db else []) + [env_dir]
    subprocess.run(argv, input=("\n".join(text) + "\n").encode(), check=True,
                   capture_output=True, timeout=30)


def mdb_dump(env_dir, db):
    """The pairs of database db as a dict of bytes, via mdb_dump."""
    p = subprocess.run(["mdb_dump", "-s", db, env_dir], check=True, capture_output=True,
                       timeout=30)
    body = p.stdout.decode().split("HEADER=END\n", 1)[1].split("DATA=END", 1)[0].split()
    return {bytes.fromhex(body[i]): bytes.fromhex(body[i + 1]) for i in range(0, len(body), 2)}


@unittest.skipUnless(shutil.which("mdb_load") and shutil.which("mdb_dump"),
                     "lmdb-utils (mdb_load, mdb_dump) not installed")
class BadDataDir(FaultCase):
    """allotd refuses a data directory it cannot use: exit code 1 (never a
    crash), a message naming the path, and the directory left as it was.
    The same for --verify and --backup, which open the store the same way."""

    def digest(self, path):
        try:
            return harness.tree_digest(path)
        except PermissionError:
            return None  # not root, and the test made it unreadable

    def refused(self, data_dir, *words, user=None, modes=("serve", "verify", "backup")):
        before = self.digest(data_dir)
        for mode in modes:
            with self.subTest(mode=mode):
                if mode == "serve":
                    rc, out = harness.start_must_fail(data_dir, user=user)
                elif mode == "verify":
                    rc, out = harness.run_allotd(["--verify", "--data", data_dir], user=user)
                else:
                    dest = os.path.join(self.tmpdir(), "backup")
                    if user is not None:
                        os.chown(os.path.dirname(dest), user, user)
                    rc, out = harness.run_allotd(["--backup", dest, "--data", data_dir],
                                                 user=user)
                    self.assertFalse(os.path.exists(os.path.join(dest, "data.mdb")),
                                     "a backup was written from a refused store")
                self.assertEqual(harness.sanitizer_reports(out), [], out)
                self.assertEqual(rc, 1, "%s: exit code %d, want 1:\n%s" % (mode, rc, out))
                self.assertIn(data_dir, out, "%s: the message does not name the path" % mode)
                for w in words:
                    self.assertIn(w, out)
        self.assertEqual(self.digest(data_dir), before,
                         "a refused data directory was changed")

    def make_store(self):
        """A real allot store with a little in it; returns its directory."""
        s = self.start_server()
        setup_catalog(s.stub)
        price_raw(s.channel, invoice("i1", "m0", [line("HOME_VISIT", "2025-01-02", 2)]))
        self.assertEqual(s.stop(), 0)
        return s.data_dir

    def test_data_dir_is_a_regular_file(self):
        path = os.path.join(self.tmpdir(), "data")
        with open(path, "w") as f:
            f.write("not a directory\n")
        self.refused(path, "not a directory")

    def test_random_bytes_in_data_mdb(self):
        d = os.path.join(self.tmpdir(), "data")
        os.mkdir(d)
        with open(os.path.join(d, "data.mdb"), "wb") as f:
            f.write(random.Random(SEED).randbytes(64 * 1024))
        self.refused(d, "allot store")

    def test_lmdb_environment_of_another_program(self):
        d = os.path.join(self.tmpdir(), "data")
        os.mkdir(d)
        mdb_load(d, "sessions", [(b"user:1", b"{\"token\": \"x\"}"), (b"user:2", b"{}")])
        self.refused(d, "not an allot store")

    def test_lmdb_environment_with_only_a_main_database(self):
        d = os.path.join(self.tmpdir(), "data")
        os.mkdir(d)
        mdb_load(d, None, [(b"hello", b"world")])
        self.refused(d, "not an allot store")

    def test_lmdb_environment_with_a_foreign_meta_database(self):
        d = os.path.join(self.tmpdir(), "data")
        os.mkdir(d)
        mdb_load(d, "meta", [(b"owner", b"someone else")])
        self.refused(d, "schema version")

    def test_newer_schema_version(self):
        # made with lmdb-utils, no product code: the schema_version key of the
        # meta database (u32 little-endian, see src/store/store.c) is set to
        # one more than this allotd writes
        d = self.make_store()
        key = b"schema_version\0"
        current = int.from_bytes(mdb_dump(d, "meta")[key], "little")
        self.assertGreaterEqual(current, 2)
        newer = (current + 1).to_bytes(4, "little")
        mdb_load(d, "meta", [(key, newer)])
        self.refused(d, "schema version %d" % (current + 1))
        self.assertEqual(mdb_dump(d, "meta")[key], newer,
                         "allotd rewrote the schema version of a newer store")

    def test_truncated_data_mdb(self):
        # what an interrupted copy of a data directory (or a backup) looks like
        src = self.make_store()
        size = os.path.getsize(os.path.join(src, "data.mdb"))
        for keep in (2 * 4096, size // 2):
            with self.subTest(keep=keep):
                d = os.path.join(self.tmpdir(), "data")
                os.mkdir(d)
                with open(os.path.join(src, "data.mdb"), "rb") as f, \
                        open(os.path.join(d, "data.mdb"), "wb") as g:
                    g.write(f.read(keep))
                self.refused(d)

    # -- permissions ---------------------------------------------------------
    def as_user(self):
        """(uid to run allotd as, uid to own the files). Not root: ourselves.
        Root ignores file modes, so as root allotd runs as nobody (65534) on
        files nobody owns; skipped when that cannot be done."""
        if os.geteuid() != 0:
            return None, os.geteuid()
        probe = harness.run_allotd(["--help"], user=65534)
        if probe[0] != 0:
            self.skipTest("running as root, and allotd cannot run as nobody (uid 65534) to "
                          "meet a permission check: %s" % probe[1])
        return 65534, 65534

    def chown_tree(self, path, uid):
        for root, dirs, files in os.walk(path):
            os.chown(root, uid, uid)
            for n in files:
                os.chown(os.path.join(root, n), uid, uid)

    def test_unreadable_data_directory(self):
        user, owner = self.as_user()
        d = self.make_store()
        self.chown_tree(os.path.dirname(d), owner)
        os.chmod(d, 0)
        try:
            self.refused(d, "ermission denied", user=user)
        finally:
            os.chmod(d, 0o700)

    def test_unreadable_data_file(self):
        user, owner = self.as_user()
        d = self.make_store()
        self.chown_tree(os.path.dirname(d), owner)
        os.chmod(os.path.join(d, "data.mdb"), 0)
        try:
            self.refused(d, "ermission denied", user=user)
        finally:
            os.chmod(os.path.join(d, "data.mdb"), 0o600)


# ---------------------------------------------------------------------------
# clients that cancel or time out mid-commit
# ---------------------------------------------------------------------------

class Deadlines(FaultCase):
    LOADERS = 3
    LOAD_PER_THREAD = 60
    SHORT_THREADS = 4
    SHORT_PER_THREAD = 70
    DEADLINES = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.015)

    def test_tiny_deadlines_and_cancels_are_all_or_nothing(self):
        rng = random.Random(SEED)
        s = self.start_server()
        setup_catalog(s.stub)
        ch = s.channel
        lock = threading.Lock()
        answered, answered_usage = {}, {}
        unknown, unknown_usage = [], []
        outcomes = collections.Counter()
        bad = []
        price_call = ch.unary_unary(PRICE_INVOICE, request_serializer=None,
                                    response_deserializer=None)
        usage_call = ch.unary_unary(RECORD_USAGE, request_serializer=None,
                                    response_deserializer=None)

        def loader(t):
            r = random.Random(rng.random())
            for i in range(self.LOAD_PER_THREAD):
                iid = "load-%d-%d" % (t, i)
                req = random_invoice(r, iid)
                with lock:
                    self.requests[iid] = req
                body, replayed = price_raw(ch, req, timeout=LONG)
                if replayed:
                    bad.append((iid, "fresh invoice answered as a replay"))
                with lock:
                    answered[iid] = body

        def short(t):
            r = random.Random(rng.random())
            for i in range(self.SHORT_PER_THREAD):
                is_usage = r.random() < 0.25
                if is_usage:
                    key = "su-%d-%d" % (t, i)
                    req = random_usage(r, key)
                    call = usage_call
                    with lock:
                        self.usage_requests[key] = req
                else:
                    key = "short-%d-%d" % (t, i)
                    req = random_invoice(r, key, max_lines=5)
                    call = price_call
                    with lock:
                        self.requests[key] = req
                payload = req.SerializeToString()
                cancel = r.random() < 0.3
                try:
                    if cancel:
                        fut = call.future(payload, timeout=LONG)
                        time.sleep(r.uniform(0, 0.004))
                        fut.cancel()
                        body = fut.result()
                        trailers = dict(fut.trailing_metadata() or ())
                    else:
                        body, c = call.with_call(payload, timeout=r.choice(self.DEADLINES))
                        trailers = dict(c.trailing_metadata() or ())
                except grpc.FutureCancelledError:
                    with lock:
                        outcomes["cancelled"] += 1
                        (unknown_usage if is_usage else unknown).append(key)
                    continue
                except grpc.RpcError as e:
                    with lock:
                        if e.code() in (SC.DEADLINE_EXCEEDED, SC.CANCELLED):
                            outcomes[e.code().name] += 1
                            (unknown_usage if is_usage else unknown).append(key)
                        else:
                            bad.append((key, e.code(), e.details()))
                    continue
                with lock:
                    outcomes["ok"] += 1
                    if trailers.get(REPLAYED) == "true":
                        bad.append((key, "fresh write answered as a replay"))
                    (answered_usage if is_usage else answered)[key] = body

        hung, errors = run_threads([lambda t=t: loader(t) for t in range(self.LOADERS)] +
                                   [lambda t=t: short(t) for t in range(self.SHORT_THREADS)])
        self.assertEqual(hung, [], "client threads hang")
        self.assertEqual(errors, [], self.msg("errors in the good traffic"))
        self.assertEqual(bad, [], self.msg("unexpected outcomes"))
        n_short = self.SHORT_THREADS * self.SHORT_PER_THREAD
        self.assertGreater(n_short - outcomes["ok"], n_short // 5,
                           "too few calls timed out or were cancelled to test anything: %s"
                           % outcomes)

        self.check_answered(ch, answered, answered_usage)
        settled = collections.Counter()
        for iid in unknown:
            settled["invoice stored" if self.settle_invoice(ch, iid) else "invoice absent"] += 1
        for uid in unknown_usage:
            settled["usage stored" if self.settle_usage(ch, uid) else "usage absent"] += 1
        note("seed %d: short calls %s; unanswered ones afterwards %s"
             % (SEED, dict(outcomes), dict(settled)))
        self.check_used(s.stub)
        self.check_events(s.stub)
        self.assertEqual(s.stop(), 0)
        self.verify_store(s.data_dir)
        self.assert_clean_log(s)


# ---------------------------------------------------------------------------
# malformed and oversized messages while good traffic flows
# ---------------------------------------------------------------------------

ALLOT_METHODS = ["/allot.v1.Allot/" + m.name
                 for m in pb.DESCRIPTOR.services_by_name["Allot"].methods]
STREAMING = {"/allot.v1.Allot/WatchThresholds"}
ALL_METHODS = ALLOT_METHODS + [harness.HEALTH_CHECK]

# Payloads no protobuf decoder may accept, whatever the message type.
UNDECODABLE = [
    b"\x0f",                        # field 1, wire type 7 (no such type)
    b"\x0e\x00",                    # wire type 6
    b"\x08\xff\xff\xff",            # varint that never ends
    b"\x0a\x7fabc",                 # length 127, 3 bytes follow
    b"\x00\x01",                    # field number 0
    b"\x0b",                        # start of a group that never ends
    b"\x0a\x02\xc3\x28",            # a string that is not UTF-8 (see NOT_UTF8)
    b"\x12\xff\xff\xff\xff\x0f",    # length of 4 GiB
]

# protobuf-c 1.4 does not check that proto3 strings are UTF-8; allotd's
# own checks of ids and names refuse it in every allot.v1 request, while
# Health/Check just does not know a service of that name.
NOT_UTF8 = b"\x0a\x02\xc3\x28"
NOT_UTF8_HEALTH = {SC.INVALID_ARGUMENT, SC.NOT_FOUND}

UNKNOWN_METHODS = ["/allot.v1.Allot/Nope", "/allot.v1.Allot/priceinvoice", "/x.Y/Z",
                   "/allot.v2.Allot/PriceInvoice", "/allot.v1.Allot/PriceInvoice/x",
                   harness.HEALTH_WATCH]

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def raw_call(ch, method, payload, timeout=LONG):
    """Sends payload to method (unary or server streaming) without
    serialization; returns the list of response messages."""
    if method in STREAMING:
        call = ch.unary_stream(method, request_serializer=None, response_deserializer=None)
        it = call(payload, timeout=timeout)
        try:
            return [next(it)]  # a valid watch never ends: one message is enough
        finally:
            it.cancel()
    call = ch.unary_unary(method, request_serializer=None, response_deserializer=None)
    return [call(payload, timeout=timeout)]


class MalformedBurst(FaultCase):
    GOOD_THREADS = 4
    GOOD_INVOICES = 48  # 4 per month of 2025: 3 covered, the 4th billed

    def test_garbage_oversized_and_unknown_while_good_traffic_flows(self):
        rng = random.Random(SEED)
        s = self.start_server()
        good_members = ["g%d" % t for t in range(self.GOOD_THREADS)]
        put_services(s.stub, {"HOME_VISIT": 15000})
        put_plan(s.stub, "p", version("2025-01-01", [rule("hv", ["HOME_VISIT"], QTY, 3,
                                                          CAL_MONTH)]))
        for m in good_members:
            put_member(s.stub, member(m, [enrollment("p", "2025-01-01")]))
        ch = s.channel
        lock = threading.Lock()
        wrong = []                       # calls whose outcome was wrong
        counts = collections.Counter()   # what the bad calls got
        good_done = threading.Event()

        def bad_outcome(kind, method, payload_len, fn, want):
            """Runs fn; records a wrong outcome unless it fails with a code in
            want (a set; OK allowed when want holds SC.OK)."""
            try:
                fn()
                code = SC.OK
            except grpc.RpcError as e:
                code = e.code()
                if code != SC.OK and not e.details():
                    with lock:
                        wrong.append((kind, method, payload_len, code, "no message"))
            with lock:
                counts[(kind, code.name)] += 1
                if code not in want:
                    wrong.append((kind, method, payload_len, code))

        def good(t):
            m = good_members[t]
            for i in range(self.GOOD_INVOICES):
                k = i // 12  # earlier invoices in the same month
                req = invoice("good-%d-%d" % (t, i), m, [
                    line("HOME_VISIT", "2025-%02d-%02d" % (1 + i % 12, 1 + k), 1)])
                preview = harness.raw_unary(ch, "/allot.v1.Allot/PreviewInvoice",
                                            req.SerializeToString(), timeout=LONG)
                body, replayed = price_raw(ch, req, timeout=LONG)
                r = pb.PriceInvoiceResponse.FromString(body)
                ln = r.lines[0]
                ok = (not replayed and body == preview and
                      (ln.covered_quantity, ln.amount_due_cents, ln.reason, ln.remaining) ==
                      ((1, 0, COVERED, 2 - k) if k < 3 else (0, 15000, USED_UP, 0)))
                if not ok:
                    with lock:
                        wrong.append(("good", req.invoice_id, replayed, body == preview, r))

        def garbage():
            r = random.Random(rng.random())
            first = True
            while first or not good_done.is_set():
                first = False
                for method in ALL_METHODS:
                    for payload in UNDECODABLE:
                        want = {SC.INVALID_ARGUMENT}
                        if payload == NOT_UTF8 and method == harness.HEALTH_CHECK:
                            want = NOT_UTF8_HEALTH
                        bad_outcome("undecodable", method, len(payload),
                                    lambda: raw_call(ch, method, payload), want)
                    # random bytes may decode; whatever they mean, the server
                    # must answer with a code that blames the request, never
                    # fail itself (a watch that decodes may wait for events
                    # until its deadline)
                    payload = r.randbytes(r.randint(1, 300))
                    want = {SC.OK, SC.INVALID_ARGUMENT, SC.NOT_FOUND, SC.ALREADY_EXISTS,
                            SC.FAILED_PRECONDITION}
                    if method in STREAMING:
                        want.add(SC.DEADLINE_EXCEEDED)
                    bad_outcome("random", method, len(payload),
                                lambda: raw_call(ch, method, payload, timeout=2), want)

        def oversized():
            r = random.Random(rng.random())
            big = r.randbytes(harness.MAX_MESSAGE + 4096)
            just_over = b"\x0a" + b"\xff\xff\xff\x01" + b"x" * (harness.MAX_MESSAGE - 4)
            for k, method in enumerate(ALL_METHODS * 2):
                payload = just_over if k % 2 else big
                bad_outcome("oversized", method, len(payload),
                            lambda: raw_call(ch, method, payload), {SC.RESOURCE_EXHAUSTED})

        def unknown():
            r = random.Random(rng.random())
            first = True
            while first or not good_done.is_set():
                first = False
                for method in UNKNOWN_METHODS:
                    payload = r.randbytes(r.randint(0, 64))
                    bad_outcome("unknown", method, len(payload),
                                lambda: harness.raw_unary(ch, method, payload, timeout=LONG),
                                {SC.UNIMPLEMENTED})

        def wrong_shapes():
            # a unary method sent as a client stream of 0 and of 2 messages
            for method in ("/allot.v1.Allot/PriceInvoice", "/allot.v1.Allot/GetMember"):
                call = ch.stream_unary(method, request_serializer=None,
                                       response_deserializer=None)
                msgs = [invoice("shape", "g0", [line("HOME_VISIT", "2026-01-01")])
                        .SerializeToString()] * 2
                for it in ([], msgs):
                    bad_outcome("stream", method, len(it),
                                lambda: call(iter(it), timeout=LONG),
                                {SC.OK, SC.INVALID_ARGUMENT, SC.NOT_FOUND})

        def tcp_junk():
            r = random.Random(rng.random())
            first = True
            while first or not good_done.is_set():
                first = False
                for prefix in (b"", H2_PREFACE, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"):
                    sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
                    try:
                        sock.sendall(prefix + r.randbytes(r.randint(1, 4096)))
                        sock.settimeout(2)
                        try:
                            while sock.recv(65536):
                                pass
                        except (socket.timeout, OSError):
                            pass
                    finally:
                        sock.close()
                    with lock:
                        counts[("tcp junk", "sent")] += 1

        good_threads = [threading.Thread(target=good, args=(t,), daemon=True)
                        for t in range(self.GOOD_THREADS)]
        for t in good_threads:
            t.start()
        hung_bad = []
        errors = []
        bad_fns = [garbage, garbage, oversized, unknown, wrong_shapes, tcp_junk]

        def run_bad():
            h, e = run_threads(bad_fns, join_timeout=240)
            hung_bad.extend(h)
            errors.extend(e)

        bad_runner = threading.Thread(target=run_bad, daemon=True)
        bad_runner.start()
        for t in good_threads:
            t.join(240)
            self.assertFalse(t.is_alive(), "a good client hangs")
        good_done.set()
        bad_runner.join(250)
        self.assertEqual((hung_bad, errors), ([], []), self.msg("bad clients failed"))
        self.assertEqual(wrong, [], self.msg("wrong outcomes; all outcomes: %s" % counts))
        note("seed %d: %s" % (SEED, ", ".join("%s %s: %d" % (k + (n,))
                                               for k, n in sorted(counts.items()))))
        for kind in ("undecodable", "oversized", "unknown"):
            self.assertTrue(any(k == kind for k, _ in counts), counts)

        # the server is fine: healthy, right totals, clean stop, ledger verifies
        self.assertEqual(harness.health_check(ch, "").status,
                         health_pb2.HealthCheckResponse.SERVING)
        for m in good_members:
            for month in range(1, 13):
                a = s.stub.GetAllotments(pb.GetAllotmentsRequest(
                    member_id=m, as_of="2025-%02d-15" % month)).allotments
                self.assertEqual([(x.rule_key, x.used) for x in a], [("hv", 3)])
        self.assertEqual(s.stop(), 0)
        self.verify_store(s.data_dir)
        self.assert_clean_log(s)


if __name__ == "__main__":
    unittest.main()
