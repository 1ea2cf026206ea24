"""Concurrent pricing through the real allotd: many clients racing for one
member's allotment never cover more than it holds, concurrent retries of one
invoice are counted once, and the ledger verifies afterwards.

Run: ctest -L integration   (or, with ALLOTD and ALLOT_PYGEN exported,
/usr/bin/python3 -m unittest -v test_concurrency from this directory)
"""

import threading
import unittest


from builders import (CAL_YEAR, COVERED, QTY, USED_UP, enrollment, invoice, line, member,
                      price_raw, put_member, put_plan, put_services, rule, used, version)
from harness import AllotTestCase, pb, run_verify

THREADS = 8
PER_THREAD = 50
RPC_TIMEOUT = 30.0  # under load, with the sanitizers


def run_threads(n, fn):
    errors = []

    def wrap(i):
        try:
            fn(i)
        except BaseException as e:  # noqa: B902 - reported below
            errors.append((i, e))

    threads = [threading.Thread(target=wrap, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    return [t for t in threads if t.is_alive()], errors


class Concurrency(AllotTestCase):
    def setUp(self):
        self.s = self.start_server()
        st = self.s.stub
        put_services(st, {"HOME_VISIT": 15000})
        put_plan(st, "p", version("2025-01-01", [rule("hv", ["HOME_VISIT"], QTY, 2, CAL_YEAR)]))
        put_member(st, member("m1", [enrollment("p", "2025-01-01")]))

    def verify(self):
        self.assertEqual(self.s.stop(), 0)
        rc, out = run_verify(self.s.data_dir)
        self.assertEqual(rc, 0, "allotd --verify: %s" % out)
        self.assertIn("ledger ok", out)

    def test_many_clients_one_allotment(self):
        results = [[] for _ in range(THREADS)]

        def worker(t):
            for i in range(PER_THREAD):
                day = 1 + (t * PER_THREAD + i) % 28
                req = invoice("t%d-i%d" % (t, i), "m1",
                              [line("HOME_VISIT", "2025-%02d-%02d" % (1 + i % 12, day))])
                body, replayed = price_raw(self.s.channel, req, timeout=RPC_TIMEOUT)
                results[t].append((req.invoice_id, replayed,
                                   pb.PriceInvoiceResponse.FromString(body)))

        hung, errors = run_threads(THREADS, worker)
        self.assertEqual(hung, [], "client threads hang")
        self.assertEqual(errors, [])
        responses = [r for rs in results for r in rs]
        self.assertEqual(len(responses), THREADS * PER_THREAD)
        self.assertFalse([iid for iid, replayed, _ in responses if replayed],
                         "fresh invoices answered as replays")
        covered = [(iid, r.lines[0]) for iid, _, r in responses if r.lines[0].covered_quantity]
        self.assertEqual(len(covered), 2, "covered lines: %s" % covered)
        self.assertTrue(all(ln.reason == COVERED for _, ln in covered))
        self.assertEqual(sorted(ln.remaining for _, ln in covered), [0, 1])
        billed = [r.lines[0] for _, _, r in responses if not r.lines[0].covered_quantity]
        self.assertEqual(len(billed), THREADS * PER_THREAD - 2)
        self.assertTrue(all(ln.reason == USED_UP and ln.amount_due_cents == 15000
                            for ln in billed))
        self.assertEqual(used(self.s.stub, "m1", "2025-12-31", "hv"), 2)
        # the history names exactly the covered invoices
        a = self.s.stub.GetAllotments(pb.GetAllotmentsRequest(member_id="m1",
                                                              as_of="2025-12-31"))
        self.assertEqual(sorted(h.invoice_id for h in a.allotments[0].history),
                         sorted(iid for iid, _ in covered))
        self.verify()

    def test_concurrent_retries_of_one_invoice(self):
        rounds = 10
        barrier = threading.Barrier(THREADS)
        got = [[None] * THREADS for _ in range(rounds)]
        reqs = [invoice("same-%d" % k, "m1", [line("HOME_VISIT", "2025-03-01", 1, "a"),
                                              line("HOME_VISIT", "2025-03-02", 1, "b")])
                for k in range(rounds)]

        def worker(t):
            for k in range(rounds):
                barrier.wait(30)
                got[k][t] = price_raw(self.s.channel, reqs[k], timeout=RPC_TIMEOUT)

        hung, errors = run_threads(THREADS, worker)
        self.assertEqual(hung, [], "client threads hang")
        self.assertEqual(errors, [])
        for k in range(rounds):
            with self.subTest(invoice=reqs[k].invoice_id):
                bodies = {body for body, _ in got[k]}
                self.assertEqual(len(bodies), 1, "different answers to one invoice")
                fresh = [t for t in range(THREADS) if not got[k][t][1]]
                self.assertEqual(len(fresh), 1, "want one fresh answer, the rest replays; "
                                 "fresh: %s" % fresh)
        first = pb.PriceInvoiceResponse.FromString(got[0][0][0])
        self.assertEqual([ln.covered_quantity for ln in first.lines], [1, 1])
        for k in range(1, rounds):
            r = pb.PriceInvoiceResponse.FromString(got[k][0][0])
            self.assertEqual([ln.reason for ln in r.lines], [USED_UP, USED_UP])
        self.assertEqual(used(self.s.stub, "m1", "2025-12-31", "hv"), 2)
        self.verify()


if __name__ == "__main__":
    unittest.main()
