#!/usr/bin/python3
"""Prices an invoice with allot and prints its lines.

  price_invoice.py [--addr HOST:PORT] [--preview] MEMBER_ID INVOICE_ID LINE...

Each LINE is CODE@YYYY-MM-DD[xQUANTITY][=PRICE], e.g. HOME_VISIT@2025-09-01 or
97110@2025-02-03x2=85.00 (PRICE in dollars overrides the service's cash price).
--preview prices without recording anything. --demo first stores a sample
service, plan and member (ids HOME_VISIT, demo-family, demo-member) so that

  price_invoice.py --demo demo-member inv-1 HOME_VISIT@2025-04-01 \
      HOME_VISIT@2025-06-01 HOME_VISIT@2025-09-01

shows two covered visits and a third billed at $150.00.

The server and credentials come from the environment (Client.from_env):
ALLOT_ADDR (or --addr), ALLOT_TLS_CA, ALLOT_TLS_CLIENT_CERT + ALLOT_TLS_CLIENT_KEY (mutual
TLS), ALLOT_TOKEN or ALLOT_TOKEN_FILE (a billing token prices; --demo needs
admin, which may not price: run it against an open server).

Stubs: build target allot_client_gen (or set ALLOT_CLIENT_GEN). Run with
Debian's /usr/bin/python3.
"""

import argparse
import datetime
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import allot_client as ac  # noqa: E402

LINE = re.compile(r"(?P<code>[^@\s]+)@(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
                  r"(?:x(?P<qty>[0-9]+))?(?:=(?P<price>[0-9.,$]+))?")


def parse_line(s, i):
    m = LINE.fullmatch(s)
    if not m:
        raise SystemExit("line %d: want CODE@YYYY-MM-DD[xQTY][=PRICE], got %r" % (i + 1, s))
    price = m.group("price")
    try:
        return ac.InvoiceLine(
            service_code=m.group("code"), service_date=ac.parse_date(m.group("date")),
            quantity=int(m.group("qty") or 1),
            unit_price_cents=ac.dollars_to_cents(price) if price else None)
    except ValueError as e:
        raise SystemExit("line %d: %s" % (i + 1, e))


def setup_demo(c):
    c.put_service(ac.Service("HOME_VISIT", "Home visit", 15000))
    c.put_plan("demo-family", ac.PlanVersion(datetime.date(2024, 1, 1), [
        ac.Rule("home-visits", ["HOME_VISIT"], ac.LimitKind.QUANTITY, 2,
                ac.Period.member_year())]), name="Family Membership")
    c.put_member(ac.Member("demo-member", [ac.Enrollment("demo-family", datetime.date(2024, 3, 15))]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--addr", default=None,
                    help="HOST:PORT (default $ALLOT_ADDR or %s)" % ac.DEFAULT_ADDR)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--preview", action="store_true", help="price without recording")
    ap.add_argument("--demo", action="store_true", help="store sample data first")
    ap.add_argument("member_id")
    ap.add_argument("invoice_id")
    ap.add_argument("lines", nargs="+", metavar="LINE")
    args = ap.parse_args(argv)
    lines = [parse_line(s, i) for i, s in enumerate(args.lines)]

    try:
        client = ac.Client.from_env(addr=args.addr, timeout=args.timeout)
    except (ValueError, TypeError) as e:
        print("allot: %s" % e, file=sys.stderr)
        return 2
    with client as c:
        try:
            if args.demo:
                setup_demo(c)
            if args.preview:
                inv = c.preview_invoice(args.member_id, lines, invoice_id=args.invoice_id)
            else:
                inv = c.price_invoice(args.invoice_id, args.member_id, lines)
        except ac.AllotError as e:
            print("allot: %s" % e, file=sys.stderr)
            return 1

    print("%s %s for member %s" % ("Preview of invoice" if args.preview else "Invoice",
                                   inv.invoice_id, inv.member_id))
    fmt = "%-4s %-12s %-11s %4s %7s %9s %10s  %s"
    print(fmt % ("line", "service", "date", "qty", "covered", "billable", "due", "why"))
    for ln in inv.lines:
        why = ln.reason.name.lower().replace("_", " ") if isinstance(ln.reason, ac.Reason) \
            else str(ln.reason)
        if ln.rule_key:
            why += " (%s: %s left%s)" % (
                ln.rule_key, "unlimited" if ln.unlimited else ln.remaining,
                ", resets %s" % ac.format_date(ln.reset_date) if ln.reset_date else "")
        if ln.carc:
            why += " CARC %s" % ln.carc
        if ln.voided:
            why += " [voided]"
        print(fmt % (ln.line_id, ln.service_code, ln.service_date.isoformat(), ln.quantity,
                     ln.covered_quantity, ln.billable_quantity,
                     ac.format_cents(ln.amount_due_cents), why))
    print("total due %s" % ac.format_cents(inv.total_due_cents))
    for t in inv.totals:
        print("  %s %s: %s" % (t.payer.name.lower() if isinstance(t.payer, ac.Payer) else t.payer,
                               t.payer_id, ac.format_cents(t.amount_cents)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
