"""Plain Python values for allot's messages, and their protobuf conversions.

Dates are datetime.date (None where the wire has ""), money is int cents
(see allot_client.money for Decimal dollars), enums are IntEnums whose values
are the proto's. A value from a newer server that this client does not know
stays a plain int.
"""

import datetime
import enum

import grpc
from dataclasses import dataclass, field
from typing import List, Optional, Union

from ._stubs import pb
from .money import date_from_wire, date_to_wire

__all__ = [
    "PeriodKind", "LimitKind", "PoolKind", "Payer", "Reason", "UsageSource",
    "Period", "Rule", "PlanVersion", "Plan", "Service", "Enrollment", "Member",
    "InvoiceLine", "AmountDue", "RuleUse", "PricedLine", "PricedInvoice", "Saved",
    "VoidedInvoice", "RecordedUsage", "UsageEntry", "Allotment", "Allotments",
    "ThresholdEvent", "AuditEntry", "AuditPage", "DEFAULT_THRESHOLDS",
]

DEFAULT_THRESHOLDS = (70, 80, 90, 100)


class PeriodKind(enum.IntEnum):
    UNSPECIFIED = 0
    CALENDAR_YEAR = 1
    MEMBER_YEAR = 2
    PLAN_YEAR = 3
    CALENDAR_MONTH = 4
    MEMBER_MONTH = 5
    CALENDAR_QUARTER = 6
    ROLLING_DAYS = 7
    ROLLING_MONTHS = 8
    LIFETIME = 9


class LimitKind(enum.IntEnum):
    UNSPECIFIED = 0
    QUANTITY = 1
    AMOUNT = 2


class PoolKind(enum.IntEnum):
    UNSPECIFIED = 0
    MEMBER = 1
    HOUSEHOLD = 2


class Payer(enum.IntEnum):
    UNSPECIFIED = 0
    PATIENT = 1
    SPONSOR = 2


class Reason(enum.IntEnum):
    UNSPECIFIED = 0
    COVERED = 1
    PARTLY_COVERED = 2
    ALLOTMENT_USED_UP = 3
    NOT_IN_PLAN = 4
    NO_ACTIVE_ENROLLMENT = 5
    MEMBER_PRICE = 6


class UsageSource(enum.IntEnum):
    UNSPECIFIED = 0
    INVOICE = 1
    PRIOR = 2
    EXTERNAL = 3
    ADJUSTMENT = 4


# (python enum, proto enum name prefix): checked against the stubs by the
# unit tests so that a proto change cannot silently shift a value.
ENUMS = {
    PeriodKind: ("PeriodKind", "PERIOD_KIND_"),
    LimitKind: ("LimitKind", "LIMIT_KIND_"),
    PoolKind: ("PoolKind", "POOL_KIND_"),
    Payer: ("Payer", "PAYER_"),
    Reason: ("Reason", "REASON_"),
    UsageSource: ("UsageSource", "USAGE_SOURCE_"),
}


def _enum(cls, v):
    try:
        return cls(v)
    except ValueError:
        return int(v)


# ---------------------------------------------------------------------------
# catalog, plans, members (inputs and outputs)
# ---------------------------------------------------------------------------

@dataclass
class Service:
    code: str
    name: str = ""
    cash_price_cents: int = 0

    def to_pb(self):
        return pb.Service(code=self.code, name=self.name, cash_price_cents=self.cash_price_cents)

    @classmethod
    def from_pb(cls, m):
        return cls(code=m.code, name=m.name, cash_price_cents=m.cash_price_cents)


@dataclass
class Period:
    kind: PeriodKind = PeriodKind.CALENDAR_YEAR
    month: int = 0   # PLAN_YEAR anchor
    day: int = 0     # PLAN_YEAR anchor
    count: int = 0   # ROLLING_DAYS / ROLLING_MONTHS

    @classmethod
    def calendar_year(cls):
        return cls(PeriodKind.CALENDAR_YEAR)

    @classmethod
    def member_year(cls):
        return cls(PeriodKind.MEMBER_YEAR)

    @classmethod
    def plan_year(cls, month, day):
        return cls(PeriodKind.PLAN_YEAR, month=month, day=day)

    @classmethod
    def calendar_month(cls):
        return cls(PeriodKind.CALENDAR_MONTH)

    @classmethod
    def member_month(cls):
        return cls(PeriodKind.MEMBER_MONTH)

    @classmethod
    def calendar_quarter(cls):
        return cls(PeriodKind.CALENDAR_QUARTER)

    @classmethod
    def rolling_days(cls, n):
        return cls(PeriodKind.ROLLING_DAYS, count=n)

    @classmethod
    def rolling_months(cls, n):
        return cls(PeriodKind.ROLLING_MONTHS, count=n)

    @classmethod
    def lifetime(cls):
        return cls(PeriodKind.LIFETIME)

    def to_pb(self):
        return pb.Period(kind=int(self.kind), month=self.month, day=self.day, count=self.count)

    @classmethod
    def from_pb(cls, m):
        return cls(kind=_enum(PeriodKind, m.kind), month=m.month, day=m.day, count=m.count)


@dataclass
class Rule:
    key: str
    service_codes: List[str]
    limit: LimitKind = LimitKind.QUANTITY
    # Units (QUANTITY) or cents (AMOUNT) per period; 0 with unlimited, or with
    # an overage price for a "member price" rule.
    allowance: int = 0
    period: Period = field(default_factory=Period.calendar_year)
    pool: PoolKind = PoolKind.MEMBER
    member_cap: int = 0
    # None: the line's unit price.
    overage_price_cents: Optional[int] = None
    overage_payer: Payer = Payer.PATIENT
    # None: the default (70, 80, 90, 100); []: no events for this rule.
    thresholds: Optional[List[int]] = None
    unlimited: bool = False

    def to_pb(self):
        m = pb.Rule(key=self.key, service_codes=list(self.service_codes), limit=int(self.limit),
                    allowance=self.allowance, unlimited=self.unlimited, pool=int(self.pool),
                    member_cap=self.member_cap, overage_payer=int(self.overage_payer))
        m.period.CopyFrom(self.period.to_pb())
        if self.overage_price_cents is not None:
            m.overage_price.cents = self.overage_price_cents
        if self.thresholds is not None:
            m.thresholds.SetInParent()
            m.thresholds.percents.extend(self.thresholds)
        return m

    @classmethod
    def from_pb(cls, m):
        return cls(
            key=m.key, service_codes=list(m.service_codes), limit=_enum(LimitKind, m.limit),
            allowance=m.allowance, period=Period.from_pb(m.period),
            pool=_enum(PoolKind, m.pool), member_cap=m.member_cap,
            overage_price_cents=m.overage_price.cents if m.HasField("overage_price") else None,
            overage_payer=_enum(Payer, m.overage_payer),
            thresholds=list(m.thresholds.percents) if m.HasField("thresholds") else None,
            unlimited=m.unlimited)


@dataclass
class PlanVersion:
    effective_from: datetime.date
    rules: List[Rule] = field(default_factory=list)

    def to_pb(self):
        return pb.PlanVersion(
            effective_from=date_to_wire(self.effective_from, "version.effective_from"),
            rules=[r.to_pb() for r in self.rules])

    @classmethod
    def from_pb(cls, m):
        return cls(effective_from=date_from_wire(m.effective_from),
                   rules=[Rule.from_pb(r) for r in m.rules])


@dataclass
class Plan:
    id: str
    name: str = ""
    versions: List[PlanVersion] = field(default_factory=list)

    @classmethod
    def from_pb(cls, m):
        return cls(id=m.id, name=m.name, versions=[PlanVersion.from_pb(v) for v in m.versions])

    def version_on(self, d):
        """The version in force on date d (None before the first)."""
        best = None
        for v in self.versions:
            if v.effective_from is not None and v.effective_from <= d:
                best = v
        return best


@dataclass
class Enrollment:
    plan_id: str
    start: datetime.date
    end: Optional[datetime.date] = None  # inclusive; None: open-ended

    def to_pb(self, i=0):
        return pb.Enrollment(plan_id=self.plan_id,
                             start=date_to_wire(self.start, "member.enrollments[%d].start" % i),
                             end=date_to_wire(self.end, "member.enrollments[%d].end" % i))

    @classmethod
    def from_pb(cls, m):
        return cls(plan_id=m.plan_id, start=date_from_wire(m.start), end=date_from_wire(m.end))


@dataclass
class Member:
    id: str
    enrollments: List[Enrollment] = field(default_factory=list)
    # None: the first enrollment's start.
    anniversary: Optional[datetime.date] = None
    household_id: str = ""
    sponsor_id: str = ""
    # Output only: the anniversary in use.
    effective_anniversary: Optional[datetime.date] = None

    def to_pb(self):
        return pb.Member(id=self.id,
                         enrollments=[e.to_pb(i) for i, e in enumerate(self.enrollments)],
                         anniversary=date_to_wire(self.anniversary, "member.anniversary"),
                         household_id=self.household_id, sponsor_id=self.sponsor_id)

    @classmethod
    def from_pb(cls, m):
        return cls(id=m.id, enrollments=[Enrollment.from_pb(e) for e in m.enrollments],
                   anniversary=date_from_wire(m.anniversary), household_id=m.household_id,
                   sponsor_id=m.sponsor_id,
                   effective_anniversary=date_from_wire(m.effective_anniversary))


@dataclass
class Saved:
    """What a Put* returns: the stored value and whether it was new."""
    value: object
    created: bool


# ---------------------------------------------------------------------------
# pricing
# ---------------------------------------------------------------------------

@dataclass
class InvoiceLine:
    service_code: str
    service_date: Union[datetime.date, str]
    quantity: int = 1
    # None: the service's cash price.
    unit_price_cents: Optional[int] = None
    # "": the line's 1-based position.
    line_id: str = ""

    def to_pb(self, i=0):
        m = pb.InvoiceLine(line_id=self.line_id, service_code=self.service_code,
                           service_date=date_to_wire(self.service_date,
                                                     "lines[%d].service_date" % i),
                           quantity=self.quantity)
        if self.unit_price_cents is not None:
            m.unit_price.cents = self.unit_price_cents
        return m


@dataclass
class AmountDue:
    payer: Payer
    payer_id: str
    amount_cents: int

    @classmethod
    def from_pb(cls, m):
        return cls(payer=_enum(Payer, m.payer), payer_id=m.payer_id, amount_cents=m.amount_cents)


@dataclass
class RuleUse:
    rule_key: str
    limit: LimitKind
    pool: PoolKind
    unlimited: bool
    allowance: int
    drawn: int
    remaining: int
    period_start: Optional[datetime.date]
    reset_date: Optional[datetime.date]

    @classmethod
    def from_pb(cls, m):
        return cls(rule_key=m.rule_key, limit=_enum(LimitKind, m.limit),
                   pool=_enum(PoolKind, m.pool), unlimited=m.unlimited,
                   allowance=m.allowance, drawn=m.drawn, remaining=m.remaining,
                   period_start=date_from_wire(m.period_start),
                   reset_date=date_from_wire(m.reset_date))


@dataclass
class PricedLine:
    line_id: str
    service_code: str
    service_date: datetime.date
    quantity: int
    covered_quantity: int
    billable_quantity: int
    unit_price_cents: int
    covered_amount_cents: int
    billable_unit_price_cents: int
    amount_due_cents: int
    due: List[AmountDue]
    reason: Reason
    rule_key: str
    unlimited: bool
    remaining: int
    period_start: Optional[datetime.date]
    reset_date: Optional[datetime.date]
    carc: str
    rules: List[RuleUse]
    voided: bool
    plan_id: str
    plan_effective_from: Optional[datetime.date]

    @classmethod
    def from_pb(cls, m):
        return cls(
            line_id=m.line_id, service_code=m.service_code,
            service_date=date_from_wire(m.service_date), quantity=m.quantity,
            covered_quantity=m.covered_quantity, billable_quantity=m.billable_quantity,
            unit_price_cents=m.unit_price_cents, covered_amount_cents=m.covered_amount_cents,
            billable_unit_price_cents=m.billable_unit_price_cents,
            amount_due_cents=m.amount_due_cents, due=[AmountDue.from_pb(d) for d in m.due],
            reason=_enum(Reason, m.reason), rule_key=m.rule_key, unlimited=m.unlimited,
            remaining=m.remaining, period_start=date_from_wire(m.period_start),
            reset_date=date_from_wire(m.reset_date), carc=m.carc,
            rules=[RuleUse.from_pb(r) for r in m.rules], voided=m.voided, plan_id=m.plan_id,
            plan_effective_from=date_from_wire(m.plan_effective_from))


@dataclass
class PricedInvoice:
    invoice_id: str
    member_id: str
    lines: List[PricedLine]
    total_due_cents: int
    totals: List[AmountDue]

    @classmethod
    def from_pb(cls, m):
        return cls(invoice_id=m.invoice_id, member_id=m.member_id,
                   lines=[PricedLine.from_pb(x) for x in m.lines],
                   total_due_cents=m.total_due_cents,
                   totals=[AmountDue.from_pb(x) for x in m.totals])


@dataclass
class VoidedInvoice:
    invoice_id: str
    # Lines voided by this call; empty when they were voided already.
    voided_line_ids: List[str]

    @classmethod
    def from_pb(cls, m):
        return cls(invoice_id=m.invoice_id, voided_line_ids=list(m.voided_line_ids))


@dataclass
class RecordedUsage:
    usage_id: str
    # The rule's state in the service date's period after recording.
    rule: RuleUse

    @classmethod
    def from_pb(cls, m):
        return cls(usage_id=m.usage_id, rule=RuleUse.from_pb(m.rule))


# ---------------------------------------------------------------------------
# allotments view, threshold events
# ---------------------------------------------------------------------------

@dataclass
class UsageEntry:
    service_date: datetime.date
    source: UsageSource
    invoice_id: str
    line_id: str
    usage_id: str
    amount: int  # units (QUANTITY) or cents (AMOUNT)

    @classmethod
    def from_pb(cls, m):
        return cls(service_date=date_from_wire(m.service_date),
                   source=_enum(UsageSource, m.source), invoice_id=m.invoice_id,
                   line_id=m.line_id, usage_id=m.usage_id, amount=m.amount)


@dataclass
class Allotment:
    rule_key: str
    service_codes: List[str]
    limit: LimitKind
    pool: PoolKind
    period: Period
    unlimited: bool
    allowance: int
    used: int           # the household's total for household rules
    remaining: int
    percent_used: int   # floor(used*100/allowance), not capped
    period_start: Optional[datetime.date]
    reset_date: Optional[datetime.date]   # None: LIFETIME, or rolling with nothing used
    history: List[UsageEntry]             # the member's own entries only
    member_used: int
    member_cap: int
    x12_time_period: str

    @classmethod
    def from_pb(cls, m):
        return cls(
            rule_key=m.rule_key, service_codes=list(m.service_codes),
            limit=_enum(LimitKind, m.limit), pool=_enum(PoolKind, m.pool),
            period=Period.from_pb(m.period), unlimited=m.unlimited, allowance=m.allowance,
            used=m.used, remaining=m.remaining, percent_used=m.percent_used,
            period_start=date_from_wire(m.period_start), reset_date=date_from_wire(m.reset_date),
            history=[UsageEntry.from_pb(h) for h in m.history], member_used=m.member_used,
            member_cap=m.member_cap, x12_time_period=m.x12_time_period)


@dataclass
class Allotments:
    member_id: str
    as_of: datetime.date
    plan_id: str                              # "" when not enrolled on as_of
    plan_effective_from: Optional[datetime.date]
    allotments: List[Allotment]

    @classmethod
    def from_pb(cls, m):
        return cls(member_id=m.member_id, as_of=date_from_wire(m.as_of), plan_id=m.plan_id,
                   plan_effective_from=date_from_wire(m.plan_effective_from),
                   allotments=[Allotment.from_pb(a) for a in m.allotments])


@dataclass
class ThresholdEvent:
    seq: int
    member_id: str
    household_id: str
    rule_key: str
    percent: int
    allowance: int
    used: int
    remaining: int
    period_start: Optional[datetime.date]
    reset_date: Optional[datetime.date]
    invoice_id: str
    line_id: str
    usage_id: str
    # allowance, used and remaining are cents for AMOUNT, units for QUANTITY
    # (UNSPECIFIED: an event stored before events named their limit)
    limit: LimitKind = LimitKind.UNSPECIFIED

    @classmethod
    def from_pb(cls, m):
        return cls(seq=m.seq, member_id=m.member_id, household_id=m.household_id,
                   rule_key=m.rule_key, percent=m.percent, allowance=m.allowance, used=m.used,
                   remaining=m.remaining, period_start=date_from_wire(m.period_start),
                   reset_date=date_from_wire(m.reset_date), invoice_id=m.invoice_id,
                   line_id=m.line_id, usage_id=m.usage_id, limit=_enum(LimitKind, m.limit))


# ---------------------------------------------------------------------------
# audit trail
# ---------------------------------------------------------------------------

_STATUS_BY_NUMBER = {sc.value[0]: sc for sc in grpc.StatusCode}


def _audit_time(s):
    """'2025-05-20T14:03:07.123456Z' -> an aware UTC datetime (None if "")."""
    if not s:
        return None
    try:
        return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


@dataclass
class AuditEntry:
    seq: int                 # 1, 2, 3, ... never reused
    time: Optional[datetime.datetime]   # UTC, microseconds
    principal: str           # a token's id, "jwt:<member id>", or "anonymous"
    role: str                # "admin", "billing", "reader", "portal", or ""
    rpc: str                 # "PriceInvoice", ...
    code: Union[grpc.StatusCode, int]   # the answer's status (an int if unknown)
    member_id: str
    invoice_id: str
    line_id: str
    usage_id: str
    plan_id: str
    service_code: str
    peer: str                # "ipv4:10.0.0.7:51234"

    @classmethod
    def from_pb(cls, m):
        return cls(seq=m.seq, time=_audit_time(m.time), principal=m.principal, role=m.role,
                   rpc=m.rpc, code=_STATUS_BY_NUMBER.get(m.code, m.code),
                   member_id=m.member_id, invoice_id=m.invoice_id, line_id=m.line_id,
                   usage_id=m.usage_id, plan_id=m.plan_id, service_code=m.service_code,
                   peer=m.peer)


@dataclass
class AuditPage:
    entries: List[AuditEntry]
    next_seq: int    # where the next page (or the next poll) starts
    more: bool       # further entries are already stored

    @classmethod
    def from_pb(cls, m):
        return cls(entries=[AuditEntry.from_pb(e) for e in m.entries], next_seq=m.next_seq,
                   more=m.more)
