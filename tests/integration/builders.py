"""Builders and small helpers shared by the pricing, watch, concurrency and
crash tests (test_foundation keeps its own copies)."""

import grpc

import harness
from harness import pb

QTY = pb.LIMIT_KIND_QUANTITY
AMT = pb.LIMIT_KIND_AMOUNT
MEMBER = pb.POOL_KIND_MEMBER
HOUSEHOLD = pb.POOL_KIND_HOUSEHOLD
PATIENT = pb.PAYER_PATIENT
SPONSOR = pb.PAYER_SPONSOR

COVERED = pb.REASON_COVERED
PARTLY = pb.REASON_PARTLY_COVERED
USED_UP = pb.REASON_ALLOTMENT_USED_UP
NOT_IN_PLAN = pb.REASON_NOT_IN_PLAN
NO_ENROLLMENT = pb.REASON_NO_ACTIVE_ENROLLMENT
MEMBER_PRICE = pb.REASON_MEMBER_PRICE

SRC_INVOICE = pb.USAGE_SOURCE_INVOICE
SRC_PRIOR = pb.USAGE_SOURCE_PRIOR
SRC_EXTERNAL = pb.USAGE_SOURCE_EXTERNAL
SRC_ADJUSTMENT = pb.USAGE_SOURCE_ADJUSTMENT

PRICE_INVOICE = "/allot.v1.Allot/PriceInvoice"
RECORD_USAGE = "/allot.v1.Allot/RecordUsage"
REPLAYED = "allot-replayed"


def period(kind, month=0, day=0, count=0):
    return pb.Period(kind=kind, month=month, day=day, count=count)


CAL_YEAR = period(pb.PERIOD_KIND_CALENDAR_YEAR)
MEMBER_YEAR = period(pb.PERIOD_KIND_MEMBER_YEAR)
CAL_MONTH = period(pb.PERIOD_KIND_CALENDAR_MONTH)
LIFETIME = period(pb.PERIOD_KIND_LIFETIME)


def rolling_days(n):
    return period(pb.PERIOD_KIND_ROLLING_DAYS, count=n)


def rolling_months(n):
    return period(pb.PERIOD_KIND_ROLLING_MONTHS, count=n)


def rule(key, codes, limit=QTY, allowance=1, per=None, pool=MEMBER, payer=PATIENT,
         member_cap=0, overage=None, unlimited=False, thresholds=None):
    """thresholds: None = absent (default 70/80/90/100), a list = present."""
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


def enrollment(plan_id, start, end=""):
    return pb.Enrollment(plan_id=plan_id, start=start, end=end)


def member(mid, enrollments=(), anniversary="", household="", sponsor=""):
    return pb.Member(id=mid, enrollments=list(enrollments), anniversary=anniversary,
                     household_id=household, sponsor_id=sponsor)


def line(code, date, qty=1, line_id="", price=None):
    ln = pb.InvoiceLine(line_id=line_id, service_code=code, service_date=date, quantity=qty)
    if price is not None:
        ln.unit_price.cents = price
    return ln


def invoice(invoice_id, member_id, lines):
    return pb.PriceInvoiceRequest(invoice_id=invoice_id, member_id=member_id, lines=list(lines))


# -- setup -------------------------------------------------------------------

def put_services(st, prices):
    for code, cents in prices.items():
        st.PutService(pb.PutServiceRequest(service=pb.Service(code=code, name=code,
                                                              cash_price_cents=cents)))


def put_plan(st, plan_id, *versions):
    for v in versions:
        st.PutPlan(pb.PutPlanRequest(plan_id=plan_id, name=plan_id, version=v))


def put_member(st, m):
    return st.PutMember(pb.PutMemberRequest(member=m)).member


# -- calls -------------------------------------------------------------------

def price_raw(channel, req, timeout=harness.RPC_TIMEOUT):
    """PriceInvoice: (response bytes, replayed?) with the exact bytes sent."""
    body, trailers = harness.raw_with_call(channel, PRICE_INVOICE, req.SerializeToString(),
                                           timeout=timeout)
    return body, trailers.get(REPLAYED) == "true"


def usage_raw(channel, req, timeout=harness.RPC_TIMEOUT):
    body, trailers = harness.raw_with_call(channel, RECORD_USAGE, req.SerializeToString(),
                                           timeout=timeout)
    return body, trailers.get(REPLAYED) == "true"


def allotments(st, member_id, as_of):
    return st.GetAllotments(pb.GetAllotmentsRequest(member_id=member_id, as_of=as_of))


def allotment(st, member_id, as_of, rule_key):
    """The allotment of rule_key (AssertionError when absent)."""
    resp = allotments(st, member_id, as_of)
    for a in resp.allotments:
        if a.rule_key == rule_key:
            return a
    raise AssertionError("no allotment %r for %s on %s in %s"
                         % (rule_key, member_id, as_of, resp))


def used(st, member_id, as_of, rule_key):
    return allotment(st, member_id, as_of, rule_key).used


def is_code(e, code):
    return isinstance(e, grpc.RpcError) and e.code() == code
