"""Unit tests of allot_client's conversions (no server): money, dates, enums,
dataclass <-> protobuf, errors, and the WatchThresholds resume logic against a
fake stub.

Run: ctest -L clients   (or ALLOT_CLIENT_GEN=<build>/clients/python/gen
/usr/bin/python3 -m unittest -v test_conversions from this directory)
"""

import dataclasses
import datetime
import decimal
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import allot_client as ac  # noqa: E402
from allot_client import types as T  # noqa: E402
from allot_client._stubs import pb  # noqa: E402

D = decimal.Decimal
date = datetime.date


class Money(unittest.TestCase):
    def test_cents_to_dollars(self):
        self.assertEqual(ac.cents_to_dollars(1999), D("19.99"))
        self.assertEqual(str(ac.cents_to_dollars(1999)), "19.99")
        self.assertEqual(str(ac.cents_to_dollars(0)), "0.00")
        self.assertEqual(str(ac.cents_to_dollars(5)), "0.05")
        self.assertEqual(str(ac.cents_to_dollars(-250)), "-2.50")
        self.assertEqual(str(ac.cents_to_dollars(15000)), "150.00")
        big = 9_223_372_036_854_775_807
        self.assertEqual(ac.cents_to_dollars(big), D("92233720368547758.07"))
        for bad in (1.5, "100", True, None, D("1")):
            with self.assertRaises(TypeError, msg=repr(bad)):
                ac.cents_to_dollars(bad)

    def test_dollars_to_cents(self):
        cases = [(D("19.99"), 1999), (D("19.9"), 1990), (D("0"), 0), (D("-2.50"), -250),
                 ("19.99", 1999), ("$1,234.50", 123450), (" 7 ", 700), (".5", 50),
                 ("3.", 300), ("-$2.50", -250), ("- 2.50", -250), (12, 1200), (0, 0),
                 (D("1.000"), 100), (D("92233720368547758.07"), 9_223_372_036_854_775_807)]
        for given, want in cases:
            with self.subTest(given=given):
                got = ac.dollars_to_cents(given)
                self.assertEqual(got, want)
                self.assertIs(type(got), int)
        for given in (D("0.001"), "19.999", D("1E-3")):
            with self.subTest(given=given), self.assertRaisesRegex(ValueError, "cents"):
                ac.dollars_to_cents(given)
        for given in ("", "abc", "1.2.3", "1e5", "$", "--1", D("NaN"), D("Infinity")):
            with self.subTest(given=given), self.assertRaises(ValueError):
                ac.dollars_to_cents(given)
        for given in (19.99, True, None, [1]):
            with self.subTest(given=given), self.assertRaises(TypeError):
                ac.dollars_to_cents(given)

    def test_round_trip(self):
        for c in (0, 1, 99, 100, 101, 123456789, -1, -100):
            self.assertEqual(ac.dollars_to_cents(ac.cents_to_dollars(c)), c)
            self.assertEqual(ac.dollars_to_cents(ac.format_cents(c)), c)

    def test_format_cents(self):
        self.assertEqual(ac.format_cents(0), "$0.00")
        self.assertEqual(ac.format_cents(5), "$0.05")
        self.assertEqual(ac.format_cents(15000), "$150.00")
        self.assertEqual(ac.format_cents(150000), "$1,500.00")
        self.assertEqual(ac.format_cents(123456789), "$1,234,567.89")
        self.assertEqual(ac.format_cents(-250), "-$2.50")


class Dates(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(ac.parse_date("2025-04-04"), date(2025, 4, 4))
        self.assertEqual(ac.parse_date("2024-02-29"), date(2024, 2, 29))
        for bad in ("", "2025-4-4", "2025-02-30", "2025-13-01", "20250404", " 2025-04-04",
                    "2025-04-04T00:00", None, 20250404, "２０２５-04-04"):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                ac.parse_date(bad)

    def test_wire(self):
        self.assertEqual(ac.date_to_wire(date(2025, 4, 4)), "2025-04-04")
        self.assertEqual(ac.date_to_wire(date(999, 1, 2)), "0999-01-02")
        self.assertEqual(ac.date_to_wire("2025-04-04"), "2025-04-04")
        self.assertEqual(ac.date_to_wire(None), "")
        with self.assertRaisesRegex(ValueError, r"^as_of: not a date"):
            ac.date_to_wire("2025-02-30", "as_of")
        with self.assertRaisesRegex(TypeError, "as_of.*datetime"):
            ac.date_to_wire(datetime.datetime(2025, 4, 4, 12, 0), "as_of")
        with self.assertRaises(TypeError):
            ac.date_to_wire(20250404)
        self.assertIsNone(ac.date_from_wire(""))
        self.assertEqual(ac.date_from_wire("2026-03-15"), date(2026, 3, 15))

    def test_format(self):
        self.assertEqual(ac.format_date(date(2026, 3, 15)), "15 Mar 2026")
        self.assertEqual(ac.format_date(date(2025, 4, 4)), "4 Apr 2025")
        self.assertEqual(ac.format_date(date(2025, 12, 31)), "31 Dec 2025")


class Enums(unittest.TestCase):
    def test_match_the_proto(self):
        for cls, (pb_name, prefix) in T.ENUMS.items():
            pb_enum = getattr(pb, pb_name)
            with self.subTest(enum=pb_name):
                want = {n[len(prefix):]: v for n, v in pb_enum.items()}
                got = {m.name: m.value for m in cls}
                self.assertEqual(got, want)

    def test_unknown_value_stays_int(self):
        m = pb.PricedLine(reason=pb.REASON_COVERED)
        self.assertIs(T.PricedLine.from_pb(m).reason, ac.Reason.COVERED)
        m = pb.Allotment()
        m.period.kind = 42  # open enum: a value from a newer server
        a = T.Allotment.from_pb(m)
        self.assertEqual(a.period.kind, 42)
        self.assertNotIsInstance(a.period.kind, ac.PeriodKind)


# Dataclass -> message, where names differ or a field has no counterpart.
RENAMED = {
    T.Rule: {"overage_price_cents": "overage_price"},
    T.InvoiceLine: {"unit_price_cents": "unit_price"},
}
PAIRS = [
    (T.Service, pb.Service), (T.Period, pb.Period), (T.Rule, pb.Rule),
    (T.PlanVersion, pb.PlanVersion), (T.Plan, pb.Plan), (T.Enrollment, pb.Enrollment),
    (T.Member, pb.Member), (T.InvoiceLine, pb.InvoiceLine), (T.AmountDue, pb.AmountDue),
    (T.RuleUse, pb.RuleUse), (T.PricedLine, pb.PricedLine),
    (T.PricedInvoice, pb.PriceInvoiceResponse), (T.VoidedInvoice, pb.VoidInvoiceResponse),
    (T.RecordedUsage, pb.RecordUsageResponse), (T.UsageEntry, pb.UsageEntry),
    (T.Allotment, pb.Allotment), (T.Allotments, pb.GetAllotmentsResponse),
    (T.ThresholdEvent, pb.ThresholdEvent),
]


def fill(msg, depth=0):
    """Sets every field of msg to a distinct non-default value (dates where
    the name says so); repeated fields get two elements."""
    n = [depth * 100]

    def value(f, name):
        n[0] += 1
        if f.type == f.TYPE_STRING:
            if name.endswith(("date", "start", "end", "effective_from", "anniversary",
                              "as_of", "period_start")):
                return "20%02d-%02d-%02d" % (10 + n[0] % 80, 1 + n[0] % 12, 1 + n[0] % 28)
            return "%s-%d" % (name, n[0])
        if f.type == f.TYPE_BOOL:
            return True
        if f.type == f.TYPE_ENUM:
            return f.enum_type.values[-1].number
        return 1000 + n[0]

    for f in msg.DESCRIPTOR.fields:
        repeated = f.label == f.LABEL_REPEATED
        if f.type == f.TYPE_MESSAGE:
            if repeated:
                for _ in range(2):
                    fill(getattr(msg, f.name).add(), depth + 1)
            else:
                fill(getattr(msg, f.name), depth + 1)
        elif repeated:
            getattr(msg, f.name).extend([value(f, f.name), value(f, f.name)])
        else:
            setattr(msg, f.name, value(f, f.name))
    return msg


def plain(v):
    """A converted value back in wire terms, for comparison with the message."""
    if isinstance(v, datetime.date):
        return v.isoformat()
    if v is None:
        return ""
    if isinstance(v, int) and not isinstance(v, bool):
        return int(v)
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


class Messages(unittest.TestCase):
    def test_fields_cover_the_proto(self):
        """Every message field has a dataclass field and vice versa (output
        only fields included), so nothing the server says is dropped."""
        for cls, msg in PAIRS:
            with self.subTest(cls=cls.__name__):
                renamed = RENAMED.get(cls) or {}
                mine = {renamed.get(f.name, f.name) for f in dataclasses.fields(cls)}
                theirs = {f.name for f in msg.DESCRIPTOR.fields}
                self.assertEqual(mine, theirs)

    def test_from_pb_copies_every_field(self):
        for cls, msg_cls in PAIRS:
            if not hasattr(cls, "from_pb"):
                continue
            with self.subTest(cls=cls.__name__):
                m = fill(msg_cls())
                v = cls.from_pb(m)
                renamed = RENAMED.get(cls) or {}
                for f in dataclasses.fields(cls):
                    got = getattr(v, f.name)
                    src = getattr(m, renamed.get(f.name, f.name))
                    if dataclasses.is_dataclass(got) or (
                            isinstance(got, list) and got and dataclasses.is_dataclass(got[0])):
                        continue  # nested: covered by their own class
                    if f.name in renamed and f.name.endswith("_cents"):
                        self.assertEqual(got, src.cents)
                    elif f.name == "thresholds":
                        self.assertEqual(got, list(src.percents))
                    elif hasattr(src, "DESCRIPTOR"):
                        continue
                    else:
                        self.assertEqual(plain(got), plain(list(src) if isinstance(
                            got, list) else src), f.name)

    def test_rule_round_trip(self):
        variants = [
            T.Rule("home-visits", ["HOME_VISIT"], allowance=2, period=T.Period.member_year()),
            T.Rule("labs", ["LAB_CBC", "LAB_LIPID"], T.LimitKind.AMOUNT, 50000,
                   T.Period.plan_year(7, 1), T.PoolKind.HOUSEHOLD, member_cap=20000,
                   thresholds=[]),
            T.Rule("pt", ["97110"], allowance=4, period=T.Period.calendar_month(),
                   overage_price_cents=5000, overage_payer=T.Payer.SPONSOR, thresholds=[100]),
            T.Rule("discount", ["D"], allowance=0, overage_price_cents=0),
            T.Rule("vaccines", ["V"], T.LimitKind.AMOUNT, unlimited=True,
                   period=T.Period.lifetime()),
            T.Rule("hearing", ["H"], allowance=1, period=T.Period.rolling_days(365)),
            T.Rule("aid", ["A"], allowance=1, period=T.Period.rolling_months(36)),
        ]
        for r in variants:
            with self.subTest(rule=r.key):
                m = r.to_pb()
                self.assertEqual(T.Rule.from_pb(m), r)
                # the wire form survives serialization
                self.assertEqual(T.Rule.from_pb(pb.Rule.FromString(m.SerializeToString())), r)

    def test_rule_presence(self):
        m = T.Rule("k", ["C"], allowance=1).to_pb()
        self.assertFalse(m.HasField("thresholds"))      # absent: the default set
        self.assertFalse(m.HasField("overage_price"))   # absent: the line's price
        m = T.Rule("k", ["C"], allowance=1, thresholds=[], overage_price_cents=0).to_pb()
        self.assertTrue(m.HasField("thresholds"))       # present and empty: no events
        self.assertEqual(list(m.thresholds.percents), [])
        self.assertTrue(m.HasField("overage_price"))    # present: $0.00
        self.assertEqual(m.overage_price.cents, 0)

    def test_period_helpers(self):
        self.assertEqual(T.Period.plan_year(7, 1).to_pb(),
                         pb.Period(kind=pb.PERIOD_KIND_PLAN_YEAR, month=7, day=1))
        self.assertEqual(T.Period.rolling_months(36).to_pb(),
                         pb.Period(kind=pb.PERIOD_KIND_ROLLING_MONTHS, count=36))
        self.assertEqual(T.Period().kind, T.PeriodKind.CALENDAR_YEAR)

    def test_plan_version_and_member(self):
        v = T.PlanVersion(date(2025, 1, 1), [T.Rule("r", ["C"], allowance=1)])
        m = v.to_pb()
        self.assertEqual(m.effective_from, "2025-01-01")
        self.assertEqual(T.PlanVersion.from_pb(m), v)

        mem = T.Member("m-1", [T.Enrollment("fam", date(2024, 3, 15)),
                               T.Enrollment("old", "2020-01-01", date(2023, 12, 31))],
                       household_id="h-1", sponsor_id="acme")
        m = mem.to_pb()
        self.assertEqual(m.anniversary, "")
        self.assertEqual([(e.start, e.end) for e in m.enrollments],
                         [("2024-03-15", ""), ("2020-01-01", "2023-12-31")])
        m.effective_anniversary = "2024-03-15"
        back = T.Member.from_pb(m)
        self.assertEqual(back.effective_anniversary, date(2024, 3, 15))
        self.assertIsNone(back.anniversary)
        self.assertEqual(back.enrollments[1].start, date(2020, 1, 1))
        self.assertIsNone(back.enrollments[0].end)

        bad = T.Member("m", [T.Enrollment("p", "2025-02-30")])
        with self.assertRaisesRegex(ValueError, r"member\.enrollments\[0\]\.start"):
            bad.to_pb()

    def test_plan_version_on(self):
        p = T.Plan("p", versions=[T.PlanVersion(date(2025, 1, 1)),
                                  T.PlanVersion(date(2025, 7, 1))])
        self.assertIsNone(p.version_on(date(2024, 12, 31)))
        self.assertEqual(p.version_on(date(2025, 6, 30)).effective_from, date(2025, 1, 1))
        self.assertEqual(p.version_on(date(2025, 7, 1)).effective_from, date(2025, 7, 1))

    def test_invoice_line(self):
        m = T.InvoiceLine("HOME_VISIT", date(2025, 9, 1)).to_pb()
        self.assertEqual((m.service_code, m.service_date, m.quantity, m.line_id),
                         ("HOME_VISIT", "2025-09-01", 1, ""))
        self.assertFalse(m.HasField("unit_price"))
        m = T.InvoiceLine("X", "2025-09-01", 3, unit_price_cents=0, line_id="a").to_pb()
        self.assertTrue(m.HasField("unit_price"))
        self.assertEqual((m.quantity, m.unit_price.cents, m.line_id), (3, 0, "a"))
        with self.assertRaisesRegex(ValueError, r"^lines\[4\]\.service_date"):
            T.InvoiceLine("X", "2025-9-1").to_pb(4)

    def test_priced_invoice(self):
        m = pb.PriceInvoiceResponse(invoice_id="inv", member_id="m", total_due_cents=15000)
        ln = m.lines.add(line_id="3", service_code="HOME_VISIT", service_date="2025-09-01",
                         quantity=1, billable_quantity=1, unit_price_cents=15000,
                         billable_unit_price_cents=15000, amount_due_cents=15000,
                         reason=pb.REASON_ALLOTMENT_USED_UP, rule_key="home-visits",
                         period_start="2025-03-15", reset_date="2026-03-15", carc="119",
                         plan_id="fam", plan_effective_from="2024-01-01")
        ln.due.add(payer=pb.PAYER_PATIENT, payer_id="m", amount_cents=15000)
        ln.rules.add(rule_key="home-visits", limit=pb.LIMIT_KIND_QUANTITY,
                     pool=pb.POOL_KIND_MEMBER, allowance=2, period_start="2025-03-15",
                     reset_date="2026-03-15")
        m.totals.add(payer=pb.PAYER_PATIENT, payer_id="m", amount_cents=15000)
        inv = T.PricedInvoice.from_pb(m)
        line = inv.lines[0]
        self.assertEqual(line.reason, ac.Reason.ALLOTMENT_USED_UP)
        self.assertEqual(line.reset_date, date(2026, 3, 15))
        self.assertEqual(line.service_date, date(2025, 9, 1))
        self.assertEqual(line.due, [ac.AmountDue(ac.Payer.PATIENT, "m", 15000)])
        self.assertEqual(line.rules[0].limit, ac.LimitKind.QUANTITY)
        self.assertEqual(line.rules[0].drawn, 0)
        self.assertEqual(line.plan_effective_from, date(2024, 1, 1))
        self.assertEqual(inv.totals[0].amount_cents, 15000)
        self.assertEqual(ac.cents_to_dollars(inv.total_due_cents), D("150.00"))

    def test_allotments(self):
        m = pb.GetAllotmentsResponse(member_id="m", as_of="2025-06-01", plan_id="fam",
                                     plan_effective_from="2024-01-01")
        a = m.allotments.add(rule_key="lifetime", limit=pb.LIMIT_KIND_QUANTITY, allowance=1,
                             used=1, period_start="1900-01-01", reset_date="")
        a.period.kind = pb.PERIOD_KIND_LIFETIME
        a.history.add(service_date="2025-04-04", source=pb.USAGE_SOURCE_PRIOR, usage_id="u",
                      amount=1)
        v = T.Allotments.from_pb(m)
        self.assertEqual(v.as_of, date(2025, 6, 1))
        al = v.allotments[0]
        self.assertIsNone(al.reset_date)
        self.assertEqual(al.period.kind, ac.PeriodKind.LIFETIME)
        self.assertEqual(al.history, [ac.UsageEntry(date(2025, 4, 4), ac.UsageSource.PRIOR,
                                                    "", "", "u", 1)])
        v = T.Allotments.from_pb(pb.GetAllotmentsResponse(member_id="m", as_of="2025-06-01"))
        self.assertEqual((v.plan_id, v.plan_effective_from, v.allotments), ("", None, []))


class Audit(unittest.TestCase):
    def test_entry(self):
        e = T.AuditEntry.from_pb(pb.AuditEntry(
            seq=7, time="2025-05-20T14:03:07.123456Z", principal="jwt:m-1", role="portal",
            rpc="GetAllotments", code=7, member_id="m-2", peer="ipv4:10.0.0.7:51234"))
        self.assertEqual(e.time, datetime.datetime(2025, 5, 20, 14, 3, 7, 123456,
                                                   tzinfo=datetime.timezone.utc))
        self.assertIs(e.code, grpc.StatusCode.PERMISSION_DENIED)
        self.assertEqual((e.seq, e.principal, e.role, e.rpc, e.member_id, e.invoice_id),
                         (7, "jwt:m-1", "portal", "GetAllotments", "m-2", ""))
        self.assertIs(T.AuditEntry.from_pb(pb.AuditEntry(code=0)).code, grpc.StatusCode.OK)
        self.assertEqual(T.AuditEntry.from_pb(pb.AuditEntry(code=99)).code, 99)
        self.assertIsNone(T.AuditEntry.from_pb(pb.AuditEntry()).time)
        page = T.AuditPage.from_pb(pb.ListAuditResponse(entries=[pb.AuditEntry(seq=1)],
                                                        next_seq=2, more=True))
        self.assertEqual(([x.seq for x in page.entries], page.next_seq, page.more),
                         ([1], 2, True))

    def test_iter_audit_follows_next_seq(self):
        c = ac.Client("127.0.0.1:1", timeout=1)
        self.addCleanup(c.close)
        calls = []
        pages = [pb.ListAuditResponse(entries=[pb.AuditEntry(seq=3), pb.AuditEntry(seq=4)],
                                      next_seq=5, more=True),
                 pb.ListAuditResponse(entries=[pb.AuditEntry(seq=5)], next_seq=6)]
        c._stub = FakeStub(calls, answers={"ListAudit": pages})
        self.assertEqual([e.seq for e in c.iter_audit(from_seq=3, page_size=2)], [3, 4, 5])
        self.assertEqual([(r.from_seq, r.limit) for _, r in calls], [(3, 2), (5, 2)])


class FakeRpcError(grpc.RpcError):
    def __init__(self, code, details=""):
        self._code, self._details = code, details

    def code(self):
        return self._code

    def details(self):
        return self._details


class Errors(unittest.TestCase):
    def test_from_rpc(self):
        e = ac.AllotError.from_rpc(FakeRpcError(grpc.StatusCode.NOT_FOUND, "member: no m-9"))
        self.assertIs(e.code, ac.StatusCode.NOT_FOUND)
        self.assertEqual(e.name, "NOT_FOUND")
        self.assertEqual(e.message, "member: no m-9")
        self.assertEqual(str(e), "NOT_FOUND: member: no m-9")
        e = ac.AllotError.from_rpc(FakeRpcError(None, None))
        self.assertIs(e.code, grpc.StatusCode.UNKNOWN)
        self.assertEqual(str(e), "UNKNOWN")

    def test_auth_codes_raise_subclasses(self):
        cases = [(grpc.StatusCode.UNAUTHENTICATED, ac.UnauthenticatedError),
                 (grpc.StatusCode.PERMISSION_DENIED, ac.PermissionDeniedError),
                 (grpc.StatusCode.NOT_FOUND, ac.AllotError),
                 (grpc.StatusCode.UNAVAILABLE, ac.AllotError)]
        for code, cls in cases:
            with self.subTest(code=code):
                e = ac.AllotError.from_rpc(FakeRpcError(code, "why"))
                self.assertIs(type(e), cls)
                self.assertIsInstance(e, ac.AllotError)
                self.assertIs(e.code, code)
                self.assertEqual(str(e), "%s: why" % code.name)
                self.assertIs(type(ac.AllotError.from_code(code, "why")), cls)
        self.assertIsNot(ac.UnauthenticatedError, ac.PermissionDeniedError)
        self.assertFalse(issubclass(ac.UnauthenticatedError, ac.PermissionDeniedError))
        self.assertFalse(issubclass(ac.PermissionDeniedError, ac.UnauthenticatedError))
        self.assertEqual(repr(ac.AllotError.from_code(grpc.StatusCode.PERMISSION_DENIED, "x")),
                         "PermissionDeniedError(StatusCode.PERMISSION_DENIED, 'x')")

    def test_rpc_auth_errors_raise_subclasses(self):
        c = ac.Client("127.0.0.1:1", timeout=1)
        self.addCleanup(c.close)
        c._stub = FakeStub([], fail=FakeRpcError(grpc.StatusCode.PERMISSION_DENIED,
                                                 "role reader may not call PriceInvoice"))
        with self.assertRaises(ac.PermissionDeniedError):
            c.price_invoice("i", "m", [ac.InvoiceLine("X", date(2025, 1, 1))])
        c._stub = FakeStub([], fail=FakeRpcError(grpc.StatusCode.UNAUTHENTICATED, "missing"))
        with self.assertRaises(ac.UnauthenticatedError):
            c.get_member("m")

    def test_bad_arguments_raise_before_sending(self):
        c = ac.Client("127.0.0.1:1", timeout=1)
        self.addCleanup(c.close)
        calls = []
        c._stub = FakeStub(calls)
        cases = [
            (lambda: c.get_allotments("m", as_of="2025-13-01"), "as_of"),
            (lambda: c.price_invoice("i", "m", [ac.InvoiceLine("X", "2025-01-01"),
                                                ac.InvoiceLine("X", "June 1")]),
             "lines[1].service_date"),
            (lambda: c.preview_invoice("m", ac.InvoiceLine("X", "x")), "lines[0].service_date"),
            (lambda: c.record_usage("u", "m", "r", "2025-02-29", 1), "service_date"),
            (lambda: c.put_member(ac.Member("m", anniversary="0")), "member.anniversary"),
            (lambda: c.put_plan("p", ac.PlanVersion("")), "version.effective_from"),
        ]
        for fn, field in cases:
            with self.subTest(field=field):
                with self.assertRaises(ac.AllotError) as cm:
                    fn()
                self.assertIs(cm.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
                self.assertTrue(cm.exception.message.startswith(field + ": "),
                                cm.exception.message)
        self.assertEqual(calls, [])

    def test_rpc_errors_become_allot_errors(self):
        c = ac.Client("127.0.0.1:1", timeout=1)
        self.addCleanup(c.close)
        c._stub = FakeStub([], fail=FakeRpcError(grpc.StatusCode.ALREADY_EXISTS, "invoice_id"))
        with self.assertRaises(ac.AllotError) as cm:
            c.price_invoice("i", "m", [ac.InvoiceLine("X", date(2025, 1, 1))])
        self.assertEqual((cm.exception.name, cm.exception.message),
                         ("ALREADY_EXISTS", "invoice_id"))
        with self.assertRaises(ac.AllotError):
            list(c.list_services())


class Options(unittest.TestCase):
    """Transport and credential options, checked before anything is sent."""

    def client(self, *a, **kw):
        c = ac.Client(*a, **kw)
        self.addCleanup(c.close)
        return c

    def test_loopback_addresses(self):
        for addr in ("127.0.0.1:50051", "127.8.9.1:1", "localhost:50051", "LOCALHOST:1",
                     "[::1]:50051", "ipv4:127.0.0.1:1", "ipv6:[::1]:1", "dns:///localhost:1",
                     "unix:/run/allot.sock", "unix-abstract:allot", "[::ffff:127.0.0.1]:1"):
            self.assertTrue(ac.is_loopback_addr(addr), addr)
        for addr in ("10.0.0.1:50051", "0.0.0.0:1", "[::]:1", "allot.example:50051",
                     "localhost.example:1", "128.0.0.1:1", "::1:50051", ":50051",
                     "[::1", "ipv4:10.1.1.1:1", "[::ffff:10.0.0.1]:1"):
            self.assertFalse(ac.is_loopback_addr(addr), addr)

    def test_plaintext_token_only_to_loopback(self):
        c = self.client("127.0.0.1:1", token="allot_abc")
        self.assertFalse(c.tls)
        self.assertEqual(c._auth_kw(), {"metadata": (("authorization", "Bearer allot_abc"),)})
        with self.assertRaisesRegex(ValueError, "clear text to allot.example:1"):
            ac.Client("allot.example:1", token="allot_abc")
        self.assertFalse(self.client("allot.example:1", token="t", insecure=True).tls)
        # a view with a token on a plaintext remote client is refused too
        remote = self.client("allot.example:1")
        self.assertEqual(remote._auth_kw(), {})
        with self.assertRaisesRegex(ValueError, "clear text"):
            remote.with_token("t")
        # with TLS the token is call credentials, never plain metadata
        c = self.client("allot.example:1", tls=True, token="allot_abc")
        self.assertTrue(c.tls)
        self.assertEqual(list(c._auth_kw()), ["credentials"])
        self.assertIsInstance(c._auth_kw()["credentials"], grpc.CallCredentials)

    def test_callable_token_without_tls_is_read_per_call(self):
        n = []
        c = self.client("127.0.0.1:1", token=lambda: "tok-%d" % len(n.append(1) or n))
        self.assertEqual(c._auth_kw()["metadata"], (("authorization", "Bearer tok-1"),))
        self.assertEqual(c._auth_kw()["metadata"], (("authorization", "Bearer tok-2"),))

    def test_bad_options(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        tokfile = os.path.join(d, "t")
        with open(tokfile, "w") as f:
            f.write("  allot_from_file \n")
        notpem = os.path.join(d, "x.pem")
        with open(notpem, "w") as f:
            f.write("hello")
        c = self.client("127.0.0.1:1", token_file=tokfile)
        self.assertEqual(c._auth_kw()["metadata"][0][1], "Bearer allot_from_file")
        with open(tokfile, "w") as f:   # what `allotd --new-token` prints: the first line
            f.write("allot_first\ntoken id billing sha256:00\n")
        c = self.client("127.0.0.1:1", token_file=tokfile)
        self.assertEqual(c._auth_kw()["metadata"][0][1], "Bearer allot_first")
        cases = [
            (dict(tls_cert=b"-----BEGIN x"), ValueError, "go together"),
            (dict(tls_key=b"-----BEGIN x"), ValueError, "go together"),
            (dict(token="a", token_file=tokfile), ValueError, "give one"),
            (dict(token="has space"), ValueError, "printable ASCII"),
            (dict(token="new\nline"), ValueError, "printable ASCII"),
            (dict(token=""), ValueError, "empty"),
            (dict(token=b"bytes"), TypeError, "want a str"),
            (dict(token_file=os.path.join(d, "missing")), ValueError, "cannot read"),
            (dict(tls_ca=os.path.join(d, "missing.pem")), ValueError, "tls_ca: cannot read"),
            (dict(tls_ca=notpem), ValueError, "tls_ca: not PEM"),
            (dict(tls_ca=b"junk"), ValueError, "tls_ca: not PEM"),
            (dict(tls=False, tls_ca=b"-----BEGIN"), ValueError, "tls=False"),
            (dict(tls=True, channel=object()), ValueError, "not both"),
        ]
        for kw, exc, msg in cases:
            with self.subTest(kw=kw), self.assertRaisesRegex(exc, msg):
                ac.Client("127.0.0.1:1", **kw)

    def test_tls_options_make_a_secure_channel(self):
        # no connection is made until a call; the PEM is only parsed by then
        c = self.client("127.0.0.1:1", tls_ca=b"-----BEGIN CERTIFICATE-----\n")
        self.assertTrue(c.tls)
        self.assertFalse(self.client("127.0.0.1:1").tls)
        self.assertTrue(self.client("127.0.0.1:1", tls_target_name="allot.internal").tls)

    def test_from_env(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        tokfile = os.path.join(d, "t")
        with open(tokfile, "w") as f:
            f.write("allot_file\n")
        c = ac.Client.from_env({})
        self.addCleanup(c.close)
        self.assertEqual((c.addr, c.tls, c._auth_kw()), (ac.DEFAULT_ADDR, False, {}))
        c = ac.Client.from_env({"ALLOT_ADDR": "127.0.0.2:9", "ALLOT_TOKEN": "allot_env",
                                "ALLOT_TLS_CA": ""}, timeout=3)
        self.addCleanup(c.close)
        self.assertEqual((c.addr, c.tls, c.timeout), ("127.0.0.2:9", False, 3))
        self.assertEqual(c._auth_kw()["metadata"][0][1], "Bearer allot_env")
        c = ac.Client.from_env({"ALLOT_TOKEN_FILE": tokfile}, addr="127.0.0.3:9")
        self.addCleanup(c.close)
        self.assertEqual(c.addr, "127.0.0.3:9")
        self.assertEqual(c._auth_kw()["metadata"][0][1], "Bearer allot_file")
        # an argument token replaces the environment's, of either kind
        c = ac.Client.from_env({"ALLOT_TOKEN_FILE": tokfile, "ALLOT_TOKEN": "x"}, token="arg")
        self.addCleanup(c.close)
        self.assertEqual(c._auth_kw()["metadata"][0][1], "Bearer arg")
        with self.assertRaisesRegex(ValueError, "both set"):
            ac.Client.from_env({"ALLOT_TOKEN_FILE": tokfile, "ALLOT_TOKEN": "x"})
        with self.assertRaisesRegex(ValueError, "go together"):
            ac.Client.from_env({"ALLOT_TLS_CLIENT_CERT": tokfile})
        with self.assertRaisesRegex(ValueError, "tls_ca: cannot read"):
            ac.Client.from_env({"ALLOT_TLS_CA": os.path.join(d, "nope.pem")})
        with self.assertRaisesRegex(ValueError, "clear text"):
            ac.Client.from_env({"ALLOT_ADDR": "allot.example:1", "ALLOT_TOKEN": "t"})


class FakeStub:
    """Records (method, request) and fails with `fail` or answers from
    `answers` (method -> list of responses)."""

    def __init__(self, calls, fail=None, answers=None):
        self.calls, self.fail, self.answers = calls, fail, answers or {}

    def __getattr__(self, name):
        def call(req, timeout=None, wait_for_ready=None):
            self.calls.append((name, req))
            if self.fail:
                raise self.fail
            return self.answers[name].pop(0)
        return call


class Paging(unittest.TestCase):
    def test_list_services_follows_tokens(self):
        c = ac.Client("127.0.0.1:1", timeout=1)
        self.addCleanup(c.close)
        calls = []
        pages = [pb.ListServicesResponse(services=[pb.Service(code="A"), pb.Service(code="B")],
                                         next_page_token="t1"),
                 pb.ListServicesResponse(services=[pb.Service(code="C", cash_price_cents=5)])]
        c._stub = FakeStub(calls, answers={"ListServices": pages})
        got = list(c.list_services(page_size=2))
        self.assertEqual([s.code for s in got], ["A", "B", "C"])
        self.assertEqual(got[2], ac.Service("C", "", 5))
        self.assertEqual([(r.page_size, r.page_token) for _, r in calls], [(2, ""), (2, "t1")])


# ---------------------------------------------------------------------------
# ThresholdWatch against a fake stream
# ---------------------------------------------------------------------------

class FakeStream:
    """A server stream: yields the events, then raises `end` (None: ends OK)
    or, with block=True, waits until cancelled."""

    def __init__(self, events, end=None, block=False):
        self._events = list(events)
        self._end = end
        self._block = block
        self._cancelled = threading.Event()

    def __iter__(self):
        return self

    def __next__(self):
        if self._cancelled.is_set():
            raise FakeRpcError(grpc.StatusCode.CANCELLED, "Locally cancelled")
        if self._events:
            return self._events.pop(0)
        if self._block:
            self._cancelled.wait()
            raise FakeRpcError(grpc.StatusCode.CANCELLED, "Locally cancelled")
        if self._end is not None:
            raise self._end
        raise StopIteration

    def cancel(self):
        self._cancelled.set()


class FakeWatchStub:
    def __init__(self, streams):
        self.streams = list(streams)
        self.requests = []

    def WatchThresholds(self, req, timeout=None):
        self.requests.append((req.from_seq, req.member_id))
        s = self.streams.pop(0)
        return s() if callable(s) else s


def ev(seq, member="m"):
    return pb.ThresholdEvent(seq=seq, member_id=member, rule_key="r", percent=50,
                             allowance=2, used=1, remaining=1, period_start="2025-01-01",
                             reset_date="2026-01-01", invoice_id="i%d" % seq)


UNAVAILABLE = FakeRpcError(grpc.StatusCode.UNAVAILABLE, "Socket closed")


class Watch(unittest.TestCase):
    def client(self, streams):
        c = ac.Client("127.0.0.1:1", timeout=1)
        self.addCleanup(c.close)
        c._stub = FakeWatchStub(streams)
        return c

    def test_resumes_from_last_seq_plus_one(self):
        c = self.client([
            FakeStream([ev(5), ev(6)], UNAVAILABLE),
            FakeStream([], UNAVAILABLE),              # still down
            FakeStream([ev(6), ev(7)], UNAVAILABLE),  # a repeat is dropped
            FakeStream([ev(8)], block=True),
        ])
        w = c.watch_thresholds(from_seq=5, member_id="m", initial_backoff=0.01,
                               max_backoff=0.02)
        got = [next(w) for _ in range(4)]
        self.assertEqual([e.seq for e in got], [5, 6, 7, 8])
        self.assertIsInstance(got[0], ac.ThresholdEvent)
        self.assertEqual(got[0].reset_date, date(2026, 1, 1))
        self.assertEqual(c._stub.requests, [(5, "m"), (7, "m"), (7, "m"), (8, "m")])
        self.assertEqual(w.reconnects, 3)
        self.assertEqual((w.last_seq, w.next_seq), (8, 9))
        w.close()
        self.assertEqual(list(w), [])

    def test_from_seq_zero_means_first(self):
        c = self.client([FakeStream([ev(1)], block=True)])
        w = c.watch_thresholds()
        self.assertEqual(next(w).seq, 1)
        self.assertEqual(c._stub.requests, [(1, "")])
        w.close()

    def test_no_resume_raises_unavailable(self):
        c = self.client([FakeStream([ev(1)], UNAVAILABLE)])
        w = c.watch_thresholds(resume=False)
        self.assertEqual(next(w).seq, 1)
        with self.assertRaises(ac.AllotError) as cm:
            next(w)
        self.assertEqual(cm.exception.name, "UNAVAILABLE")

    def test_other_errors_raise(self):
        c = self.client([FakeStream([], FakeRpcError(grpc.StatusCode.INVALID_ARGUMENT,
                                                     "member_id: bad"))])
        with self.assertRaises(ac.AllotError) as cm:
            next(c.watch_thresholds(member_id="a b"))
        self.assertEqual((cm.exception.name, cm.exception.message),
                         ("INVALID_ARGUMENT", "member_id: bad"))

    def test_gives_up(self):
        c = self.client([lambda: FakeStream([], UNAVAILABLE)] * 1000)
        w = c.watch_thresholds(initial_backoff=0.01, max_backoff=0.02, give_up_after=0.2)
        t0 = time.monotonic()
        with self.assertRaises(ac.AllotError) as cm:
            next(w)
        self.assertEqual(cm.exception.name, "UNAVAILABLE")
        self.assertIn("Socket closed", cm.exception.message)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertGreater(w.reconnects, 2)

    def test_backoff_grows_and_is_capped(self):
        c = self.client([lambda: FakeStream([], UNAVAILABLE)] * 1000)
        w = c.watch_thresholds(initial_backoff=0.05, max_backoff=0.1, give_up_after=0.6)
        with self.assertRaises(ac.AllotError):
            next(w)
        # sleeps of 0.025-0.05, then 0.05-0.1 each: at most ~25 tries in 0.6 s
        self.assertLessEqual(w.reconnects, 25)
        self.assertGreaterEqual(w.reconnects, 5)

    def test_cancel_from_another_thread(self):
        c = self.client([FakeStream([ev(1)], block=True)])
        w = c.watch_thresholds()
        got = []
        t = threading.Thread(target=lambda: got.extend(w))
        t.start()
        time.sleep(0.1)
        w.cancel()
        t.join(5)
        self.assertFalse(t.is_alive())
        self.assertEqual([e.seq for e in got], [1])
        self.assertTrue(w.cancelled)

    def test_cancel_during_backoff(self):
        c = self.client([lambda: FakeStream([], UNAVAILABLE)] * 10)
        w = c.watch_thresholds(initial_backoff=30, max_backoff=30)
        got = []
        t = threading.Thread(target=lambda: got.extend(w))
        t.start()
        time.sleep(0.2)
        t0 = time.monotonic()
        w.cancel()
        t.join(5)
        self.assertFalse(t.is_alive())
        self.assertLess(time.monotonic() - t0, 2)
        self.assertEqual(got, [])


if __name__ == "__main__":
    unittest.main()
