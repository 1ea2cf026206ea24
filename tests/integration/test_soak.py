"""A bounded soak of the real allotd (issue 8, item 6): steady mixed traffic
over loopback for ALLOT_SOAK_SECONDS (default 75) while the server's memory
is sampled from /proc/PID/status; its anonymous resident memory must stay
flat, every call must answer as it should, and the ledger must verify at the
end.

Traffic: fresh invoices, retries (byte-identical replays), whole and
one-line voids (and voids twice), replays of voided invoices, usage records,
their retries and voids, previews, allotments, members, catalog and plan
reads, requests that fail validation or name unknown ids, a health check, one
long-lived WatchThresholds stream and a churn of short ones.

What "flat" means is explained at LEAK_PER_CALL below.

Run: ctest -R it_soak   (or, with ALLOTD and ALLOT_PYGEN exported,
/usr/bin/python3 -m unittest -v test_soak from this directory)
"""

import collections
import os
import random
import statistics
import sys
import threading
import time
import unittest

import grpc

import harness
from builders import (AMT, CAL_MONTH, QTY, enrollment, invoice, line, member, price_raw,
                      put_member, put_plan, put_services, rule, usage_raw, version)
from harness import AllotTestCase, Watcher, pb, run_verify

SEED = int(os.environ.get("ALLOT_IT_SEED") or random.SystemRandom().randrange(1 << 30))
SOAK_SECONDS = float(os.environ.get("ALLOT_SOAK_SECONDS") or 75)
SAMPLE_EVERY = 1.0       # seconds between samples of /proc/PID/status
WARMUP = 0.2             # the first fifth of the run is not judged
LONG = 30.0
MEMBERS = ["m%d" % i for i in range(8)]
MONTHS = ["%d-%02d" % (y, m) for y in (2025, 2026) for m in range(1, 13)]
SC = grpc.StatusCode
MIB = 1024 * 1024

# What "flat" means.
#
# The quantity judged is anonymous resident memory: VmRSS - RssFile (RssAnon
# + RssShmem). RssFile is left out because LMDB maps data.mdb, and the pages
# of a store that grows through the soak count in VmRSS as file-backed
# memory: that is page cache, not the heap. (VmRSS itself is reported too.)
#
# The samples after the warm-up (the first fifth) are cut in thirds; the
# median of the last third may exceed the median of the first by at most the
# tolerance:
#
# - without sanitizers: 10% of the first third or 8 MiB, whichever is more;
# - under ASan (ALLOT_SANITIZE=ON): freed blocks wait in a quarantine before
#   reuse, 256 MiB by default, which would climb through the whole soak and
#   look like a leak. The soak's server runs with quarantine_size_mb=2 (use
#   after free is still caught within the last 2 MiB freed) and the
#   tolerance is 10 MiB: 8 MiB of allocator slack plus the quarantine.
#   Measured on the 2-core reference machine, with other builds and fuzzers
#   running: anonymous RSS settles at 15-20 MiB after 10-15 s and then moves
#   by 1.5-3.5 MiB between the thirds of a 60 s run.
#
# Sensitivity: between the middles of the first and the last third a 75 s
# soak makes about 25k-35k calls under ASan (reads are pipelined, see
# Traffic.reader). A leak of LEAK_PER_CALL (1 KiB) a call would add 25-35 MiB
# there, 2.5-3.5 times the ASan tolerance (and under ASan a leaked block also
# keeps its redzones, so more). The test checks this for the run it made
# (calls between the thirds x 1 KiB > tolerance): on a machine too slow to
# catch such a leak it fails and says so instead of passing blindly.
LEAK_PER_CALL = 1024
ASAN_QUARANTINE_MB = 2
TOLERANCE_ASAN = 10 * MIB


def tolerance(first, sanitized):
    if sanitized:
        return TOLERANCE_ASAN
    return max(8 * MIB, first // 10)


class Traffic:
    """The soak's clients. Each kind of traffic is one thread; calls counts
    completed RPCs; wrong collects every outcome that was not as it should
    be."""

    def __init__(self, server, seed):
        self.s = server
        self.ch = server.channel
        self.st = server.stub
        self.health = self.ch.unary_unary(
            harness.HEALTH_CHECK,
            request_serializer=harness.health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=harness.health_pb2.HealthCheckResponse.FromString)
        self.raw_allotments = self.ch.unary_unary("/allot.v1.Allot/GetAllotments",
                                                  request_serializer=None,
                                                  response_deserializer=None)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.calls = 0
        self.kinds = collections.Counter()
        self.wrong = []
        rng = random.Random(seed)
        # thread names become id prefixes: no spaces
        self.threads = [threading.Thread(target=self._guard, args=(fn, rng.random()),
                                         name=name, daemon=True)
                        for name, fn in (("p0", self.pricer), ("p1", self.pricer),
                                         ("p2", self.pricer), ("p3", self.pricer),
                                         ("u", self.usage), ("r0", self.reader),
                                         ("r1", self.reader), ("r2", self.reader),
                                         ("w", self.watch_churn))]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)
        return [t for t in self.threads if t.is_alive()]

    def count(self, kind):
        with self.lock:
            self.calls += 1
            self.kinds[kind] += 1

    def bad(self, *what):
        with self.lock:
            self.wrong.append(what)

    def _guard(self, fn, seed):
        try:
            fn(random.Random(seed))
        except BaseException as e:  # noqa: B902 - reported by the test
            self.bad("thread died", fn.__name__, repr(e))

    # -- invoices: fresh, retried, voided, replayed after a void -------------
    def pricer(self, r):
        mine = {}      # invoice id -> (request, answer bytes) not voided
        voided = {}    # invoice id -> (request, set of voided line ids)
        name = threading.current_thread().name
        i = 0
        while not self.stop.is_set():
            x = r.random()
            if x < 0.6 or not mine:
                iid = "%s-%d" % (name, i)
                i += 1
                lines = [line(r.choice(["HOME_VISIT", "97110", "LAB"]),
                              "%s-%02d" % (r.choice(MONTHS), r.randint(1, 28)), r.randint(1, 3))
                         for _ in range(r.randint(1, 3))]
                req = invoice(iid, r.choice(MEMBERS), lines)
                body, replayed = price_raw(self.ch, req, timeout=LONG)
                self.count("price")
                if replayed:
                    self.bad("price", iid, "fresh invoice answered as a replay")
                mine[iid] = (req, body)
                if len(mine) > 200:  # keep the client's own memory flat too
                    mine.pop(next(iter(mine)))
            elif x < 0.8:
                iid = r.choice(list(mine))
                req, body = mine[iid]
                got, replayed = price_raw(self.ch, req, timeout=LONG)
                self.count("retry")
                if not replayed or got != body:
                    self.bad("retry", iid, replayed)
            elif x < 0.9:
                iid = r.choice(list(mine))
                req, _ = mine.pop(iid)
                line_id = r.choice(["", "1"])
                resp = self.st.VoidInvoice(pb.VoidInvoiceRequest(invoice_id=iid, line_id=line_id),
                                           timeout=LONG)
                self.count("void")
                want = ["1"] if line_id else [str(k + 1) for k in range(len(req.lines))]
                if sorted(resp.voided_line_ids) != sorted(want):
                    self.bad("void", iid, list(resp.voided_line_ids), want)
                again = self.st.VoidInvoice(pb.VoidInvoiceRequest(invoice_id=iid,
                                                                  line_id=line_id), timeout=LONG)
                self.count("void again")
                if list(again.voided_line_ids):
                    self.bad("void again", iid, list(again.voided_line_ids))
                voided[iid] = (req, set(want))
                if len(voided) > 100:
                    voided.pop(next(iter(voided)))
            elif voided:
                iid = r.choice(list(voided))
                req, lines_voided = voided[iid]
                got, replayed = price_raw(self.ch, req, timeout=LONG)
                self.count("replay voided")
                resp = pb.PriceInvoiceResponse.FromString(got)
                if not replayed or {ln.line_id for ln in resp.lines if ln.voided} != lines_voided:
                    self.bad("replay voided", iid, replayed)

    # -- usage: fresh, retried, voided ----------------------------------------
    def usage(self, r):
        mine = {}
        name = threading.current_thread().name
        i = 0
        while not self.stop.is_set():
            x = r.random()
            if x < 0.6 or not mine:
                uid = "%s-u%d" % (name, i)
                i += 1
                req = pb.RecordUsageRequest(
                    usage_id=uid, member_id=r.choice(MEMBERS), rule_key=r.choice(["hv", "lab"]),
                    service_date="%s-%02d" % (r.choice(MONTHS), r.randint(1, 28)),
                    amount=r.randint(1, 3), source=pb.USAGE_SOURCE_EXTERNAL, note="soak")
                body, replayed = usage_raw(self.ch, req, timeout=LONG)
                self.count("usage")
                if replayed:
                    self.bad("usage", uid, "fresh usage answered as a replay")
                mine[uid] = (req, body)
                if len(mine) > 200:
                    mine.pop(next(iter(mine)))
            elif x < 0.8:
                uid = r.choice(list(mine))
                req, body = mine[uid]
                got, replayed = usage_raw(self.ch, req, timeout=LONG)
                self.count("usage retry")
                if not replayed or got != body:
                    self.bad("usage retry", uid, replayed)
            else:
                uid = r.choice(list(mine))
                mine.pop(uid)
                for want in (True, False):
                    resp = self.st.VoidUsage(pb.VoidUsageRequest(usage_id=uid), timeout=LONG)
                    self.count("void usage")
                    if resp.voided != want:
                        self.bad("void usage", uid, resp.voided, want)

    # -- reads, and requests that must fail -------------------------------------
    # Reads are cheap, so they go out PIPELINE at a time (futures): that is
    # what gives the soak enough calls to see a small leak per call.
    PIPELINE = 8

    def reader(self, r):
        st = self.st
        while not self.stop.is_set():
            batch = []
            for _ in range(self.PIPELINE):
                m = r.choice(MEMBERS)
                month = r.choice(MONTHS)
                x = r.random()
                if x < 0.3:
                    batch.append(("allotments", None, st.GetAllotments.future(
                        pb.GetAllotmentsRequest(member_id=m, as_of=month + "-15"),
                        timeout=LONG)))
                elif x < 0.5:
                    req = invoice("", m, [line("HOME_VISIT", month + "-10", r.randint(1, 3)),
                                          line("LAB", month + "-11", 1)])
                    batch.append(("preview", None, st.PreviewInvoice.future(req, timeout=LONG)))
                elif x < 0.6:
                    batch.append(("get member", None, st.GetMember.future(
                        pb.GetMemberRequest(member_id=m), timeout=LONG)))
                elif x < 0.65:
                    batch.append(("list services", None, st.ListServices.future(
                        pb.ListServicesRequest(), timeout=LONG)))
                elif x < 0.7:
                    batch.append(("get plan", None, st.GetPlan.future(
                        pb.GetPlanRequest(plan_id="p"), timeout=LONG)))
                elif x < 0.75:
                    batch.append(("health", None, self.health.future(
                        harness.health_pb2.HealthCheckRequest(service=""), timeout=LONG)))
                elif x < 0.82:
                    batch.append(("bad date", SC.INVALID_ARGUMENT, st.GetAllotments.future(
                        pb.GetAllotmentsRequest(member_id=m, as_of="2025-02-30"),
                        timeout=LONG)))
                elif x < 0.88:
                    batch.append(("unknown member", SC.NOT_FOUND, st.PreviewInvoice.future(
                        invoice("", "nobody", [line("HOME_VISIT", "2025-01-01")]),
                        timeout=LONG)))
                elif x < 0.94:
                    batch.append(("bad invoice", SC.INVALID_ARGUMENT, st.PriceInvoice.future(
                        invoice("bad", m, [line("HOME_VISIT", "2025-01-01", 0)]),
                        timeout=LONG)))
                else:
                    batch.append(("undecodable", SC.INVALID_ARGUMENT, self.raw_allotments.future(
                        b"\x0f", timeout=LONG)))
            for kind, code, fut in batch:
                try:
                    resp = fut.result()
                except grpc.RpcError as e:
                    self.count(kind)
                    if e.code() != code:
                        self.bad(kind, "want", code, "got", e.code(), e.details())
                    continue
                self.count(kind)
                if code is not None:
                    self.bad(kind, "want", code, "got OK")
                elif kind == "allotments" and len(resp.allotments) != 3:
                    self.bad(kind, resp)
                elif kind == "preview" and len(resp.lines) != 2:
                    self.bad(kind, resp)
                elif kind == "health" and resp.status != harness.SERVING:
                    self.bad(kind, resp)

    # -- short watch streams, opened and cancelled ------------------------------
    def watch_churn(self, r):
        while not self.stop.is_set():
            req = pb.WatchThresholdsRequest(from_seq=r.randint(1, 50),
                                            member_id=r.choice(MEMBERS + [""]))
            # up to 5 events, or whatever comes within its 0.3 s deadline
            call = self.st.WatchThresholds(req, timeout=0.3)
            n = 0
            try:
                for ev in call:
                    n += 1
                    if ev.seq < req.from_seq or (req.member_id and ev.member_id != req.member_id):
                        self.bad("watch", req, ev)
                    if n >= 5:
                        break
            except grpc.RpcError as e:
                if e.code() != SC.DEADLINE_EXCEEDED:
                    self.bad("watch", req, e.code(), e.details())
            finally:
                call.cancel()
            self.count("watch")


class Soak(AllotTestCase):
    def test_memory_is_flat_under_steady_mixed_traffic(self):
        sanitized = harness.allotd_is_sanitized()
        env = None
        if sanitized:
            opts = os.environ.get("ASAN_OPTIONS", "")
            env = {"ASAN_OPTIONS": (opts + ":" if opts else "") +
                   "quarantine_size_mb=%d" % ASAN_QUARANTINE_MB}
        s = self.start_server(env=env)
        put_services(s.stub, {"HOME_VISIT": 15000, "97110": 9000, "LAB": 5000})
        put_plan(s.stub, "p", version("2025-01-01", [
            rule("hv", ["HOME_VISIT"], QTY, 6, CAL_MONTH),
            rule("pt", ["97110"], QTY, 4, CAL_MONTH, thresholds=[50, 100]),
            rule("lab", ["LAB"], AMT, 20000, CAL_MONTH)]))
        for m in MEMBERS:
            put_member(s.stub, member(m, [enrollment("p", "2025-01-01")]))
        data_mdb = os.path.join(s.data_dir, "data.mdb")

        watch = Watcher(s.stub, pb.WatchThresholdsRequest(from_seq=1),
                        timeout=SOAK_SECONDS + 120)
        traffic = Traffic(s, SEED)
        samples = []  # (t, calls, VmRSS, anon = VmRSS - RssFile, data.mdb bytes), bytes
        t0 = time.monotonic()
        traffic.start()
        try:
            while time.monotonic() - t0 < SOAK_SECONDS and not traffic.wrong:
                time.sleep(SAMPLE_EVERY)
                k = harness.proc_status_kib(s.proc.pid)
                samples.append((time.monotonic() - t0, traffic.calls, k["VmRSS"] * 1024,
                                (k["VmRSS"] - k.get("RssFile", 0)) * 1024,
                                os.path.getsize(data_mdb)))
        finally:
            hung = traffic.join()
        self.assertEqual(hung, [], "client threads hang")
        self.assertEqual(traffic.wrong[:20], [], "seed %d" % SEED)

        judged = [x for x in samples if x[0] >= SOAK_SECONDS * WARMUP]
        n = len(judged) // 3
        self.assertGreaterEqual(n, 3, "too few samples: %s" % samples)
        first, last = judged[:n], judged[-n:]

        def med(rows, i):
            return statistics.median(x[i] for x in rows)

        anon0, anon1 = med(first, 3), med(last, 3)
        rss0, rss1 = med(first, 2), med(last, 2)
        calls_between = med(last, 1) - med(first, 1)
        tol = tolerance(anon0, sanitized)
        report = ("%s soak %.0f s, %d calls (%s); anon RSS %.1f -> %.1f MiB (+%.1f, tolerance "
                  "%.0f), VmRSS %.1f -> %.1f MiB, data.mdb %.1f -> %.1f MiB; %d calls between "
                  "the thirds: a %d B/call leak would add %.0f MiB; seed %d"
                  % ("ASan" if sanitized else "plain", SOAK_SECONDS, traffic.calls,
                     ", ".join("%s %d" % kv for kv in sorted(traffic.kinds.items())),
                     anon0 / MIB, anon1 / MIB, (anon1 - anon0) / MIB, tol / MIB,
                     rss0 / MIB, rss1 / MIB, med(first, 4) / MIB, med(last, 4) / MIB,
                     calls_between, LEAK_PER_CALL, calls_between * LEAK_PER_CALL / MIB, SEED))
        samples_text = "\n".join("  t=%5.1f calls=%7d VmRSS=%7.1f anon=%7.1f data.mdb=%6.1f"
                                 % (t, c, v / MIB, a / MIB, d / MIB)
                                 for t, c, v, a, d in samples)
        sys.stderr.write("\n    [%s] " % report)
        if os.environ.get("ALLOT_SOAK_SAMPLES") == "1":
            sys.stderr.write("\n" + samples_text + "\n")
        self.assertGreater(calls_between * LEAK_PER_CALL, tol,
                           "the soak was too slow to catch a leak of %d B a call: %s"
                           % (LEAK_PER_CALL, report))
        self.assertLessEqual(anon1 - anon0, tol,
                             "resident memory grows: %s\n%s" % (report, samples_text))

        # the long stream saw every event, in order, and is still open
        self.assertIsNone(watch.error, "the long watch ended: %r" % watch.error)
        evs = watch.quiet(0.5)
        watch.cancel()
        self.assertEqual([e.seq for e in evs], list(range(1, len(evs) + 1)))
        self.assertEqual(s.stop(), 0)   # under ASan, LeakSanitizer runs at this exit
        rc, out = run_verify(s.data_dir)
        self.assertEqual(rc, 0, out)
        self.assertIn("ledger ok", out)
        self.assertEqual(harness.sanitizer_reports(s.log_text(all_runs=True)), [])


if __name__ == "__main__":
    unittest.main()
