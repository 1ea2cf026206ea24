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
failure raises AllotError(code, message); UNAUTHENTICATED and
PERMISSION_DENIED raise its subclasses UnauthenticatedError and
PermissionDeniedError.

An authenticated server (TLS, bearer tokens):

    c = Client("allot.example:50051", tls_ca="ca.pem", token_file="billing.token")
    c = Client.from_env()    # ALLOT_ADDR, ALLOT_TLS_CA, ALLOT_TLS_CLIENT_CERT,
                             # ALLOT_TLS_CLIENT_KEY, ALLOT_TOKEN, ALLOT_TOKEN_FILE

Needs Debian's python3-grpcio and python3-protobuf (/usr/bin/python3) and the
stubs generated at build time (target allot_client_gen; see _stubs.py).
"""

from .errors import AllotError, PermissionDeniedError, StatusCode, UnauthenticatedError
from .money import (cents_to_dollars, date_from_wire, date_to_wire, dollars_to_cents,
                    format_cents, format_date, parse_date)
from .types import (DEFAULT_THRESHOLDS, Allotment, Allotments, AmountDue, AuditEntry,
                    AuditPage, Enrollment, InvoiceLine, LimitKind, Member, Payer, Period,
                    PeriodKind, Plan, PlanVersion, PoolKind, PricedInvoice, PricedLine, Reason,
                    RecordedUsage, Rule, RuleUse, Saved, Service, ThresholdEvent, UsageEntry,
                    UsageSource, VoidedInvoice)
from .client import DEFAULT_ADDR, Client, ThresholdWatch, is_loopback_addr, read_token_file

__all__ = [
    "Client", "ThresholdWatch", "DEFAULT_ADDR", "is_loopback_addr", "read_token_file",
    "AllotError", "UnauthenticatedError", "PermissionDeniedError", "StatusCode",
    "cents_to_dollars", "dollars_to_cents", "format_cents", "format_date", "parse_date",
    "date_to_wire", "date_from_wire",
    "DEFAULT_THRESHOLDS", "Allotment", "Allotments", "AmountDue", "AuditEntry", "AuditPage",
    "Enrollment", "InvoiceLine",
    "LimitKind", "Member", "Payer", "Period", "PeriodKind", "Plan", "PlanVersion", "PoolKind",
    "PricedInvoice", "PricedLine", "Reason", "RecordedUsage", "Rule", "RuleUse", "Saved",
    "Service", "ThresholdEvent", "UsageEntry", "UsageSource", "VoidedInvoice",
]
