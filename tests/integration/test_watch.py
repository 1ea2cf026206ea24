"""WatchThresholds through the real allotd: stored events then live ones,
several crossings at once, voids, the member filter, resuming after a
disconnect, restarts, and SIGTERM with a watch open.

Run: ctest -L integration   (or, with ALLOTD and ALLOT_PYGEN exported,
/usr/bin/python3 -m unittest -v test_watch from this directory)
"""

import signal
import time
import unittest

import grpc

from builders import (AMT, CAL_YEAR, HOUSEHOLD, QTY, enrollment, invoice, line, member,
                      put_member, put_plan, put_services, rule, version)
from harness import AllotTestCase, Watcher, pb

SC = grpc.StatusCode
LIVE_WITHIN = 2.0  # seconds from a commit's answer to its event on an open watch


def ev_key(e):
    return (e.seq, e.member_id, e.rule_key, e.percent, e.used, e.remaining, e.invoice_id,
            e.line_id, e.usage_id)


class WatchCase(AllotTestCase):
    def setUp(self):
        self.s = self.start_server()
        self.setup_data(self.s.stub)

    @staticmethod
    def setup_data(st):
        put_services(st, {"HOME_VISIT": 15000, "CLASS": 2000, "MASSAGE": 8000,
                          "VACCINE": 4000})
        put_plan(st, "p", version("2025-01-01", [
            rule("hv", ["HOME_VISIT"], QTY, 10, CAL_YEAR),
            rule("class", ["CLASS"], QTY, 4, CAL_YEAR, pool=HOUSEHOLD, thresholds=[50]),
            rule("massage", ["MASSAGE"], QTY, 2, CAL_YEAR, thresholds=[50, 150]),
            rule("vaccine", ["VACCINE"], QTY, 1, CAL_YEAR, thresholds=[]),
        ]))
        for m in ("m1", "m2", "m3"):
            put_member(st, member(m, [enrollment("p", "2025-01-01")], household="h1"))

    def price(self, invoice_id, member_id, *lines, st=None):
        return (st or self.s.stub).PriceInvoice(invoice(invoice_id, member_id, lines))

    def usage(self, usage_id, member_id, rule_key, amount, date="2025-03-01", st=None):
        return (st or self.s.stub).RecordUsage(pb.RecordUsageRequest(
            usage_id=usage_id, member_id=member_id, rule_key=rule_key, service_date=date,
            amount=amount))

    def watch(self, from_seq=0, member_id="", stub=None):
        w = Watcher(stub or self.s.stub, pb.WatchThresholdsRequest(from_seq=from_seq,
                                                                   member_id=member_id))
        self.addCleanup(w.cancel)
        return w

    def wait_events(self, w, n, timeout=5.0):
        evs = w.wait_for(n, timeout)
        self.assertGreaterEqual(len(evs), n, "want %d events, got %d: %s (stream error %r)"
                                % (n, len(evs), evs, w.error))
        return evs

    def all_events(self, stub=None, quiet=0.7):
        """Every stored event (a watch from 1 until it goes quiet)."""
        w = self.watch(1, stub=stub)
        evs = w.quiet(quiet)
        w.cancel()
        return evs


class Watch(WatchCase):
    def test_stored_then_live(self):
        self.price("i1", "m1", line("HOME_VISIT", "2025-02-01", 9, "a"))
        w = self.watch(0)
        evs = self.wait_events(w, 3)
        want = [pb.ThresholdEvent(seq=i + 1, member_id="m1", household_id="", rule_key="hv",
                                  percent=p, allowance=10, used=9, remaining=1,
                                  period_start="2025-01-01", reset_date="2026-01-01",
                                  invoice_id="i1", line_id="a", usage_id="", limit=QTY)
                for i, p in enumerate((70, 80, 90))]
        self.assertEqual(evs[:3], want)

        # live: a commit while the stream is open
        self.price("i2", "m1", line("HOME_VISIT", "2025-03-01", 1))
        t0 = time.monotonic()
        evs = self.wait_events(w, 4, LIVE_WITHIN)
        self.assertLess(time.monotonic() - t0, LIVE_WITHIN)
        self.assertEqual(evs[3], pb.ThresholdEvent(
            seq=4, member_id="m1", rule_key="hv", percent=100, allowance=10, used=10,
            remaining=0, period_start="2025-01-01", reset_date="2026-01-01", invoice_id="i2",
            line_id="1", limit=QTY))

        # a usage record, another member
        self.usage("u1", "m2", "hv", 7)
        evs = self.wait_events(w, 5, LIVE_WITHIN)
        self.assertEqual(ev_key(evs[4]), (5, "m2", "hv", 70, 7, 3, "", "", "u1"))

        # a household pool names the household
        self.price("i3", "m3", line("CLASS", "2025-04-01", 2))
        evs = self.wait_events(w, 6, LIVE_WITHIN)
        self.assertEqual((evs[5].seq, evs[5].member_id, evs[5].household_id, evs[5].rule_key,
                          evs[5].percent, evs[5].used, evs[5].remaining),
                         (6, "m3", "h1", "class", 50, 2, 2))
        self.assertEqual(len(w.quiet(0.5)), 6)

        # from_seq starts there; 0 and 1 both mean the first
        self.assertEqual(self.wait_events(self.watch(4), 3)[:3], evs[3:6])
        self.assertEqual(self.wait_events(self.watch(1), 6)[:6], evs)
        later = self.watch(7)
        self.assertEqual(later.quiet(0.5), [])
        self.assertIsNone(later.error)
        # ... and gets seq 7 when it commits
        self.price("i4", "m2", line("HOME_VISIT", "2025-05-01", 1))
        evs = self.wait_events(later, 1, LIVE_WITHIN)
        self.assertEqual(ev_key(evs[0]), (7, "m2", "hv", 80, 8, 2, "i4", "1", ""))

    def test_amount_rule_events_say_they_are_in_cents(self):
        st = self.s.stub
        put_services(st, {"LAB": 20000})
        put_plan(st, "labs", version("2025-01-01", [
            rule("lab-dollars", ["LAB"], AMT, 50000, CAL_YEAR, thresholds=[50])]))
        put_member(st, member("m9", [enrollment("labs", "2025-01-01")]))
        self.price("i9", "m9", line("LAB", "2025-02-01", 2))
        evs = self.wait_events(self.watch(0, member_id="m9"), 1)
        self.assertEqual((evs[0].rule_key, evs[0].limit, evs[0].percent, evs[0].allowance,
                          evs[0].used, evs[0].remaining), ("lab-dollars", AMT, 50, 50000, 40000,
                                                           10000))

    def test_back_dated_period_fires_in_its_own_period(self):
        self.price("i1", "m1", line("HOME_VISIT", "2026-02-01", 9))    # 2026: 70 80 90
        self.price("i2", "m1", line("HOME_VISIT", "2025-12-01", 7))    # 2025: 70
        w = self.watch(0, "m1")
        evs = self.wait_events(w, 4)
        self.assertEqual([(e.seq, e.percent, e.used, e.period_start, e.reset_date)
                          for e in evs],
                         [(1, 70, 9, "2026-01-01", "2027-01-01"),
                          (2, 80, 9, "2026-01-01", "2027-01-01"),
                          (3, 90, 9, "2026-01-01", "2027-01-01"),
                          (4, 70, 7, "2025-01-01", "2026-01-01")])
        self.assertEqual(len(w.quiet(0.5)), 4)

    def test_invalid_member_filter(self):
        w = Watcher(self.s.stub, pb.WatchThresholdsRequest(member_id="m" * 65))
        self.assertTrue(w.wait_end(5))
        self.assertIsNotNone(w.error)
        self.assertEqual(w.error.code(), SC.INVALID_ARGUMENT)
        self.assertIn("member_id", w.error.details())

    def test_several_thresholds_voids_and_rearming(self):
        w = self.watch(0)
        self.price("i1", "m1", line("HOME_VISIT", "2025-02-01", 9))
        evs = self.wait_events(w, 3)
        self.assertEqual([(e.seq, e.percent, e.used) for e in evs],
                         [(1, 70, 9), (2, 80, 9), (3, 90, 9)])

        # nothing fires: a void, a preview, a rejected request, an unlimited-free rule
        self.assertEqual(list(self.s.stub.VoidInvoice(
            pb.VoidInvoiceRequest(invoice_id="i1")).voided_line_ids), ["1"])
        self.s.stub.PreviewInvoice(invoice("pv", "m1", [line("HOME_VISIT", "2025-02-01", 10)]))
        self.assertRpcError(SC.NOT_FOUND, None, self.s.stub.PriceInvoice,
                            invoice("bad", "m1", [line("HOME_VISIT", "2025-02-01", 10),
                                                  line("NOPE", "2025-02-01")]))
        self.price("v1", "m1", line("VACCINE", "2025-02-01"))  # thresholds []
        self.usage("u0", "m2", "hv", 8)
        self.s.stub.VoidUsage(pb.VoidUsageRequest(usage_id="u0"))
        evs = w.quiet(0.7)
        self.assertEqual([(e.seq, e.member_id, e.usage_id, e.percent) for e in evs[3:]],
                         [(4, "m2", "u0", 70), (5, "m2", "u0", 80)],
                         "only the usage record may fire; voids, previews and rejected "
                         "requests fire nothing")

        # the void re-armed 70 and 80 of m1
        self.price("i2", "m1", line("HOME_VISIT", "2025-03-01", 8))
        evs = self.wait_events(w, 7, LIVE_WITHIN)
        self.assertEqual([(e.seq, e.percent, e.used, e.remaining, e.invoice_id)
                          for e in evs[5:]],
                         [(6, 70, 8, 2, "i2"), (7, 80, 8, 2, "i2")])
        # percents above 100 fire too, in ascending order
        self.usage("u1", "m1", "massage", 3)
        evs = self.wait_events(w, 9, LIVE_WITHIN)
        self.assertEqual([(e.seq, e.rule_key, e.percent, e.used) for e in evs[7:]],
                         [(8, "massage", 50, 3), (9, "massage", 150, 3)])
        self.assertEqual(len(w.quiet(0.5)), 9)
        self.assertEqual(self.all_events(), evs)

    def test_member_filter(self):
        self.price("i1", "m1", line("HOME_VISIT", "2025-02-01", 7))   # 1: m1 70
        self.usage("u1", "m2", "hv", 8)                              # 2, 3: m2 70 80
        self.price("i2", "m1", line("HOME_VISIT", "2025-03-01", 1))  # 4: m1 80
        w2 = self.watch(0, "m2")
        w1 = self.watch(0, "m1")
        self.assertEqual([(e.seq, e.member_id) for e in self.wait_events(w2, 2)],
                         [(2, "m2"), (3, "m2")])
        self.assertEqual([(e.seq, e.member_id) for e in self.wait_events(w1, 2)],
                         [(1, "m1"), (4, "m1")])
        self.price("i3", "m2", line("HOME_VISIT", "2025-04-01", 1))  # 5: m2 90
        self.price("i4", "m1", line("HOME_VISIT", "2025-04-01", 1))  # 6: m1 90
        self.assertEqual([e.seq for e in self.wait_events(w2, 3, LIVE_WITHIN)], [2, 3, 5])
        self.assertEqual([e.seq for e in self.wait_events(w1, 3, LIVE_WITHIN)], [1, 4, 6])
        self.assertEqual(len(w2.quiet(0.5)), 3)
        self.assertEqual(len(w1.quiet(0.1)), 3)
        self.assertEqual(self.watch(0, "nobody").quiet(0.5), [])

    def test_resume_misses_nothing(self):
        self.price("i1", "m1", line("HOME_VISIT", "2025-02-01", 9))  # 1-3
        self.price("i2", "m1", line("HOME_VISIT", "2025-03-01", 1))  # 4
        self.usage("u1", "m2", "hv", 7)                              # 5
        w = self.watch(0)
        got = self.wait_events(w, 2)[:2]
        w.cancel()
        self.assertTrue(w.wait_end(), "a cancelled watch does not end")
        # while disconnected
        self.usage("u2", "m2", "hv", 1)                              # 6
        w = self.watch(got[-1].seq + 1)
        rest = self.wait_events(w, 4)
        self.price("i3", "m2", line("HOME_VISIT", "2025-04-01", 1))  # 7
        rest = self.wait_events(w, 5, LIVE_WITHIN)
        self.assertEqual(len(w.quiet(0.5)), 5)
        seen = got + rest
        self.assertEqual([e.seq for e in seen], list(range(1, 8)))
        self.assertEqual(seen, self.all_events())

    def test_restart_keeps_events_and_numbering(self):
        self.price("i1", "m1", line("HOME_VISIT", "2025-02-01", 9))  # 1-3
        self.usage("u1", "m2", "hv", 7)                              # 4
        before = self.all_events()
        self.assertEqual([e.seq for e in before], [1, 2, 3, 4])
        self.assertEqual(self.s.stop(), 0)

        s2 = self.new_server(workdir=self.s.workdir, data_dir=self.s.data_dir).start()
        w = self.watch(0, stub=s2.stub)
        self.assertEqual(self.wait_events(w, 4)[:4], before)
        self.price("i2", "m1", line("HOME_VISIT", "2025-03-01", 1), st=s2.stub)  # 5
        evs = self.wait_events(w, 5, LIVE_WITHIN)
        self.assertEqual(ev_key(evs[4]), (5, "m1", "hv", 100, 10, 0, "i2", "1", ""))
        self.assertEqual(len(w.quiet(0.5)), 5)

    def test_sigterm_ends_open_watches_with_unavailable(self):
        self.price("i1", "m1", line("HOME_VISIT", "2025-02-01", 9))
        busy = self.watch(0)
        self.wait_events(busy, 3)
        idle = self.watch(0, "nobody")
        idle.call.initial_metadata()  # the stream is open
        time.sleep(0.2)
        t0 = time.monotonic()
        self.s.signal(signal.SIGTERM)
        rc = self.s.wait(10)
        took = time.monotonic() - t0
        self.assertIsNotNone(rc, "allotd did not exit within 10 s of SIGTERM with watches open")
        self.assertEqual(rc, 0)
        self.assertLess(took, 5.0, "allotd took %.1f s to exit with watches open" % took)
        for name, w in (("busy", busy), ("idle", idle)):
            with self.subTest(name):
                self.assertTrue(w.wait_end(5), "the stream did not end")
                self.assertIsNotNone(w.error, "the stream ended OK")
                self.assertEqual(w.error.code(), SC.UNAVAILABLE, w.error.details())
        self.assertEqual(len(busy.events), 3)
        self.s.close_channel()


if __name__ == "__main__":
    unittest.main()
