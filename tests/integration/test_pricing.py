"""Pricing (issue 5) through the real allotd: the worked examples of
docs/domain.md, splits, amount limits, overage and payers, previews,
idempotent invoices, voids, prior usage and the allotments view.

Run: ctest -L integration   (or, with ALLOTD and ALLOT_PYGEN exported,
/usr/bin/python3 -m unittest -v test_pricing from this directory)
"""

import datetime
import unittest

import grpc

from builders import (AMT, CAL_MONTH, CAL_YEAR, COVERED, HOUSEHOLD, LIFETIME, MEMBER,
                      MEMBER_PRICE, MEMBER_YEAR, NO_ENROLLMENT, NOT_IN_PLAN, PARTLY, PATIENT,
                      QTY, SPONSOR, SRC_ADJUSTMENT, SRC_EXTERNAL, SRC_INVOICE, SRC_PRIOR,
                      USED_UP, allotment, allotments, enrollment, invoice, line, member, period,
                      price_raw, put_member, put_plan, put_services, rolling_days,
                      rolling_months, rule, usage_raw, used, version)
from harness import AllotTestCase, pb

SC = grpc.StatusCode
INVALID = SC.INVALID_ARGUMENT

PRICES = {
    "HOME_VISIT": 15000,
    "97110": 9000,
    "97112": 9500,
    "MASSAGE": 8000,
    "LAB": 30000,
    "CLASS": 2000,
    "HEARING": 12000,
    "DISC": 9000,
    "VACCINE": 4000,
    "FREE": 0,
}


def d(s):
    return datetime.date.fromisoformat(s)


def iso(x):
    return x.isoformat()


def due(ln):
    return [(x.payer, x.payer_id, x.amount_cents) for x in ln.due]


def totals(resp):
    return sorted((x.payer, x.payer_id, x.amount_cents) for x in resp.totals)


def history(a):
    return [(h.service_date, h.source, h.invoice_id, h.line_id, h.usage_id, h.amount)
            for h in a.history]


class PricingCase(AllotTestCase):
    """Each test gets its own allotd with the catalog PRICES."""

    def setUp(self):
        self.s = self.start_server()
        self.st = self.s.stub
        put_services(self.st, PRICES)

    # -- helpers -----------------------------------------------------------
    def plan(self, plan_id, *versions):
        put_plan(self.st, plan_id, *versions)

    def member(self, mid, plan_id, start, end="", **kw):
        return put_member(self.st, member(mid, [enrollment(plan_id, start, end)], **kw))

    def price(self, invoice_id, member_id, *lines):
        return self.st.PriceInvoice(invoice(invoice_id, member_id, lines))

    def price1(self, invoice_id, member_id, *lines):
        resp = self.price(invoice_id, member_id, *lines)
        self.assertEqual(len(resp.lines), 1)
        return resp.lines[0]

    def assertLine(self, ln, **want):
        got = {}
        for k in want:
            got[k] = due(ln) if k == "due" else getattr(ln, k)
        self.assertEqual(got, want, "line %s" % ln)

    def assertSplit(self, ln, covered, billable, amount_due):
        self.assertLine(ln, covered_quantity=covered, billable_quantity=billable,
                        amount_due_cents=amount_due)


# ---------------------------------------------------------------------------
# the worked examples of domain.md
# ---------------------------------------------------------------------------

class WorkedExamples(PricingCase):
    def setup_family(self):
        self.plan("family", version("2024-01-01", [
            rule("home-visits", ["HOME_VISIT"], QTY, 2, MEMBER_YEAR)]))
        self.member("m1", "family", "2024-03-15", anniversary="2024-03-15")

    def test_home_visits_member_year(self):
        self.setup_family()
        r1 = self.price("i1", "m1", line("HOME_VISIT", "2025-04-01"))
        self.assertEqual((r1.invoice_id, r1.member_id, r1.total_due_cents, list(r1.totals)),
                         ("i1", "m1", 0, []))
        self.assertLine(r1.lines[0], line_id="1", service_code="HOME_VISIT",
                        service_date="2025-04-01", quantity=1, covered_quantity=1,
                        billable_quantity=0, unit_price_cents=15000,
                        covered_amount_cents=15000, billable_unit_price_cents=15000,
                        amount_due_cents=0, due=[], reason=COVERED, rule_key="home-visits",
                        unlimited=False, remaining=1, period_start="2025-03-15",
                        reset_date="2026-03-15", carc="", voided=False, plan_id="family",
                        plan_effective_from="2024-01-01")
        self.assertEqual(list(r1.lines[0].rules), [pb.RuleUse(
            rule_key="home-visits", limit=QTY, pool=MEMBER, unlimited=False, allowance=2,
            drawn=1, remaining=1, period_start="2025-03-15", reset_date="2026-03-15")])

        l2 = self.price1("i2", "m1", line("HOME_VISIT", "2025-06-01"))
        self.assertLine(l2, covered_quantity=1, billable_quantity=0, amount_due_cents=0,
                        reason=COVERED, remaining=0, reset_date="2026-03-15", carc="")

        r3 = self.price("i3", "m1", line("HOME_VISIT", "2025-09-01"))
        self.assertLine(r3.lines[0], covered_quantity=0, billable_quantity=1,
                        covered_amount_cents=0, billable_unit_price_cents=15000,
                        amount_due_cents=15000, due=[(PATIENT, "m1", 15000)], reason=USED_UP,
                        carc="119", rule_key="home-visits", remaining=0,
                        period_start="2025-03-15", reset_date="2026-03-15")
        self.assertEqual(r3.lines[0].rules[0].drawn, 0)
        self.assertEqual(r3.total_due_cents, 15000)
        self.assertEqual(totals(r3), [(PATIENT, "m1", 15000)])

        # the day before the anniversary is still the old member year; on it a new one
        self.assertLine(self.price1("i4", "m1", line("HOME_VISIT", "2026-03-14")),
                        reason=USED_UP, amount_due_cents=15000, reset_date="2026-03-15")
        self.assertLine(self.price1("i5", "m1", line("HOME_VISIT", "2026-03-15")),
                        reason=COVERED, amount_due_cents=0, remaining=1,
                        period_start="2026-03-15", reset_date="2027-03-15")

        a = allotment(self.st, "m1", "2025-09-01", "home-visits")
        self.assertEqual((a.allowance, a.used, a.remaining, a.percent_used, a.period_start,
                          a.reset_date, a.x12_time_period),
                         (2, 2, 0, 100, "2025-03-15", "2026-03-15", "22"))
        self.assertEqual(history(a), [("2025-04-01", SRC_INVOICE, "i1", "1", "", 1),
                                      ("2025-06-01", SRC_INVOICE, "i2", "1", "", 1)])

    def test_home_visits_in_one_invoice(self):
        self.setup_family()
        r = self.price("i1", "m1", line("HOME_VISIT", "2025-04-01"),
                       line("HOME_VISIT", "2025-06-01"), line("HOME_VISIT", "2025-09-01"))
        self.assertEqual([ln.line_id for ln in r.lines], ["1", "2", "3"])
        self.assertEqual([(ln.covered_quantity, ln.amount_due_cents, ln.reason, ln.remaining)
                          for ln in r.lines],
                         [(1, 0, COVERED, 1), (1, 0, COVERED, 0), (0, 15000, USED_UP, 0)])
        self.assertEqual(r.lines[2].reset_date, "2026-03-15")
        self.assertEqual(r.lines[2].carc, "119")
        self.assertEqual(r.total_due_cents, 15000)
        self.assertEqual(totals(r), [(PATIENT, "m1", 15000)])
        self.assertEqual(used(self.st, "m1", "2025-12-31", "home-visits"), 2)

    def _pt_dates(self, n, year=2024):
        start = datetime.date(year, 1, 2)
        return [iso(start + datetime.timedelta(days=7 * i)) for i in range(n)]

    def test_pt_combined_limit(self):
        self.plan("pt", version("2024-01-01", [
            rule("pt", ["97110", "97112"], QTY, 20, CAL_YEAR)]))
        self.member("m1", "pt", "2024-01-01")
        dates = self._pt_dates(29)
        codes = ["97110" if i % 2 == 0 else "97112" for i in range(29)]
        r = self.price("i1", "m1", *[line(c, dt) for c, dt in zip(codes, dates)])
        self.assertEqual([ln.covered_quantity for ln in r.lines], [1] * 20 + [0] * 9)
        self.assertEqual([ln.reason for ln in r.lines], [COVERED] * 20 + [USED_UP] * 9)
        self.assertEqual([ln.remaining for ln in r.lines], list(range(19, -1, -1)) + [0] * 9)
        want_due = sum(PRICES[c] for c in codes[20:])
        self.assertEqual([ln.amount_due_cents for ln in r.lines][20:],
                         [PRICES[c] for c in codes[20:]])
        self.assertEqual(r.total_due_cents, want_due)
        a = allotment(self.st, "m1", "2024-12-31", "pt")
        self.assertEqual((a.used, a.remaining, a.percent_used, a.x12_time_period),
                         (20, 0, 100, "23"))
        # a new calendar year, a new allotment
        self.assertLine(self.price1("i2", "m1", line("97112", "2025-01-01")), reason=COVERED,
                        remaining=19, period_start="2025-01-01", reset_date="2026-01-01")

    def test_pt_sub_limit(self):
        self.plan("pt", version("2024-01-01", [
            rule("pt", ["97110", "97112"], QTY, 20, CAL_YEAR),
            rule("pt-97112", ["97112"], QTY, 10, CAL_YEAR)]))
        self.member("m1", "pt", "2024-01-01")
        dates = self._pt_dates(12)
        r = self.price("i1", "m1", *[line("97112", dt) for dt in dates[:11]])
        for i, ln in enumerate(r.lines[:10]):
            self.assertLine(ln, covered_quantity=1, reason=COVERED, rule_key="pt")
            self.assertEqual([(u.rule_key, u.drawn, u.remaining) for u in ln.rules],
                             [("pt", 1, 19 - i), ("pt-97112", 1, 9 - i)])
        # the 11th 97112 visit is billed although the combined rule has room
        self.assertLine(r.lines[10], covered_quantity=0, billable_quantity=1,
                        amount_due_cents=9500, reason=USED_UP, rule_key="pt-97112",
                        remaining=0, carc="119")
        self.assertEqual([(u.rule_key, u.drawn, u.remaining) for u in r.lines[10].rules],
                         [("pt", 0, 10), ("pt-97112", 0, 0)])
        # 97110 still draws on the combined rule only
        ln = self.price1("i2", "m1", line("97110", dates[11]))
        self.assertLine(ln, covered_quantity=1, reason=COVERED, rule_key="pt", remaining=9)
        self.assertEqual([u.rule_key for u in ln.rules], ["pt"])
        self.assertEqual(used(self.st, "m1", "2024-12-31", "pt"), 11)
        self.assertEqual(used(self.st, "m1", "2024-12-31", "pt-97112"), 10)

    def test_pt_separate_rule(self):
        self.plan("pt", version("2024-01-01", [
            rule("pt", ["97110"], QTY, 20, CAL_YEAR),
            rule("pt-97112", ["97112"], QTY, 10, CAL_YEAR)]))
        self.member("m1", "pt", "2024-01-01")
        dates = self._pt_dates(32)
        lines = ([line("97112", dt) for dt in dates[:11]] +
                 [line("97110", dt) for dt in dates[11:32]])
        r = self.price("i1", "m1", *lines)
        self.assertEqual([ln.covered_quantity for ln in r.lines],
                         [1] * 10 + [0] + [1] * 20 + [0])
        self.assertEqual([u.rule_key for u in r.lines[0].rules], ["pt-97112"])
        self.assertEqual([u.rule_key for u in r.lines[11].rules], ["pt"])
        self.assertLine(r.lines[10], rule_key="pt-97112", reason=USED_UP, amount_due_cents=9500)
        self.assertLine(r.lines[31], rule_key="pt", reason=USED_UP, amount_due_cents=9000)
        self.assertEqual(used(self.st, "m1", "2024-12-31", "pt"), 20)
        self.assertEqual(used(self.st, "m1", "2024-12-31", "pt-97112"), 10)

    def test_feb29_anniversary(self):
        self.plan("p", version("2024-01-01", [rule("hv", ["HOME_VISIT"], QTY, 1, MEMBER_YEAR)]))
        self.member("m1", "p", "2024-02-29", anniversary="2024-02-29")
        dates = ["2025-02-27", "2025-02-28", "2026-03-01", "2027-02-28", "2028-02-28",
                 "2028-02-29"]
        r = self.price("i1", "m1", *[line("HOME_VISIT", dt) for dt in dates])
        self.assertEqual([(ln.period_start, ln.reset_date) for ln in r.lines], [
            ("2024-02-29", "2025-02-28"),
            ("2025-02-28", "2026-02-28"),
            ("2026-02-28", "2027-02-28"),
            ("2027-02-28", "2028-02-29"),
            ("2027-02-28", "2028-02-29"),
            ("2028-02-29", "2029-02-28")])
        self.assertEqual([ln.reason for ln in r.lines],
                         [COVERED, COVERED, COVERED, COVERED, USED_UP, COVERED])
        a = allotment(self.st, "m1", "2027-03-01", "hv")
        self.assertEqual((a.period_start, a.reset_date, a.used), ("2027-02-28", "2028-02-29", 1))

    def test_rolling_days_365(self):
        self.plan("p", version("2024-01-01", [
            rule("hearing", ["HEARING"], QTY, 1, rolling_days(365))]))
        self.member("m1", "p", "2024-01-01")
        window_start = lambda s: iso(d(s) - datetime.timedelta(days=364))  # noqa: E731

        l1 = self.price1("i1", "m1", line("HEARING", "2025-05-10"))
        self.assertLine(l1, reason=COVERED, remaining=0, period_start=window_start("2025-05-10"),
                        reset_date="2026-05-10")
        l2 = self.price1("i2", "m1", line("HEARING", "2026-05-09"))
        self.assertLine(l2, reason=USED_UP, covered_quantity=0, amount_due_cents=12000,
                        carc="119", reset_date="2026-05-10")

        a = allotment(self.st, "m1", "2025-12-01", "hearing")
        self.assertEqual((a.used, a.remaining, a.percent_used, a.period_start, a.reset_date,
                          a.x12_time_period),
                         (1, 0, 100, window_start("2025-12-01"), "2026-05-10", "7"))
        self.assertEqual(history(a), [("2025-05-10", SRC_INVOICE, "i1", "1", "", 1)])

        l3 = self.price1("i3", "m1", line("HEARING", "2026-05-10"))
        self.assertLine(l3, reason=COVERED, amount_due_cents=0, reset_date="2027-05-10")

    def test_rolling_back_dated_line_cannot_overfill_a_later_window(self):
        self.plan("p", version("2024-01-01", [
            rule("hearing", ["HEARING"], QTY, 1, rolling_days(365))]))
        self.member("m1", "p", "2024-01-01")
        self.assertLine(self.price1("i1", "m1", line("HEARING", "2026-05-10")), reason=COVERED)
        # 2025-06-01 lies in the window (2025-05-10, 2026-05-10] that is full already
        self.assertLine(self.price1("i2", "m1", line("HEARING", "2025-06-01")), reason=USED_UP)
        # no window that contains 2025-05-10 reaches 2026-05-10
        self.assertLine(self.price1("i3", "m1", line("HEARING", "2025-05-10")), reason=COVERED)
        # rolling with nothing used: no reset date
        self.member("m2", "p", "2024-01-01")
        a = allotment(self.st, "m2", "2025-12-01", "hearing")
        self.assertEqual((a.used, a.remaining, a.reset_date), (0, 1, ""))


# ---------------------------------------------------------------------------
# pricing rules
# ---------------------------------------------------------------------------

class Rules(PricingCase):
    def test_split(self):
        self.plan("p", version("2025-01-01", [rule("massage", ["MASSAGE"], QTY, 3, CAL_YEAR)]))
        self.member("m1", "p", "2025-01-01")
        self.assertSplit(self.price1("i1", "m1", line("MASSAGE", "2025-02-01", 2)), 2, 0, 0)
        ln = self.price1("i2", "m1", line("MASSAGE", "2025-03-01", 3))
        self.assertLine(ln, covered_quantity=1, billable_quantity=2, unit_price_cents=8000,
                        covered_amount_cents=8000, billable_unit_price_cents=8000,
                        amount_due_cents=16000, due=[(PATIENT, "m1", 16000)], reason=PARTLY,
                        carc="119", remaining=0)
        self.assertEqual(ln.rules[0].drawn, 1)
        # a line's own price replaces the cash price
        ln = self.price1("i3", "m1", line("MASSAGE", "2025-04-01", 2, price=7000))
        self.assertLine(ln, covered_quantity=0, billable_quantity=2, unit_price_cents=7000,
                        billable_unit_price_cents=7000, amount_due_cents=14000, reason=USED_UP)
        self.assertEqual(used(self.st, "m1", "2025-12-31", "massage"), 3)

    def test_lines_see_earlier_lines(self):
        self.plan("p", version("2025-01-01", [rule("hv", ["HOME_VISIT"], QTY, 2, CAL_YEAR)]))
        self.member("m1", "p", "2025-01-01")
        r = self.price("i1", "m1", line("HOME_VISIT", "2025-05-01", 1, "a"),
                       line("HOME_VISIT", "2025-02-01", 2, "b"),
                       line("HOME_VISIT", "2025-03-01", 1, "c"))
        self.assertEqual([(ln.line_id, ln.covered_quantity, ln.billable_quantity,
                           ln.amount_due_cents, ln.reason) for ln in r.lines],
                         [("a", 1, 0, 0, COVERED), ("b", 1, 1, 15000, PARTLY),
                          ("c", 0, 1, 15000, USED_UP)])
        self.assertEqual(r.total_due_cents, 30000)

    def test_line_worth_nothing_counts_units(self):
        self.plan("p", version("2025-01-01", [rule("free", ["FREE"], QTY, 1, CAL_YEAR)]))
        self.member("m1", "p", "2025-01-01")
        ln = self.price1("i1", "m1", line("FREE", "2025-02-01", 3))
        self.assertLine(ln, covered_quantity=1, billable_quantity=2, covered_amount_cents=0,
                        amount_due_cents=0, due=[], reason=PARTLY, remaining=0)
        self.assertEqual(used(self.st, "m1", "2025-06-01", "free"), 1)

    def test_amount_limit_to_the_cent(self):
        self.plan("p", version("2025-01-01", [rule("labs", ["LAB"], AMT, 20000, CAL_YEAR)]))
        self.member("m1", "p", "2025-01-01")
        self.member("m2", "p", "2025-01-01")
        # $300 against $200: $200 covered, $100 billed
        ln = self.price1("i1", "m1", line("LAB", "2025-02-01"))
        self.assertLine(ln, covered_quantity=1, billable_quantity=0, unit_price_cents=30000,
                        covered_amount_cents=20000, billable_unit_price_cents=30000,
                        amount_due_cents=10000, due=[(PATIENT, "m1", 10000)], reason=PARTLY,
                        carc="119", remaining=0, rule_key="labs")
        self.assertEqual(ln.rules[0].drawn, 20000)
        self.assertLine(self.price1("i2", "m1", line("LAB", "2025-03-01")), covered_quantity=0,
                        covered_amount_cents=0, amount_due_cents=30000, reason=USED_UP)
        a = allotment(self.st, "m1", "2025-06-01", "labs")
        self.assertEqual((a.limit, a.used, a.remaining, a.percent_used), (AMT, 20000, 0, 100))

        # one cent left covers one cent
        self.assertLine(self.price1("j1", "m2", line("LAB", "2025-02-01", price=19999)),
                        covered_amount_cents=19999, amount_due_cents=0, remaining=1,
                        reason=COVERED)
        ln = self.price1("j2", "m2", line("LAB", "2025-02-02", 2, price=5000))
        self.assertLine(ln, covered_quantity=1, billable_quantity=1, covered_amount_cents=1,
                        amount_due_cents=9999, remaining=0, reason=PARTLY)
        self.assertEqual(used(self.st, "m2", "2025-06-01", "labs"), 20000)

    def test_amount_and_quantity_rule_on_one_code(self):
        self.plan("p", version("2025-01-01", [
            rule("lab-count", ["LAB"], QTY, 10, CAL_YEAR),
            rule("labs", ["LAB"], AMT, 20000, CAL_YEAR)]))
        self.member("m1", "p", "2025-01-01")
        ln = self.price1("i1", "m1", line("LAB", "2025-02-01", 3, price=10001))
        # 20000 of 30003 covered: two units touched (the second in part)
        self.assertLine(ln, covered_quantity=2, billable_quantity=1, covered_amount_cents=20000,
                        billable_unit_price_cents=10001, amount_due_cents=10003,
                        rule_key="labs", reason=PARTLY)
        self.assertEqual([(u.rule_key, u.limit, u.drawn, u.remaining) for u in ln.rules],
                         [("lab-count", QTY, 2, 8), ("labs", AMT, 20000, 0)])
        self.assertEqual(used(self.st, "m1", "2025-06-01", "lab-count"), 2)
        self.assertEqual(used(self.st, "m1", "2025-06-01", "labs"), 20000)

    def test_overage_price_and_sponsor(self):
        self.plan("p", version("2025-01-01", [
            rule("pt", ["97110"], QTY, 2, CAL_YEAR, overage=5000, payer=SPONSOR)]))
        self.member("m1", "p", "2025-01-01", sponsor="acme")
        self.member("m2", "p", "2025-01-01")
        r = self.price("i1", "m1", line("97110", "2025-02-01", 3, "a"),
                       line("HOME_VISIT", "2025-02-01", 1, "b"),
                       line("97110", "2025-02-02", 1, "c"))
        a, b, c = r.lines
        self.assertLine(a, covered_quantity=2, billable_quantity=1, unit_price_cents=9000,
                        covered_amount_cents=18000, billable_unit_price_cents=5000,
                        amount_due_cents=5000, due=[(pb.PAYER_SPONSOR, "acme", 5000)],
                        reason=PARTLY, carc="119")
        self.assertLine(b, reason=NOT_IN_PLAN, amount_due_cents=15000,
                        due=[(PATIENT, "m1", 15000)])
        self.assertLine(c, covered_quantity=0, billable_unit_price_cents=5000,
                        amount_due_cents=5000, due=[(pb.PAYER_SPONSOR, "acme", 5000)],
                        reason=USED_UP)
        self.assertEqual(r.total_due_cents, 25000)
        self.assertEqual(totals(r), sorted([(pb.PAYER_SPONSOR, "acme", 10000),
                                            (PATIENT, "m1", 15000)]))
        # a member without a sponsor pays the sponsor's share
        ln = self.price1("i2", "m2", line("97110", "2025-02-01", 3))
        self.assertLine(ln, amount_due_cents=5000, due=[(PATIENT, "m2", 5000)])
        # a fully covered line owes nothing
        self.member("m3", "p", "2025-01-01", sponsor="acme")
        ln = self.price1("i3", "m3", line("97110", "2025-02-01", 2))
        self.assertLine(ln, amount_due_cents=0, due=[], reason=COVERED)

    def test_member_price(self):
        self.plan("p", version("2025-01-01", [
            rule("discount", ["DISC"], QTY, 0, CAL_YEAR, overage=2500)]))
        self.member("m1", "p", "2025-01-01")
        ln = self.price1("i1", "m1", line("DISC", "2025-02-01", 2))
        self.assertLine(ln, covered_quantity=0, billable_quantity=2, unit_price_cents=9000,
                        covered_amount_cents=0, billable_unit_price_cents=2500,
                        amount_due_cents=5000, due=[(PATIENT, "m1", 5000)],
                        reason=MEMBER_PRICE, rule_key="discount", carc="")
        a = allotment(self.st, "m1", "2025-06-01", "discount")
        self.assertEqual((a.allowance, a.used, a.remaining, a.percent_used), (0, 0, 0, 0))

    def test_not_in_plan(self):
        self.plan("p", version("2025-01-01", [rule("pt", ["97110"], QTY, 2, CAL_YEAR)]))
        self.member("m1", "p", "2025-01-01")
        r = self.price("i1", "m1", line("HOME_VISIT", "2025-02-01", 2),
                       line("HOME_VISIT", "2025-02-01", 1, price=12345))
        self.assertLine(r.lines[0], covered_quantity=0, billable_quantity=2,
                        covered_amount_cents=0, billable_unit_price_cents=15000,
                        amount_due_cents=30000, due=[(PATIENT, "m1", 30000)],
                        reason=NOT_IN_PLAN, rule_key="", carc="", plan_id="p",
                        plan_effective_from="2025-01-01")
        self.assertEqual(list(r.lines[0].rules), [])
        self.assertLine(r.lines[1], amount_due_cents=12345, unit_price_cents=12345,
                        reason=NOT_IN_PLAN)
        self.assertEqual(r.total_due_cents, 42345)
        self.assertEqual(used(self.st, "m1", "2025-06-01", "pt"), 0)

    def test_no_active_enrollment(self):
        self.plan("p", version("2025-01-01", [rule("hv", ["HOME_VISIT"], QTY, 5, CAL_YEAR)]))
        self.member("m1", "p", "2025-01-01", "2025-06-30")
        r = self.price("i1", "m1", line("HOME_VISIT", "2024-12-31"),
                       line("HOME_VISIT", "2025-06-30"),
                       line("HOME_VISIT", "2025-07-01", price=9900))
        self.assertLine(r.lines[0], covered_quantity=0, billable_quantity=1,
                        amount_due_cents=15000, due=[(PATIENT, "m1", 15000)],
                        reason=NO_ENROLLMENT, rule_key="", plan_id="", plan_effective_from="",
                        carc="")
        self.assertEqual(list(r.lines[0].rules), [])
        self.assertLine(r.lines[1], reason=COVERED, amount_due_cents=0, plan_id="p")  # end inclusive
        self.assertLine(r.lines[2], reason=NO_ENROLLMENT, amount_due_cents=9900)
        self.assertEqual(r.total_due_cents, 24900)
        self.assertEqual(used(self.st, "m1", "2025-06-01", "hv"), 1)

        # enrolled, but the plan has no version in force yet
        self.member("m2", "p", "2024-06-01")
        self.assertLine(self.price1("i2", "m2", line("HOME_VISIT", "2024-09-01")),
                        reason=NO_ENROLLMENT, amount_due_cents=15000, plan_id="")

    def test_household_pool_with_member_cap(self):
        self.plan("fam", version("2025-01-01", [
            rule("class", ["CLASS"], QTY, 3, CAL_YEAR, pool=HOUSEHOLD, member_cap=2)]))
        for m in ("m1", "m2", "m3"):
            self.member(m, "fam", "2025-01-01", household="h1")
        self.assertLine(self.price1("hh-a1", "m1", line("CLASS", "2025-02-01")),
                        reason=COVERED, remaining=1)
        self.assertLine(self.price1("hh-a2", "m1", line("CLASS", "2025-03-01")),
                        reason=COVERED, remaining=0)
        # m1 reached the member cap while the household has 1 left
        self.assertLine(self.price1("hh-a3", "m1", line("CLASS", "2025-04-01")),
                        reason=USED_UP, amount_due_cents=2000, carc="119")
        ln = self.price1("hh-b1", "m2", line("CLASS", "2025-05-01", 2))
        self.assertLine(ln, covered_quantity=1, billable_quantity=1, amount_due_cents=2000,
                        reason=PARTLY, remaining=0)
        self.assertEqual(ln.rules[0].pool, HOUSEHOLD)
        self.assertLine(self.price1("hh-c1", "m3", line("CLASS", "2025-06-01")), reason=USED_UP)

        a1 = allotment(self.st, "m1", "2025-12-01", "class")
        self.assertEqual((a1.pool, a1.used, a1.member_used, a1.member_cap, a1.remaining,
                          a1.percent_used), (HOUSEHOLD, 3, 2, 2, 0, 100))
        self.assertEqual([h.invoice_id for h in a1.history], ["hh-a1", "hh-a2"])
        r2 = allotments(self.st, "m2", "2025-12-01")
        a2 = [a for a in r2.allotments if a.rule_key == "class"][0]
        self.assertEqual((a2.used, a2.member_used, a2.remaining), (3, 1, 0))
        self.assertEqual(history(a2), [("2025-05-01", SRC_INVOICE, "hh-b1", "1", "", 1)])
        raw = r2.SerializeToString()
        for other in (b"hh-a1", b"hh-a2", b"hh-a3"):
            self.assertNotIn(other, raw, "m2's view shows m1's invoice %r" % other)
        a3 = allotment(self.st, "m3", "2025-12-01", "class")
        self.assertEqual((a3.used, a3.member_used, a3.remaining, list(a3.history)),
                         (3, 0, 0, []))

    def test_back_dated_line_draws_on_its_own_period(self):
        self.plan("p", version("2024-01-01", [rule("hv", ["HOME_VISIT"], QTY, 1, CAL_YEAR)]))
        self.member("m1", "p", "2024-01-01")
        self.assertLine(self.price1("i1", "m1", line("HOME_VISIT", "2025-03-01")), reason=COVERED)
        self.assertLine(self.price1("i2", "m1", line("HOME_VISIT", "2024-12-15")),
                        reason=COVERED, period_start="2024-01-01", reset_date="2025-01-01")
        # a late March line sees April's use of the same year
        self.assertLine(self.price1("i3", "m1", line("HOME_VISIT", "2025-02-01")),
                        reason=USED_UP, period_start="2025-01-01")
        a = allotment(self.st, "m1", "2024-12-31", "hv")
        self.assertEqual((a.used, history(a)),
                         (1, [("2024-12-15", SRC_INVOICE, "i2", "1", "", 1)]))
        self.assertEqual(used(self.st, "m1", "2025-12-31", "hv"), 1)

    def test_new_plan_version_keeps_usage_of_the_key(self):
        self.plan("p", version("2025-01-01", [rule("hv", ["HOME_VISIT"], QTY, 2, CAL_YEAR)]),
                  version("2025-07-01", [rule("hv", ["HOME_VISIT"], QTY, 3, CAL_YEAR)]))
        self.member("m1", "p", "2025-01-01")
        r = self.price("i1", "m1", line("HOME_VISIT", "2025-03-01"),
                       line("HOME_VISIT", "2025-04-01"), line("HOME_VISIT", "2025-08-01"),
                       line("HOME_VISIT", "2025-09-01"))
        self.assertEqual([(ln.reason, ln.plan_effective_from, ln.remaining) for ln in r.lines],
                         [(COVERED, "2025-01-01", 1), (COVERED, "2025-01-01", 0),
                          (COVERED, "2025-07-01", 0), (USED_UP, "2025-07-01", 0)])

    def test_move_to_another_plan_with_the_same_key_keeps_usage(self):
        self.plan("a", version("2025-01-01", [rule("hv", ["HOME_VISIT"], QTY, 2, CAL_YEAR)]))
        self.plan("b", version("2025-01-01", [rule("hv", ["HOME_VISIT"], QTY, 3, CAL_YEAR),
                                              rule("new-key", ["HOME_VISIT"], QTY, 5,
                                                   CAL_YEAR)]))
        put_member(self.st, member("m1", [enrollment("a", "2025-01-01", "2025-06-30"),
                                          enrollment("b", "2025-07-01")]))
        self.price("i1", "m1", line("HOME_VISIT", "2025-03-01", 2))
        ln = self.price1("i2", "m1", line("HOME_VISIT", "2025-08-01", 2))
        self.assertLine(ln, plan_id="b", covered_quantity=1, billable_quantity=1,
                        rule_key="hv", reason=PARTLY)
        self.assertEqual([(u.rule_key, u.drawn, u.remaining) for u in ln.rules],
                         [("hv", 1, 0), ("new-key", 1, 4)])
        resp = allotments(self.st, "m1", "2025-09-01")
        self.assertEqual(resp.plan_id, "b")
        self.assertEqual([(a.rule_key, a.used, a.remaining, a.member_used, a.member_cap)
                          for a in resp.allotments],
                         [("hv", 3, 0, 3, 0), ("new-key", 1, 4, 1, 0)])

    def test_unlimited_rule(self):
        self.plan("p", version("2025-01-01", [
            rule("vaccines", ["VACCINE"], AMT, 0, LIFETIME, unlimited=True)]))
        self.member("m1", "p", "2025-01-01")
        ln = self.price1("i1", "m1", line("VACCINE", "2025-02-01", 2))
        self.assertLine(ln, covered_quantity=2, covered_amount_cents=8000, amount_due_cents=0,
                        reason=COVERED, unlimited=True, remaining=0, period_start="",
                        reset_date="")
        a = allotment(self.st, "m1", "2025-06-01", "vaccines")
        self.assertEqual((a.unlimited, a.used, a.remaining, a.percent_used, a.period_start,
                          a.reset_date, a.x12_time_period),
                         (True, 8000, 0, 0, "", "", "32"))


# ---------------------------------------------------------------------------
# preview
# ---------------------------------------------------------------------------

class Preview(PricingCase):
    def test_preview_answers_like_a_commit_and_records_nothing(self):
        self.plan("p", version("2025-01-01", [rule("hv", ["HOME_VISIT"], QTY, 2, CAL_YEAR)]))
        self.member("m1", "p", "2025-01-01")
        self.price("i0", "m1", line("HOME_VISIT", "2025-02-01"))
        before = allotments(self.st, "m1", "2025-06-01")
        req = invoice("p1", "m1", [line("HOME_VISIT", "2025-03-01"),
                                   line("HOME_VISIT", "2025-04-01", 2)])
        pv = self.st.PreviewInvoice(req)
        self.assertEqual(pv.invoice_id, "p1")
        self.assertEqual([(ln.covered_quantity, ln.billable_quantity, ln.reason)
                          for ln in pv.lines], [(1, 0, COVERED), (0, 2, USED_UP)])
        self.assertEqual(pv.total_due_cents, 30000)
        self.assertEqual(allotments(self.st, "m1", "2025-06-01"), before)
        self.assertEqual(self.st.PreviewInvoice(req), pv)
        # the invoice id is not taken by a preview: a commit prices it, the same way
        body, replayed = price_raw(self.s.channel, req)
        self.assertFalse(replayed)
        self.assertEqual(pb.PriceInvoiceResponse.FromString(body), pv)
        self.assertEqual(used(self.st, "m1", "2025-06-01", "hv"), 2)
        # previews need no invoice id, and echo it empty
        pv2 = self.st.PreviewInvoice(invoice("", "m1", [line("HOME_VISIT", "2025-05-01")]))
        self.assertEqual((pv2.invoice_id, pv2.lines[0].reason), ("", USED_UP))

    def test_preview_of_other_content_under_a_previewed_id(self):
        self.plan("p", version("2025-01-01", [rule("hv", ["HOME_VISIT"], QTY, 2, CAL_YEAR)]))
        self.member("m1", "p", "2025-01-01")
        self.st.PreviewInvoice(invoice("x", "m1", [line("HOME_VISIT", "2025-03-01", 2)]))
        r = self.price("x", "m1", line("HOME_VISIT", "2025-03-01", 1))
        self.assertEqual(r.lines[0].remaining, 1)


# ---------------------------------------------------------------------------
# idempotency
# ---------------------------------------------------------------------------

class Idempotency(PricingCase):
    def setUp(self):
        super().setUp()
        self.plan("p", version("2025-01-01", [rule("hv", ["HOME_VISIT"], QTY, 2, CAL_YEAR)]))
        self.member("m1", "p", "2025-01-01")
        self.member("m2", "p", "2025-01-01")

    def test_retry_returns_the_same_bytes_and_counts_once(self):
        req = invoice("i1", "m1", [line("HOME_VISIT", "2025-03-01"),
                                   line("HOME_VISIT", "2025-04-01", 2)])
        first, replayed = price_raw(self.s.channel, req)
        self.assertFalse(replayed, "a first pricing says allot-replayed")
        self.assertEqual(used(self.st, "m1", "2025-06-01", "hv"), 2)
        for _ in range(2):
            again, replayed = price_raw(self.s.channel, req)
            self.assertTrue(replayed, "a retry lacks the trailer allot-replayed: true")
            self.assertEqual(again, first)
        self.assertEqual(used(self.st, "m1", "2025-06-01", "hv"), 2)
        # "" line ids are the positions: the same content written out
        explicit = invoice("i1", "m1", [line("HOME_VISIT", "2025-03-01", 1, "1"),
                                        line("HOME_VISIT", "2025-04-01", 2, "2")])
        self.assertEqual(price_raw(self.s.channel, explicit), (first, True))
        # later use does not change the stored answer
        self.price("i2", "m1", line("HOME_VISIT", "2025-05-01"))
        self.assertEqual(price_raw(self.s.channel, req), (first, True))
        self.assertEqual(used(self.st, "m1", "2025-06-01", "hv"), 2)

    def test_an_invoice_that_draws_nothing_is_stored_too(self):
        req = invoice("i0", "m1", [line("MASSAGE", "2025-03-01"),      # not in the plan
                                   line("HOME_VISIT", "2024-03-01")])  # not enrolled
        first, replayed = price_raw(self.s.channel, req)
        self.assertFalse(replayed)
        self.assertEqual(pb.PriceInvoiceResponse.FromString(first).total_due_cents, 23000)
        self.assertEqual(price_raw(self.s.channel, req), (first, True))
        self.assertRpcError(SC.ALREADY_EXISTS, "invoice_id", self.st.PriceInvoice,
                            invoice("i0", "m1", [line("HOME_VISIT", "2025-03-01")]))
        self.assertEqual(used(self.st, "m1", "2025-06-01", "hv"), 0)

    def test_same_id_other_content_is_already_exists(self):
        orig = [line("HOME_VISIT", "2025-03-01")]
        first, _ = price_raw(self.s.channel, invoice("i1", "m1", orig))
        cases = [
            ("other quantity", invoice("i1", "m1", [line("HOME_VISIT", "2025-03-01", 2)])),
            ("other member", invoice("i1", "m2", orig)),
            ("extra line", invoice("i1", "m1", orig + [line("HOME_VISIT", "2025-03-02")])),
            ("other date", invoice("i1", "m1", [line("HOME_VISIT", "2025-03-02")])),
            ("other unit price", invoice("i1", "m1", [line("HOME_VISIT", "2025-03-01",
                                                           price=14000)])),
            ("other line id", invoice("i1", "m1", [line("HOME_VISIT", "2025-03-01", 1, "x")])),
        ]
        for label, req in cases:
            with self.subTest(label):
                self.assertRpcError(SC.ALREADY_EXISTS, "invoice_id", self.st.PriceInvoice, req)
        self.assertEqual(used(self.st, "m1", "2025-06-01", "hv"), 1)
        self.assertEqual(used(self.st, "m2", "2025-06-01", "hv"), 0)
        self.assertEqual(price_raw(self.s.channel, invoice("i1", "m1", orig)), (first, True))


# ---------------------------------------------------------------------------
# voids
# ---------------------------------------------------------------------------

class Voids(PricingCase):
    def setUp(self):
        super().setUp()
        self.plan("p", version("2025-01-01", [rule("hv", ["HOME_VISIT"], QTY, 2, CAL_YEAR)]))
        self.member("m1", "p", "2025-01-01")

    def void(self, invoice_id, line_id=""):
        r = self.st.VoidInvoice(pb.VoidInvoiceRequest(invoice_id=invoice_id, line_id=line_id))
        self.assertEqual(r.invoice_id, invoice_id)
        return list(r.voided_line_ids)

    def hv(self):
        return used(self.st, "m1", "2025-06-01", "hv")

    def test_void_whole_invoice(self):
        req = invoice("i1", "m1", [line("HOME_VISIT", "2025-03-01"),
                                   line("HOME_VISIT", "2025-04-01")])
        first = pb.PriceInvoiceResponse.FromString(price_raw(self.s.channel, req)[0])
        self.assertEqual(self.hv(), 2)
        self.assertEqual(self.void("i1"), ["1", "2"])
        self.assertEqual(self.hv(), 0)
        self.assertEqual(list(allotment(self.st, "m1", "2025-06-01", "hv").history), [])
        self.assertEqual(self.void("i1"), [])
        self.assertEqual(self.void("i1", "1"), [])
        self.assertEqual(self.hv(), 0)
        # replay: the stored lines, all voided
        body, replayed = price_raw(self.s.channel, req)
        self.assertTrue(replayed)
        got = pb.PriceInvoiceResponse.FromString(body)
        want = pb.PriceInvoiceResponse()
        want.CopyFrom(first)
        for ln in want.lines:
            ln.voided = True
        self.assertEqual(got, want)
        # the allotment is back
        self.assertLine(self.price1("i2", "m1", line("HOME_VISIT", "2025-05-01")),
                        reason=COVERED, remaining=1)

    def test_void_one_line(self):
        req = invoice("i1", "m1", [line("HOME_VISIT", "2025-03-01", 1, "a"),
                                   line("HOME_VISIT", "2025-04-01", 2, "b"),
                                   line("HOME_VISIT", "2025-05-01", 1, "c")])
        first = pb.PriceInvoiceResponse.FromString(price_raw(self.s.channel, req)[0])
        self.assertEqual(first.total_due_cents, 30000)
        self.assertEqual(self.void("i1", "b"), ["b"])
        self.assertEqual(self.hv(), 1)
        self.assertEqual([h.line_id for h in allotment(self.st, "m1", "2025-06-01", "hv").history],
                         ["a"])
        self.assertEqual(self.void("i1", "b"), [])
        self.assertRpcError(SC.NOT_FOUND, "line_id", self.st.VoidInvoice,
                            pb.VoidInvoiceRequest(invoice_id="i1", line_id="nope"))
        body, replayed = price_raw(self.s.channel, req)
        self.assertTrue(replayed)
        got = pb.PriceInvoiceResponse.FromString(body)
        self.assertEqual([ln.voided for ln in got.lines], [False, True, False])
        self.assertEqual(got.total_due_cents, 15000)
        self.assertEqual(totals(got), [(PATIENT, "m1", 15000)])
        for g, f in zip(got.lines, first.lines):
            g.voided = False
            self.assertEqual(g, f)
        # the rest of the invoice
        self.assertEqual(self.void("i1"), ["a", "c"])
        self.assertEqual(self.hv(), 0)
        got = pb.PriceInvoiceResponse.FromString(price_raw(self.s.channel, req)[0])
        self.assertEqual(([ln.voided for ln in got.lines], got.total_due_cents, list(got.totals)),
                         ([True, True, True], 0, []))

    def test_void_survives_a_restart(self):
        req = invoice("i1", "m1", [line("HOME_VISIT", "2025-03-01", 1, "a"),
                                   line("HOME_VISIT", "2025-04-01", 1, "b")])
        self.price("i1", "m1", *req.lines)
        self.assertEqual(self.void("i1", "a"), ["a"])
        voided, _ = price_raw(self.s.channel, req)
        self.assertEqual(self.s.stop(), 0)
        self.s = self.new_server(workdir=self.s.workdir, data_dir=self.s.data_dir).start()
        self.st = self.s.stub
        self.assertEqual(price_raw(self.s.channel, req), (voided, True))
        self.assertEqual(self.hv(), 1)
        self.assertEqual(self.void("i1", "a"), [])
        self.assertEqual(self.void("i1"), ["b"])
        self.assertEqual(self.hv(), 0)

    def test_void_unknown(self):
        self.assertRpcError(SC.NOT_FOUND, "invoice_id", self.st.VoidInvoice,
                            pb.VoidInvoiceRequest(invoice_id="nope"))
        self.assertRpcError(INVALID, "invoice_id", self.st.VoidInvoice, pb.VoidInvoiceRequest())
        # an unknown invoice named with a line: the message names the invoice
        self.assertRpcError(SC.NOT_FOUND, "invoice_id", self.st.VoidInvoice,
                            pb.VoidInvoiceRequest(invoice_id="nope", line_id="1"))

    def test_void_does_not_reprice_later_invoices(self):
        self.price("i1", "m1", line("HOME_VISIT", "2025-03-01", 2))
        req2 = invoice("i2", "m1", [line("HOME_VISIT", "2025-04-01")])
        b2, _ = price_raw(self.s.channel, req2)
        self.assertEqual(pb.PriceInvoiceResponse.FromString(b2).lines[0].reason, USED_UP)
        self.assertEqual(self.void("i1"), ["1"])
        self.assertEqual(price_raw(self.s.channel, req2), (b2, True))
        self.assertEqual(self.hv(), 0)
        self.assertLine(self.price1("i3", "m1", line("HOME_VISIT", "2025-05-01")), reason=COVERED)


# ---------------------------------------------------------------------------
# prior usage
# ---------------------------------------------------------------------------

def usage(usage_id, member_id, rule_key, date, amount, source=SRC_PRIOR, note=""):
    return pb.RecordUsageRequest(usage_id=usage_id, member_id=member_id, rule_key=rule_key,
                                 service_date=date, amount=amount, source=source, note=note)


class Usage(PricingCase):
    def setUp(self):
        super().setUp()
        self.plan("p", version("2024-01-01", [
            rule("hv", ["HOME_VISIT"], QTY, 2, CAL_YEAR),
            rule("labs", ["LAB"], AMT, 20000, CAL_YEAR)]))
        self.member("m1", "p", "2025-01-01")

    def record(self, req):
        return self.st.RecordUsage(req)

    def test_prior_usage_counts(self):
        r = self.record(usage("u1", "m1", "hv", "2025-02-01", 1, note="before us"))
        self.assertEqual(r.usage_id, "u1")
        self.assertEqual(r.rule, pb.RuleUse(rule_key="hv", limit=QTY, pool=MEMBER, allowance=2,
                                            drawn=1, remaining=1, period_start="2025-01-01",
                                            reset_date="2026-01-01"))
        a = allotment(self.st, "m1", "2025-06-01", "hv")
        self.assertEqual((a.used, a.remaining, a.percent_used), (1, 1, 50))
        self.assertEqual(history(a), [("2025-02-01", SRC_PRIOR, "", "", "u1", 1)])
        r = self.price("i1", "m1", line("HOME_VISIT", "2025-03-01"),
                       line("HOME_VISIT", "2025-04-01"))
        self.assertEqual([ln.reason for ln in r.lines], [COVERED, USED_UP])
        # other sources, amount rules in cents
        self.record(usage("u2", "m1", "labs", "2025-02-01", 15000, source=SRC_EXTERNAL))
        self.record(usage("u3", "m1", "labs", "2025-02-02", 1000, source=SRC_ADJUSTMENT))
        a = allotment(self.st, "m1", "2025-06-01", "labs")
        self.assertEqual((a.used, a.remaining, a.percent_used), (16000, 4000, 80))
        self.assertEqual([(h.source, h.usage_id, h.amount) for h in a.history],
                         [(SRC_EXTERNAL, "u2", 15000), (SRC_ADJUSTMENT, "u3", 1000)])
        self.assertLine(self.price1("i2", "m1", line("LAB", "2025-03-01")),
                        covered_amount_cents=4000, amount_due_cents=26000, reason=PARTLY)

    def test_idempotent_by_usage_id(self):
        req = usage("u1", "m1", "hv", "2025-02-01", 1)
        first, replayed = usage_raw(self.s.channel, req)
        self.assertFalse(replayed)
        self.assertEqual(usage_raw(self.s.channel, req), (first, True))
        self.assertEqual(used(self.st, "m1", "2025-06-01", "hv"), 1)
        self.member("m2", "p", "2025-01-01")
        for label, other in (("other amount", usage("u1", "m1", "hv", "2025-02-01", 2)),
                             ("other member", usage("u1", "m2", "hv", "2025-02-01", 1)),
                             ("other date", usage("u1", "m1", "hv", "2025-02-02", 1))):
            with self.subTest(label):
                self.assertRpcError(SC.ALREADY_EXISTS, "usage_id", self.st.RecordUsage, other)
        self.assertEqual(used(self.st, "m1", "2025-06-01", "hv"), 1)
        self.assertEqual(used(self.st, "m2", "2025-06-01", "hv"), 0)

    def test_may_exceed_the_allowance(self):
        r = self.record(usage("u1", "m1", "hv", "2025-02-01", 3))
        self.assertEqual((r.rule.drawn, r.rule.remaining), (3, 0))
        a = allotment(self.st, "m1", "2025-06-01", "hv")
        self.assertEqual((a.used, a.remaining, a.percent_used), (3, 0, 150))
        self.assertLine(self.price1("i1", "m1", line("HOME_VISIT", "2025-03-01")),
                        reason=USED_UP, remaining=0)

    def test_percent_used_is_floored(self):
        self.plan("q", version("2024-01-01", [rule("three", ["HOME_VISIT"], QTY, 3, CAL_YEAR)]))
        self.member("m3", "q", "2025-01-01")
        self.price("i1", "m3", line("HOME_VISIT", "2025-02-01", 2))
        a = allotment(self.st, "m3", "2025-06-01", "three")
        self.assertEqual((a.used, a.remaining, a.percent_used), (2, 1, 66))

    def test_usage_before_the_first_enrollment(self):
        self.plan("late", version("2024-01-01", [rule("hv", ["HOME_VISIT"], QTY, 2, CAL_YEAR)]))
        self.member("m2", "late", "2025-03-01")
        r = self.record(usage("u1", "m2", "hv", "2025-01-15", 1))
        self.assertEqual((r.rule.rule_key, r.rule.remaining), ("hv", 1))
        self.assertEqual(used(self.st, "m2", "2025-04-01", "hv"), 1)
        r = self.price("i1", "m2", line("HOME_VISIT", "2025-04-01"),
                       line("HOME_VISIT", "2025-05-01"))
        self.assertEqual([ln.reason for ln in r.lines], [COVERED, USED_UP])

    def test_usage_before_the_plans_first_version(self):
        # dated before the enrollment and before the plan's first version: the
        # version in force on the enrollment's start takes it
        self.plan("new", version("2025-03-01", [rule("hv", ["HOME_VISIT"], QTY, 2, CAL_YEAR)]))
        self.member("m2", "new", "2025-03-01")
        r = self.record(usage("u1", "m2", "hv", "2025-01-15", 1))
        self.assertEqual((r.rule.rule_key, r.rule.drawn, r.rule.remaining,
                          r.rule.period_start), ("hv", 1, 1, "2025-01-01"))
        self.assertEqual(used(self.st, "m2", "2025-04-01", "hv"), 1)

    def test_errors_record_nothing(self):
        put_member(self.st, member("gone", [enrollment("p", "2024-01-01", "2024-12-31")]))
        cases = [
            ("unknown rule key", usage("e1", "m1", "nope", "2025-02-01", 1), SC.NOT_FOUND,
             "rule_key"),
            ("unknown member", usage("e2", "nobody", "hv", "2025-02-01", 1), SC.NOT_FOUND,
             "member_id"),
            ("not enrolled on or after the date", usage("e3", "gone", "hv", "2025-02-01", 1),
             SC.FAILED_PRECONDITION, None),
            ("source INVOICE", usage("e4", "m1", "hv", "2025-02-01", 1, source=SRC_INVOICE),
             INVALID, "source"),
            ("amount 0", usage("e5", "m1", "hv", "2025-02-01", 0), INVALID, "amount"),
            ("amount -1", usage("e6", "m1", "hv", "2025-02-01", -1), INVALID, "amount"),
            ("bad date", usage("e7", "m1", "hv", "2025-02-30", 1), INVALID, "service_date"),
            ("empty usage id", usage("", "m1", "hv", "2025-02-01", 1), INVALID, "usage_id"),
        ]
        for label, req, code, field in cases:
            with self.subTest(label):
                self.assertRpcError(code, field, self.st.RecordUsage, req)
        self.assertEqual(used(self.st, "m1", "2025-06-01", "hv"), 0)
        self.assertEqual(used(self.st, "gone", "2024-06-01", "hv"), 0)
        # the ids were not taken
        body, replayed = usage_raw(self.s.channel, usage("e1", "m1", "hv", "2025-02-01", 1))
        self.assertFalse(replayed)
        self.assertEqual(used(self.st, "m1", "2025-06-01", "hv"), 1)

    def test_void_usage(self):
        req = usage("u1", "m1", "hv", "2025-02-01", 2)
        self.record(req)
        self.assertEqual(used(self.st, "m1", "2025-06-01", "hv"), 2)
        r = self.st.VoidUsage(pb.VoidUsageRequest(usage_id="u1"))
        self.assertEqual((r.usage_id, r.voided), ("u1", True))
        a = allotment(self.st, "m1", "2025-06-01", "hv")
        self.assertEqual((a.used, list(a.history)), (0, []))
        r = self.st.VoidUsage(pb.VoidUsageRequest(usage_id="u1"))
        self.assertEqual((r.usage_id, r.voided), ("u1", False))
        self.assertRpcError(SC.NOT_FOUND, "usage_id", self.st.VoidUsage,
                            pb.VoidUsageRequest(usage_id="nope"))
        # a retry of the voided record records nothing again
        self.record(req)
        self.assertEqual(used(self.st, "m1", "2025-06-01", "hv"), 0)
        r = self.price("i1", "m1", line("HOME_VISIT", "2025-03-01", 2))
        self.assertEqual(r.lines[0].reason, COVERED)


# ---------------------------------------------------------------------------
# allotments view
# ---------------------------------------------------------------------------

class Allotments(PricingCase):
    def test_fields_for_every_period_kind(self):
        P = pb
        rules = [
            rule("cal-year", ["HOME_VISIT"], QTY, 3, CAL_YEAR),
            rule("member-year", ["MASSAGE"], QTY, 2, MEMBER_YEAR),
            rule("plan-year", ["97110"], QTY, 2, period(P.PERIOD_KIND_PLAN_YEAR, 7, 1)),
            rule("cal-month", ["97112"], QTY, 2, CAL_MONTH),
            rule("member-month", ["CLASS"], QTY, 2, period(P.PERIOD_KIND_MEMBER_MONTH)),
            rule("quarter", ["CLASS"], QTY, 2, period(P.PERIOD_KIND_CALENDAR_QUARTER)),
            rule("roll-days", ["HEARING"], QTY, 1, rolling_days(30)),
            rule("roll-36", ["HEARING"], QTY, 1, rolling_months(36)),
            rule("roll-18", ["HEARING"], QTY, 1, rolling_months(18)),
            rule("life", ["DISC"], QTY, 5, LIFETIME),
        ]
        self.plan("p", version("2024-01-01", rules))
        self.member("m1", "p", "2024-03-15", anniversary="2024-03-15")
        want = {
            "cal-year": ("2025-01-01", "2026-01-01", "23"),
            "member-year": ("2025-03-15", "2026-03-15", "22"),
            "plan-year": ("2025-07-01", "2026-07-01", "22"),
            "cal-month": ("2025-08-01", "2025-09-01", "34"),
            "member-month": ("2025-08-15", "2025-09-15", "34"),
            "quarter": ("2025-07-01", "2025-10-01", ""),
            "roll-days": ("2025-07-22", "", "7"),
            "roll-36": ("2022-08-21", "", "21"),
            "roll-18": ("2024-02-21", "", "34"),
            "life": ("", "", "32"),
        }
        # two of three used, priced out of date order; plus a prior entry elsewhere
        self.price("i2", "m1", line("HOME_VISIT", "2025-06-01", 1, "x"))
        self.price("i1", "m1", line("HOME_VISIT", "2025-02-01", 1, "y"))
        self.price("i0", "m1", line("HOME_VISIT", "2024-12-01"))  # another year
        self.st.RecordUsage(usage("u1", "m1", "life", "2024-05-01", 2))
        resp = allotments(self.st, "m1", "2025-08-20")
        self.assertEqual((resp.member_id, resp.as_of, resp.plan_id, resp.plan_effective_from),
                         ("m1", "2025-08-20", "p", "2024-01-01"))
        self.assertEqual([a.rule_key for a in resp.allotments], [r.key for r in rules])
        for a, r in zip(resp.allotments, rules):
            with self.subTest(a.rule_key):
                self.assertEqual((a.period_start, a.reset_date, a.x12_time_period),
                                 want[a.rule_key])
                self.assertEqual((list(a.service_codes), a.limit, a.pool, a.period,
                                  a.unlimited, a.allowance),
                                 (list(r.service_codes), r.limit, r.pool, r.period, False,
                                  r.allowance))
        by = {a.rule_key: a for a in resp.allotments}
        a = by["cal-year"]
        self.assertEqual((a.used, a.remaining, a.percent_used), (2, 1, 66))
        self.assertEqual(history(a), [("2025-02-01", SRC_INVOICE, "i1", "y", "", 1),
                                      ("2025-06-01", SRC_INVOICE, "i2", "x", "", 1)])
        a = by["life"]
        self.assertEqual((a.used, a.remaining, a.percent_used, history(a)),
                         (2, 3, 40, [("2024-05-01", SRC_PRIOR, "", "", "u1", 2)]))
        self.assertEqual((by["roll-days"].used, by["roll-days"].remaining), (0, 1))

    def test_as_of_defaults_to_today(self):
        self.plan("p", version("2000-01-01", [rule("hv", ["HOME_VISIT"], QTY, 2, CAL_YEAR)]))
        self.member("m1", "p", "2000-01-01")
        before = datetime.date.today()
        resp = allotments(self.st, "m1", "")
        after = datetime.date.today()
        self.assertIn(resp.as_of, {iso(before), iso(after)})
        today = d(resp.as_of)
        self.assertEqual(resp.plan_id, "p")
        self.assertEqual(resp.allotments[0].period_start, "%04d-01-01" % today.year)
        self.assertEqual(resp.allotments[0].reset_date, "%04d-01-01" % (today.year + 1))

    def test_not_enrolled_and_errors(self):
        self.plan("p", version("2025-01-01", [rule("hv", ["HOME_VISIT"], QTY, 2, CAL_YEAR)]))
        self.member("m1", "p", "2025-01-01", "2025-06-30")
        self.member("m2", "p", "2024-06-01")  # the plan starts later
        for mid, as_of in (("m1", "2025-07-01"), ("m1", "2024-12-31"), ("m2", "2024-09-01")):
            with self.subTest(member=mid, as_of=as_of):
                resp = allotments(self.st, mid, as_of)
                self.assertEqual((resp.member_id, resp.as_of, resp.plan_id,
                                  resp.plan_effective_from, list(resp.allotments)),
                                 (mid, as_of, "", "", []))
        self.assertEqual(len(allotments(self.st, "m1", "2025-06-30").allotments), 1)
        self.assertRpcError(SC.NOT_FOUND, "member_id", self.st.GetAllotments,
                            pb.GetAllotmentsRequest(member_id="nobody", as_of="2025-01-01"))
        self.assertRpcError(INVALID, "as_of", self.st.GetAllotments,
                            pb.GetAllotmentsRequest(member_id="m1", as_of="2025-02-30"))
        self.assertRpcError(INVALID, "member_id", self.st.GetAllotments,
                            pb.GetAllotmentsRequest(member_id="", as_of="2025-01-01"))


# ---------------------------------------------------------------------------
# invalid requests
# ---------------------------------------------------------------------------

class Invalid(PricingCase):
    def setUp(self):
        super().setUp()
        self.plan("p", version("2025-01-01", [rule("hv", ["HOME_VISIT"], QTY, 2, CAL_YEAR)]))
        self.member("m1", "p", "2025-01-01")

    def test_rejected_requests_record_nothing(self):
        ok = line("HOME_VISIT", "2025-03-01")
        many = [line("HOME_VISIT", "2025-03-01", 1, "l%d" % i) for i in range(201)]
        cases = [
            ("unknown member", invoice("e1", "nobody", [ok]), SC.NOT_FOUND, "member_id"),
            ("unknown service on the second line",
             invoice("e2", "m1", [ok, line("NOPE", "2025-03-01")]), SC.NOT_FOUND,
             "lines[1].service_code"),
            ("quantity 0", invoice("e3", "m1", [line("HOME_VISIT", "2025-03-01", 0)]), INVALID,
             "lines[0].quantity"),
            ("quantity 1000001",
             invoice("e4", "m1", [ok, line("HOME_VISIT", "2025-03-01", 1000001)]), INVALID,
             "lines[1].quantity"),
            ("duplicate line ids",
             invoice("e5", "m1", [line("HOME_VISIT", "2025-03-01", 1, "a"),
                                  line("HOME_VISIT", "2025-03-02", 1, "a")]),
             INVALID, "lines[1].line_id"),
            ("a line id equal to another line's position",
             invoice("e6", "m1", [ok, line("HOME_VISIT", "2025-03-02", 1, "1")]), INVALID,
             "lines[1].line_id"),
            ("no lines", invoice("e7", "m1", []), INVALID, "lines"),
            ("201 lines", invoice("e8", "m1", many), INVALID, "lines"),
            ("service_date 2025-02-29",
             invoice("e9", "m1", [line("HOME_VISIT", "2025-02-29")]), INVALID,
             "lines[0].service_date"),
            ("service_date empty", invoice("e10", "m1", [line("HOME_VISIT", "")]), INVALID,
             "lines[0].service_date"),
            ("service_date 2025/03/01", invoice("e11", "m1", [line("HOME_VISIT", "2025/03/01")]),
             INVALID, "lines[0].service_date"),
            ("negative unit price",
             invoice("e12", "m1", [ok, line("HOME_VISIT", "2025-03-01", price=-1)]), INVALID,
             "lines[1].unit_price"),
            ("empty member_id", invoice("e13", "", [ok]), INVALID, "member_id"),
            ("empty service code", invoice("e14", "m1", [line("", "2025-03-01")]), INVALID,
             "lines[0].service_code"),
        ]
        before = allotments(self.st, "m1", "2025-06-01")
        for label, req, code, field in cases:
            with self.subTest(label):
                self.assertRpcError(code, field, self.st.PriceInvoice, req)
                self.assertRpcError(code, field, self.st.PreviewInvoice, req)
                self.assertEqual(allotments(self.st, "m1", "2025-06-01"), before)
        self.assertRpcError(INVALID, "invoice_id", self.st.PriceInvoice,
                            invoice("", "m1", [ok]))
        self.assertEqual(allotments(self.st, "m1", "2025-06-01"), before)
        # none of the ids was taken: each prices afresh now
        for label, req, code, field in cases:
            with self.subTest("afterwards", id=req.invoice_id):
                body, replayed = price_raw(self.s.channel, invoice(req.invoice_id, "m1", [ok]))
                self.assertFalse(replayed)
        self.assertEqual(used(self.st, "m1", "2025-06-01", "hv"), 2)

    def test_boundaries_accepted(self):
        pv = self.st.PreviewInvoice(invoice("b1", "m1", [line("HOME_VISIT", "2025-03-01",
                                                              1000000)]))
        self.assertLine(pv.lines[0], covered_quantity=2, billable_quantity=999998,
                        amount_due_cents=999998 * 15000)
        lines = [line("HOME_VISIT", "2025-03-01", 1, "l%d" % i) for i in range(200)]
        r = self.price("b2", "m1", *lines)
        self.assertEqual(len(r.lines), 200)
        self.assertEqual(r.total_due_cents, 198 * 15000)
        ln = self.price1("b3", "m1", line("FREE", "2025-03-01", 3))
        self.assertLine(ln, reason=NOT_IN_PLAN, amount_due_cents=0, due=[], unit_price_cents=0)


if __name__ == "__main__":
    unittest.main()
