"""allot_client: a small typed Python client for allotd (allot.v1).

    import datetime
    from allot_client import Client, InvoiceLine, format_cents

    with Client("127.0.0.1:50051", timeout=10) as c:
        inv = c.price_invoice("inv-1", "m-1",
                              [InvoiceLine("HOME_VISIT", datetime.date(2025, 9, 1))])
        for line in inv.lines:
            print(line.service_code, line.reason.name, format_cents(line.amount_due_cents))

Dates are datetime.date, money int cents (cents_to_dollars / dollars_to_cents
convert to and from decimal.Decimal), answers small dataclasses. Every
failure raises AllotError(code, message).

Needs Debian's python3-grpcio and python3-protobuf (/usr/bin/python3) and the
stubs generated at build time (target allot_client_gen; see _stubs.py).
"""

from .errors import AllotError, StatusCode
from .money import (cents_to_dollars, date_from_wire, date_to_wire, dollars_to_cents,
                    format_cents, format_date, parse_date)
from .types import (DEFAULT_THRESHOLDS, Allotment, Allotments, AmountDue, Enrollment,
                    InvoiceLine, LimitKind, Member, Payer, Period, PeriodKind, Plan,
                    PlanVersion, PoolKind, PricedInvoice, PricedLine, Reason, RecordedUsage,
                    Rule, RuleUse, Saved, Service, ThresholdEvent, UsageEntry, UsageSource,
                    VoidedInvoice)
from .client import DEFAULT_ADDR, Client, ThresholdWatch

__all__ = [
    "Client", "ThresholdWatch", "DEFAULT_ADDR", "AllotError", "StatusCode",
    "cents_to_dollars", "dollars_to_cents", "format_cents", "format_date", "parse_date",
    "date_to_wire", "date_from_wire",
    "DEFAULT_THRESHOLDS", "Allotment", "Allotments", "AmountDue", "Enrollment", "InvoiceLine",
    "LimitKind", "Member", "Payer", "Period", "PeriodKind", "Plan", "PlanVersion", "PoolKind",
    "PricedInvoice", "PricedLine", "Reason", "RecordedUsage", "Rule", "RuleUse", "Saved",
    "Service", "ThresholdEvent", "UsageEntry", "UsageSource", "VoidedInvoice",
]
