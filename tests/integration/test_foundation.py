"""Foundation: health, catalog, plans, members, protocol errors, process
lifecycle. Each test runs its own allotd (see harness.py).

Run: ctest -L integration   (or, with ALLOTD and ALLOT_PYGEN exported,
/usr/bin/python3 -m unittest -v test_foundation from this directory)
"""

import os
import re
import signal
import subprocess
import threading
import time
import unittest

import grpc

import harness
from harness import AllotTestCase, health_pb2, pb, raw_unary

SC = grpc.StatusCode
INVALID = SC.INVALID_ARGUMENT

QTY = pb.LIMIT_KIND_QUANTITY
AMT = pb.LIMIT_KIND_AMOUNT
MEMBER = pb.POOL_KIND_MEMBER
HOUSEHOLD = pb.POOL_KIND_HOUSEHOLD
PATIENT = pb.PAYER_PATIENT
SPONSOR = pb.PAYER_SPONSOR
DEFAULT_THRESHOLDS = [70, 80, 90, 100]


# ---------------------------------------------------------------------------
# builders
# ---------------------------------------------------------------------------

def period(kind, month=0, day=0, count=0):
    return pb.Period(kind=kind, month=month, day=day, count=count)


CAL_YEAR = period(pb.PERIOD_KIND_CALENDAR_YEAR)


def rule(key, codes, limit=QTY, allowance=1, per=None, pool=MEMBER, payer=PATIENT,
         member_cap=0, overage=None, unlimited=False, thresholds=None):
    """thresholds: None = absent, a list = present (maybe empty)."""
    r = pb.Rule(key=key, service_codes=list(codes), limit=limit, allowance=allowance,
                unlimited=unlimited, pool=pool, overage_payer=payer, member_cap=member_cap)
    r.period.CopyFrom(per if per is not None else CAL_YEAR)
    if overage is not None:
        r.overage_price.cents = overage
    if thresholds is not None:
        r.thresholds.SetInParent()
        r.thresholds.percents.extend(thresholds)
    return r


def version(effective_from, rules=()):
    return pb.PlanVersion(effective_from=effective_from, rules=list(rules))


def resolved(v):
    """The version as GetPlan returns it: absent thresholds become the
    default {70, 80, 90, 100}."""
    out = pb.PlanVersion()
    out.CopyFrom(v)
    for r in out.rules:
        if not r.HasField("thresholds"):
            r.thresholds.percents.extend(DEFAULT_THRESHOLDS)
    return out


def full_version(effective_from="2025-01-01"):
    """A version whose rules use every period kind and every rule feature."""
    return version(effective_from, [
        # absent thresholds -> resolved to the default
        rule("home-visits", ["HOME_VISIT"], QTY, 2, CAL_YEAR),
        rule("massage", ["MASSAGE"], QTY, 12, period(pb.PERIOD_KIND_MEMBER_YEAR),
             thresholds=[50, 100, 150]),
        # household pool with a per-member cap, plan year July 1, amount limit,
        # empty thresholds (= no events)
        rule("labs", ["LAB_CBC", "LAB_LIPID"], AMT, 50000,
             period(pb.PERIOD_KIND_PLAN_YEAR, month=7, day=1), pool=HOUSEHOLD,
             member_cap=20000, thresholds=[]),
        # overage price paid by the sponsor
        rule("pt", ["97110", "97112"], QTY, 4, period(pb.PERIOD_KIND_CALENDAR_MONTH),
             overage=5000, payer=SPONSOR, thresholds=[100]),
        rule("chat", ["CHAT"], QTY, 1, period(pb.PERIOD_KIND_MEMBER_MONTH)),
        rule("group-class", ["CLASS"], QTY, 3, period(pb.PERIOD_KIND_CALENDAR_QUARTER),
             pool=HOUSEHOLD, member_cap=2),
        rule("hearing-test", ["HEARING"], QTY, 1, period(pb.PERIOD_KIND_ROLLING_DAYS, count=365)),
        rule("hearing-aid", ["HEARING_AID"], QTY, 1,
             period(pb.PERIOD_KIND_ROLLING_MONTHS, count=36), pool=HOUSEHOLD),
        rule("vaccines", ["VACCINE"], AMT, 0, period(pb.PERIOD_KIND_LIFETIME),
             unlimited=True, thresholds=[]),
        # member price: allowance 0 with an overage price
        rule("discount", ["DISCOUNTED"], QTY, 0, CAL_YEAR, overage=2500),
    ])


def simple_version(effective_from="2025-01-01", key="r0", allowance=2):
    return version(effective_from, [rule(key, ["HOME_VISIT"], QTY, allowance, CAL_YEAR)])


def enrollment(plan_id, start, end=""):
    return pb.Enrollment(plan_id=plan_id, start=start, end=end)


def member(mid, enrollments=(), anniversary="", household="", sponsor=""):
    return pb.Member(id=mid, enrollments=list(enrollments), anniversary=anniversary,
                     household_id=household, sponsor_id=sponsor)


def with_effective(m, eff):
    out = pb.Member()
    out.CopyFrom(m)
    out.effective_anniversary = eff
    return out


def list_all_services(stub, page_size=1000):
    out, token = [], ""
    for _ in range(100):
        resp = stub.ListServices(pb.ListServicesRequest(page_size=page_size, page_token=token))
        out.extend(resp.services)
        token = resp.next_page_token
        if not token:
            return out
    raise AssertionError("ListServices never ends")


def list_all_plans(stub, page_size=1000):
    out, token = [], ""
    for _ in range(100):
        resp = stub.ListPlans(pb.ListPlansRequest(page_size=page_size, page_token=token))
        out.extend(resp.plans)
        token = resp.next_page_token
        if not token:
            return out
    raise AssertionError("ListPlans never ends")


# ---------------------------------------------------------------------------
# health
# ---------------------------------------------------------------------------

class Health(AllotTestCase):
    def test_check(self):
        s = self.start_server()
        for name in ("", "allot.v1.Allot"):
            with self.subTest(service=name):
                resp = harness.health_check(s.channel, name)
                self.assertEqual(resp.status, health_pb2.HealthCheckResponse.SERVING)
        self.assertRpcError(SC.NOT_FOUND, None, harness.health_check, s.channel, "nope")

    def test_watch_is_unimplemented(self):
        s = self.start_server()
        call = s.channel.unary_stream(
            harness.HEALTH_WATCH,
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString)
        self.assertRpcError(SC.UNIMPLEMENTED, None,
                            lambda: list(call(health_pb2.HealthCheckRequest(service=""),
                                              timeout=harness.RPC_TIMEOUT)))


# ---------------------------------------------------------------------------
# services
# ---------------------------------------------------------------------------

class Services(AllotTestCase):
    def test_put_list_paging_replace(self):
        s = self.start_server()
        st = s.stub
        self.assertEqual(list_all_services(st), [])
        services = [pb.Service(code=c, name="Service " + c, cash_price_cents=p)
                    for c, p in (("E5", 500), ("A1", 100), ("C3", 0), ("B2", 200), ("D4", 400))]
        for svc in services:
            resp = st.PutService(pb.PutServiceRequest(service=svc))
            self.assertTrue(resp.created, svc.code)
            self.assertEqual(resp.service, svc)
        ordered = sorted(services, key=lambda x: x.code)

        # page_size 2 over 5: 2, 2, 1 in code order
        pages, token = [], ""
        for _ in range(10):
            resp = st.ListServices(pb.ListServicesRequest(page_size=2, page_token=token))
            pages.append([x.code for x in resp.services])
            token = resp.next_page_token
            if not token:
                break
        self.assertEqual(pages, [["A1", "B2"], ["C3", "D4"], ["E5"]])

        # page_size 0 means 100: everything in one page
        resp = st.ListServices(pb.ListServicesRequest())
        self.assertEqual(list(resp.services), ordered)
        self.assertEqual(resp.next_page_token, "")
        resp = st.ListServices(pb.ListServicesRequest(page_size=5))
        self.assertEqual(list(resp.services), ordered)

        # replace: created false, new price visible
        new_b2 = pb.Service(code="B2", name="Renamed", cash_price_cents=250)
        resp = st.PutService(pb.PutServiceRequest(service=new_b2))
        self.assertFalse(resp.created)
        self.assertEqual(resp.service, new_b2)
        got = list_all_services(st)
        self.assertEqual(len(got), 5)
        self.assertEqual([x for x in got if x.code == "B2"], [new_b2])

    def test_boundaries_accepted(self):
        st = self.start_server().stub
        ok = [pb.Service(code="X" * 64, name="", cash_price_cents=0),
              pb.Service(code="NAME200", name="\u00e9" * 100, cash_price_cents=1),  # 200 bytes
              pb.Service(code="~!#$%&()*+,-./:;<=>?@[]^_`{|}", name="n", cash_price_cents=7)]
        for svc in ok:
            with self.subTest(code=svc.code):
                self.assertTrue(st.PutService(pb.PutServiceRequest(service=svc)).created)
        self.assertEqual(list_all_services(st), sorted(ok, key=lambda x: x.code.encode()))

    def test_invalid(self):
        st = self.start_server().stub
        base = pb.Service(code="A1", name="Original", cash_price_cents=100)
        st.PutService(pb.PutServiceRequest(service=base))
        before = list_all_services(st)

        def put(**kw):
            svc = pb.Service(code="A1", name="Changed", cash_price_cents=999)
            for k, v in kw.items():
                setattr(svc, k, v)
            return pb.PutServiceRequest(service=svc)

        cases = [
            ("empty code", put(code=""), "service.code"),
            ("code of 65 bytes", put(code="C" * 65), "service.code"),
            ("code with a space", put(code="A 1"), "service.code"),
            ("code with a control character", put(code="A\t1"), "service.code"),
            ("negative price", put(cash_price_cents=-1), "service.cash_price_cents"),
            ("name of 201 bytes", put(name="\u00e9" * 100 + "x"), "service.name"),
            ("missing service", pb.PutServiceRequest(), "service"),
        ]
        for label, req, field in cases:
            with self.subTest(label):
                self.assertRpcError(INVALID, field, st.PutService, req)
                self.assertEqual(list_all_services(st), before)

    def test_bad_page_size(self):
        st = self.start_server().stub
        for n in (-1, 1001):
            with self.subTest(page_size=n):
                self.assertRpcError(INVALID, "page_size", st.ListServices,
                                    pb.ListServicesRequest(page_size=n))
                self.assertRpcError(INVALID, "page_size", st.ListPlans,
                                    pb.ListPlansRequest(page_size=n))


# ---------------------------------------------------------------------------
# plans
# ---------------------------------------------------------------------------

class Plans(AllotTestCase):
    def test_full_plan_round_trip(self):
        st = self.start_server().stub
        v = full_version("2025-01-01")
        resp = st.PutPlan(pb.PutPlanRequest(plan_id="family", name="Family Membership", version=v))
        self.assertTrue(resp.created)
        want = pb.Plan(id="family", name="Family Membership", versions=[resolved(v)])
        self.assertEqual(resp.plan, want)
        got = st.GetPlan(pb.GetPlanRequest(plan_id="family"))
        self.assertEqual(got, want)

        rules = {r.key: r for r in got.versions[0].rules}
        self.assertTrue(rules["home-visits"].HasField("thresholds"))
        self.assertEqual(list(rules["home-visits"].thresholds.percents), DEFAULT_THRESHOLDS)
        self.assertEqual(list(rules["massage"].thresholds.percents), [50, 100, 150])
        # empty Thresholds means "none", and stays present and empty
        self.assertTrue(rules["labs"].HasField("thresholds"))
        self.assertEqual(list(rules["labs"].thresholds.percents), [])
        self.assertTrue(rules["discount"].HasField("overage_price"))
        self.assertEqual(rules["discount"].overage_price.cents, 2500)
        self.assertFalse(rules["home-visits"].HasField("overage_price"))
        self.assertEqual([r.key for r in got.versions[0].rules],
                         [r.key for r in v.rules])  # plan order kept
        self.assertEqual(list_all_plans(st), [want])

    def test_versions(self):
        st = self.start_server().stub
        v25, v26, v24 = full_version("2025-01-01"), simple_version("2026-01-01"), \
            simple_version("2024-07-01", key="old", allowance=9)
        self.assertTrue(st.PutPlan(pb.PutPlanRequest(plan_id="p", name="P", version=v25)).created)
        # a later version keeps the first
        resp = st.PutPlan(pb.PutPlanRequest(plan_id="p", version=v26))
        self.assertTrue(resp.created)
        want = pb.Plan(id="p", name="P", versions=[resolved(v25), resolved(v26)])
        self.assertEqual(resp.plan, want)  # empty name keeps the name
        self.assertEqual(st.GetPlan(pb.GetPlanRequest(plan_id="p")), want)
        # an earlier one lands first: ascending by effective_from
        resp = st.PutPlan(pb.PutPlanRequest(plan_id="p", name="P2", version=v24))
        self.assertTrue(resp.created)
        want = pb.Plan(id="p", name="P2", versions=[resolved(v24), resolved(v25), resolved(v26)])
        self.assertEqual(resp.plan, want)
        self.assertEqual(st.GetPlan(pb.GetPlanRequest(plan_id="p")), want)

        # re-putting an identical version: OK, created false, nothing changes
        resp = st.PutPlan(pb.PutPlanRequest(plan_id="p", version=full_version("2025-01-01")))
        self.assertFalse(resp.created)
        self.assertEqual(resp.plan, want)
        self.assertEqual(st.GetPlan(pb.GetPlanRequest(plan_id="p")), want)

        # same effective_from, different rules: ALREADY_EXISTS, nothing changes
        for label, other in (
                ("other allowance", simple_version("2026-01-01", allowance=3)),
                ("other key", simple_version("2026-01-01", key="r1")),
                ("no rules", version("2026-01-01")),
                ("thresholds given", version("2026-01-01", [
                    rule("r0", ["HOME_VISIT"], QTY, 2, CAL_YEAR, thresholds=[50])]))):
            with self.subTest(label):
                self.assertRpcError(SC.ALREADY_EXISTS, "version", st.PutPlan,
                                    pb.PutPlanRequest(plan_id="p", name="Other", version=other))
                self.assertEqual(st.GetPlan(pb.GetPlanRequest(plan_id="p")), want)

    def test_empty_version_and_list_paging(self):
        st = self.start_server().stub
        plans = {}
        for pid in ("c", "a", "b"):
            v = version("2025-01-01") if pid == "a" else simple_version("2025-0%d-01" % (ord(pid) - 96))
            resp = st.PutPlan(pb.PutPlanRequest(plan_id=pid, name="Plan " + pid, version=v))
            self.assertTrue(resp.created)
            plans[pid] = pb.Plan(id=pid, name="Plan " + pid, versions=[resolved(v)])
        st.PutPlan(pb.PutPlanRequest(plan_id="b", version=simple_version("2026-01-01")))
        plans["b"].versions.append(resolved(simple_version("2026-01-01")))

        resp = st.ListPlans(pb.ListPlansRequest(page_size=2))
        self.assertEqual(list(resp.plans), [plans["a"], plans["b"]])  # each with all versions
        self.assertNotEqual(resp.next_page_token, "")
        resp = st.ListPlans(pb.ListPlansRequest(page_size=2, page_token=resp.next_page_token))
        self.assertEqual(list(resp.plans), [plans["c"]])
        self.assertEqual(resp.next_page_token, "")
        self.assertEqual(list(st.ListPlans(pb.ListPlansRequest()).plans),
                         [plans["a"], plans["b"], plans["c"]])

    def test_get_unknown(self):
        st = self.start_server().stub
        self.assertRpcError(SC.NOT_FOUND, "plan_id", st.GetPlan, pb.GetPlanRequest(plan_id="nope"))
        st.PutPlan(pb.PutPlanRequest(plan_id="p", version=simple_version()))
        self.assertRpcError(SC.NOT_FOUND, "plan_id", st.GetPlan, pb.GetPlanRequest(plan_id="P"))


def _bad_plan_cases():
    """(label, mutate(request), field). Each mutates a valid request that
    would add version 2026-01-01 to plan p1 and rename it."""

    def r0(req):
        return req.version.rules[0]

    def set_(**kw):
        def f(req):
            for k, v in kw.items():
                setattr(r0(req), k, v)
        return f

    def per(**kw):
        def f(req):
            r0(req).period.CopyFrom(period(**kw))
        return f

    def seq(*fs):
        def f(req):
            for g in fs:
                g(req)
        return f

    def thresholds(ps):
        def f(req):
            r0(req).thresholds.SetInParent()
            r0(req).thresholds.percents.extend(ps)
        return f

    def codes(cs):
        def f(req):
            del r0(req).service_codes[:]
            r0(req).service_codes.extend(cs)
        return f

    def add_rule(r):
        return lambda req: req.version.rules.append(r)

    R = "version.rules[0]"
    return [
        ("missing plan_id", lambda q: setattr(q, "plan_id", ""), "plan_id"),
        ("plan_id of 65 bytes", lambda q: setattr(q, "plan_id", "p" * 65), "plan_id"),
        ("plan_id with a space", lambda q: setattr(q, "plan_id", "p 1"), "plan_id"),
        ("missing version", lambda q: q.ClearField("version"), "version"),
        ("effective_from 2025-02-30",
         lambda q: setattr(q.version, "effective_from", "2025-02-30"), "version.effective_from"),
        ("effective_from empty",
         lambda q: setattr(q.version, "effective_from", ""), "version.effective_from"),
        ("effective_from 2026-1-1",
         lambda q: setattr(q.version, "effective_from", "2026-1-1"), "version.effective_from"),
        ("no service codes", codes([]), R + ".service_codes"),
        ("65 service codes", codes(["S%d" % i for i in range(65)]), R + ".service_codes"),
        ("duplicate service code", codes(["HOME_VISIT", "HOME_VISIT"]), R + ".service_codes[1]"),
        ("service code of 65 bytes", codes(["S" * 65]), R + ".service_codes[0]"),
        ("allowance -1", set_(allowance=-1), R + ".allowance"),
        ("allowance 0 without overage_price", set_(allowance=0), R + ".allowance"),
        ("unlimited with allowance 5", set_(unlimited=True, allowance=5), R + ".allowance"),
        ("limit unspecified", set_(limit=pb.LIMIT_KIND_UNSPECIFIED), R + ".limit"),
        ("period missing", lambda q: r0(q).ClearField("period"), R + ".period"),
        ("period kind unspecified", per(kind=pb.PERIOD_KIND_UNSPECIFIED), R + ".period"),
        ("PLAN_YEAR month 13", per(kind=pb.PERIOD_KIND_PLAN_YEAR, month=13, day=1),
         R + ".period.month"),
        ("PLAN_YEAR month 0", per(kind=pb.PERIOD_KIND_PLAN_YEAR, month=0, day=1),
         R + ".period.month"),
        ("PLAN_YEAR Feb 30", per(kind=pb.PERIOD_KIND_PLAN_YEAR, month=2, day=30),
         R + ".period.day"),
        ("PLAN_YEAR Apr 31", per(kind=pb.PERIOD_KIND_PLAN_YEAR, month=4, day=31),
         R + ".period.day"),
        ("ROLLING_DAYS count 0", per(kind=pb.PERIOD_KIND_ROLLING_DAYS, count=0),
         R + ".period.count"),
        ("ROLLING_DAYS count 36601", per(kind=pb.PERIOD_KIND_ROLLING_DAYS, count=36601),
         R + ".period.count"),
        ("ROLLING_MONTHS count 1201", per(kind=pb.PERIOD_KIND_ROLLING_MONTHS, count=1201),
         R + ".period.count"),
        ("duplicate rule key",
         add_rule(rule("r0", ["OTHER"], QTY, 1, CAL_YEAR)), "version.rules[1].key"),
        ("bad second rule",
         add_rule(rule("r1", ["OTHER"], QTY, -5, CAL_YEAR)), "version.rules[1].allowance"),
        ("65 rules",
         lambda q: q.version.rules.extend(
             [rule("k%d" % i, ["C%d" % i], QTY, 1, CAL_YEAR) for i in range(1, 65)]),
         "version.rules"),
        ("HOUSEHOLD + MEMBER_YEAR",
         seq(set_(pool=HOUSEHOLD), per(kind=pb.PERIOD_KIND_MEMBER_YEAR)), R + ".period.kind"),
        ("HOUSEHOLD + MEMBER_MONTH",
         seq(set_(pool=HOUSEHOLD), per(kind=pb.PERIOD_KIND_MEMBER_MONTH)), R + ".period.kind"),
        ("member_cap on a MEMBER pool", set_(member_cap=1), R + ".member_cap"),
        ("negative member_cap", set_(pool=HOUSEHOLD, member_cap=-1), R + ".member_cap"),
        ("thresholds not ascending", thresholds([80, 70]), R + ".thresholds"),
        ("thresholds repeated", thresholds([70, 70]), R + ".thresholds"),
        ("threshold 0", thresholds([0, 50]), R + ".thresholds"),
        ("threshold 1001", thresholds([1001]), R + ".thresholds"),
        ("rule key of 65 bytes", set_(key="k" * 65), R + ".key"),
        ("empty rule key", set_(key=""), R + ".key"),
        ("name of 201 bytes", lambda q: setattr(q, "name", "n" * 201), "name"),
        ("overage_price with AMOUNT limit",
         seq(set_(limit=AMT, allowance=1000), lambda q: setattr(r0(q).overage_price, "cents", 5)),
         R + ".overage_price"),
        ("negative overage_price",
         lambda q: setattr(r0(q).overage_price, "cents", -1), R + ".overage_price"),
    ]


class PlanValidation(AllotTestCase):
    def test_invalid_put_plan_changes_nothing(self):
        st = self.start_server().stub
        st.PutPlan(pb.PutPlanRequest(plan_id="p1", name="Base", version=simple_version("2025-01-01")))
        plan_before = st.GetPlan(pb.GetPlanRequest(plan_id="p1"))
        list_before = list_all_plans(st)

        for label, mutate, field in _bad_plan_cases():
            with self.subTest(label):
                req = pb.PutPlanRequest(plan_id="p1", name="Renamed",
                                        version=simple_version("2026-01-01"))
                mutate(req)
                self.assertRpcError(INVALID, field, st.PutPlan, req)
                self.assertEqual(st.GetPlan(pb.GetPlanRequest(plan_id="p1")), plan_before)
                self.assertEqual(list_all_plans(st), list_before)

    def test_invalid_new_plan_is_not_created(self):
        st = self.start_server().stub
        req = pb.PutPlanRequest(plan_id="fresh", name="Fresh",
                                version=simple_version("2026-01-01", allowance=-1))
        self.assertRpcError(INVALID, "version.rules[0].allowance", st.PutPlan, req)
        self.assertRpcError(SC.NOT_FOUND, "plan_id", st.GetPlan, pb.GetPlanRequest(plan_id="fresh"))
        self.assertEqual(list_all_plans(st), [])


# ---------------------------------------------------------------------------
# members
# ---------------------------------------------------------------------------

class Members(AllotTestCase):
    def setUp(self):
        self.s = self.start_server()
        self.st = self.s.stub
        for pid in ("p1", "p2"):
            self.st.PutPlan(pb.PutPlanRequest(plan_id=pid, version=simple_version("2024-01-01")))

    def put(self, m):
        return self.st.PutMember(pb.PutMemberRequest(member=m))

    def get(self, mid):
        return self.st.GetMember(pb.GetMemberRequest(member_id=mid))

    def test_round_trip(self):
        m1 = member("m1", [enrollment("p1", "2024-01-01", "2024-12-31"),
                           enrollment("p2", "2025-01-01")],
                    anniversary="2023-06-15", household="h1", sponsor="acme")
        resp = self.put(m1)
        self.assertTrue(resp.created)
        want = with_effective(m1, "2023-06-15")
        self.assertEqual(resp.member, want)
        self.assertEqual(self.get("m1"), want)

        # anniversary "" -> the first enrollment's start; enrollments are
        # stored in start order; a one-day enrollment is fine
        m2 = member("m2", [enrollment("p2", "2024-03-01"),
                           enrollment("p1", "2024-02-29", "2024-02-29")])
        resp = self.put(m2)
        self.assertTrue(resp.created)
        want2 = member("m2", [enrollment("p1", "2024-02-29", "2024-02-29"),
                              enrollment("p2", "2024-03-01")])
        want2.effective_anniversary = "2024-02-29"
        self.assertEqual(resp.member, want2)
        self.assertEqual(self.get("m2"), want2)

        # no enrollments, no anniversary
        m3 = member("m3")
        self.assertTrue(self.put(m3).created)
        self.assertEqual(self.get("m3"), with_effective(m3, ""))

        # effective_anniversary is output only
        m4 = member("m4", [enrollment("p1", "2024-05-05")])
        m4.effective_anniversary = "1999-01-01"
        self.assertEqual(self.put(m4).member, with_effective(m4, "2024-05-05"))
        self.assertEqual(self.get("m4"), with_effective(m4, "2024-05-05"))

        # replace as a whole: created false
        m1b = member("m1", [enrollment("p2", "2025-02-01", "2025-12-31")], sponsor="other")
        resp = self.put(m1b)
        self.assertFalse(resp.created)
        want = with_effective(m1b, "2025-02-01")
        self.assertEqual(resp.member, want)
        self.assertEqual(self.get("m1"), want)
        self.assertEqual(self.get("m2"), want2)

    def test_get_unknown(self):
        self.assertRpcError(SC.NOT_FOUND, "member_id", self.st.GetMember,
                            pb.GetMemberRequest(member_id="nobody"))

    def test_invalid_put_member_changes_nothing(self):
        stored = member("m1", [enrollment("p1", "2024-01-01", "2024-12-31")],
                        anniversary="2024-01-01", household="h1", sponsor="acme")
        self.put(stored)
        before = self.get("m1")

        def m(enrs=None, **kw):
            x = member("m1", enrs if enrs is not None else [enrollment("p2", "2025-01-01")],
                       household="h2")
            for k, v in kw.items():
                setattr(x, k, v)
            return pb.PutMemberRequest(member=x)

        cases = [
            ("unknown plan", m([enrollment("nope", "2025-01-01")]), SC.NOT_FOUND,
             "member.enrollments[0].plan_id"),
            ("unknown plan in second enrollment",
             m([enrollment("p1", "2024-01-01", "2024-06-30"), enrollment("nope", "2025-01-01")]),
             SC.NOT_FOUND, "member.enrollments[1].plan_id"),
            ("empty plan id", m([enrollment("", "2025-01-01")]), INVALID,
             "member.enrollments[0].plan_id"),
            ("start 2025-13-01", m([enrollment("p1", "2025-13-01")]), INVALID,
             "member.enrollments[0].start"),
            ("start empty", m([enrollment("p1", "")]), INVALID, "member.enrollments[0].start"),
            ("end before start", m([enrollment("p1", "2025-01-02", "2025-01-01")]), INVALID,
             "member.enrollments[0].end"),
            ("end 2025-02-29", m([enrollment("p1", "2025-01-01", "2025-02-29")]), INVALID,
             "member.enrollments[0].end"),
            ("overlapping enrollments",
             m([enrollment("p1", "2024-01-01", "2024-12-31"), enrollment("p2", "2024-06-01")]),
             INVALID, "member.enrollments[1]"),
            ("overlap on the end day (end is inclusive)",
             m([enrollment("p1", "2024-01-01", "2024-12-31"),
                enrollment("p2", "2024-12-31", "2025-12-31")]),
             INVALID, "member.enrollments[1]"),
            ("overlapping an open-ended enrollment",
             m([enrollment("p1", "2024-01-01"), enrollment("p2", "2025-01-01")]),
             INVALID, "member.enrollments[1]"),
            ("empty id", m(id=""), INVALID, "member.id"),
            ("id of 65 bytes", m(id="m" * 65), INVALID, "member.id"),
            ("anniversary 2024-02-30", m(anniversary="2024-02-30"), INVALID, "member.anniversary"),
            ("household_id with a space", m(household_id="h 2"), INVALID, "member.household_id"),
            ("sponsor_id of 65 bytes", m(sponsor_id="s" * 65), INVALID, "member.sponsor_id"),
            ("missing member", pb.PutMemberRequest(), INVALID, "member"),
        ]
        for label, req, code, field in cases:
            with self.subTest(label):
                self.assertRpcError(code, field, self.st.PutMember, req)
                self.assertEqual(self.get("m1"), before)
                if req.member.id and len(req.member.id) <= 64 and req.member.id != "m1":
                    self.assertRpcError(SC.NOT_FOUND, None, self.st.GetMember,
                                        pb.GetMemberRequest(member_id=req.member.id))

    def test_invalid_new_member_is_not_created(self):
        self.assertRpcError(SC.NOT_FOUND, "member.enrollments[0].plan_id", self.put,
                            member("new", [enrollment("nope", "2025-01-01")]))
        self.assertRpcError(SC.NOT_FOUND, "member_id", self.get, "new")


# ---------------------------------------------------------------------------
# protocol
# ---------------------------------------------------------------------------

class Protocol(AllotTestCase):
    def test_undecodable_request(self):
        s = self.start_server()
        for method in ("/allot.v1.Allot/PutPlan", "/allot.v1.Allot/PutMember",
                       "/allot.v1.Allot/PutService", "/allot.v1.Allot/GetPlan"):
            with self.subTest(method):
                e = self.assertRpcError(INVALID, None, raw_unary, s.channel, method,
                                        b"\xff\xff\xff")
                self.assertTrue(e.details(), "INVALID_ARGUMENT without a message")
        self.assertEqual(list_all_plans(s.stub), [])
        self.assertEqual(list_all_services(s.stub), [])
        # the server is still fine
        self.assertEqual(harness.health_check(s.channel, "").status,
                         health_pb2.HealthCheckResponse.SERVING)

    def test_unknown_method(self):
        s = self.start_server()
        for method in ("/allot.v1.Allot/Nope", "/other.Svc/X"):
            with self.subTest(method):
                self.assertRpcError(SC.UNIMPLEMENTED, None, raw_unary, s.channel, method, b"")

    def test_message_too_large(self):
        s = self.start_server()
        big = pb.Service(code="BIG", name="n" * (5 * 1024 * 1024), cash_price_cents=1)
        self.assertRpcError(SC.RESOURCE_EXHAUSTED, None, s.stub.PutService,
                            pb.PutServiceRequest(service=big))
        self.assertEqual(list_all_services(s.stub), [])
        # a normal request still works afterwards
        ok = pb.Service(code="OK", cash_price_cents=1)
        self.assertTrue(s.stub.PutService(pb.PutServiceRequest(service=ok)).created)


# ---------------------------------------------------------------------------
# process lifecycle
# ---------------------------------------------------------------------------

def _store_sample(st):
    services = [pb.Service(code=c, name=c.title(), cash_price_cents=p)
                for c, p in (("HOME_VISIT", 15000), ("97110", 9000), ("LAB_CBC", 2500))]
    for svc in services:
        st.PutService(pb.PutServiceRequest(service=svc))
    st.PutPlan(pb.PutPlanRequest(plan_id="family", name="Family", version=full_version("2025-01-01")))
    st.PutPlan(pb.PutPlanRequest(plan_id="family", version=simple_version("2026-01-01")))
    st.PutPlan(pb.PutPlanRequest(plan_id="basic", name="Basic", version=simple_version("2024-01-01")))
    members = [member("m1", [enrollment("basic", "2024-01-01", "2024-12-31"),
                             enrollment("family", "2025-01-01")],
                      anniversary="2024-03-15", household="h1", sponsor="acme"),
               member("m2", [enrollment("family", "2025-02-01")], household="h1")]
    for m in members:
        st.PutMember(pb.PutMemberRequest(member=m))
    return snapshot(st, [m.id for m in members])


def snapshot(st, member_ids):
    return (list_all_services(st), list_all_plans(st),
            [st.GetMember(pb.GetMemberRequest(member_id=i)) for i in member_ids])


class Lifecycle(AllotTestCase):
    def test_restart_keeps_everything(self):
        s = self.start_server()
        before = _store_sample(s.stub)
        self.assertEqual(len(before[0]), 3)
        self.assertEqual(len(before[1]), 2)
        self.assertEqual(s.stop(), 0)

        s2 = self.new_server(workdir=s.workdir, data_dir=s.data_dir).start()
        self.assertEqual(snapshot(s2.stub, ["m1", "m2"]), before)
        # and it keeps working: a replace after restart says created false
        self.assertFalse(s2.stub.PutService(pb.PutServiceRequest(
            service=pb.Service(code="97110", cash_price_cents=1))).created)

    def test_kill_keeps_acknowledged_writes(self):
        s = self.start_server()
        before = _store_sample(s.stub)
        s.kill()
        self.assertEqual(s.returncode, -signal.SIGKILL)
        s2 = self.new_server(workdir=s.workdir, data_dir=s.data_dir).start()
        self.assertEqual(snapshot(s2.stub, ["m1", "m2"]), before)

    def test_sigterm_with_calls_in_flight(self):
        s = self.start_server()
        st = s.stub
        st.PutPlan(pb.PutPlanRequest(plan_id="p1", version=simple_version("2024-01-01")))
        ok, lock = [], threading.Lock()
        cancelled = []
        done_after = [None]

        def worker(t):
            for i in range(100000):
                m = member("t%d-%d" % (t, i), [enrollment("p1", "2024-01-01")],
                           household="h%d" % (i % 3))
                try:
                    resp = st.PutMember(pb.PutMemberRequest(member=m))
                except grpc.RpcError as e:
                    if e.code() == grpc.StatusCode.CANCELLED:
                        with lock:
                            cancelled.append(m.id)
                    if done_after[0] is not None and time.monotonic() > done_after[0]:
                        return
                    time.sleep(0.01)
                    continue
                with lock:
                    ok.append(resp.member)

        threads = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(8)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with lock:
                if len(ok) >= 40:
                    break
            time.sleep(0.01)
        self.assertGreaterEqual(len(ok), 40, "PutMember calls did not succeed under load")
        s.signal(signal.SIGTERM)
        rc = s.wait()
        done_after[0] = time.monotonic() + 0.5
        for t in threads:
            t.join(15)
            self.assertFalse(t.is_alive(), "a client thread hangs")
        self.assertIsNotNone(rc, "allotd did not exit within 10 s of SIGTERM")
        self.assertEqual(rc, 0, "allotd exit code after SIGTERM")
        s.close_channel()

        s2 = self.new_server(workdir=s.workdir, data_dir=s.data_dir).start()
        with lock:
            acknowledged = list(ok)
        for m in acknowledged:
            self.assertEqual(s2.stub.GetMember(pb.GetMemberRequest(member_id=m.id)), m)
        # calls in flight at SIGTERM are answered within the grace period:
        # CANCELLED only reaches calls that were never run (gRPC cancels
        # those that arrive as the server stops), never a committed write
        for mid in cancelled:
            with self.assertRaises(grpc.RpcError, msg="%s was committed but answered "
                                   "CANCELLED" % mid) as cm:
                s2.stub.GetMember(pb.GetMemberRequest(member_id=mid))
            self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_second_server_on_same_port_fails(self):
        s = self.start_server()
        s2 = self.new_server(port=s.port)
        s2._spawn()
        rc = s2.wait(10)
        if rc is None:
            s2.kill()
            self.fail("second allotd on %s did not exit" % s.address)
        self.assertEqual(rc, 1, "startup failure exit code")
        self.assertIn(s.address, s2.log_text())
        # the first one is unaffected
        self.assertEqual(harness.health_check(s.channel, "").status,
                         health_pb2.HealthCheckResponse.SERVING)

    def test_unusable_data_dir_fails(self):
        d = self.tmpdir()
        not_a_dir = os.path.join(d, "file")
        with open(not_a_dir, "w") as f:
            f.write("x")
        s = self.new_server(workdir=d, data_dir=not_a_dir)
        # harness would mkdir the data dir; spawn by hand
        s.port = harness.free_port()
        s.log_path = os.path.join(d, "allotd-1.log")
        s.logs.append(s.log_path)
        with open(s.log_path, "wb") as log:
            s.proc = subprocess.Popen([harness.allotd_path(), "--listen", s.address,
                                       "--data", not_a_dir],
                                      stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT, cwd=d)
        rc = s.wait(10)
        if rc is None:
            s.kill()
            self.fail("allotd with --data on a regular file did not exit")
        self.assertEqual(rc, 1)
        self.assertIn(not_a_dir, s.log_text())

    def test_env_configuration(self):
        s = self.start_server(use_flags=False)
        st = s.stub
        st.PutService(pb.PutServiceRequest(service=pb.Service(code="A", cash_price_cents=1)))
        self.assertTrue(os.listdir(s.data_dir), "nothing written to ALLOT_DATA")

    def test_logs_start_and_stop(self):
        s = self.start_server()
        started = s.log_text().splitlines()[1:]  # line 0 is the harness's command line
        self.assertTrue(started, "nothing logged at start")
        s.stop()
        stopped = s.log_text().splitlines()[1:]
        self.assertGreater(len(stopped), len(started), "nothing logged at stop")

    def test_port_zero_logs_the_port_chosen(self):
        data = os.path.join(self.tmpdir(), "data0")
        p = subprocess.Popen([harness.allotd_path(), "--listen", "127.0.0.1:0", "--data", data],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, cwd=self.tmpdir())
        try:
            line = p.stderr.readline().decode("utf-8", "replace")
            m = re.search(r"listening on 127\.0\.0\.1:0 \(port (\d+);", line)
            self.assertTrue(m, "no port in the start line: %r" % line)
            port = int(m.group(1))
            self.assertGreater(port, 0)
            with grpc.insecure_channel("127.0.0.1:%d" % port) as ch:
                self.assertEqual(harness.health_check(ch, "").status,
                                 health_pb2.HealthCheckResponse.SERVING)
        finally:
            p.terminate()
            try:
                p.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                self.fail("allotd did not stop within 10 s of SIGTERM")
        self.assertEqual(p.returncode, 0)

    def _run(self, *args):
        return subprocess.run([harness.allotd_path()] + list(args), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=10, cwd=self.tmpdir())

    def test_help(self):
        p = self._run("--help")
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, out)
        self.assertIn("--listen", out)
        self.assertIn("--data", out)

    def test_unknown_flag(self):
        p = self._run("--no-such-flag")
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        self.assertEqual(p.returncode, 2, out)
        self.assertTrue(p.stderr.strip(), "no message for an unknown flag")


if __name__ == "__main__":
    unittest.main()
