#!/usr/bin/python3
"""allot patient portal: a small read-only web page a practice runs beside
allotd, showing what a member has left of each allotment.

  /usr/bin/python3 clients/portal/portal.py --allot-addr 127.0.0.1:50051 \
      --listen 127.0.0.1:8080

Pages:
  /                      staff lookup form (member id, optional date)
  /member/<id>           the member's allotments as of today in allotd's
                         calendar; ?as_of=YYYY-MM-DD for another date
  /static/portal.css     the only stylesheet (the CSP allows nothing inline)
  /healthz               "ok" (the portal itself; not allotd)

It only reads (GetAllotments, and ListServices for service names). Every
value it renders is HTML-escaped, ids in URLs are percent-encoded, and every
response carries a strict Content-Security-Policy (no scripts at all).
Unknown member: 404 "No member with id ...". allotd unreachable: 503 "The
coverage service is not reachable right now".

Against an allotd with TLS and --auth-config it connects with --tls-ca
(and --tls-cert/--tls-key for mutual TLS) and, with --jwt-key-file, calls
GetAllotments for each member with a short-lived JWT minted for that member
alone (sub = the member id), cached per member until shortly before it
expires; the portal then holds no service token at all. --token-file (a
reader token) is the alternative, or an addition for service names only;
--service-names FILE gives the names without any token.

Standard library http.server plus allot_client (clients/python); needs
Debian's python3-grpcio and python3-protobuf (RS256 JWTs are signed with
python3-cryptography when installed, else the openssl command), and the
stubs generated at build time (target allot_client_gen; --gen DIR or
$ALLOT_CLIENT_GEN to point at them when the build tree is not
<repo>/build).
"""

import argparse
import base64
import collections
import hashlib
import hmac
import html
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse
from datetime import timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "python"))


def _early_gen(argv):
    """--gen must take effect before allot_client is imported."""
    for i, a in enumerate(argv):
        if a == "--gen" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--gen="):
            return a[len("--gen="):]
    return None


if __name__ == "__main__" and _early_gen(sys.argv[1:]):
    os.environ["ALLOT_CLIENT_GEN"] = _early_gen(sys.argv[1:])

import allot_client as ac  # noqa: E402
from allot_client import LimitKind, PeriodKind, PoolKind, UsageSource  # noqa: E402

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
]

UNREACHABLE = "The coverage service is not reachable right now"
SERVICE_NAMES_TTL = 60.0  # seconds a ListServices answer is reused


def esc(s):
    return html.escape(str(s), quote=True)


def member_url(member_id, as_of=None):
    url = "/member/" + urllib.parse.quote(member_id, safe="")
    if as_of:
        url += "?" + urllib.parse.urlencode({"as_of": as_of.isoformat()})
    return url


# ---------------------------------------------------------------------------
# words
# ---------------------------------------------------------------------------

def humanize_key(key):
    """'home-visits' -> 'Home visits'; 'PT_visits' -> 'PT visits'."""
    words = [w for w in re.split(r"[-_.\s]+", key) if w]
    if not words:
        return key
    s = " ".join(words)
    return s[0].upper() + s[1:]


def _lower_first(s):
    """'Home visits' -> 'home visits', but 'MRI scans' stays."""
    if len(s) > 1 and s[0].isupper() and not s[1].isupper():
        return s[0].lower() + s[1:]
    return s


def pluralize(phrase):
    """Pluralizes the last word: 'Home visit' -> 'Home visits'."""
    if not phrase:
        return phrase
    head, _, last = phrase.rpartition(" ")
    low = last.lower()
    if low.endswith(("s", "x", "z", "ch", "sh")):
        last = last + "es" if not low.endswith("s") or low.endswith("ss") else last
    elif low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        last = last[:-1] + "ies"
    else:
        last = last + "s"
    return (head + " " + last) if head else last


def unit_noun(allotment, names, count):
    """What one unit of a quantity rule is called, agreeing with count:
    the service's name for single-service rules, else the rule's key when it
    reads as a plural noun, else 'units'."""
    codes = allotment.service_codes
    if len(codes) == 1 and names.get(codes[0]):
        name = _lower_first(names[codes[0]])
        return name if count == 1 else pluralize(name)
    key = humanize_key(allotment.rule_key)
    if key.lower().endswith("s") and not key.lower().endswith("ss"):
        key = _lower_first(key)
        return key[:-1] if count == 1 else key
    return "unit" if count == 1 else "units"


def period_words(p):
    k, n = p.kind, p.count
    if k == PeriodKind.CALENDAR_YEAR:
        return "per calendar year"
    if k == PeriodKind.MEMBER_YEAR:
        return "per membership year"
    if k == PeriodKind.PLAN_YEAR:
        if 1 <= p.month <= 12:
            return "per plan year (from %d %s)" % (p.day, _MONTHS[p.month - 1])
        return "per plan year"
    if k == PeriodKind.CALENDAR_MONTH:
        return "per month"
    if k == PeriodKind.MEMBER_MONTH:
        return "per membership month"
    if k == PeriodKind.CALENDAR_QUARTER:
        return "per quarter"
    if k == PeriodKind.ROLLING_DAYS:
        return "in any 1 day" if n == 1 else "in any %d days" % n
    if k == PeriodKind.ROLLING_MONTHS:
        if n == 12:
            return "in any 12 months"
        if n % 12 == 0:
            return "in any %d years" % (n // 12)
        return "in any %d months" % n
    if k == PeriodKind.LIFETIME:
        return "for life"
    return ""


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_SOURCE_NOTE = {
    UsageSource.PRIOR: "before joining",
    UsageSource.EXTERNAL: "with another provider",
    UsageSource.ADJUSTMENT: "adjustment",
}


def _is_rolling(p):
    return p.kind in (PeriodKind.ROLLING_DAYS, PeriodKind.ROLLING_MONTHS)


# ---------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------

def page(title, body, status=HTTPStatus.OK):
    doc = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>%s</title>
<link rel="stylesheet" href="/static/portal.css">
</head>
<body>
<header class="top"><a class="brand" href="/">Membership coverage</a></header>
<main>
%s
</main>
</body>
</html>
""" % (esc(title), body)
    return status, doc


def lookup_page(message="", member_id="", as_of=""):
    err = '<p class="error" role="alert">%s</p>\n' % esc(message) if message else ""
    body = """<h1>Look up a member</h1>
%s<form class="lookup" method="get" action="/member">
<label for="id">Member id</label>
<input id="id" name="id" type="text" required maxlength="64" autocomplete="off" spellcheck="false" value="%s">
<label for="as_of">As of <span class="hint">(optional)</span></label>
<input id="as_of" name="as_of" type="date" value="%s">
<button type="submit">Show allotments</button>
</form>""" % (err, esc(member_id), esc(as_of))
    return page("Look up a member", body,
                HTTPStatus.BAD_REQUEST if message else HTTPStatus.OK)


def message_page(status, heading, detail="", back=True):
    body = '<section class="notice"><h1>%s</h1>%s%s</section>' % (
        esc(heading),
        "<p>%s</p>" % esc(detail) if detail else "",
        '<p><a href="/">Look up another member</a></p>' if back else "")
    return page(heading, body, status)


def not_found_page(member_id):
    return message_page(HTTPStatus.NOT_FOUND, "No member with id \u201c%s\u201d" % member_id,
                        "Check the id and try again.")


def unreachable_page():
    return message_page(HTTPStatus.SERVICE_UNAVAILABLE, UNREACHABLE,
                        "Please try again in a few minutes.")


def _amount(allotment, n):
    return ac.format_cents(n) if allotment.limit == LimitKind.AMOUNT else str(n)


def _bar(used, allowance, label):
    pct = 100 if used >= allowance else max(0, used * 100 // allowance)
    if used > 0 and pct == 0:
        pct = 1  # something was used: show a sliver
    level = "full" if used >= allowance else "warn" if used * 100 >= 70 * allowance else "ok"
    return ('<div class="bar" role="img" aria-label="%s"><div class="fill w%d %s"></div></div>'
            % (esc(label), pct, level))


def _history(allotment):
    items = []
    for h in allotment.history:
        text = "used %s" % ac.format_date(h.service_date)
        extra = []
        if allotment.limit == LimitKind.AMOUNT:
            extra.append(ac.format_cents(h.amount))
        elif h.amount != 1:
            extra.append("\u00d7%d" % h.amount)
        note = _SOURCE_NOTE.get(h.source)
        if note:
            extra.append(note)
        if extra:
            text += " (%s)" % ", ".join(extra)
        items.append("<li>%s</li>" % esc(text))
    if not items:
        return ""
    title = "Your use this period" if allotment.pool == PoolKind.HOUSEHOLD else "Used"
    return '<div class="history"><h3>%s</h3><ul>%s</ul></div>' % (title, "".join(items))


def render_allotment(a, names):
    """One rule as an <article>: title, 'N of M ... left', a bar, period and
    reset date, household figures, and the member's own dates of use."""
    title = humanize_key(a.rule_key)
    covers = ", ".join(names.get(c) or c for c in a.service_codes)
    household = a.pool == PoolKind.HOUSEHOLD
    amount = a.limit == LimitKind.AMOUNT
    parts = ['<article class="rule%s">' % (" household" if household else "")]
    parts.append('<div class="rule-head"><h2>%s</h2>%s</div>' % (
        esc(title), '<span class="badge">Household</span>' if household else ""))
    if covers:
        parts.append('<p class="covers">%s</p>' % esc(covers))

    if a.unlimited:
        parts.append('<p class="left"><strong>Unlimited</strong></p>')
        used_txt = "%s used" % _amount(a, a.used)
        parts.append('<div class="bar unlimited" role="img" aria-label="unlimited">'
                     '<div class="fill w100"></div></div>')
    elif a.allowance <= 0:
        parts.append('<p class="left"><strong>Not included</strong> \u2014 member price applies</p>')
        used_txt = ""
    else:
        if amount:
            strong = "%s of %s" % (ac.format_cents(a.remaining), ac.format_cents(a.allowance))
            rest = " left"
        else:
            strong = "%d of %d" % (a.remaining, a.allowance)
            rest = " %s left" % unit_noun(a, names, a.allowance)
        parts.append('<p class="left"><strong>%s</strong>%s</p>' % (esc(strong), esc(rest)))
        parts.append(_bar(a.used, a.allowance, "%s of %s used" % (
            _amount(a, a.used), _amount(a, a.allowance))))
        used_txt = "%s used" % _amount(a, a.used)
        if household:
            used_txt += " by the household"

    facts = [x for x in (used_txt, period_words(a.period)) if x]
    if a.reset_date:
        if _is_rolling(a.period):
            facts.append("more from %s" % ac.format_date(a.reset_date))
        else:
            facts.append("resets %s" % ac.format_date(a.reset_date))
    elif a.period.kind == PeriodKind.LIFETIME:
        facts.append("does not reset")
    parts.append('<p class="facts">%s</p>' % " \u00b7 ".join(esc(f) for f in facts))

    if household:
        mine = "You used %s of the household's %s" % (
            _amount(a, a.member_used), _amount(a, a.used))
        if a.member_cap > 0:
            mine += "; you can use up to %s yourself (%s left)" % (
                _amount(a, a.member_cap), _amount(a, max(0, a.member_cap - a.member_used)))
        parts.append('<p class="mine">%s.</p>' % esc(mine))

    if (a.period_start and a.reset_date and not _is_rolling(a.period)
            and a.period.kind != PeriodKind.LIFETIME):
        parts.append('<p class="window">This period: %s \u2013 %s</p>' % (
            esc(ac.format_date(a.period_start)),
            esc(ac.format_date(a.reset_date - timedelta(days=1)))))
    parts.append(_history(a))
    parts.append("</article>")
    return "\n".join(p for p in parts if p)


def member_page(allotments, names):
    """The page for one member: an Allotments answer and service names."""
    mid = allotments.member_id
    as_of = allotments.as_of
    head = ['<h1>Coverage for member <span class="id">%s</span></h1>' % esc(mid)]
    meta = ["as of %s" % ac.format_date(as_of)] if as_of else []
    if allotments.plan_id:
        meta.insert(0, "Plan %s" % allotments.plan_id)
    head.append('<p class="meta">%s</p>' % " \u00b7 ".join(esc(m) for m in meta))
    head.append("""<form class="asof" method="get" action="%s">
<label for="as_of">Show another date</label>
<input id="as_of" name="as_of" type="date" value="%s">
<button type="submit">Show</button>
</form>""" % (esc(member_url(mid)), esc(as_of.isoformat() if as_of else "")))
    if not allotments.plan_id:
        body = ('<section class="notice"><p>No active membership on %s, so there are no '
                'allotments to show.</p></section>' % esc(ac.format_date(as_of)))
    elif not allotments.allotments:
        body = '<section class="notice"><p>The plan has no allotments.</p></section>'
    else:
        body = '<section class="rules">\n%s\n</section>' % "\n".join(
            render_allotment(a, names) for a in allotments.allotments)
    return page("Coverage for member %s" % mid, "\n".join(head) + "\n" + body)


def stylesheet():
    widths = "\n".join(".w%d{width:%d%%}" % (i, i) for i in range(101))
    return """:root{--ink:#1d2733;--muted:#5b6b7c;--line:#d9e0e7;--bg:#f5f7f9;--card:#fff;
--ok:#2f8f5b;--warn:#d08a12;--full:#c0392b;--accent:#1f5f99}
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 "DejaVu Sans",system-ui,sans-serif;color:var(--ink);background:var(--bg)}
.top{background:var(--accent);padding:.7rem 1.5rem}
.top .brand{color:#fff;text-decoration:none;font-weight:bold;letter-spacing:.02em}
main{max-width:60rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.5rem;margin:.2rem 0 .3rem}
h1 .id{font-family:"DejaVu Sans Mono",monospace;background:#e8eef4;padding:0 .35rem;border-radius:4px;word-break:break-all}
.meta{color:var(--muted);margin:0 0 .8rem}
form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:0 0 1.2rem}
form.lookup{flex-direction:column;align-items:stretch;max-width:22rem;background:var(--card);
padding:1.2rem;border:1px solid var(--line);border-radius:8px}
label{font-weight:bold;font-size:.9rem}
.hint{font-weight:normal;color:var(--muted)}
input{font:inherit;padding:.35rem .5rem;border:1px solid #b8c4d0;border-radius:5px}
button{font:inherit;padding:.4rem .9rem;border:0;border-radius:5px;background:var(--accent);color:#fff;cursor:pointer}
.rules{display:grid;grid-template-columns:repeat(auto-fill,minmax(17rem,1fr));gap:1rem}
.rule{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem 1.1rem}
.rule-head{display:flex;justify-content:space-between;align-items:baseline;gap:.5rem}
.rule h2{font-size:1.15rem;margin:0}
.badge{font-size:.75rem;background:#e3ecf7;color:var(--accent);border-radius:999px;padding:.1rem .55rem;white-space:nowrap}
.covers{color:var(--muted);font-size:.85rem;margin:.1rem 0 .6rem}
.left{font-size:1.1rem;margin:.2rem 0 .4rem}
.bar{height:.8rem;background:#e6ebf0;border-radius:999px;overflow:hidden}
.fill{height:100%;border-radius:999px}
.fill.ok{background:var(--ok)}.fill.warn{background:var(--warn)}.fill.full{background:var(--full)}
.bar.unlimited .fill{background:#9fb3c8}
.facts,.mine,.window{font-size:.9rem;margin:.5rem 0 0;color:var(--ink)}
.window{color:var(--muted)}
.history h3{font-size:.85rem;margin:.7rem 0 .2rem;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.history ul{margin:0;padding-left:1.1rem;font-size:.9rem}
.notice{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem 1.2rem}
.error{color:var(--full);font-weight:bold}
""" + widths + "\n"


# ---------------------------------------------------------------------------
# member-scoped JWTs (docs/security.md, "Portal JWTs")
# ---------------------------------------------------------------------------

HMAC_KEY_MIN = 32        # bytes; allotd refuses shorter hs256 keys
RSA_BITS_MIN = 2048      # allotd refuses smaller rs256 keys
JWT_TTL_DEFAULT = 300    # seconds
JWT_TTL_MIN, JWT_TTL_MAX = 30, 3600
JWT_CACHE_MAX = 4096     # members whose JWT is kept


def _b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def valid_member_id(member_id):
    """What allotd accepts as a member id (and a JWT's sub): 1-64 printable
    ASCII characters, no spaces."""
    return (isinstance(member_id, str) and 0 < len(member_id) <= 64
            and all(0x20 < ord(c) < 0x7f for c in member_id))


def read_hs256_key(path):
    """An HS256 key file as allotd reads `jwt-key ID hs256 file:PATH`: its
    bytes, trailing newlines, spaces and tabs dropped; at least 32 bytes."""
    with open(path, "rb") as f:
        key = f.read().rstrip(b"\n\r \t")
    if len(key) < HMAC_KEY_MIN:
        raise ValueError("%s: an HS256 key needs at least %d bytes, got %d"
                         % (path, HMAC_KEY_MIN, len(key)))
    return key


def _rs256_signer(pem, path="RS256 key", backend=None):
    """sign(bytes) -> signature with an RSA private key (PEM, unencrypted),
    checked to be RSA of at least 2048 bits. backend: "cryptography"
    (Debian's python3-cryptography), "openssl" (the command, run for each
    signature) or None: the first that is available."""
    if backend is None:
        import importlib.util
        backend = "cryptography" if importlib.util.find_spec("cryptography") else "openssl"
    if backend == "openssl":
        return _openssl_rs256_signer(pem, path)
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as e:
        raise ValueError("%s: not an unencrypted PEM private key (%s)" % (path, e)) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("%s: RS256 wants an RSA private key" % path)
    if key.key_size < RSA_BITS_MIN:
        raise ValueError("%s: the RSA key has %d bits; allotd wants at least %d"
                         % (path, key.key_size, RSA_BITS_MIN))
    return lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _openssl_with_key(args, key_pem, data=b""):
    """Runs `openssl ARGS` where "KEY" in ARGS is read from a pipe holding
    key_pem (never a file on disk); (exit code, stdout, stderr)."""
    import subprocess
    if len(key_pem) > 60000:
        raise ValueError("the key is too large")
    r, w = os.pipe()
    try:
        os.write(w, key_pem)
        os.close(w)
        w = None
        argv = ["openssl"] + ["/dev/fd/%d" % r if a == "KEY" else a for a in args]
        p = subprocess.run(argv, input=data, capture_output=True, pass_fds=(r,), timeout=30)
    except FileNotFoundError:
        raise ValueError("RS256 needs python3-cryptography or the openssl command") from None
    finally:
        os.close(r)
        if w is not None:
            os.close(w)
    return p.returncode, p.stdout, p.stderr


def _openssl_rs256_signer(pem, path):
    rc, out, err = _openssl_with_key(["pkey", "-in", "KEY", "-passin", "pass:", "-noout",
                                      "-text"], pem)
    text_ = out.decode("ascii", "replace")
    if rc != 0:
        raise ValueError("%s: not an unencrypted PEM private key (%s)"
                         % (path, err.decode("utf-8", "replace").strip().splitlines()[:1]))
    m = re.search(r"Private-Key: \((\d+) bit", text_)
    if "modulus:" not in text_ or not m:
        raise ValueError("%s: RS256 wants an RSA private key" % path)
    if int(m.group(1)) < RSA_BITS_MIN:
        raise ValueError("%s: the RSA key has %s bits; allotd wants at least %d"
                         % (path, m.group(1), RSA_BITS_MIN))

    def sign(data):
        rc, sig, err = _openssl_with_key(["dgst", "-sha256", "-sign", "KEY", "-passin",
                                          "pass:"], pem, data)
        if rc != 0 or not sig:
            raise RuntimeError("openssl dgst -sign failed: %s"
                               % err.decode("utf-8", "replace").strip())
        return sig
    return sign


class JwtMinter:
    """Mints the JWTs allotd accepts from a portal: header {"alg", "typ":
    "JWT", "kid"}, claims {"sub": member id, "iat", "exp", "aud"}, signed
    HS256 (a shared key, as allotd's `jwt-key ID hs256`) or RS256 (the
    private half of allotd's `jwt-key ID rs256` public key). allotd checks
    the signature, exp (no leeway), sub and, when configured, aud; kid is
    informational (allotd tries every key), useful when rotating.

    token(member_id) is cached per member and reused until fewer than
    `refresh` seconds of its life are left; invalidate(member_id) drops it
    (after allotd refused it). Thread-safe. clock: seconds since the epoch."""

    def __init__(self, key, alg="HS256", key_id=None, ttl=JWT_TTL_DEFAULT, audience=None,
                 clock=time.time, max_cached=JWT_CACHE_MAX):
        alg = alg.upper()
        if alg == "HS256":
            if isinstance(key, str):
                key = key.encode()
            if len(key) < HMAC_KEY_MIN:
                raise ValueError("an HS256 key needs at least %d bytes" % HMAC_KEY_MIN)
            self._sign = lambda data, k=bytes(key): hmac.new(k, data, hashlib.sha256).digest()
        elif alg == "RS256":
            self._sign = key if callable(key) else _rs256_signer(key)
        else:
            raise ValueError("JWT algorithm %r is not HS256 or RS256" % alg)
        if ttl <= 0:
            raise ValueError("ttl must be > 0")
        self.alg = alg
        self.key_id = key_id or None
        self.ttl = int(ttl)
        self.audience = audience or None
        self.clock = clock
        # refresh this long before exp, so that a token is never sent about
        # to expire (allotd allows no leeway)
        self.refresh = min(max(self.ttl // 5, 10), self.ttl // 2)
        self.max_cached = max_cached
        self.mints = 0
        self._cache = collections.OrderedDict()   # member id -> (token, exp)
        self._lock = threading.Lock()
        header = {"alg": alg, "typ": "JWT"}
        if self.key_id:
            header["kid"] = self.key_id
        self._header = _b64u(json.dumps(header, separators=(",", ":")).encode())

    @classmethod
    def from_file(cls, path, alg="HS256", **kw):
        if alg.upper() == "RS256":
            with open(path, "rb") as f:
                return cls(_rs256_signer(f.read(), path), "RS256", **kw)
        return cls(read_hs256_key(path), alg, **kw)

    def mint(self, member_id):
        """A fresh (token, exp) for member_id (not cached)."""
        if not valid_member_id(member_id):
            raise ValueError("not a member id: %r" % (member_id,))
        now = int(self.clock())
        claims = {"sub": member_id, "iat": now, "exp": now + self.ttl}
        if self.audience:
            claims["aud"] = self.audience
        payload = _b64u(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = self._header + "." + payload
        sig = _b64u(self._sign(signing_input.encode("ascii")))
        with self._lock:
            self.mints += 1
        return signing_input + "." + sig, claims["exp"]

    def token(self, member_id):
        """member_id's JWT: the cached one while it has more than `refresh`
        seconds left, else a new one."""
        now = self.clock()
        with self._lock:
            hit = self._cache.get(member_id)
            if hit is not None and now < hit[1] - self.refresh:
                self._cache.move_to_end(member_id)
                return hit[0]
        tok, exp = self.mint(member_id)
        with self._lock:
            self._cache[member_id] = (tok, exp)
            self._cache.move_to_end(member_id)
            while len(self._cache) > self.max_cached:
                self._cache.popitem(last=False)
        return tok

    def cached(self, member_id):
        """The cached token for member_id, or None."""
        with self._lock:
            hit = self._cache.get(member_id)
        return hit[0] if hit else None

    def invalidate(self, member_id):
        with self._lock:
            self._cache.pop(member_id, None)


def load_service_names(path):
    """code -> name from a JSON file: a list of services as `allotctl
    service put` reads them ([{"code": ..., "name": ...}, ...]) or an object
    {"CODE": "name", ...}."""
    with open(path, "rb") as f:
        try:
            data = json.loads(f.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise ValueError("%s: not JSON: %s" % (path, e)) from None
    if isinstance(data, dict):
        items = list(data.items())
    elif isinstance(data, list):
        try:
            items = [(x["code"], x.get("name", "")) for x in data]
        except (TypeError, KeyError, AttributeError):
            raise ValueError('%s: want [{"code": ..., "name": ...}, ...]' % path) from None
    else:
        raise ValueError("%s: want a JSON list of services or an object" % path)
    names = {}
    for code, name in items:
        if not isinstance(code, str) or not isinstance(name, str):
            raise ValueError("%s: codes and names are strings" % path)
        names[code] = name
    return names


# ---------------------------------------------------------------------------
# the app
# ---------------------------------------------------------------------------

_DEFAULT = object()


class App:
    """What the handlers share: the client, where service names come from
    (a short-lived ListServices cache), and the JWT minter.

    minter: a JwtMinter: GetAllotments is called with a JWT for the member
    asked for (on client's connection), never with client's own credential.
    names_client: whom to ask ListServices (default: client, unless minting:
    a member's JWT may not call it, and a refused call would only fill the
    audit trail; then None, no names). service_names: a fixed code -> name
    map instead of asking."""

    def __init__(self, client, minter=None, names_client=_DEFAULT, service_names=None,
                 log=None):
        self.client = client
        self.minter = minter
        if names_client is _DEFAULT:
            names_client = client if minter is None else None
        self.names_client = names_client if service_names is None else None
        self._static_names = dict(service_names) if service_names is not None else None
        self._names = None
        self._names_at = 0.0
        self._lock = threading.Lock()
        self._log = log or (lambda msg: sys.stderr.write("portal: %s\n" % msg))
        self.css = stylesheet().encode()

    def service_names(self):
        """code -> name; {} when ListServices fails (codes are shown then)."""
        if self._static_names is not None:
            return self._static_names
        if self.names_client is None:
            return {}
        with self._lock:
            if self._names is not None and time.monotonic() - self._names_at < SERVICE_NAMES_TTL:
                return self._names
        try:
            names = {s.code: s.name for s in self.names_client.list_services(page_size=1000)}
        except ac.AllotError as e:
            if e.code in (ac.StatusCode.UNAUTHENTICATED, ac.StatusCode.PERMISSION_DENIED):
                self._log("service names: allotd refused ListServices: %s" % e)
            return self._names or {}
        with self._lock:
            self._names, self._names_at = names, time.monotonic()
        return names

    def _allotments(self, member_id, as_of):
        if self.minter is None:
            return self.client.get_allotments(member_id, as_of)
        try:
            return self.client.with_token(self.minter.token(member_id)).get_allotments(
                member_id, as_of)
        except ac.AllotError as e:
            if e.code != ac.StatusCode.UNAUTHENTICATED:
                raise
            # allotd no longer takes the cached JWT (expired by its clock, or
            # its keys changed): mint a fresh one, once
            self.minter.invalidate(member_id)
            self._log("allotd refused the JWT for a member (%s); minting a new one" % e)
        try:
            return self.client.with_token(self.minter.token(member_id)).get_allotments(
                member_id, as_of)
        except ac.AllotError as e:
            if e.code == ac.StatusCode.UNAUTHENTICATED:
                self.minter.invalidate(member_id)
            raise

    def member(self, member_id, as_of):
        if self.minter is not None and not valid_member_id(member_id):
            return not_found_page(member_id)   # allotd would refuse it as sub and as id
        try:
            al = self._allotments(member_id, as_of)
        except ac.AllotError as e:
            if e.code in (ac.StatusCode.NOT_FOUND, ac.StatusCode.INVALID_ARGUMENT):
                return not_found_page(member_id)
            if e.code in (ac.StatusCode.UNAVAILABLE, ac.StatusCode.DEADLINE_EXCEEDED):
                return unreachable_page()
            if e.code in (ac.StatusCode.UNAUTHENTICATED, ac.StatusCode.PERMISSION_DENIED):
                self._log("allotd refused the portal's credentials: %s" % e)
                return message_page(HTTPStatus.BAD_GATEWAY,
                                    "The coverage service refused this portal",
                                    "Please tell the practice; try again later.")
            return message_page(HTTPStatus.BAD_GATEWAY,
                                "The coverage service could not answer",
                                "%s: %s" % (e.name, e.message))
        return member_page(al, self.service_names())


class Handler(BaseHTTPRequestHandler):
    server_version = "allot-portal"
    protocol_version = "HTTP/1.1"
    timeout = 60  # seconds an idle keep-alive connection may hold its thread

    def version_string(self):
        return self.server_version

    def do_GET(self):
        self._handle(send_body=True)

    def do_HEAD(self):
        self._handle(send_body=False)

    def _handle(self, send_body):
        app = self.server.app
        try:
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            path = url.path
            if path == "/static/portal.css":
                return self._send(HTTPStatus.OK, app.css, "text/css; charset=utf-8",
                                  send_body, cache="max-age=300")
            if path == "/healthz":
                return self._send(HTTPStatus.OK, b"ok\n", "text/plain; charset=utf-8",
                                  send_body)
            if path == "/":
                return self._page(lookup_page(), send_body)
            if path == "/member":
                mid = (query.get("id") or [""])[0].strip()
                as_of = (query.get("as_of") or [""])[0].strip()
                if not mid:
                    return self._page(lookup_page("Enter a member id.", "", as_of), send_body)
                try:
                    d = ac.parse_date(as_of) if as_of else None
                except ValueError:
                    return self._page(lookup_page("Not a date: %s" % as_of, mid, ""),
                                      send_body)
                return self._redirect(member_url(mid, d), send_body)
            if path.startswith("/member/"):
                mid = urllib.parse.unquote(path[len("/member/"):], errors="replace")
                as_of = (query.get("as_of") or [""])[0].strip()
                d = None
                if as_of:
                    try:
                        d = ac.parse_date(as_of)
                    except ValueError:
                        return self._page(message_page(HTTPStatus.BAD_REQUEST,
                                                       "Not a date: %s" % as_of,
                                                       "Use the form YYYY-MM-DD."), send_body)
                if not mid:
                    return self._redirect("/", send_body)
                return self._page(app.member(mid, d), send_body)
            return self._page(message_page(HTTPStatus.NOT_FOUND, "Page not found"), send_body)
        except Exception:  # noqa: BLE001 - never show a traceback to the browser
            self.log_error("internal error on %r", self.path)
            import traceback
            traceback.print_exc(file=sys.stderr)
            return self._page(message_page(HTTPStatus.INTERNAL_SERVER_ERROR,
                                           "Something went wrong"), send_body)

    def _page(self, status_doc, send_body):
        status, doc = status_doc
        extra = [("Retry-After", "30")] if status == HTTPStatus.SERVICE_UNAVAILABLE else []
        self._send(status, doc.encode("utf-8"), "text/html; charset=utf-8", send_body,
                   extra=extra)

    def _redirect(self, location, send_body):
        self._send(HTTPStatus.SEE_OTHER, b"", "text/plain; charset=utf-8", send_body,
                   extra=[("Location", location)])

    def _send(self, status, body, ctype, send_body, cache="no-store", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        for k, v in SECURITY_HEADERS:
            self.send_header(k, v)
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, fmt, *args):
        if self.server.quiet:
            return
        msg = fmt % args
        # no control characters from the request line into the log
        msg = "".join(c if c.isprintable() else "\\x%02x" % ord(c) for c in msg)
        sys.stderr.write("portal: %s %s\n" % (self.address_string(), msg))


class PortalServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, app, quiet=False):
        host = addr[0]
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.app = app
        self.quiet = quiet
        super().__init__(addr, Handler)


def parse_listen(s):
    host, sep, port = s.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError("want HOST:PORT, got %r" % s)
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def _warn_if_readable(path, what):
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if mode & 0o077:
        sys.stderr.write("portal: warning: %s %s may be read by group or others "
                         "(chmod 600 it)\n" % (what, path))


def build(args):
    """(the client to close at exit, App, description) from parsed options;
    ValueError/OSError when they do not fit together or a file is unusable."""
    if args.jwt_key_id and not args.jwt_key_file:
        raise ValueError("--jwt-key-id needs --jwt-key-file")
    if args.jwt_audience and not args.jwt_key_file:
        raise ValueError("--jwt-audience needs --jwt-key-file")
    if not JWT_TTL_MIN <= args.jwt_ttl <= JWT_TTL_MAX:
        raise ValueError("--jwt-ttl: want %d to %d seconds" % (JWT_TTL_MIN, JWT_TTL_MAX))
    minter = None
    if args.jwt_key_file:
        _warn_if_readable(args.jwt_key_file, "--jwt-key-file")
        minter = JwtMinter.from_file(args.jwt_key_file, args.jwt_alg, key_id=args.jwt_key_id,
                                     ttl=args.jwt_ttl, audience=args.jwt_audience)
    names = load_service_names(args.service_names) if args.service_names else None
    if args.token_file:
        _warn_if_readable(args.token_file, "--token-file")
    tls = dict(tls_ca=args.tls_ca, tls_cert=args.tls_cert, tls_key=args.tls_key,
               tls_target_name=args.tls_name)
    tls = {k: v for k, v in tls.items() if v}
    # With a minter the portal's own connection carries no credential: each
    # member's call gets that member's JWT (App._allotments).
    base = ac.Client(args.allot_addr, timeout=args.timeout, insecure=args.insecure, **tls)
    client, names_client = base, None
    try:
        if minter and not base.tls and not args.insecure \
                and not ac.is_loopback_addr(args.allot_addr):
            raise ValueError("member JWTs without TLS would cross the network in clear text "
                             "to %s: give --tls-ca (or --insecure)" % args.allot_addr)
        if args.token_file:
            names_client = base.with_token(ac.read_token_file(args.token_file))
            if minter is None:
                client = names_client   # every call with the service token
        elif minter is None:
            names_client = base         # an open allotd
    except Exception:
        base.close()
        raise
    app = App(client, minter=minter, names_client=names_client, service_names=names)
    how = ["TLS" if base.tls else "plaintext"]
    if minter:
        how.append("member JWTs %s%s, %d s" % (minter.alg, " kid " + minter.key_id
                                               if minter.key_id else "", minter.ttl))
    if args.token_file:
        how.append("service token" + (" for service names" if minter else ""))
    return base, app, ", ".join(how)


def main(argv=None):
    ap = argparse.ArgumentParser(description="allot patient portal (read-only)")
    ap.add_argument("--allot-addr", default=os.environ.get("ALLOT_ADDR", ac.DEFAULT_ADDR),
                    metavar="HOST:PORT", help="allotd's address (default %(default)s)")
    ap.add_argument("--listen", default="127.0.0.1:8080", type=parse_listen,
                    metavar="HOST:PORT", help="where to serve HTTP (default 127.0.0.1:8080; "
                    "port 0 picks a free one)")
    ap.add_argument("--timeout", type=float, default=5.0,
                    help="seconds allowed for each call to allotd (default 5)")
    ap.add_argument("--gen", metavar="DIR", help="directory of the generated stubs")
    ap.add_argument("--quiet", action="store_true", help="no request log")
    sec = ap.add_argument_group("a secured allotd (docs/security.md)")
    sec.add_argument("--tls-ca", metavar="FILE", default=os.environ.get("ALLOT_TLS_CA") or None,
                     help="CA certificate (PEM) that signed allotd's; turns TLS on "
                     "(default $ALLOT_TLS_CA)")
    sec.add_argument("--tls-cert", metavar="FILE",
                     default=os.environ.get("ALLOT_TLS_CLIENT_CERT") or None,
                     help="client certificate chain for mutual TLS (default $ALLOT_TLS_CLIENT_CERT)")
    sec.add_argument("--tls-key", metavar="FILE",
                     default=os.environ.get("ALLOT_TLS_CLIENT_KEY") or None,
                     help="its private key (default $ALLOT_TLS_CLIENT_KEY)")
    sec.add_argument("--tls-name", metavar="NAME",
                     help="the name allotd's certificate must carry, when not the host of "
                     "--allot-addr")
    sec.add_argument("--jwt-key-file", metavar="FILE",
                     help="key to mint each member's JWT with: the HS256 key file of allotd's "
                     "`jwt-key ID hs256 file:PATH`, or with --jwt-alg RS256 the RSA private "
                     "key whose public half allotd has")
    sec.add_argument("--jwt-key-id", metavar="ID",
                     help="sent as the JWT header's kid (the jwt-key ID; informational)")
    sec.add_argument("--jwt-alg", choices=("HS256", "RS256"), default="HS256", type=str.upper,
                     help="HS256 (default) or RS256")
    sec.add_argument("--jwt-ttl", type=int, default=JWT_TTL_DEFAULT, metavar="SECONDS",
                     help="lifetime of each JWT (default %d, %d-%d); reused until its last "
                     "fifth" % (JWT_TTL_DEFAULT, JWT_TTL_MIN, JWT_TTL_MAX))
    sec.add_argument("--jwt-audience", metavar="VALUE",
                     help="the aud claim, when allotd's config has jwt-audience")
    sec.add_argument("--token-file", metavar="FILE",
                     help="a service token (role reader): for every call without "
                     "--jwt-key-file, else only for service names")
    sec.add_argument("--service-names", metavar="FILE",
                     help="service names as JSON (examples/services.json's format, or "
                     "{\"CODE\": \"name\"}) instead of asking allotd")
    sec.add_argument("--insecure", action="store_true",
                     help="allow credentials without TLS to a non-loopback allotd")
    args = ap.parse_args(argv)

    try:
        client, app, how = build(args)
    except (ValueError, TypeError, OSError) as e:
        msg = "%s: %s" % (e.filename, e.strerror) if isinstance(e, OSError) and e.filename \
            else str(e)
        sys.stderr.write("portal: %s\n" % msg)
        return 2
    httpd = PortalServer(args.listen, app, quiet=args.quiet)
    host, port = httpd.server_address[:2]
    shown = "[%s]" % host if ":" in host else host
    print("portal: listening on http://%s:%d/ (allotd at %s; %s)"
          % (shown, port, args.allot_addr, how), flush=True)

    def stop(*_):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
