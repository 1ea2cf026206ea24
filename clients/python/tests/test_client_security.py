"""allot_client against a secured allotd: TLS (and mutual TLS) options,
bearer tokens on unary calls and on the WatchThresholds stream, the error
classes for UNAUTHENTICATED and PERMISSION_DENIED, Client.from_env, and the
examples configured from the environment. Certificates, tokens and keys come
from secure_fixture.py (openssl and `allotd --new-token`).

Run: ctest -L clients   (or, with ALLOTD, ALLOT_PYGEN and ALLOT_CLIENT_GEN
exported, /usr/bin/python3 -m unittest -v test_client_security from this
directory)
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

import harness  # noqa: E402  (puts $ALLOT_PYGEN on sys.path)
from harness import AllotTestCase  # noqa: E402
import secure_fixture as sf  # noqa: E402

import allot_client as ac  # noqa: E402
from allot_client import (AllotError, Enrollment, InvoiceLine, LimitKind, Member,  # noqa: E402
                          PermissionDeniedError, PlanVersion, Period, Rule, Service,
                          UnauthenticatedError)

date = datetime.date
EXAMPLES = os.path.join(HERE, "..", "examples")
ENV = None


def setUpModule():
    global ENV
    ENV = sf.SecureEnv()


def tearDownModule():
    if ENV is not None:
        ENV.close()


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def portal_jwt(member_id, ttl=300):
    h = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    p = b64u(json.dumps({"sub": member_id, "exp": int(time.time()) + ttl}).encode())
    return "%s.%s.%s" % (h, p, b64u(hmac.new(ENV.hs_key, ("%s.%s" % (h, p)).encode(),
                                              hashlib.sha256).digest()))


def seed(admin):
    admin.put_service(Service("V", "Visit", 1000))
    admin.put_plan("p", PlanVersion(date(2025, 1, 1), [
        Rule("visits", ["V"], LimitKind.QUANTITY, 10, Period.calendar_year(),
             thresholds=list(range(10, 101, 10)))]))
    for m in ("m-1", "m-2"):
        admin.put_member(Member(m, [Enrollment("p", date(2025, 1, 1))]))


def visit(c, invoice_id, member="m-1"):
    return c.price_invoice(invoice_id, member, [InvoiceLine("V", date(2025, 5, 1))])


class SecureCase(AllotTestCase):
    def client(self, server, **kw):
        kw.setdefault("timeout", harness.RPC_TIMEOUT)
        c = ac.Client(server.address, **kw)
        self.addCleanup(c.close)
        return c

    def tls_client(self, server, role=None, **kw):
        """TLS with the test CA, sending role's token (None: no token)."""
        kw.setdefault("tls_ca", ENV.path("ca.pem"))
        if role:
            kw.setdefault("token", ENV.tokens[role])
        return self.client(server, **kw)

    def assertRaisesAllot(self, cls, name, fn, *a, **kw):
        with self.assertRaises(AllotError) as cm:
            fn(*a, **kw)
        e = cm.exception
        self.assertIs(type(e), cls, repr(e))
        self.assertEqual(e.name, name, repr(e))
        return e


class Tokens(SecureCase):
    def setUp(self):
        self.srv = sf.start_secure(self, ENV)
        seed(self.tls_client(self.srv, "admin"))

    def test_billing_prices_but_may_not_put_plans(self):
        billing = self.tls_client(self.srv, "billing")
        self.assertTrue(billing.tls)
        inv = visit(billing, "inv-1")
        self.assertEqual(inv.lines[0].reason, ac.Reason.COVERED)
        self.assertEqual(billing.get_allotments("m-1", date(2025, 6, 1)).allotments[0].used, 1)
        self.assertEqual([s.code for s in billing.list_services()], ["V"])
        e = self.assertRaisesAllot(PermissionDeniedError, "PERMISSION_DENIED", billing.put_plan,
                                   "p2", PlanVersion(date(2025, 1, 1)))
        self.assertIsInstance(e, AllotError)   # callers catching AllotError still do
        self.assertIs(e.code, ac.StatusCode.PERMISSION_DENIED)
        self.assertEqual(e.message, "permission denied: role billing may not call PutPlan")
        # the same token from a file
        from_file = self.tls_client(self.srv, token_file=ENV.path("billing.token"))
        self.assertEqual(visit(from_file, "inv-1").lines[0].reason, ac.Reason.COVERED)
        # admin sets up but does not price; reader reads but does not price
        admin = self.tls_client(self.srv, "admin")
        self.assertRaisesAllot(PermissionDeniedError, "PERMISSION_DENIED", visit, admin, "x")
        reader = self.tls_client(self.srv, "reader")
        self.assertEqual(reader.get_member("m-1").id, "m-1")
        self.assertRaisesAllot(PermissionDeniedError, "PERMISSION_DENIED", reader.preview_invoice,
                               "m-1", [InvoiceLine("V", date(2025, 5, 1))])

        # the audit trail names who did what (admin only)
        self.assertRaisesAllot(PermissionDeniedError, "PERMISSION_DENIED", billing.list_audit)
        deadline = time.monotonic() + 5
        while True:
            entries = list(admin.iter_audit(page_size=2))
            if any(e.rpc == "GetMember" for e in entries) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual([e.seq for e in entries], list(range(1, len(entries) + 1)))
        got = {(e.principal, e.role, e.rpc, e.code) for e in entries}
        SC = ac.StatusCode
        for want in [("ops", "admin", "PutPlan", SC.OK),
                     ("front-desk", "billing", "PriceInvoice", SC.OK),
                     ("front-desk", "billing", "PutPlan", SC.PERMISSION_DENIED),
                     ("ops", "admin", "PriceInvoice", SC.PERMISSION_DENIED),
                     ("analytics", "reader", "GetMember", SC.OK)]:
            self.assertIn(want, got)
        first = entries[0]
        self.assertEqual(first.time.tzinfo, datetime.timezone.utc)
        self.assertLess(abs(first.time.timestamp() - time.time()), 60)
        self.assertTrue(first.peer.startswith("ipv4:127.0.0.1:"), first.peer)
        page = admin.list_audit(from_seq=2, limit=1)
        self.assertEqual(([e.seq for e in page.entries], page.next_seq, page.more), ([2], 3, True))

    def test_no_or_bad_token_is_unauthenticated(self):
        none = self.tls_client(self.srv)
        e = self.assertRaisesAllot(UnauthenticatedError, "UNAUTHENTICATED", visit, none, "i")
        self.assertIn("missing credentials", e.message)
        self.assertRaisesAllot(UnauthenticatedError, "UNAUTHENTICATED",
                               lambda: list(none.list_services()))
        bad = self.tls_client(self.srv, token=ENV.tokens["billing"][:-1] + "x")
        e = self.assertRaisesAllot(UnauthenticatedError, "UNAUTHENTICATED", visit, bad, "i")
        self.assertIn("unknown token", e.message)
        self.assertNotIn(ENV.tokens["billing"][:-1], e.message)
        # health needs no credential
        self.assertEqual(none.health(), "SERVING")

    def test_with_token_shares_the_connection(self):
        billing = self.tls_client(self.srv, "billing")
        reader = billing.with_token(ENV.tokens["reader"])
        self.assertIs(reader.channel, billing.channel)
        self.assertRaisesAllot(PermissionDeniedError, "PERMISSION_DENIED", visit, reader, "i")
        self.assertEqual(reader.get_allotments("m-1", date(2025, 6, 1)).member_id, "m-1")
        anonymous = billing.with_token(None)
        self.assertRaisesAllot(UnauthenticatedError, "UNAUTHENTICATED", visit, anonymous, "i")
        reader.close()
        anonymous.close()
        self.assertEqual(visit(billing, "inv-2").invoice_id, "inv-2")  # still open

    def test_portal_jwt_is_member_scoped(self):
        c = self.tls_client(self.srv, token=portal_jwt("m-1"))
        self.assertEqual(c.get_allotments("m-1", date(2025, 6, 1)).member_id, "m-1")
        e = self.assertRaisesAllot(PermissionDeniedError, "PERMISSION_DENIED",
                                   c.get_allotments, "m-2")
        self.assertIn("only that member's own data", e.message)
        self.assertRaisesAllot(PermissionDeniedError, "PERMISSION_DENIED", c.get_member, "m-1")
        expired = self.tls_client(self.srv, token=portal_jwt("m-1", ttl=-10))
        e = self.assertRaisesAllot(UnauthenticatedError, "UNAUTHENTICATED",
                                   expired.get_allotments, "m-1")
        self.assertIn("expired", e.message)

    def test_a_callable_token_is_asked_for_each_call(self):
        asked = []

        def token():
            asked.append(threading.current_thread().name)
            return ENV.tokens["billing"]

        c = self.tls_client(self.srv, token=token)
        visit(c, "inv-1")
        visit(c, "inv-2")
        self.assertEqual(len(asked), 2)

        def broken():
            raise RuntimeError("no token today")

        # a token source that fails fails the call, which is never sent
        with self.assertRaises(AllotError) as cm:
            visit(self.tls_client(self.srv, token=broken), "inv-3")
        self.assertIn("no token today", cm.exception.message)
        self.assertRaisesAllot(AllotError, "NOT_FOUND", self.tls_client(self.srv, "billing")
                               .void_invoice, "inv-3")


class Watch(SecureCase):
    def test_watch_sends_the_token(self):
        srv = sf.start_secure(self, ENV)
        seed(self.tls_client(srv, "admin"))
        billing = self.tls_client(srv, "billing")
        visit(billing, "i1")
        reader = self.tls_client(srv, "reader")
        got, errors = [], []
        watch = reader.watch_thresholds(from_seq=1)

        def consume():
            try:
                for ev in watch:
                    got.append(ev)
                    if len(got) == 2:
                        return
            except Exception as e:  # noqa: BLE001 - checked below
                errors.append(e)

        t = threading.Thread(target=consume, daemon=True)
        t.start()
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
        visit(billing, "i2")   # live, while the stream is open
        t.join(15)
        watch.cancel()
        self.assertFalse(t.is_alive())
        self.assertEqual(errors, [])
        self.assertEqual([(e.seq, e.invoice_id, e.percent) for e in got],
                         [(1, "i1", 10), (2, "i2", 20)])

        # without a token the stream is refused, and not retried
        anon = self.tls_client(srv).watch_thresholds(from_seq=1)
        e = self.assertRaisesAllot(UnauthenticatedError, "UNAUTHENTICATED", next, anon)
        self.assertIn("missing credentials", e.message)
        self.assertEqual(anon.reconnects, 0)
        # a member's portal JWT may not watch
        jw = self.tls_client(srv, token=portal_jwt("m-1")).watch_thresholds(from_seq=1)
        self.assertRaisesAllot(PermissionDeniedError, "PERMISSION_DENIED", next, jw)


class Transport(SecureCase):
    def test_wrong_ca_and_plaintext_fail(self):
        srv = sf.start_secure(self, ENV)
        rogue = self.client(srv, tls_ca=ENV.path("rogue-ca.pem"), token=ENV.tokens["reader"])
        e = self.assertRaisesAllot(AllotError, "UNAVAILABLE", rogue.get_member, "m-1")
        self.assertIn("certificate verify failed", e.message)
        self.assertRaisesAllot(AllotError, "UNAVAILABLE", rogue.health)
        plain = self.client(srv)
        self.assertFalse(plain.tls)
        self.assertRaisesAllot(AllotError, "UNAVAILABLE", plain.health)
        # the right CA given as bytes instead of a path
        ok = self.client(srv, tls_ca=ENV.read("ca.pem"), token=ENV.tokens["reader"])
        self.assertEqual(list(ok.list_services()), [])

    def test_mutual_tls(self):
        srv = sf.start_secure(self, ENV, client_ca=True)
        c = self.tls_client(srv, "admin", tls_cert=ENV.path("client.pem"),
                            tls_key=ENV.path("client.key"))
        seed(c)
        self.assertEqual([s.code for s in c.list_services()], ["V"])
        # the CA alone is not enough: the handshake fails before any RPC
        no_cert = self.tls_client(srv, "admin")
        self.assertRaisesAllot(AllotError, "UNAVAILABLE", lambda: list(no_cert.list_services()))
        self.assertRaisesAllot(AllotError, "UNAVAILABLE", no_cert.health)
        # and a client certificate does not replace the token
        cert_only = self.tls_client(srv, tls_cert=ENV.read("client.pem"),
                                    tls_key=ENV.read("client.key"))
        self.assertRaisesAllot(UnauthenticatedError, "UNAUTHENTICATED",
                               lambda: list(cert_only.list_services()))

    def test_target_name_override(self):
        srv = sf.start_named(self, ENV)   # a certificate for allot.internal only
        plain_name = self.client(srv, tls_ca=ENV.path("ca.pem"))
        e = self.assertRaisesAllot(AllotError, "UNAVAILABLE", plain_name.health)
        self.assertIn("127.0.0.1", e.message)
        named = self.client(srv, tls_ca=ENV.path("ca.pem"), tls_target_name=sf.NAMED_HOST)
        self.assertEqual(named.health(), "SERVING")

    def test_token_without_tls_on_loopback(self):
        # allotd lets --auth-config run without TLS on loopback
        srv = sf.start_secure(self, ENV, tls=False)
        admin = self.client(srv, token=ENV.tokens["admin"])
        self.assertFalse(admin.tls)
        seed(admin)
        billing = self.client(srv, token=lambda: ENV.tokens["billing"])
        self.assertEqual(visit(billing, "i1").invoice_id, "i1")
        self.assertRaisesAllot(PermissionDeniedError, "PERMISSION_DENIED", billing.put_service,
                               Service("X", "", 1))
        self.assertRaisesAllot(UnauthenticatedError, "UNAUTHENTICATED", visit,
                               self.client(srv), "i2")
        # the stream carries it too
        w = admin.with_token(ENV.tokens["reader"]).watch_thresholds(from_seq=1)
        self.assertEqual(next(w).invoice_id, "i1")
        w.close()
        self.assertRaisesAllot(UnauthenticatedError, "UNAUTHENTICATED", next,
                               self.client(srv).watch_thresholds(from_seq=1))


class FromEnv(SecureCase):
    def env(self, srv, **extra):
        e = {"ALLOT_ADDR": srv.address, "ALLOT_TLS_CA": ENV.path("ca.pem")}
        e.update(extra)
        return e

    def test_from_env(self):
        srv = sf.start_secure(self, ENV, client_ca=True)
        mtls = {"ALLOT_TLS_CLIENT_CERT": ENV.path("client.pem"), "ALLOT_TLS_CLIENT_KEY": ENV.path("client.key")}
        with ac.Client.from_env(self.env(srv, ALLOT_TOKEN=ENV.tokens["admin"], **mtls),
                                timeout=5) as admin:
            self.assertTrue(admin.tls)
            self.assertEqual(admin.timeout, 5)
            seed(admin)
        env = self.env(srv, ALLOT_TOKEN_FILE=ENV.path("billing.token"), **mtls)
        with ac.Client.from_env(env) as billing:
            self.assertEqual(visit(billing, "i1").invoice_id, "i1")
            self.assertRaisesAllot(PermissionDeniedError, "PERMISSION_DENIED",
                                   billing.put_service, Service("X", "", 1))
        # an argument wins over the environment; None falls back to it
        with ac.Client.from_env(env, token=ENV.tokens["reader"], addr=None) as reader:
            self.assertEqual(reader.addr, srv.address)
            self.assertRaisesAllot(PermissionDeniedError, "PERMISSION_DENIED", visit, reader, "i")
        # without the client certificate the handshake fails
        with ac.Client.from_env(self.env(srv, ALLOT_TOKEN=ENV.tokens["admin"])) as c:
            self.assertRaisesAllot(AllotError, "UNAVAILABLE", c.get_member, "m-1")
        with self.assertRaisesRegex(ValueError, "ALLOT_TOKEN and ALLOT_TOKEN_FILE"):
            ac.Client.from_env(self.env(srv, ALLOT_TOKEN="a", ALLOT_TOKEN_FILE="b"))

    def run_example(self, env, *args):
        full = dict(os.environ)
        for k in ("ALLOT_ADDR", "ALLOT_TLS_CA", "ALLOT_TLS_CLIENT_CERT", "ALLOT_TLS_CLIENT_KEY",
                  "ALLOT_TOKEN", "ALLOT_TOKEN_FILE"):
            full.pop(k, None)
        full.update(env)
        return subprocess.run([sys.executable, os.path.join(EXAMPLES, args[0])]
                              + list(args[1:]), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, env=full, timeout=60)

    def test_examples_from_the_environment(self):
        srv = sf.start_secure(self, ENV)
        seed(self.tls_client(srv, "admin"))
        env = self.env(srv, ALLOT_TOKEN_FILE=ENV.path("billing.token"))
        p = self.run_example(env, "price_invoice.py", "m-1", "inv-1", "V@2025-05-01")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("total due $0.00", p.stdout)
        p = self.run_example(env, "watch.py", "--exit-after", "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("#1 m-1: visits reached 10%"), p.stdout)
        # the reader may not price: PERMISSION_DENIED, exit 1
        p = self.run_example(self.env(srv, ALLOT_TOKEN_FILE=ENV.path("reader.token")),
                             "price_invoice.py", "m-1", "inv-2", "V@2025-05-01")
        self.assertEqual(p.returncode, 1)
        self.assertIn("PERMISSION_DENIED", p.stderr)
        # no token: UNAUTHENTICATED, and the watcher exits instead of retrying
        p = self.run_example(self.env(srv), "watch.py", "--exit-after", "1")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("UNAUTHENTICATED", p.stderr)


if __name__ == "__main__":
    unittest.main()
