"""Money and date helpers. Money is integer cents everywhere in allot; these
convert to and from decimal.Decimal dollars exactly (never through float).
Dates are datetime.date; on the wire they are "YYYY-MM-DD" and "" means none.
"""

import datetime
import decimal
import re

__all__ = ["cents_to_dollars", "dollars_to_cents", "format_cents",
           "parse_date", "format_date", "date_to_wire", "date_from_wire"]

_CENT = decimal.Decimal(1).scaleb(-2)  # Decimal('0.01')


def cents_to_dollars(cents):
    """1999 -> Decimal('19.99'); exact."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise TypeError("cents must be an int, not %s" % type(cents).__name__)
    return decimal.Decimal(cents).scaleb(-2).quantize(_CENT)


def dollars_to_cents(dollars):
    """Decimal('19.99'), '19.99', '$1,234.50' or 12 (dollars) -> cents as int.
    Raises ValueError for a fraction of a cent or something that is not an
    amount, TypeError for a float (binary floats cannot hold cents exactly)."""
    if isinstance(dollars, bool):
        raise TypeError("dollars must be a Decimal, str or int, not bool")
    if isinstance(dollars, float):
        raise TypeError("dollars must be a Decimal, str or int, not float "
                        "(use Decimal(%r) or a string)" % str(dollars))
    if isinstance(dollars, int):
        return dollars * 100
    if isinstance(dollars, str):
        s = dollars.strip().replace(",", "")
        neg = s.startswith("-")
        if neg:
            s = s[1:].lstrip()
        if s.startswith("$"):
            s = s[1:]
        if not re.fullmatch(r"[0-9]+(\.[0-9]*)?|\.[0-9]+", s):
            raise ValueError("not an amount of dollars: %r" % dollars)
        d = decimal.Decimal(s)
        if neg:
            d = -d
    elif isinstance(dollars, decimal.Decimal):
        d = dollars
    else:
        raise TypeError("dollars must be a Decimal, str or int, not %s"
                        % type(dollars).__name__)
    if not d.is_finite():
        raise ValueError("not an amount of dollars: %r" % (dollars,))
    cents = d.scaleb(2)
    if cents != cents.to_integral_value():
        raise ValueError("%s is not a whole number of cents" % (dollars,))
    return int(cents)


def format_cents(cents):
    """150000 -> '$1,500.00'; -250 -> '-$2.50'."""
    d = cents_to_dollars(cents)
    sign = "-" if d < 0 else ""
    return "%s$%s" % (sign, "{:,.2f}".format(abs(d)))


_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def parse_date(s):
    """'2025-04-04' -> date(2025, 4, 4). Raises ValueError for anything else
    (including '' and dates that do not exist)."""
    m = _DATE.fullmatch(s) if isinstance(s, str) and s.isascii() else None
    try:
        if m:
            return datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        pass
    raise ValueError("not a date (want YYYY-MM-DD): %r" % (s,))


def format_date(d):
    """date(2026, 3, 15) -> '15 Mar 2026' (English, whatever the locale)."""
    return "%d %s %d" % (d.day, _MONTHS[d.month - 1], d.year)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def date_to_wire(d, field="date"):
    """date, 'YYYY-MM-DD' or None -> the wire form ('' for None). A datetime
    is refused: allot's dates are civil dates without times or zones."""
    if d is None:
        return ""
    if isinstance(d, datetime.datetime):
        raise TypeError("%s: want a datetime.date, not a datetime (take .date() in "
                        "the practice's time zone)" % field)
    if isinstance(d, datetime.date):
        return d.isoformat()
    if isinstance(d, str):
        try:
            return parse_date(d).isoformat()
        except ValueError as e:
            raise ValueError("%s: %s" % (field, e)) from None
    raise TypeError("%s: want a datetime.date, not %s" % (field, type(d).__name__))


def date_from_wire(s):
    """'YYYY-MM-DD' -> date; '' -> None."""
    return parse_date(s) if s else None
