"""The portal against a secured allotd (TLS, --auth-config): each member's
page is read with a short-lived JWT minted for that member alone, which can
read nothing else; the audit trail names the member, not a service token;
cached JWTs are reused, and one allotd refuses (expired by its clock) is
replaced by a fresh one. Also a service token (--token-file), mutual TLS,
and a key allotd does not know. Certificates, tokens and keys come from
clients/python/tests/secure_fixture.py.

Run: ctest -L clients   (or with ALLOTD, ALLOT_PYGEN and ALLOT_CLIENT_GEN
exported, /usr/bin/python3 -m unittest -v test_portal_secure from this directory)
"""

import base64
import html
import http.client
import json
import os
import re
import sys
import time
import unittest
import urllib.parse
from http import HTTPStatus

from portal_fixture import (AS_OF, MEMBER, NEIGHBOUR, ODD_ID, Portal, PortalTestCase,
                            load_sample, wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python", "tests"))

import harness  # noqa: E402
import secure_fixture as sf  # noqa: E402

import allot_client as ac  # noqa: E402
import portal as portal_mod  # noqa: E402

ENV = None


def setUpModule():
    global ENV
    ENV = sf.SecureEnv()


def tearDownModule():
    if ENV is not None:
        ENV.close()


def text(doc):
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", doc))).strip()


def jwt_parts(token):
    """(header, claims) of a JWT, decoded (not verified)."""
    def dec(s):
        return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
    h, p, _ = token.split(".")
    return dec(h), dec(p)


def tls_kw(role=None, **kw):
    kw["tls_ca"] = ENV.path("ca.pem")
    if role:
        kw["token"] = ENV.tokens[role]
    return kw


class SecureBase(PortalTestCase):
    def start_allotd(self, client_ca=False):
        extra = {}
        if client_ca:
            mtls = dict(tls_cert=ENV.path("client.pem"), tls_key=ENV.path("client.key"))
            extra = mtls
        self.allotd = sf.start_secure(self, ENV, client_ca=client_ca)
        load_sample(self.allotd.address, tls_kw("admin", **extra), tls_kw("billing", **extra))
        return self.allotd

    def start_portal(self, *args):
        self.portal = Portal(self.allotd.address, self.tmpdir(), list(args))
        self.addCleanup(self._stop_portal)
        return self.portal

    def get(self, path):
        u = urllib.parse.urlsplit(self.portal.url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read().decode("utf-8")
        finally:
            conn.close()

    def audit(self, reads=0):
        """Every audit entry, once at least `reads` GetAllotments entries are
        stored (reads are committed within about 100 ms)."""
        with ac.Client(self.allotd.address, timeout=harness.RPC_TIMEOUT,
                       **tls_kw("admin", **getattr(self, "_mtls", {}))) as admin:
            def enough():
                es = list(admin.iter_audit())
                return [es] if len(self.allotment_reads(es)) >= reads else None
            got = wait_until(enough, timeout=5)
            return got[0] if got else list(admin.iter_audit())

    def allotment_reads(self, entries):
        return [(e.principal, e.role, e.member_id, e.code.name) for e in entries
                if e.rpc == "GetAllotments"]

    def names_file(self):
        p = os.path.join(self.tmpdir(), "services.json")
        with open(p, "w") as f:
            json.dump([{"code": "HOME_VISIT", "name": "Home visit", "cash_price": "150.00"},
                       {"code": "LAB", "name": "Lab panel"},
                       {"code": "MASSAGE", "name": "Massage session"}], f)
        return p


class MemberJwts(SecureBase):
    def test_pages_are_read_with_each_members_own_jwt(self):
        self.start_allotd()
        self.start_portal("--tls-ca", ENV.path("ca.pem"),
                          "--jwt-key-file", ENV.path("portal-hs.key"),
                          "--jwt-key-id", sf.HS_KEY_ID, "--service-names", self.names_file())
        status, body = self.get("/member/%s?as_of=%s" % (MEMBER, AS_OF.isoformat()))
        self.assertEqual(status, 200, body)
        t = text(body)
        self.assertIn("Coverage for member m-1001", t)
        self.assertIn("1 of 2 home visits left", t)
        self.assertIn("resets 15 Mar 2026", t)
        # the household's total ($120 + $80 of $500), only the member's own date
        self.assertIn("$300.00 of $500.00 left", t)
        self.assertIn("$200.00 used by the household", t)
        self.assertIn("You used $120.00 of the household's $200.00", t)
        self.assertIn("used 10 Feb 2025 ($120.00)", t)
        self.assertNotIn("1 Mar 2025", t)
        self.assertIn("3 of 12 massage sessions left", t)   # names from --service-names

        status, body = self.get("/member/%s?as_of=2025-06-01" % NEIGHBOUR)
        self.assertEqual(status, 200, body)
        self.assertIn("used 1 Mar 2025 ($80.00)", text(body))
        self.assertNotIn("10 Feb 2025", text(body))
        status, body = self.get("/member/" + urllib.parse.quote(ODD_ID, safe=""))
        self.assertEqual(status, 200, body)
        self.assertEqual(self.get("/member/m-404")[0], 404)
        # not a member id: refused here, never minted nor sent
        self.assertEqual(self.get("/member/two%20words")[0], 404)
        self.assertEqual(self.get("/member/" + "x" * 65)[0], 404)

        # allotd recorded each read as that member's own JWT, nothing refused
        reads = self.allotment_reads(self.audit(reads=4))
        self.assertEqual(sorted(reads), sorted([
            ("jwt:m-1001", "portal", MEMBER, "OK"), ("jwt:m-1002", "portal", NEIGHBOUR, "OK"),
            ("jwt:" + ODD_ID, "portal", ODD_ID, "OK"),
            ("jwt:m-404", "portal", "m-404", "NOT_FOUND")]))
        self.assertNotIn("refused", self.portal.log_text())

    def test_without_names_it_asks_nothing_else(self):
        self.start_allotd()
        self.start_portal("--tls-ca", ENV.path("ca.pem"),
                          "--jwt-key-file", ENV.path("portal-hs.key"))
        status, body = self.get("/member/%s?as_of=2025-06-01" % MEMBER)
        self.assertEqual(status, 200, body)
        t = text(body)
        self.assertIn("1 of 2 home visits left", t)    # from the rule key
        self.assertIn("HOME_VISIT", t)                  # codes where names would be
        self.assertNotIn("Massage session", t)
        entries = self.audit(reads=1)
        self.assertEqual([e.rpc for e in entries if e.principal.startswith("jwt:")],
                         ["GetAllotments"])
        self.assertEqual([e for e in entries if e.code != ac.StatusCode.OK], [])
        self.assertNotIn("refused", self.portal.log_text())

    def test_service_token_for_names_only(self):
        self.start_allotd()
        self.start_portal("--tls-ca", ENV.path("ca.pem"),
                          "--jwt-key-file", ENV.path("portal-hs.key"),
                          "--token-file", ENV.path("reader.token"))
        status, body = self.get("/member/%s?as_of=2025-06-01" % MEMBER)
        self.assertEqual(status, 200, body)
        self.assertIn("3 of 12 massage sessions left", text(body))   # ListServices answered
        self.assertEqual(self.allotment_reads(self.audit(reads=1)),
                         [("jwt:m-1001", "portal", MEMBER, "OK")])

    def test_a_key_allotd_does_not_know(self):
        self.start_allotd()
        key = os.path.join(self.tmpdir(), "other.key")
        with open(key, "wb") as f:
            f.write(os.urandom(32).hex().encode())
        os.chmod(key, 0o600)
        self.start_portal("--tls-ca", ENV.path("ca.pem"), "--jwt-key-file", key)
        status, body = self.get("/member/%s" % MEMBER)
        self.assertEqual(status, HTTPStatus.BAD_GATEWAY, body)
        self.assertIn("The coverage service refused this portal", text(body))
        self.assertNotIn("verify", body)   # allotd's reason goes to the log, not the page
        log = wait_until(lambda: "refused the portal's credentials" in self.portal.log_text()
                         and self.portal.log_text())
        self.assertIn("does not verify with any configured key", log)
        self.assertNotIn("eyJ", log)   # no JWT in the log


class ServiceToken(SecureBase):
    def test_reader_token_file(self):
        self.start_allotd()
        self.start_portal("--tls-ca", ENV.path("ca.pem"), "--token-file",
                          ENV.path("reader.token"))
        status, body = self.get("/member/%s?as_of=2025-06-01" % MEMBER)
        self.assertEqual(status, 200, body)
        self.assertIn("3 of 12 massage sessions left", text(body))
        self.assertEqual(self.allotment_reads(self.audit(reads=1)),
                         [("analytics", "reader", MEMBER, "OK")])

    def test_without_credentials_the_page_says_refused(self):
        self.start_allotd()
        self.start_portal("--tls-ca", ENV.path("ca.pem"))
        status, body = self.get("/member/%s" % MEMBER)
        self.assertEqual(status, HTTPStatus.BAD_GATEWAY, body)
        self.assertIn("missing credentials", self.portal.log_text())


class Transport(SecureBase):
    def test_mutual_tls(self):
        self._mtls = dict(tls_cert=ENV.path("client.pem"), tls_key=ENV.path("client.key"))
        self.start_allotd(client_ca=True)
        self.start_portal("--tls-ca", ENV.path("ca.pem"), "--tls-cert", ENV.path("client.pem"),
                          "--tls-key", ENV.path("client.key"),
                          "--jwt-key-file", ENV.path("portal-hs.key"))
        status, body = self.get("/member/%s?as_of=2025-06-01" % MEMBER)
        self.assertEqual(status, 200, body)
        self.assertIn("1 of 2 home visits left", text(body))
        self.portal.stop()
        # without the client certificate: no connection at all
        self.start_portal("--tls-ca", ENV.path("ca.pem"),
                          "--jwt-key-file", ENV.path("portal-hs.key"))
        self.assertEqual(self.get("/member/%s" % MEMBER)[0], HTTPStatus.SERVICE_UNAVAILABLE)

    def test_wrong_ca_or_plaintext_is_unreachable(self):
        self.start_allotd()
        self.start_portal("--tls-ca", ENV.path("rogue-ca.pem"),
                          "--jwt-key-file", ENV.path("portal-hs.key"))
        self.assertEqual(self.get("/member/%s" % MEMBER)[0], HTTPStatus.SERVICE_UNAVAILABLE)
        self.portal.stop()
        self.start_portal("--jwt-key-file", ENV.path("portal-hs.key"))
        self.assertEqual(self.get("/member/%s" % MEMBER)[0], HTTPStatus.SERVICE_UNAVAILABLE)

    def test_tls_name(self):
        self.allotd = sf.start_named(self, ENV)   # TLS for allot.internal, no auth
        load_sample(self.allotd.address, dict(tls_ca=ENV.path("ca.pem"),
                                              tls_target_name=sf.NAMED_HOST))
        self.start_portal("--tls-ca", ENV.path("ca.pem"), "--tls-name", sf.NAMED_HOST)
        status, body = self.get("/member/%s?as_of=2025-06-01" % MEMBER)
        self.assertEqual(status, 200, body)
        self.assertIn("3 of 12 massage sessions left", text(body))
        self.portal.stop()
        self.start_portal("--tls-ca", ENV.path("ca.pem"))   # 127.0.0.1 is not in it
        self.assertEqual(self.get("/member/%s" % MEMBER)[0], HTTPStatus.SERVICE_UNAVAILABLE)

    def test_bad_options_exit_2(self):
        import subprocess
        cases = [
            (["--jwt-key-id", "k"], "--jwt-key-id needs --jwt-key-file"),
            (["--jwt-key-file", ENV.path("portal-hs.key"), "--jwt-ttl", "7200"], "--jwt-ttl"),
            (["--jwt-key-file", ENV.path("ca.pem"), "--jwt-alg", "RS256"], "private key"),
            (["--jwt-key-file", ENV.path("nope.key")], "nope.key"),
            (["--tls-ca", ENV.path("nope.pem")], "nope.pem"),
            (["--tls-cert", ENV.path("client.pem")], "go together"),
            (["--allot-addr", "allot.example:50051", "--jwt-key-file",
              ENV.path("portal-hs.key")], "clear text"),
        ]
        short = os.path.join(self.tmpdir(), "short.key")
        with open(short, "wb") as f:
            f.write(b"x" * 31 + b"\n")
        cases.append((["--jwt-key-file", short], "at least 32 bytes, got 31"))
        for args, want in cases:
            p = subprocess.run([sys.executable, portal_mod.__file__, "--listen", "127.0.0.1:0"]
                               + args, stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(p.returncode, 2, (args, p.stdout, p.stderr))
            self.assertIn(want, p.stderr, args)
            self.assertEqual(p.stdout, "")


class MintedTokens(SecureBase):
    """portal.App in this process, so the JWTs it minted can be looked at."""

    def app(self, minter):
        c = ac.Client(self.allotd.address, timeout=harness.RPC_TIMEOUT, tls_ca=ENV.path("ca.pem"))
        self.addCleanup(c.close)
        self.logged = []
        return portal_mod.App(c, minter=minter, log=self.logged.append)

    def test_the_minted_jwt_reads_only_its_member(self):
        self.start_allotd()
        minter = portal_mod.JwtMinter.from_file(ENV.path("portal-hs.key"), key_id=sf.HS_KEY_ID)
        app = self.app(minter)
        status, doc = app.member(MEMBER, AS_OF)
        self.assertEqual(status, 200, doc)
        self.assertIn("1 of 2 home visits left", text(doc))
        tok = minter.cached(MEMBER)
        self.assertIsNotNone(tok)
        header, claims = jwt_parts(tok)
        self.assertEqual(header, {"alg": "HS256", "typ": "JWT", "kid": sf.HS_KEY_ID})
        self.assertEqual(claims["sub"], MEMBER)
        self.assertEqual(claims["exp"] - claims["iat"], 300)
        self.assertLessEqual(abs(claims["iat"] - time.time()), 5)

        # the portal's JWT for m-1001, straight to allotd
        with ac.Client(self.allotd.address, timeout=5, tls_ca=ENV.path("ca.pem"),
                       token=tok) as direct:
            self.assertEqual(direct.get_allotments(MEMBER, AS_OF).member_id, MEMBER)
            for other in (NEIGHBOUR, "m-404"):
                with self.assertRaises(ac.PermissionDeniedError) as cm:
                    direct.get_allotments(other, AS_OF)
                self.assertIn("only that member's own data", cm.exception.message)
            with self.assertRaises(ac.PermissionDeniedError):
                direct.get_member(MEMBER)
            with self.assertRaises(ac.PermissionDeniedError):
                list(direct.list_services())
            with self.assertRaises(ac.PermissionDeniedError):
                direct.price_invoice("inv-x", MEMBER, [ac.InvoiceLine("HOME_VISIT", AS_OF)])

        # reused while fresh: one mint for many pages; one per member
        for _ in range(3):
            self.assertEqual(app.member(MEMBER, AS_OF)[0], 200)
        self.assertEqual(minter.mints, 1)
        self.assertEqual(minter.cached(MEMBER), tok)
        self.assertEqual(app.member(NEIGHBOUR, AS_OF)[0], 200)
        self.assertEqual(minter.mints, 2)
        self.assertEqual(jwt_parts(minter.cached(NEIGHBOUR))[1]["sub"], NEIGHBOUR)
        self.assertEqual(self.logged, [])

    def test_rs256(self):
        self.start_allotd()
        minter = portal_mod.JwtMinter.from_file(ENV.path("portal-rs.key"), "RS256",
                                                key_id=sf.RS_KEY_ID, ttl=60)
        app = self.app(minter)
        status, doc = app.member(MEMBER, AS_OF)
        self.assertEqual(status, 200, doc)
        header, claims = jwt_parts(minter.cached(MEMBER))
        self.assertEqual((header["alg"], header["kid"], claims["exp"] - claims["iat"]),
                         ("RS256", sf.RS_KEY_ID, 60))
        # the same through the openssl command (no python3-cryptography)
        with open(ENV.path("portal-rs.key"), "rb") as f:
            sign = portal_mod._rs256_signer(f.read(), backend="openssl")
        app = self.app(portal_mod.JwtMinter(sign, "RS256"))
        self.assertEqual(app.member(NEIGHBOUR, AS_OF)[0], 200)
        self.assertEqual(sorted(self.allotment_reads(self.audit(reads=2))),
                         [("jwt:m-1001", "portal", MEMBER, "OK"),
                          ("jwt:m-1002", "portal", NEIGHBOUR, "OK")])

    def test_audience(self):
        d = self.tmpdir()
        conf = os.path.join(d, "auth.conf")
        with open(ENV.auth_config) as f:
            lines = [ln for ln in f.read().splitlines() if ln.startswith("token ")]
        lines += ["jwt-key %s hs256 file:%s" % (sf.HS_KEY_ID, ENV.path("portal-hs.key")),
                  "jwt-audience allot-test"]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(conf, 0o600)
        self.allotd = self.start_server(extra_args=ENV.server_args(auth=False)
                                        + ["--auth-config", conf], **ENV.harness_kw())
        load_sample(self.allotd.address, tls_kw("admin"), tls_kw("billing"))
        key = ENV.path("portal-hs.key")
        app = self.app(portal_mod.JwtMinter.from_file(key, audience="allot-test"))
        self.assertEqual(app.member(MEMBER, AS_OF)[0], 200)
        app = self.app(portal_mod.JwtMinter.from_file(key))
        self.assertEqual(app.member(MEMBER, AS_OF)[0], HTTPStatus.BAD_GATEWAY)
        self.assertIn("not for this audience", self.logged[-1])

    def test_a_jwt_allotd_finds_expired_is_minted_again(self):
        """The portal's clock is 13 s behind allotd's: a 16 s JWT it still
        believes fresh has expired for allotd. The page is served anyway,
        with a newly minted JWT; no loop when even that is refused."""
        self.start_allotd()
        minter = portal_mod.JwtMinter.from_file(ENV.path("portal-hs.key"), ttl=16,
                                                clock=lambda: time.time() - 13)
        self.assertEqual(minter.refresh, 8)
        app = self.app(minter)
        self.assertEqual(app.member(MEMBER, AS_OF)[0], 200)   # valid 2-3 s for allotd
        first = minter.cached(MEMBER)
        exp = jwt_parts(first)[1]["exp"]
        # past exp for allotd; the portal reuses it until exp - 8 by its
        # clock, exp + 5 by allotd's
        time.sleep(max(0.0, exp + 0.3 - time.time()))
        self.assertLess(time.time(), exp + 4, "the test machine is too slow for this test")
        self.assertEqual(minter.token(MEMBER), first)      # still believed fresh
        status, doc = app.member(MEMBER, AS_OF)
        self.assertEqual(status, 200, doc)
        self.assertIn("1 of 2 home visits left", text(doc))
        self.assertEqual(minter.mints, 2)
        second = minter.cached(MEMBER)
        self.assertNotEqual(second, first)
        self.assertGreater(jwt_parts(second)[1]["exp"], exp)
        self.assertEqual(len(self.logged), 1)
        self.assertIn("has expired", self.logged[0])
        self.assertIn("minting a new one", self.logged[0])

        # a clock 1000 s behind: every JWT is expired for allotd. One retry, then 502.
        late = portal_mod.JwtMinter.from_file(ENV.path("portal-hs.key"),
                                              clock=lambda: time.time() - 1000)
        app = self.app(late)
        status, doc = app.member(MEMBER, AS_OF)
        self.assertEqual(status, HTTPStatus.BAD_GATEWAY)
        self.assertEqual(late.mints, 2)
        self.assertIsNone(late.cached(MEMBER))   # not kept for the next page
        self.assertIn("refused the portal's credentials", self.logged[-1])


if __name__ == "__main__":
    unittest.main()
