"""The portal's words and rendering, without a server: humane names, periods,
reset dates, bars, household figures, and escaping of everything rendered.

Run: ctest -L clients   (or ALLOT_CLIENT_GEN=<build>/clients/python/gen
/usr/bin/python3 -m unittest -v test_portal_unit from this directory)
"""

import datetime
import os
import re
import sys
import unittest
from http import HTTPStatus

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, os.path.join(HERE, ".."))

import allot_client as ac  # noqa: E402
import portal  # noqa: E402
from allot_client import (Allotment, Allotments, LimitKind, Period, PoolKind,  # noqa: E402
                          UsageEntry, UsageSource)

date = datetime.date


def text(doc):
    """Visible text, roughly: tags dropped, entities decoded, spaces squeezed."""
    import html
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", doc))).strip()


def allotment(**kw):
    base = dict(rule_key="home-visits", service_codes=["HOME_VISIT"], limit=LimitKind.QUANTITY,
                pool=PoolKind.MEMBER, period=Period.member_year(), unlimited=False,
                allowance=2, used=1, remaining=1, percent_used=50,
                period_start=date(2025, 3, 15), reset_date=date(2026, 3, 15),
                history=[UsageEntry(date(2025, 4, 4), UsageSource.INVOICE, "inv-1", "1", "", 1)],
                member_used=0, member_cap=0, x12_time_period="22")
    base.update(kw)
    return Allotment(**base)


NAMES = {"HOME_VISIT": "Home visit", "LAB": "Lab panel", "LAB2": "Lipid panel"}


class Words(unittest.TestCase):
    def test_humanize_key(self):
        self.assertEqual(portal.humanize_key("home-visits"), "Home visits")
        self.assertEqual(portal.humanize_key("PT_visits"), "PT visits")
        self.assertEqual(portal.humanize_key("labs"), "Labs")
        self.assertEqual(portal.humanize_key("--"), "--")

    def test_pluralize(self):
        cases = {"Home visit": "Home visits", "class": "classes", "Therapy": "Therapies",
                 "day": "days", "box": "boxes", "Lab panel": "Lab panels", "visits": "visits",
                 "brush": "brushes", "": ""}
        for given, want in cases.items():
            self.assertEqual(portal.pluralize(given), want, given)

    def test_unit_noun(self):
        a = allotment()
        self.assertEqual(portal.unit_noun(a, NAMES, 2), "home visits")
        self.assertEqual(portal.unit_noun(a, NAMES, 1), "home visit")
        self.assertEqual(portal.unit_noun(allotment(service_codes=["MRI"]), {"MRI": "MRI scan"},
                                          3), "MRI scans")
        # no name: the rule key when it reads as a plural noun
        self.assertEqual(portal.unit_noun(a, {}, 2), "home visits")
        self.assertEqual(portal.unit_noun(allotment(rule_key="pt", service_codes=["A", "B"]),
                                          NAMES, 20), "units")
        self.assertEqual(portal.unit_noun(allotment(rule_key="pt-sessions",
                                                    service_codes=["A", "B"]), NAMES, 1),
                         "pt session")

    def test_period_words(self):
        P = Period
        cases = [(P.calendar_year(), "per calendar year"),
                 (P.member_year(), "per membership year"),
                 (P.plan_year(7, 1), "per plan year (from 1 Jul)"),
                 (P.calendar_month(), "per month"), (P.member_month(), "per membership month"),
                 (P.calendar_quarter(), "per quarter"), (P.rolling_days(365), "in any 365 days"),
                 (P.rolling_months(36), "in any 3 years"), (P.rolling_months(12),
                                                            "in any 12 months"),
                 (P.rolling_months(18), "in any 18 months"), (P.lifetime(), "for life")]
        for p, want in cases:
            self.assertEqual(portal.period_words(p), want)


class Rendering(unittest.TestCase):
    def test_quantity_rule(self):
        html_ = portal.render_allotment(allotment(), NAMES)
        t = text(html_)
        self.assertIn("1 of 2 home visits left", t)
        self.assertIn("resets 15 Mar 2026", t)
        self.assertIn("used 4 Apr 2025", t)
        self.assertIn("per membership year", t)
        self.assertIn("This period: 15 Mar 2025 \u2013 14 Mar 2026", t)
        self.assertIn('class="fill w50 ok"', html_)
        self.assertIn('aria-label="1 of 2 used"', html_)
        self.assertNotIn("style=", html_)  # the CSP forbids inline styles

    def test_bar_levels(self):
        self.assertIn("w0 ok", portal.render_allotment(
            allotment(used=0, remaining=2, history=[]), NAMES))
        self.assertIn("w100 full", portal.render_allotment(
            allotment(used=2, remaining=0), NAMES))
        # over the allowance (prior usage): full, never wider than the bar
        h = portal.render_allotment(allotment(used=5, remaining=0, percent_used=250), NAMES)
        self.assertIn("w100 full", h)
        self.assertIn("0 of 2 home visits left", text(h))
        h = portal.render_allotment(allotment(allowance=12, used=9, remaining=3), NAMES)
        self.assertIn("w75 warn", h)
        # a sliver for a little use of a big allowance
        h = portal.render_allotment(allotment(limit=LimitKind.AMOUNT, allowance=100000, used=1,
                                              remaining=99999), NAMES)
        self.assertIn("w1 ok", h)

    def test_amount_household_rule(self):
        a = allotment(rule_key="labs", service_codes=["LAB", "LAB2"], limit=LimitKind.AMOUNT,
                      pool=PoolKind.HOUSEHOLD, period=Period.calendar_year(),
                      allowance=50000, used=20000, remaining=30000, member_used=12000,
                      member_cap=30000, period_start=date(2025, 1, 1),
                      reset_date=date(2026, 1, 1),
                      history=[UsageEntry(date(2025, 2, 10), UsageSource.INVOICE, "i", "2", "",
                                          12000)])
        t = text(portal.render_allotment(a, NAMES))
        self.assertIn("Labs Household", t)
        self.assertIn("Lab panel, Lipid panel", t)
        self.assertIn("$300.00 of $500.00 left", t)
        self.assertIn("$200.00 used by the household", t)
        self.assertIn("You used $120.00 of the household's $200.00; you can use up to "
                      "$300.00 yourself ($180.00 left).", t)
        self.assertIn("used 10 Feb 2025 ($120.00)", t)
        self.assertIn("Your use this period", t)

    def test_special_rules(self):
        t = text(portal.render_allotment(allotment(unlimited=True, allowance=0, used=3,
                                                   remaining=0), NAMES))
        self.assertIn("Unlimited", t)
        self.assertIn("3 used", t)
        t = text(portal.render_allotment(allotment(allowance=0, used=0, remaining=0,
                                                   history=[]), NAMES))
        self.assertIn("Not included \u2014 member price applies", t)
        t = text(portal.render_allotment(allotment(period=Period.lifetime(), reset_date=None),
                                         NAMES))
        self.assertIn("does not reset", t)
        self.assertNotIn("This period", t)
        t = text(portal.render_allotment(allotment(period=Period.rolling_days(365),
                                                   reset_date=date(2026, 4, 4)), NAMES))
        self.assertIn("more from 4 Apr 2026", t)
        self.assertIn("in any 365 days", t)
        t = text(portal.render_allotment(allotment(period=Period.rolling_days(365), used=0,
                                                   remaining=2, reset_date=None, history=[]),
                                         NAMES))
        self.assertNotIn("resets", t)
        self.assertNotIn("more from", t)

    def test_history_sources(self):
        a = allotment(used=4, remaining=0, history=[
            UsageEntry(date(2025, 3, 20), UsageSource.PRIOR, "", "", "u1", 2),
            UsageEntry(date(2025, 3, 21), UsageSource.EXTERNAL, "", "", "u2", 1),
            UsageEntry(date(2025, 3, 22), UsageSource.ADJUSTMENT, "", "", "u3", 1)])
        t = text(portal.render_allotment(a, NAMES))
        self.assertIn("used 20 Mar 2025 (\u00d72, before joining)", t)
        self.assertIn("used 21 Mar 2025 (with another provider)", t)
        self.assertIn("used 22 Mar 2025 (adjustment)", t)

    def test_everything_is_escaped(self):
        evil = '<img src=x onerror=alert(1)>"\''
        a = allotment(rule_key=evil, service_codes=[evil, "HOME_VISIT"])
        names = {"HOME_VISIT": "<script>alert(2)</script>"}
        al = Allotments(evil, date(2025, 6, 1), evil, date(2024, 1, 1), [a])
        status, doc = portal.member_page(al, names)
        self.assertEqual(status, HTTPStatus.OK)
        self.assertNotIn("<img", doc)
        self.assertNotIn("<script", doc)
        self.assertIn("&lt;img src=x onerror=alert(1)&gt;&quot;&#x27;", doc)
        self.assertIn("&lt;script&gt;alert(2)&lt;/script&gt;", doc)
        # the id in the form's action is percent-encoded, then escaped
        self.assertIn('action="/member/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%22%27"',
                      doc)
        for status, doc in (portal.not_found_page(evil), portal.lookup_page(evil, evil, evil),
                            portal.message_page(500, evil, evil)):
            self.assertNotIn("<img", doc)
            self.assertIn("&lt;img", doc)

    def test_member_page(self):
        al = Allotments("m-1", date(2025, 6, 1), "family", date(2024, 1, 1), [allotment()])
        status, doc = portal.member_page(al, NAMES)
        t = text(doc)
        self.assertIn("Coverage for member m-1", t)
        self.assertIn("Plan family \u00b7 as of 1 Jun 2025", t)
        self.assertIn('href="/static/portal.css"', doc)
        self.assertIn('value="2025-06-01"', doc)
        status, doc = portal.member_page(Allotments("m-1", date(2023, 1, 1), "", None, []), NAMES)
        self.assertIn("No active membership on 1 Jan 2023", text(doc))

    def test_pages(self):
        status, doc = portal.not_found_page("m-9")
        self.assertEqual(status, HTTPStatus.NOT_FOUND)
        self.assertIn("No member with id \u201cm-9\u201d", text(doc))
        status, doc = portal.unreachable_page()
        self.assertEqual(status, HTTPStatus.SERVICE_UNAVAILABLE)
        self.assertIn("The coverage service is not reachable right now", text(doc))
        self.assertEqual(portal.member_url("a/b c"), "/member/a%2Fb%20c")
        self.assertEqual(portal.member_url("m", date(2025, 6, 1)), "/member/m?as_of=2025-06-01")

    def test_stylesheet(self):
        css = portal.stylesheet()
        for i in (0, 1, 50, 100):
            self.assertIn(".w%d{width:%d%%}" % (i, i), css)
        self.assertNotIn("@import", css)

    def test_parse_listen(self):
        self.assertEqual(portal.parse_listen("127.0.0.1:8080"), ("127.0.0.1", 8080))
        self.assertEqual(portal.parse_listen("[::1]:0"), ("::1", 0))
        self.assertEqual(portal.parse_listen(":9000"), ("127.0.0.1", 9000))
        with self.assertRaises(Exception):
            portal.parse_listen("8080")


class FakeClient:
    def __init__(self, error=None, services=()):
        self.error = error
        self.services = services if isinstance(services, Exception) else list(services)
        self.list_calls = 0

    def get_allotments(self, member_id, as_of):
        if self.error:
            raise self.error
        return Allotments(member_id, as_of or date(2025, 6, 1), "family", None, [allotment()])

    def list_services(self, page_size=0):
        self.list_calls += 1
        if isinstance(self.services, Exception):
            raise self.services
        return iter(self.services)


class AppErrors(unittest.TestCase):
    def test_status_mapping(self):
        S = ac.StatusCode
        cases = [(S.NOT_FOUND, HTTPStatus.NOT_FOUND), (S.INVALID_ARGUMENT, HTTPStatus.NOT_FOUND),
                 (S.UNAVAILABLE, HTTPStatus.SERVICE_UNAVAILABLE),
                 (S.DEADLINE_EXCEEDED, HTTPStatus.SERVICE_UNAVAILABLE),
                 (S.INTERNAL, HTTPStatus.BAD_GATEWAY)]
        for code, want in cases:
            app = portal.App(FakeClient(ac.AllotError(code, "x")))
            status, doc = app.member("m-1", None)
            self.assertEqual(status, want, code)

    def test_names_cached_and_optional(self):
        fc = FakeClient(services=[ac.Service("HOME_VISIT", "Home visit", 1)])
        app = portal.App(fc)
        for _ in range(3):
            status, doc = app.member("m-1", None)
        self.assertEqual(fc.list_calls, 1)
        self.assertIn("1 of 2 home visits left", text(doc))
        fc = FakeClient(services=ac.AllotError(ac.StatusCode.UNAVAILABLE, "down"))
        status, doc = portal.App(fc).member("m-1", None)
        self.assertEqual(status, HTTPStatus.OK)
        self.assertIn("HOME_VISIT", text(doc))


if __name__ == "__main__":
    unittest.main()
