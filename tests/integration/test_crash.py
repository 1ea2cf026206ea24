"""Crash safety through the real allotd: kill -9 under load, restart on the
same data directory, and check that every answered invoice is there exactly
once (byte-identical replay), every unanswered one is all there or not at
all, allotments count each covered unit once, threshold events are numbered
without gaps or duplicates, and `allotd --verify` agrees. Three rounds.

Run: ctest -L integration   (or, with ALLOTD and ALLOT_PYGEN exported,
/usr/bin/python3 -m unittest -v test_crash from this directory)
"""

import collections
import random
import threading
import time
import unittest

import grpc

from builders import (CAL_MONTH, QTY, enrollment, invoice, line, member, price_raw,
                      put_member, put_plan, put_services, rule, version)
from harness import AllotTestCase, Watcher, pb, run_verify

ROUNDS = 3
THREADS = 6
MEMBERS = ["m%d" % i for i in range(4)]
MONTHS = ["%04d-%02d" % (y, m) for y in (2025, 2026) for m in range(1, 13)]
THRESHOLDS = {"hv": [70, 80, 90, 100], "pt": [50, 100]}
LOAD_SECONDS = 1.5
RPC_TIMEOUT = 30.0


def crossed(rule_key, allowance, before, after):
    return [t for t in THRESHOLDS[rule_key] if before * 100 < t * allowance <= after * 100]


class Crash(AllotTestCase):
    def setUp(self):
        self.s = self.start_server()
        st = self.s.stub
        put_services(st, {"HOME_VISIT": 15000, "97110": 9000})
        put_plan(st, "p", version("2025-01-01", [
            rule("hv", ["HOME_VISIT"], QTY, 10, CAL_MONTH),
            rule("pt", ["97110"], QTY, 6, CAL_MONTH, thresholds=THRESHOLDS["pt"])]))
        for m in MEMBERS:
            put_member(st, member(m, [enrollment("p", "2025-01-01")]))
        self.requests = {}   # invoice id -> request, every attempt
        self.answered = {}   # invoice id -> response bytes the client got
        self.present = {}    # invoice id -> response bytes, known to be stored
        self.events = []     # every event seen after the last restart

    # -- load ----------------------------------------------------------------
    def load(self, rnd):
        """Prices fresh invoices from THREADS threads, then kill -9 while they
        run. Returns the ids attempted in this round."""
        stop = threading.Event()
        killed = threading.Event()
        lock = threading.Lock()
        attempted, early_errors = [], []
        channel = self.s.channel

        def worker(t):
            rng = random.Random(rnd * 1000 + t)
            i = 0
            while not stop.is_set():
                iid = "r%d-t%d-%d" % (rnd, t, i)
                i += 1
                lines = []
                for k in range(rng.randint(1, 3)):
                    code = rng.choice(["HOME_VISIT", "97110"])
                    date = "%s-%02d" % (rng.choice(MONTHS), rng.randint(1, 28))
                    lines.append(line(code, date, rng.randint(1, 3)))
                req = invoice(iid, rng.choice(MEMBERS), lines)
                with lock:
                    self.requests[iid] = req
                    attempted.append(iid)
                try:
                    body, replayed = price_raw(channel, req, timeout=RPC_TIMEOUT)
                except (grpc.RpcError, ValueError) as e:
                    if not killed.is_set():
                        early_errors.append((iid, e))
                    return
                if replayed:
                    early_errors.append((iid, "a fresh invoice was answered as a replay"))
                with lock:
                    self.answered[iid] = body

        threads = [threading.Thread(target=worker, args=(t,), daemon=True)
                   for t in range(THREADS)]
        for t in threads:
            t.start()
        time.sleep(LOAD_SECONDS)
        killed.set()
        self.s.proc.kill()            # the crash, with calls in flight
        self.s.proc.wait()
        stop.set()
        self.s.close_channel()
        for t in threads:
            t.join(30)
            self.assertFalse(t.is_alive(), "a client thread hangs after the crash")
        self.assertEqual(early_errors, [], "errors before the crash")
        with lock:
            n_answered = sum(1 for i in attempted if i in self.answered)
        self.assertGreater(n_answered, 20, "too little load to test anything")
        return attempted

    # -- checks after a restart ------------------------------------------------
    def check_invoices(self, attempted):
        ch = self.s.channel
        for iid, body in sorted(self.answered.items()):
            got, replayed = price_raw(ch, self.requests[iid], timeout=RPC_TIMEOUT)
            self.assertTrue(replayed, "answered invoice %s was lost in the crash" % iid)
            self.assertEqual(got, body, "answered invoice %s replays other bytes" % iid)
            self.present[iid] = body
        n_was_there = n_fresh = 0
        for iid in attempted:
            if iid in self.answered:
                continue
            # either all of it is there (a replay) or none of it (priced afresh now)
            got, replayed = price_raw(ch, self.requests[iid], timeout=RPC_TIMEOUT)
            if replayed:
                n_was_there += 1
            else:
                n_fresh += 1
            self.present[iid] = got
        return n_was_there, n_fresh

    def check_used(self):
        want = collections.Counter()
        for iid, body in self.present.items():
            r = pb.PriceInvoiceResponse.FromString(body)
            for ln in r.lines:
                for u in ln.rules:
                    if u.drawn:
                        want[(r.member_id, u.rule_key, u.period_start)] += u.drawn
        got = collections.Counter()
        for m in MEMBERS:
            for month in MONTHS:
                resp = self.s.stub.GetAllotments(pb.GetAllotmentsRequest(
                    member_id=m, as_of=month + "-15"))
                for a in resp.allotments:
                    if a.used:
                        got[(m, a.rule_key, a.period_start)] += a.used
        self.assertEqual(dict(got), dict(want),
                         "allotments do not count each covered unit exactly once")

    def check_events(self):
        want = collections.Counter()
        for iid, body in self.present.items():
            r = pb.PriceInvoiceResponse.FromString(body)
            for ln in r.lines:
                for u in ln.rules:
                    if u.drawn:
                        after = u.allowance - u.remaining
                        for p in crossed(u.rule_key, u.allowance, after - u.drawn, after):
                            want[(r.member_id, iid, ln.line_id, u.rule_key, p)] += 1
        n = sum(want.values())
        w = Watcher(self.s.stub, pb.WatchThresholdsRequest(from_seq=1))
        try:
            w.wait_for(n, 20)
            evs = w.quiet(0.5)
        finally:
            w.cancel()
        self.assertEqual([e.seq for e in evs], list(range(1, len(evs) + 1)),
                         "event seqs have gaps or duplicates")
        self.assertEqual(evs[:len(self.events)], self.events,
                         "events seen before the crash changed or vanished")
        got = collections.Counter((e.member_id, e.invoice_id, e.line_id, e.rule_key, e.percent)
                                  for e in evs)
        self.assertEqual(got, want, "threshold events do not match the stored invoices")
        self.events = evs

    def verify(self):
        rc, out = run_verify(self.s.data_dir)
        self.assertEqual(rc, 0, "allotd --verify: %s" % out)
        self.assertIn("ledger ok", out)

    def restart(self):
        self.s = self.new_server(workdir=self.s.workdir, data_dir=self.s.data_dir).start()

    def test_kill_under_load(self):
        for rnd in range(ROUNDS):
            attempted = self.load(rnd)
            self.verify()
            self.restart()
            self.check_invoices(attempted)
            self.check_used()
            self.check_events()
        # the numbering goes on after the last restart
        last = self.events[-1].seq if self.events else 0
        m = MEMBERS[0]
        body, _ = price_raw(self.s.channel, invoice("after", m, [
            line("HOME_VISIT", "2027-01-05", 10)]))
        self.present["after"] = body
        self.check_events()
        self.assertGreater(len(self.events), last)
        self.assertEqual(self.events[-1].invoice_id, "after")
        self.assertEqual(self.s.stop(), 0)
        self.verify()


if __name__ == "__main__":
    unittest.main()
