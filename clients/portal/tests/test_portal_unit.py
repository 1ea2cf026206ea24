"""The portal's words and rendering, without a server: humane names, periods,
reset dates, bars, household figures, and escaping of everything rendered.

Run: ctest -L clients   (or ALLOT_CLIENT_GEN=<build>/clients/python/gen
/usr/bin/python3 -m unittest -v test_portal_unit from this directory)
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import shutil
import sys
import tempfile
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

    def test_auth_refusals_are_502_without_the_reason(self):
        S = ac.StatusCode
        for code in (S.UNAUTHENTICATED, S.PERMISSION_DENIED):
            logged = []
            app = portal.App(FakeClient(ac.AllotError.from_code(code, "secret reason")),
                             log=logged.append)
            status, doc = app.member("m-1", None)
            self.assertEqual(status, HTTPStatus.BAD_GATEWAY, code)
            self.assertIn("refused this portal", text(doc))
            self.assertNotIn("secret reason", doc)
            self.assertIn("secret reason", logged[-1])


# ---------------------------------------------------------------------------
# member JWTs
# ---------------------------------------------------------------------------

KEY = b"k" * 32


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def parts(tok):
    h, p, sig = tok.split(".")
    return json.loads(b64d(h)), json.loads(b64d(p)), h + "." + p, b64d(sig)


class Clock:
    def __init__(self, t=1_750_000_000.0):
        self.t = t

    def __call__(self):
        return self.t


class Minter(unittest.TestCase):
    def test_hs256_token_as_allotd_wants_it(self):
        m = portal.JwtMinter(KEY, key_id="portal-2025", ttl=300, clock=Clock())
        tok = m.token("m-1")
        header, claims, signed, sig = parts(tok)
        self.assertEqual(header, {"alg": "HS256", "typ": "JWT", "kid": "portal-2025"})
        self.assertEqual(claims, {"sub": "m-1", "iat": 1_750_000_000, "exp": 1_750_000_300})
        self.assertEqual(sig, hmac.new(KEY, signed.encode(), hashlib.sha256).digest())
        self.assertNotIn("=", tok)
        # no kid without a key id; aud when asked
        h, c, _, _ = parts(portal.JwtMinter(KEY, audience="allot", clock=Clock()).token("m-1"))
        self.assertEqual(h, {"alg": "HS256", "typ": "JWT"})
        self.assertEqual(c["aud"], "allot")
        # a wrong key signs differently
        other = portal.JwtMinter(b"x" * 32, clock=Clock()).token("m-1")
        self.assertNotEqual(parts(other)[3], sig)

    def test_cached_until_its_last_fifth(self):
        clock = Clock()
        m = portal.JwtMinter(KEY, ttl=300, clock=clock)
        self.assertEqual(m.refresh, 60)
        first = m.token("m-1")
        clock.t += 239
        self.assertEqual(m.token("m-1"), first)
        self.assertEqual(m.mints, 1)
        clock.t += 1      # 60 s left: a new one
        second = m.token("m-1")
        self.assertNotEqual(second, first)
        self.assertEqual(parts(second)[1]["exp"], int(clock.t) + 300)
        self.assertEqual(m.mints, 2)
        self.assertEqual(m.cached("m-1"), second)
        # per member
        self.assertNotEqual(m.token("m-2"), second)
        self.assertEqual(parts(m.cached("m-2"))[1]["sub"], "m-2")
        m.invalidate("m-1")
        self.assertIsNone(m.cached("m-1"))
        m.token("m-1")    # minted again (the same second: the same token)
        self.assertEqual(m.mints, 4)
        self.assertEqual((portal.JwtMinter(KEY, ttl=30).refresh,
                          portal.JwtMinter(KEY, ttl=3600).refresh), (10, 720))

    def test_cache_is_bounded(self):
        m = portal.JwtMinter(KEY, clock=Clock(), max_cached=3)
        for i in range(5):
            m.token("m-%d" % i)
        self.assertEqual([m.cached("m-%d" % i) is not None for i in range(5)],
                         [False, False, True, True, True])

    def test_refuses_what_allotd_would(self):
        with self.assertRaisesRegex(ValueError, "at least 32 bytes"):
            portal.JwtMinter(b"k" * 31)
        with self.assertRaisesRegex(ValueError, "HS256 or RS256"):
            portal.JwtMinter(KEY, alg="none")
        m = portal.JwtMinter(KEY)
        for bad in ("", "two words", "x" * 65, "caf\u00e9", "tab\t"):
            with self.assertRaises(ValueError, msg=bad):
                m.token(bad)
        self.assertTrue(portal.valid_member_id("<b>&\"x'/1"))
        self.assertTrue(portal.valid_member_id("x" * 64))

    def test_key_file_like_allotd(self):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        path = os.path.join(d, "k")
        with open(path, "wb") as f:
            f.write(KEY + b" \t\r\n\n")
        self.assertEqual(portal.read_hs256_key(path), KEY)
        m = portal.JwtMinter.from_file(path, clock=Clock())
        _, _, signed, sig = parts(m.token("m-1"))
        self.assertEqual(sig, hmac.new(KEY, signed.encode(), hashlib.sha256).digest())
        with open(path, "wb") as f:
            f.write(b" " + b"k" * 30 + b"\n")   # leading spaces count, trailing do not
        with self.assertRaisesRegex(ValueError, "got 31"):
            portal.read_hs256_key(path)

    def test_rs256(self):
        try:
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
        except ImportError:
            self.skipTest("python3-cryptography is not installed")

        def pem(k):
            return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        m = portal.JwtMinter(pem(key), alg="rs256", key_id="rs", clock=Clock())
        header, claims, signed, sig = parts(m.token("m-1"))
        self.assertEqual(header, {"alg": "RS256", "typ": "JWT", "kid": "rs"})
        self.assertEqual(claims["sub"], "m-1")
        key.public_key().verify(sig, signed.encode(), padding.PKCS1v15(), hashes.SHA256())
        small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        with self.assertRaisesRegex(ValueError, "1024 bits"):
            portal.JwtMinter(pem(small), alg="RS256")
        with self.assertRaisesRegex(ValueError, "RSA private key"):
            portal.JwtMinter(pem(ec.generate_private_key(ec.SECP256R1())), alg="RS256")
        public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        with self.assertRaisesRegex(ValueError, "PEM private key"):
            portal.JwtMinter(public, alg="RS256")


class Rs256Openssl(unittest.TestCase):
    """RS256 through the openssl command (when python3-cryptography is
    missing): the same signatures, the same refusals."""

    def setUp(self):
        if not shutil.which("openssl"):
            self.skipTest("the openssl command is not installed")
        self.d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.d)

    def openssl(self, *args, data=None):
        import subprocess
        return subprocess.run(["openssl"] + list(args), cwd=self.d, input=data,
                              capture_output=True, check=True).stdout

    def key(self, name, *genpkey):
        self.openssl("genpkey", *genpkey, "-out", name)
        with open(os.path.join(self.d, name), "rb") as f:
            return f.read()

    def test_signs_like_cryptography_and_verifies(self):
        pem = self.key("rsa.key", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048")
        self.openssl("pkey", "-in", "rsa.key", "-pubout", "-out", "rsa.pub")
        sign = portal._rs256_signer(pem, backend="openssl")
        m = portal.JwtMinter(sign, alg="RS256", clock=Clock())
        header, claims, signed, sig = parts(m.token("m-1"))
        self.assertEqual((header["alg"], claims["sub"]), ("RS256", "m-1"))
        with open(os.path.join(self.d, "sig"), "wb") as f:
            f.write(sig)
        out = self.openssl("dgst", "-sha256", "-verify", "rsa.pub", "-signature", "sig",
                           data=signed.encode())
        self.assertIn(b"Verified OK", out)
        import importlib.util
        if importlib.util.find_spec("cryptography") is None:
            return
        # PKCS#1 v1.5 is deterministic: both backends give the same bytes
        self.assertEqual(portal._rs256_signer(pem, backend="cryptography")(signed.encode()), sig)

    def test_refusals(self):
        small = self.key("small.key", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024")
        with self.assertRaisesRegex(ValueError, "1024 bits"):
            portal._rs256_signer(small, backend="openssl")
        ec = self.key("ec.key", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1")
        with self.assertRaisesRegex(ValueError, "RSA private key"):
            portal._rs256_signer(ec, backend="openssl")
        with self.assertRaisesRegex(ValueError, "PEM private key"):
            portal._rs256_signer(b"-----BEGIN PUBLIC KEY-----\nAAAA\n", backend="openssl")
        # an encrypted key is refused, never prompted for
        self.openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                     "-aes256", "-pass", "pass:secret", "-out", "enc.key")
        with open(os.path.join(self.d, "enc.key"), "rb") as f:
            with self.assertRaisesRegex(ValueError, "PEM private key"):
                portal._rs256_signer(f.read(), backend="openssl")


class FakeAllotd:
    """A client whose with_token(t) view answers GetAllotments when
    accept(t) returns None, else raises what it returns."""

    def __init__(self, accept):
        self.accept = accept
        self.calls = []
        self.list_calls = 0

    def with_token(self, token):
        outer = self

        class View:
            def get_allotments(self, member_id, as_of):
                outer.calls.append((token, member_id))
                err = outer.accept(token)
                if err:
                    raise err
                return Allotments(member_id, as_of or date(2025, 6, 1), "family", None,
                                  [allotment()])
        return View()

    def get_allotments(self, member_id, as_of):
        raise AssertionError("called without the member's JWT")

    def list_services(self, page_size=0):
        self.list_calls += 1
        return iter([])


class JwtApp(unittest.TestCase):
    def test_each_member_with_its_own_token_and_no_list_services(self):
        fake = FakeAllotd(lambda tok: None)
        m = portal.JwtMinter(KEY, clock=Clock())
        app = portal.App(fake, minter=m, log=self.fail)
        self.assertEqual(app.member("m-1", None)[0], HTTPStatus.OK)
        self.assertEqual(app.member("m-2", None)[0], HTTPStatus.OK)
        self.assertEqual(app.member("m-1", None)[0], HTTPStatus.OK)
        self.assertEqual([(parts(t)[1]["sub"], mid) for t, mid in fake.calls],
                         [("m-1", "m-1"), ("m-2", "m-2"), ("m-1", "m-1")])
        self.assertEqual(fake.calls[0][0], fake.calls[2][0])   # cached
        self.assertEqual(m.mints, 2)
        self.assertEqual(fake.list_calls, 0)
        # not a member id: a 404 without minting or calling
        self.assertEqual(app.member("two words", None)[0], HTTPStatus.NOT_FOUND)
        self.assertEqual(len(fake.calls), 3)
        # fixed names instead
        app = portal.App(fake, minter=m, service_names={"HOME_VISIT": "House call"})
        self.assertIn("1 of 2 house calls left", text(app.member("m-1", None)[1]))
        self.assertEqual(fake.list_calls, 0)

    def test_refused_token_is_minted_again_once(self):
        refused = set()
        expired = ac.AllotError.from_code(ac.StatusCode.UNAUTHENTICATED,
                                          "invalid credentials: the JWT has expired")
        fake = FakeAllotd(lambda tok: expired if tok in refused else None)
        clock = Clock()
        m = portal.JwtMinter(KEY, clock=clock)
        logged = []
        app = portal.App(fake, minter=m, log=logged.append)
        self.assertEqual(app.member("m-1", None)[0], HTTPStatus.OK)
        refused.add(m.cached("m-1"))
        clock.t += 1   # so that the next token differs
        self.assertEqual(app.member("m-1", None)[0], HTTPStatus.OK)
        self.assertEqual(m.mints, 2)
        self.assertNotIn(m.cached("m-1"), refused)
        self.assertEqual(len(logged), 1)
        # every token refused: one retry, a 502, nothing cached
        fake.accept = lambda tok: expired
        n = len(fake.calls)
        self.assertEqual(app.member("m-1", None)[0], HTTPStatus.BAD_GATEWAY)
        self.assertEqual(len(fake.calls) - n, 2)
        self.assertIsNone(m.cached("m-1"))
        # PERMISSION_DENIED is not retried
        fake.accept = lambda tok: ac.AllotError.from_code(ac.StatusCode.PERMISSION_DENIED, "no")
        n = len(fake.calls)
        self.assertEqual(app.member("m-1", None)[0], HTTPStatus.BAD_GATEWAY)
        self.assertEqual(len(fake.calls) - n, 1)


class ServiceNamesFile(unittest.TestCase):
    def write(self, data):
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        p = os.path.join(d, "names.json")
        with open(p, "w") as f:
            f.write(data if isinstance(data, str) else json.dumps(data))
        return p

    def test_formats(self):
        p = self.write([{"code": "HOME_VISIT", "name": "Home visit", "cash_price": "150.00"},
                        {"code": "LAB"}])
        self.assertEqual(portal.load_service_names(p), {"HOME_VISIT": "Home visit", "LAB": ""})
        p = self.write({"HOME_VISIT": "Home visit"})
        self.assertEqual(portal.load_service_names(p), {"HOME_VISIT": "Home visit"})
        examples = os.path.join(HERE, "..", "..", "..", "examples", "services.json")
        self.assertIn("HOME_VISIT", portal.load_service_names(examples))
        for bad in ("{", "[1]", '"x"', '[{"name": "n"}]', '{"A": 1}'):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                portal.load_service_names(self.write(bad))


if __name__ == "__main__":
    unittest.main()
