"""allot_client against a real allotd: every method, errors, the examples,
and WatchThresholds resuming across server restarts without missing or
repeating an event. Each test runs its own allotd through
tests/integration/harness.py.

Run: ctest -L clients   (or, with ALLOTD, ALLOT_PYGEN and ALLOT_CLIENT_GEN
exported, /usr/bin/python3 -m unittest -v test_integration from this directory)
"""

import datetime
import os
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(HERE, ".."))

import harness  # noqa: E402  (puts $ALLOT_PYGEN on sys.path)
from harness import AllotTestCase  # noqa: E402

import allot_client as ac  # noqa: E402
from allot_client import (AllotError, Enrollment, InvoiceLine, LimitKind, Member,  # noqa: E402
                          Payer, Period, PlanVersion, PoolKind, Reason, Rule, Service,
                          UsageSource)

date = datetime.date
EXAMPLES = os.path.join(HERE, "..", "examples")


def family_version(effective_from=date(2024, 1, 1)):
    return PlanVersion(effective_from, [
        Rule("home-visits", ["HOME_VISIT"], LimitKind.QUANTITY, 2, Period.member_year()),
        Rule("labs", ["LAB"], LimitKind.AMOUNT, 50000, Period.calendar_year(),
             PoolKind.HOUSEHOLD, thresholds=[]),
        Rule("pt", ["97110"], LimitKind.QUANTITY, 1, Period.calendar_month(),
             overage_price_cents=5000, overage_payer=Payer.SPONSOR, thresholds=[100]),
    ])


class ClientTestCase(AllotTestCase):
    def client_for(self, server, **kw):
        kw.setdefault("timeout", harness.RPC_TIMEOUT)
        c = ac.Client(server.address, **kw)
        self.addCleanup(c.close)   # runs before the server's cleanup (LIFO)
        return c

    def start(self):
        s = self.start_server()
        return s, self.client_for(s)

    def assertAllotError(self, name, field, fn, *a, **kw):
        with self.assertRaises(AllotError) as cm:
            fn(*a, **kw)
        self.assertEqual(cm.exception.name, name, str(cm.exception))
        if field:
            self.assertIn(field, cm.exception.message)
        return cm.exception

    def family(self, c):
        c.put_service(Service("HOME_VISIT", "Home visit", 15000))
        c.put_service(Service("LAB", "Lab panel", 12000))
        c.put_service(Service("97110", "Therapeutic exercise", 9000))
        c.put_plan("family", family_version(), name="Family Membership")
        c.put_member(Member("m-1", [Enrollment("family", date(2024, 3, 15))],
                            household_id="h-1", sponsor_id="acme"))
        c.put_member(Member("m-2", [Enrollment("family", date(2024, 1, 1))],
                            household_id="h-1"))


class Methods(ClientTestCase):
    def test_health(self):
        s, c = self.start()
        self.assertEqual(c.health(), "SERVING")
        self.assertEqual(c.health("allot.v1.Allot"), "SERVING")
        self.assertAllotError("NOT_FOUND", None, c.health, "nope")

    def test_services(self):
        s, c = self.start()
        self.assertEqual(list(c.list_services()), [])
        given = [Service(code, "Service " + code, p)
                 for code, p in (("E5", 500), ("A1", 100), ("C3", 0), ("B2", 200), ("D4", 400))]
        for svc in given:
            saved = c.put_service(svc)
            self.assertEqual(saved, ac.Saved(svc, True))
        want = sorted(given, key=lambda x: x.code)
        self.assertEqual(list(c.list_services(page_size=2)), want)   # pages of 2, 2, 1
        self.assertEqual(list(c.list_services()), want)
        saved = c.put_service(Service("C3", "Replaced", 333))
        self.assertFalse(saved.created)
        self.assertEqual([x for x in c.list_services(page_size=1) if x.code == "C3"],
                         [Service("C3", "Replaced", 333)])
        self.assertAllotError("INVALID_ARGUMENT", "cash_price_cents", c.put_service,
                              Service("X", "", -1))

    def test_plans(self):
        s, c = self.start()
        v = family_version()
        saved = c.put_plan("family", v, name="Family Membership")
        self.assertTrue(saved.created)
        plan = saved.value
        self.assertIsInstance(plan, ac.Plan)
        self.assertEqual((plan.id, plan.name), ("family", "Family Membership"))
        got = plan.versions[0]
        self.assertEqual(got.effective_from, date(2024, 1, 1))
        # absent thresholds come back as the default
        self.assertEqual(got.rules[0].thresholds, list(ac.DEFAULT_THRESHOLDS))
        self.assertEqual(got.rules[1].thresholds, [])
        self.assertEqual(got.rules[2].overage_price_cents, 5000)
        self.assertEqual(got.rules[2].overage_payer, Payer.SPONSOR)
        self.assertEqual(got.rules[1].pool, PoolKind.HOUSEHOLD)
        self.assertEqual(got.rules[0].period, Period.member_year())

        self.assertFalse(c.put_plan("family", v).created)   # same version again
        other = PlanVersion(date(2024, 1, 1), [Rule("x", ["HOME_VISIT"], allowance=9)])
        self.assertAllotError("ALREADY_EXISTS", None, c.put_plan, "family", other)
        later = PlanVersion(date(2025, 1, 1), v.rules)
        self.assertTrue(c.put_plan("family", later).created)
        self.assertEqual([x.effective_from for x in c.get_plan("family").versions],
                         [date(2024, 1, 1), date(2025, 1, 1)])
        self.assertEqual(c.get_plan("family").version_on(date(2024, 6, 1)).effective_from,
                         date(2024, 1, 1))
        self.assertEqual(c.get_plan("family").name, "Family Membership")

        bad = PlanVersion(date(2025, 1, 1), [Rule("r", ["C"], allowance=-1)])
        self.assertAllotError("INVALID_ARGUMENT", "allowance", c.put_plan, "p2", bad)
        self.assertAllotError("NOT_FOUND", None, c.get_plan, "nope")

        for pid in ("c-plan", "a-plan"):
            c.put_plan(pid, PlanVersion(date(2025, 1, 1)))
        self.assertEqual([p.id for p in c.list_plans(page_size=1)],
                         ["a-plan", "c-plan", "family"])
        self.assertEqual(len(list(c.list_plans())[2].versions), 2)

    def test_members(self):
        s, c = self.start()
        c.put_plan("family", family_version())
        m = Member("m-1", [Enrollment("family", date(2024, 3, 15), date(2025, 12, 31))],
                   household_id="h-1", sponsor_id="acme")
        saved = c.put_member(m)
        self.assertTrue(saved.created)
        self.assertEqual(saved.value.effective_anniversary, date(2024, 3, 15))
        got = c.get_member("m-1")
        self.assertEqual(got.enrollments, m.enrollments)
        self.assertIsNone(got.anniversary)
        self.assertEqual((got.household_id, got.sponsor_id), ("h-1", "acme"))
        m.anniversary = date(2024, 2, 29)
        saved = c.put_member(m)
        self.assertFalse(saved.created)
        self.assertEqual(c.get_member("m-1").effective_anniversary, date(2024, 2, 29))
        self.assertAllotError("NOT_FOUND", None, c.get_member, "m-404")
        self.assertAllotError("NOT_FOUND", None, c.put_member,
                              Member("m-3", [Enrollment("no-such-plan", date(2025, 1, 1))]))

    def test_pricing_worked_example(self):
        """domain.md: 2 home visits per member year, anniversary 2024-03-15,
        $150: visits on Apr 1 and Jun 1 2025 are free, a third on Sep 1
        costs $150 and reports reset date 2026-03-15."""
        s, c = self.start()
        self.family(c)
        visits = [InvoiceLine("HOME_VISIT", date(2025, 4, 1)),
                  InvoiceLine("HOME_VISIT", "2025-06-01"),
                  InvoiceLine("HOME_VISIT", date(2025, 9, 1))]

        pre = c.preview_invoice("m-1", visits, invoice_id="inv-1")
        self.assertEqual(pre.invoice_id, "inv-1")
        self.assertEqual([x.reason for x in pre.lines],
                         [Reason.COVERED, Reason.COVERED, Reason.ALLOTMENT_USED_UP])
        self.assertEqual(c.get_allotments("m-1", date(2025, 9, 2)).allotments[0].used, 0)

        inv = c.price_invoice("inv-1", "m-1", visits)
        self.assertEqual(inv, pre)
        self.assertEqual([x.line_id for x in inv.lines], ["1", "2", "3"])
        self.assertEqual([x.amount_due_cents for x in inv.lines], [0, 0, 15000])
        third = inv.lines[2]
        self.assertEqual(third.reason, Reason.ALLOTMENT_USED_UP)
        self.assertEqual(third.carc, "119")
        self.assertEqual(third.service_date, date(2025, 9, 1))
        self.assertEqual((third.covered_quantity, third.billable_quantity), (0, 1))
        self.assertEqual(third.billable_unit_price_cents, 15000)
        self.assertEqual(third.rule_key, "home-visits")
        self.assertEqual(third.period_start, date(2025, 3, 15))
        self.assertEqual(third.reset_date, date(2026, 3, 15))
        self.assertEqual(third.due, [ac.AmountDue(Payer.PATIENT, "m-1", 15000)])
        self.assertEqual(third.plan_id, "family")
        self.assertEqual(third.plan_effective_from, date(2024, 1, 1))
        self.assertEqual(third.rules[0].rule_key, "home-visits")
        self.assertEqual(inv.total_due_cents, 15000)
        self.assertEqual(ac.cents_to_dollars(inv.total_due_cents), ac.cents_to_dollars(15000))
        self.assertEqual(inv.totals, [ac.AmountDue(Payer.PATIENT, "m-1", 15000)])

        # idempotent replay; other content under the same id is refused
        self.assertEqual(c.price_invoice("inv-1", "m-1", visits), inv)
        self.assertAllotError("ALREADY_EXISTS", None, c.price_invoice, "inv-1", "m-1",
                              visits[:2])

        # pt: overage price paid by the sponsor
        pt = c.price_invoice("inv-pt", "m-1", [InvoiceLine("97110", date(2025, 2, 3), 3)])
        ln = pt.lines[0]
        self.assertEqual((ln.reason, ln.covered_quantity, ln.billable_quantity),
                         (Reason.PARTLY_COVERED, 1, 2))
        self.assertEqual(ln.amount_due_cents, 10000)
        self.assertEqual(ln.due, [ac.AmountDue(Payer.SPONSOR, "acme", 10000)])

        # a line price overrides the cash price; a service not in the plan
        c.put_service(Service("OTHER", "Other", 999))
        o = c.preview_invoice("m-1", [InvoiceLine("OTHER", date(2025, 2, 3),
                                                  unit_price_cents=500)])
        self.assertEqual((o.lines[0].reason, o.lines[0].amount_due_cents),
                         (Reason.NOT_IN_PLAN, 500))

        al = c.get_allotments("m-1", date(2025, 9, 2))
        hv = al.allotments[0]
        self.assertEqual((hv.used, hv.remaining, hv.percent_used), (2, 0, 100))
        self.assertEqual([h.service_date for h in hv.history],
                         [date(2025, 4, 1), date(2025, 6, 1)])
        self.assertEqual(hv.history[0].source, UsageSource.INVOICE)
        self.assertEqual((hv.history[0].invoice_id, hv.history[0].line_id), ("inv-1", "1"))

        # void one line, twice; then an unknown invoice
        self.assertEqual(c.void_invoice("inv-1", "2"), ac.VoidedInvoice("inv-1", ["2"]))
        self.assertEqual(c.void_invoice("inv-1", "2").voided_line_ids, [])
        self.assertEqual(c.get_allotments("m-1", date(2025, 9, 2)).allotments[0].used, 1)
        replay = c.price_invoice("inv-1", "m-1", visits)
        self.assertEqual([x.voided for x in replay.lines], [False, True, False])
        self.assertEqual(c.void_invoice("inv-pt").voided_line_ids, ["1"])
        self.assertAllotError("NOT_FOUND", None, c.void_invoice, "inv-404")
        self.assertAllotError("NOT_FOUND", None, c.price_invoice, "inv-x", "m-404", visits)
        self.assertAllotError("INVALID_ARGUMENT", "lines", c.price_invoice, "inv-y", "m-1", [])

    def test_usage(self):
        s, c = self.start()
        self.family(c)
        r = c.record_usage("u-1", "m-1", "home-visits", date(2025, 4, 4), 1, note="from Dr. B")
        self.assertEqual(r.usage_id, "u-1")
        self.assertEqual((r.rule.rule_key, r.rule.allowance, r.rule.remaining),
                         ("home-visits", 2, 1))
        self.assertEqual(r.rule.reset_date, date(2026, 3, 15))
        # idempotent; other content is refused
        self.assertEqual(c.record_usage("u-1", "m-1", "home-visits", date(2025, 4, 4), 1,
                                        note="from Dr. B").rule.remaining, 1)
        self.assertAllotError("ALREADY_EXISTS", None, c.record_usage, "u-1", "m-1",
                              "home-visits", date(2025, 4, 4), 2, note="from Dr. B")
        c.record_usage("u-2", "m-1", "home-visits", "2025-05-01", 1, UsageSource.EXTERNAL)
        al = c.get_allotments("m-1", as_of="2025-06-01").allotments[0]
        self.assertEqual([(h.usage_id, h.source) for h in al.history],
                         [("u-1", UsageSource.PRIOR), ("u-2", UsageSource.EXTERNAL)])
        self.assertTrue(c.void_usage("u-2"))
        self.assertFalse(c.void_usage("u-2"))
        self.assertAllotError("NOT_FOUND", None, c.void_usage, "u-404")
        self.assertAllotError("INVALID_ARGUMENT", "amount", c.record_usage, "u-3", "m-1",
                              "home-visits", date(2025, 4, 4), 0)

    def test_allotments_household(self):
        s, c = self.start()
        self.family(c)
        c.price_invoice("i-a", "m-1", [InvoiceLine("LAB", date(2025, 2, 10))])
        c.price_invoice("i-b", "m-2", [InvoiceLine("LAB", date(2025, 3, 1),
                                                   unit_price_cents=8000)])
        al = c.get_allotments("m-1", date(2025, 6, 1))
        self.assertEqual((al.member_id, al.as_of, al.plan_id, al.plan_effective_from),
                         ("m-1", date(2025, 6, 1), "family", date(2024, 1, 1)))
        labs = [a for a in al.allotments if a.rule_key == "labs"][0]
        self.assertEqual((labs.limit, labs.pool), (LimitKind.AMOUNT, PoolKind.HOUSEHOLD))
        self.assertEqual((labs.allowance, labs.used, labs.remaining, labs.member_used),
                         (50000, 20000, 30000, 12000))
        self.assertEqual([h.service_date for h in labs.history], [date(2025, 2, 10)])
        self.assertEqual(labs.period_start, date(2025, 1, 1))
        self.assertEqual(labs.reset_date, date(2026, 1, 1))
        self.assertEqual(labs.x12_time_period, "23")
        # today in the server's calendar
        today = c.get_allotments("m-1")
        self.assertLessEqual(abs((today.as_of - date.today()).days), 1)
        # not enrolled on as_of
        before = c.get_allotments("m-1", date(2023, 1, 1))
        self.assertEqual((before.plan_id, before.allotments), ("", []))
        self.assertAllotError("NOT_FOUND", None, c.get_allotments, "m-404")


class Examples(ClientTestCase):
    def run_example(self, server, *args, timeout=60):
        env = dict(os.environ, ALLOT_ADDR=server.address)
        return subprocess.run([sys.executable, os.path.join(EXAMPLES, args[0])] + list(args[1:]),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              env=env, timeout=timeout)

    def test_price_invoice_and_watch(self):
        s, c = self.start()
        p = self.run_example(s, "price_invoice.py", "--demo", "demo-member", "inv-1",
                             "HOME_VISIT@2025-04-01", "HOME_VISIT@2025-06-01",
                             "HOME_VISIT@2025-09-01")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout
        self.assertIn("allotment used up", out)
        self.assertIn("resets 15 Mar 2026", out)
        self.assertIn("CARC 119", out)
        self.assertIn("total due $150.00", out)

        p = self.run_example(s, "price_invoice.py", "--preview", "demo-member", "x",
                             "HOME_VISIT@2025-09-02x2=99.50")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("total due $199.00", p.stdout)

        p = self.run_example(s, "price_invoice.py", "m-404", "x", "HOME_VISIT@2025-09-02")
        self.assertEqual(p.returncode, 1)
        self.assertIn("NOT_FOUND", p.stderr)

        state = os.path.join(self.tmpdir(), "seq")
        # 2 visits of 2: the 70 % ... 100 % thresholds (4 events)
        p = self.run_example(s, "watch.py", "--state", state, "--exit-after", "3")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 3, p.stdout)
        self.assertTrue(lines[0].startswith("#1 demo-member: home-visits reached"), lines[0])
        with open(state) as f:
            self.assertEqual(f.read().strip(), "3")
        p = self.run_example(s, "watch.py", "--state", state, "--exit-after", "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("#4 "), p.stdout)


# ---------------------------------------------------------------------------
# WatchThresholds
# ---------------------------------------------------------------------------

TENTHS = list(range(10, 101, 10))


def tenths_plan(c):
    c.put_service(Service("V", "Visit", 1000))
    c.put_plan("p", PlanVersion(date(2025, 1, 1), [
        Rule("visits", ["V"], LimitKind.QUANTITY, 10, Period.calendar_year(),
             thresholds=TENTHS)]))
    for m in ("m-1", "m-2"):
        c.put_member(Member(m, [Enrollment("p", date(2025, 1, 1))]))


def visit(c, invoice_id, member="m-1"):
    """One unit of 10: crosses exactly one 10 % threshold."""
    return c.price_invoice(invoice_id, member, [InvoiceLine("V", date(2025, 5, 1))])


class Collector:
    """Consumes a ThresholdWatch in a thread."""

    def __init__(self, watch):
        self.watch = watch
        self.events = []
        self.error = None
        self._cv = threading.Condition()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        try:
            for ev in self.watch:
                with self._cv:
                    self.events.append(ev)
                    self._cv.notify_all()
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e
        finally:
            with self._cv:
                self._cv.notify_all()

    def wait_for(self, n, timeout=30):
        deadline = time.monotonic() + timeout
        with self._cv:
            while len(self.events) < n and self.error is None and self._t.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cv.wait(left)
            return list(self.events)

    def stop(self):
        self.watch.cancel()
        self._t.join(10)
        return not self._t.is_alive()


class Watch(ClientTestCase):
    def collector(self, watch):
        col = Collector(watch)
        self.addCleanup(col.stop)
        return col

    def test_stored_then_live_filter_and_from_seq(self):
        s, c = self.start()
        tenths_plan(c)
        visit(c, "i1")
        visit(c, "i2", "m-2")
        visit(c, "i3")
        col = self.collector(c.watch_thresholds(from_seq=0))
        got = col.wait_for(3)
        self.assertEqual([(e.seq, e.member_id, e.percent, e.invoice_id) for e in got],
                         [(1, "m-1", 10, "i1"), (2, "m-2", 10, "i2"), (3, "m-1", 20, "i3")])
        e = got[0]
        self.assertIsInstance(e, ac.ThresholdEvent)
        self.assertEqual((e.rule_key, e.allowance, e.used, e.remaining, e.line_id),
                         ("visits", 10, 1, 9, "1"))
        self.assertEqual((e.period_start, e.reset_date), (date(2025, 1, 1), date(2026, 1, 1)))
        visit(c, "i4", "m-2")  # live
        self.assertEqual(col.wait_for(4)[-1].seq, 4)

        only = self.collector(c.watch_thresholds(from_seq=3, member_id="m-2"))
        self.assertEqual([x.seq for x in only.wait_for(1)], [4])
        self.assertTrue(only.stop())
        self.assertTrue(col.stop())
        self.assertIsNone(col.error)

    def test_resume_across_restarts_misses_nothing(self):
        """SIGTERM the server mid-watch; events committed while the watcher
        is disconnected (on a server the watcher cannot reach) and after it
        is back on the same address all arrive, once each, in order."""
        data = os.path.join(self.tmpdir(), "data")
        s1 = self.new_server(data_dir=data).start()
        port = s1.port
        c = self.client_for(s1)
        tenths_plan(c)
        watch = c.watch_thresholds(from_seq=1, initial_backoff=0.05, max_backoff=0.5)
        col = self.collector(watch)
        visit(c, "i1")
        visit(c, "i2")
        self.assertEqual([e.seq for e in col.wait_for(2)], [1, 2])

        s1.stop()   # SIGTERM mid-watch; asserts exit code 0
        time.sleep(0.5)
        self.assertIsNone(col.error)

        # Meanwhile, on another port, the same store commits two events.
        s2 = self.new_server(data_dir=data).start()
        self.assertNotEqual(s2.port, port)
        c2 = self.client_for(s2)
        visit(c2, "i3")
        visit(c2, "i4")
        c2.close()
        s2.stop()
        self.assertEqual(len(col.events), 2)

        # Back on the watcher's address. c's channel may still be backing
        # off: a client that waits for the connection rides that out.
        s3 = self.new_server(data_dir=data, port=port).start()
        cw = self.client_for(s3, wait_for_ready=True)
        visit(cw, "i5")
        got = col.wait_for(5)
        self.assertIsNone(col.error)
        self.assertEqual([(e.seq, e.invoice_id, e.percent) for e in got],
                         [(1, "i1", 10), (2, "i2", 20), (3, "i3", 30), (4, "i4", 40),
                          (5, "i5", 50)])
        self.assertGreaterEqual(watch.reconnects, 1)
        self.assertEqual(watch.next_seq, 6)

        # and once more, mid-stream, with a live event right after the restart
        s3.stop()
        s4 = self.new_server(data_dir=data, port=port).start()
        visit(cw, "i6")
        got = col.wait_for(6)
        self.assertEqual([e.seq for e in got], [1, 2, 3, 4, 5, 6])
        self.assertTrue(col.stop())
        self.assertIsNone(col.error)
        self.assertEqual(len(col.events), 6)
        s4.stop()

    def test_without_resume_the_stop_is_an_error(self):
        s, c = self.start()
        tenths_plan(c)
        visit(c, "i1")
        col = self.collector(c.watch_thresholds(resume=False))
        self.assertEqual(len(col.wait_for(1)), 1)
        s.stop()
        col._t.join(15)
        self.assertIsInstance(col.error, AllotError)
        self.assertEqual(col.error.name, "UNAVAILABLE")

    def test_give_up_after(self):
        s, c = self.start()
        tenths_plan(c)
        watch = c.watch_thresholds(initial_backoff=0.05, max_backoff=0.2, give_up_after=1.0)
        col = self.collector(watch)
        time.sleep(0.3)
        s.stop()
        col._t.join(20)
        self.assertFalse(col._t.is_alive())
        self.assertIsInstance(col.error, AllotError)
        self.assertEqual(col.error.name, "UNAVAILABLE")
        self.assertGreaterEqual(watch.reconnects, 1)


if __name__ == "__main__":
    unittest.main()
