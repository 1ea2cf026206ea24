"""Security: TLS and mutual TLS, the refusal to listen beyond loopback
unprotected, service tokens and roles (a method x role table through real
RPCs), member-scoped portal JWTs, and the audit trail.

Certificates are made with the openssl command into a temporary directory
(a CA, a server certificate for 127.0.0.1/localhost, a client certificate,
and a second CA nobody trusts). Tokens come from `allotd --new-token`;
portal JWTs are signed here with hmac/hashlib (HS256).

Run: ctest -L integration   (or, with ALLOTD and ALLOT_PYGEN exported,
/usr/bin/python3 -m unittest -v test_security from this directory)
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import grpc

import harness
import pki
from builders import (CAL_YEAR, HOUSEHOLD, enrollment, invoice, line, member, put_plan,
                      rule, version)
from harness import AllotTestCase, bearer, health_check, pb

SC = grpc.StatusCode
DENIED = SC.PERMISSION_DENIED
UNAUTH = SC.UNAUTHENTICATED

HS_KEY = b"integration-portal-key-0123456789abcdef"  # 39 bytes
PORTAL_DENIED = ("permission denied: a member's portal credential may read only that "
                 "member's own data")


# ---------------------------------------------------------------------------
# certificates, tokens, JWTs
# ---------------------------------------------------------------------------

def make_pki(d):
    """ca, server (SAN 127.0.0.1 and localhost), client, and rogue-ca with
    rogue-client."""
    pki.make_ca(d, "ca")
    pki.make_leaf(d, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                     "extendedKeyUsage=serverAuth")
    pki.make_leaf(d, "client", "ca", "extendedKeyUsage=clientAuth")
    pki.make_ca(d, "rogue-ca")
    pki.make_leaf(d, "rogue-client", "rogue-ca", "extendedKeyUsage=clientAuth")
    pki.keys_private(d)


def run_allotd(args, timeout=30):
    """Runs allotd ARGS to completion: (exit code, stdout + stderr)."""
    p = subprocess.run([harness.allotd_path()] + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                       cwd=tempfile.gettempdir())
    return p.returncode, p.stdout.decode("utf-8", "replace")


def read(d, name):
    with open(os.path.join(d, name), "rb") as f:
        return f.read()





def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(claims, key=HS_KEY, header=None, sign=True):
    h = b64u(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    p = b64u(json.dumps(claims).encode())
    sig = hmac.new(key, (h + "." + p).encode(), hashlib.sha256).digest() if sign else b""
    return h + "." + p + "." + b64u(sig)


def portal_jwt(member_id, ttl=300):
    return jwt({"sub": member_id, "exp": int(time.time()) + ttl, "iat": int(time.time())})


class Env:
    """The certificates, tokens and auth config, made once for the module."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="allot-it-sec-")
        make_pki(self.dir)
        self.tokens = {}
        lines = ["# made by test_security.py"]
        for ident, role in (("ops", "admin"), ("front-desk", "billing"),
                            ("analytics", "reader")):
            tok, cfg = pki.new_token(ident, role)
            self.tokens[role] = tok
            lines.append(cfg)
        lines.append("jwt-key portal-2025 hs256 base64:" + base64.b64encode(HS_KEY).decode())
        self.auth_config = os.path.join(self.dir, "auth.conf")
        with open(self.auth_config, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(self.auth_config, 0o600)

    def path(self, name):
        return os.path.join(self.dir, name)

    def tls_args(self, client_ca=False):
        a = ["--tls-cert", self.path("server.pem"), "--tls-key", self.path("server.key")]
        if client_ca:
            a += ["--tls-client-ca", self.path("ca.pem")]
        return a

    def close(self):
        if os.environ.get("ALLOT_IT_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)


ENV = None


def setUpModule():
    global ENV
    ENV = Env()


def tearDownModule():
    if ENV is not None:
        ENV.close()


# ---------------------------------------------------------------------------
# base class
# ---------------------------------------------------------------------------

class SecTestCase(AllotTestCase):

    def secure_server(self, client_ca=False, auth=True, **kw):
        """A running allotd with TLS (and, by default, --auth-config)."""
        args = ENV.tls_args(client_ca)
        if auth:
            args += ["--auth-config", ENV.auth_config]
        if client_ca:
            kw.setdefault("tls_client_key", read(ENV.dir, "client.key"))
            kw.setdefault("tls_client_chain", read(ENV.dir, "client.pem"))
        return self.start_server(extra_args=args, tls_root=read(ENV.dir, "ca.pem"), **kw)

    def stub(self, srv, role=None, token=None):
        """A stub sending role's service token (or token, or nothing)."""
        if role == "portal":
            raise ValueError("portal is by JWT: pass token=")
        tok = token if token is not None else (ENV.tokens[role] if role else None)
        return srv.stub_for(token=tok)

    def code_of(self, fn, *a, **kw):
        try:
            fn(*a, **kw)
        except grpc.RpcError as e:
            return e.code(), e.details()
        return SC.OK, ""


def seed(admin, billing):
    """Two members of one household on a plan with a household rule; an
    invoice and a usage record to void later."""
    admin.PutService(pb.PutServiceRequest(service=pb.Service(code="VISIT", name="Visit",
                                                             cash_price_cents=5000)))
    put_plan(admin, "p1", version("2025-01-01", [
        rule("visits", ["VISIT"], allowance=10, per=CAL_YEAR, pool=HOUSEHOLD),
    ]))
    for mid in ("m-1", "m-2"):
        admin.PutMember(pb.PutMemberRequest(member=member(
            mid, [enrollment("p1", "2025-01-01")], household="h-1")))
    billing.PriceInvoice(invoice("inv-seed", "m-1", [line("VISIT", "2025-03-01", 2)]))
    billing.PriceInvoice(invoice("inv-m2", "m-2", [line("VISIT", "2025-03-02", 3)]))
    billing.RecordUsage(pb.RecordUsageRequest(usage_id="u-seed", member_id="m-1",
                                              rule_key="visits", service_date="2025-02-01",
                                              amount=1))


# ---------------------------------------------------------------------------
# transport
# ---------------------------------------------------------------------------

class TransportTest(SecTestCase):

    def test_tls_answers_tls_and_refuses_plaintext(self):
        srv = self.secure_server(auth=False)
        self.assertEqual(health_check(srv.channel, "").status, harness.SERVING)
        srv.stub.ListServices(pb.ListServicesRequest())
        # the same port, plaintext: no answer
        plain = srv.new_channel(plaintext=True)
        try:
            with self.assertRaises(grpc.RpcError) as cm:
                health_check(plain, "", timeout=2)
            self.assertEqual(cm.exception.code(), SC.UNAVAILABLE)
        finally:
            plain.close()
        # a client that trusts another CA refuses the server
        other = srv.new_channel(tls_root=read(ENV.dir, "rogue-ca.pem"))
        try:
            with self.assertRaises(grpc.RpcError) as cm:
                health_check(other, "", timeout=2)
            self.assertEqual(cm.exception.code(), SC.UNAVAILABLE)
        finally:
            other.close()

    def test_mutual_tls_requires_a_client_certificate_from_the_ca(self):
        srv = self.secure_server(client_ca=True, auth=False)
        self.assertEqual(health_check(srv.channel, "").status, harness.SERVING)
        srv.stub.ListServices(pb.ListServicesRequest())
        root = read(ENV.dir, "ca.pem")
        attempts = {
            "no client certificate": grpc.secure_channel(
                srv.address, grpc.ssl_channel_credentials(root_certificates=root)),
            "a certificate of another CA": srv.new_channel(
                tls_client_key=read(ENV.dir, "rogue-client.key"),
                tls_client_chain=read(ENV.dir, "rogue-client.pem")),
            "plaintext": srv.new_channel(plaintext=True),
        }
        for what, ch in attempts.items():
            try:
                with self.assertRaises(grpc.RpcError, msg=what) as cm:
                    health_check(ch, "", timeout=2)
                self.assertEqual(cm.exception.code(), SC.UNAVAILABLE, what)
            finally:
                ch.close()

    def test_tls_and_auth_from_the_environment(self):
        srv = self.start_server(
            env={"ALLOT_TLS_CERT": ENV.path("server.pem"), "ALLOT_TLS_KEY": ENV.path("server.key"),
                 "ALLOT_AUTH_CONFIG": ENV.auth_config},
            tls_root=read(ENV.dir, "ca.pem"), token=ENV.tokens["admin"])
        srv.stub.ListServices(pb.ListServicesRequest())
        self.assertRpcError(UNAUTH, "missing credentials", self.stub(srv).ListServices,
                            pb.ListServicesRequest())

    def test_bad_tls_files_refuse_to_start(self):
        d = self.tmpdir()
        cases = [
            (["--tls-cert", ENV.path("server.pem")], "--tls-cert and --tls-key go together"),
            (["--tls-client-ca", ENV.path("ca.pem")], "--tls-client-ca needs --tls-cert"),
            (["--tls-cert", ENV.path("server.pem"), "--tls-key", ENV.path("client.key")],
             "does not belong to the certificate"),
            (["--tls-cert", ENV.path("server.key"), "--tls-key", ENV.path("server.key")],
             "no PEM certificate"),
            (["--tls-cert", ENV.path("nope.pem"), "--tls-key", ENV.path("server.key")],
             "nope.pem"),
        ]
        for args, want in cases:
            rc, out = run_allotd(["--listen", "127.0.0.1:%d" % harness.free_port(),
                                  "--data", os.path.join(d, "data")] + args, timeout=30)
            self.assertEqual(rc, 2, out)
            self.assertIn(want, out)


class ExposureTest(SecTestCase):

    def refused(self, host, extra):
        d = self.tmpdir()
        rc, out = run_allotd(["--listen", "%s:%d" % (host, harness.free_port()),
                              "--data", os.path.join(d, "data")] + extra, timeout=30)
        self.assertEqual(rc, 2, out)
        self.assertIn("refusing to listen on", out)
        self.assertIn("--insecure", out)
        # refused before anything was created
        self.assertFalse(os.path.exists(os.path.join(d, "data")))
        return out

    def test_non_loopback_needs_tls_and_auth(self):
        auth = ["--auth-config", ENV.auth_config]
        out = self.refused("0.0.0.0", [])
        self.assertIn("without TLS and authentication", out)
        self.refused("", [])          # ":PORT" is every interface
        self.refused("[::]", [])
        out = self.refused("0.0.0.0", ENV.tls_args())
        self.assertIn("without authentication", out)
        out = self.refused("0.0.0.0", auth)
        self.assertIn("without TLS", out)

    def test_insecure_starts_on_every_interface(self):
        srv = self.new_server(listen_host="0.0.0.0", extra_args=["--insecure"]).start()
        self.assertIn("--insecure", srv.log_text())
        srv.stop()

    def test_tls_and_auth_start_on_every_interface(self):
        srv = self.secure_server(listen_host="0.0.0.0", token=ENV.tokens["reader"])
        srv.stub.ListServices(pb.ListServicesRequest())
        srv.stop()


# ---------------------------------------------------------------------------
# authentication and roles
# ---------------------------------------------------------------------------

W = pb.WatchThresholdsRequest


def calls():
    """method -> a request that succeeds for a role that may call it."""
    return {
        "PutService": lambda s, tag: s.PutService(pb.PutServiceRequest(
            service=pb.Service(code="VISIT", name="Visit", cash_price_cents=5000))),
        "ListServices": lambda s, tag: s.ListServices(pb.ListServicesRequest()),
        "PutPlan": lambda s, tag: put_plan(s, "p1", version("2025-01-01", [
            rule("visits", ["VISIT"], allowance=10, per=CAL_YEAR, pool=HOUSEHOLD)])),
        "GetPlan": lambda s, tag: s.GetPlan(pb.GetPlanRequest(plan_id="p1")),
        "ListPlans": lambda s, tag: s.ListPlans(pb.ListPlansRequest()),
        "PutMember": lambda s, tag: s.PutMember(pb.PutMemberRequest(member=member(
            "m-1", [enrollment("p1", "2025-01-01")], household="h-1"))),
        "GetMember": lambda s, tag: s.GetMember(pb.GetMemberRequest(member_id="m-1")),
        "PriceInvoice": lambda s, tag: s.PriceInvoice(
            invoice("inv-" + tag, "m-1", [line("VISIT", "2025-04-01")])),
        "PreviewInvoice": lambda s, tag: s.PreviewInvoice(
            invoice("", "m-1", [line("VISIT", "2025-04-01")])),
        "VoidInvoice": lambda s, tag: s.VoidInvoice(pb.VoidInvoiceRequest(
            invoice_id="inv-seed")),
        "RecordUsage": lambda s, tag: s.RecordUsage(pb.RecordUsageRequest(
            usage_id="u-" + tag, member_id="m-1", rule_key="visits",
            service_date="2025-02-02", amount=1)),
        "VoidUsage": lambda s, tag: s.VoidUsage(pb.VoidUsageRequest(usage_id="u-seed")),
        "GetAllotments": lambda s, tag: s.GetAllotments(pb.GetAllotmentsRequest(
            member_id="m-1", as_of="2025-06-01")),
        "WatchThresholds": watch_briefly,
        "ListAudit": lambda s, tag: s.ListAudit(pb.ListAuditRequest()),
    }


def watch_briefly(s, tag):
    """A watch that is allowed stays open: it ends with DEADLINE_EXCEEDED."""
    try:
        for _ in s.WatchThresholds(W(from_seq=1), timeout=0.5):
            pass
    except grpc.RpcError as e:
        if e.code() != SC.DEADLINE_EXCEEDED:
            raise


# method -> roles allowed (docs/security.md and src/server/methods.c)
MATRIX = {
    "PutService": "admin",
    "ListServices": "admin billing reader",
    "PutPlan": "admin",
    "GetPlan": "admin billing reader",
    "ListPlans": "admin billing reader",
    "PutMember": "admin",
    "GetMember": "admin billing reader",
    "PriceInvoice": "billing",
    "PreviewInvoice": "billing",
    "VoidInvoice": "billing",
    "RecordUsage": "billing",
    "VoidUsage": "billing",
    "GetAllotments": "billing reader portal",
    "WatchThresholds": "billing reader",
    "ListAudit": "admin",
}


class RolesTest(SecTestCase):

    def setUp(self):
        self.srv = self.secure_server()
        seed(self.stub(self.srv, "admin"), self.stub(self.srv, "billing"))

    def test_method_role_matrix(self):
        self.assertEqual(set(MATRIX), set(calls()))
        # every method of the service is in the table
        names = {m.name for m in pb.DESCRIPTOR.services_by_name["Allot"].methods}
        self.assertEqual(names, set(MATRIX))
        stubs = {r: self.stub(self.srv, r) for r in ("admin", "billing", "reader")}
        stubs["portal"] = self.stub(self.srv, token=portal_jwt("m-1"))
        got = {}
        for method, fn in sorted(calls().items()):
            for role, st in sorted(stubs.items()):
                code, details = self.code_of(fn, st, role)
                want = SC.OK if role in MATRIX[method].split() else DENIED
                got[(method, role)] = code
                self.assertEqual(code, want, "%s as %s: %s %s" % (method, role, code, details))
                if code == DENIED and role != "portal":
                    self.assertEqual(details, "permission denied: role %s may not call %s"
                                     % (role, method))
        self.assertEqual(len(got), len(MATRIX) * 4)

    def test_no_or_bad_credentials_are_unauthenticated(self):
        none = self.stub(self.srv)
        bad = {
            "missing": None,
            "unknown token": [("authorization", "Bearer not-a-token")],
            "other scheme": [("authorization", "Basic YWRtaW46YWRtaW4=")],
            "no scheme": [("authorization", ENV.tokens["admin"])],
            "empty": [("authorization", "Bearer ")],
            "garbled JWT": [("authorization", "Bearer a.b.c")],
            "two entries": bearer(ENV.tokens["admin"]) + bearer(ENV.tokens["admin"]),
            "a prefix of a token": bearer(ENV.tokens["admin"][:-1]),
        }
        for method, fn in sorted(calls().items()):
            for what, md in bad.items():
                st = harness.TimeoutStub(harness.pb_grpc.AllotStub(self.srv.channel), md)
                code, details = self.code_of(fn, st if md else none, "x")
                self.assertEqual(code, UNAUTH, "%s with %s: %s %s" % (method, what, code,
                                                                         details))
                self.assertNotIn(ENV.tokens["admin"], details)
        # health needs nothing
        self.assertEqual(health_check(self.srv.channel, "").status, harness.SERVING)
        ch = self.srv.channel.unary_unary(
            harness.HEALTH_CHECK,
            request_serializer=harness.health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=harness.health_pb2.HealthCheckResponse.FromString)
        self.assertEqual(ch(harness.health_pb2.HealthCheckRequest(), timeout=5,
                            metadata=[("authorization", "Bearer junk")]).status,
                         harness.SERVING)
        # refused credentials are logged without the credential
        log = self.srv.log_text()
        self.assertIn("unauthenticated", log)
        self.assertNotIn(ENV.tokens["admin"][:-1], log)


class PortalTest(SecTestCase):

    def setUp(self):
        self.srv = self.secure_server()
        seed(self.stub(self.srv, "admin"), self.stub(self.srv, "billing"))

    def allotments(self, token, member_id):
        return self.stub(self.srv, token=token).GetAllotments(
            pb.GetAllotmentsRequest(member_id=member_id, as_of="2025-06-01"))

    def test_a_member_sees_only_their_own_allotments(self):
        tok = portal_jwt("m-1")
        resp = self.allotments(tok, "m-1")
        self.assertEqual(resp.member_id, "m-1")
        (a,) = resp.allotments
        self.assertEqual(a.used, 6)          # the household's total: m-1 3, m-2 3
        self.assertEqual(a.member_used, 3)
        # only m-1's own entries in the history
        self.assertEqual({h.invoice_id for h in a.history} - {""}, {"inv-seed"})

        e_other = self.assertRpcError(DENIED, None, self.allotments, tok, "m-2")
        e_none = self.assertRpcError(DENIED, None, self.allotments, tok, "no-such-member")
        e_bad = self.assertRpcError(DENIED, None, self.allotments, tok, "bad id with spaces")
        self.assertEqual(e_other.details(), PORTAL_DENIED)
        self.assertEqual(e_none.details(), e_other.details())
        self.assertEqual(e_bad.details(), e_other.details())
        # the same holds for m-2's own token the other way round
        self.assertEqual(self.allotments(portal_jwt("m-2"), "m-2").member_id, "m-2")
        self.assertRpcError(DENIED, None, self.allotments, portal_jwt("m-2"), "m-1")
        # and nothing else
        st = self.stub(self.srv, token=tok)
        self.assertRpcError(DENIED, "may not call GetMember", st.GetMember,
                            pb.GetMemberRequest(member_id="m-1"))
        self.assertRpcError(DENIED, "may not call PriceInvoice", st.PriceInvoice,
                            invoice("inv-portal", "m-1", [line("VISIT", "2025-04-01")]))

    def test_bad_jwts_are_unauthenticated(self):
        now = int(time.time())
        cases = {
            "expired": (jwt({"sub": "m-1", "exp": now - 60}), "has expired"),
            "no exp": (jwt({"sub": "m-1"}), "exp"),
            "no sub": (jwt({"exp": now + 60}), "sub"),
            "wrong key": (jwt({"sub": "m-1", "exp": now + 60}, key=b"x" * 40),
                          "does not verify"),
            "alg none": (jwt({"sub": "m-1", "exp": now + 60}, header={"alg": "none"},
                             sign=False), "does not verify"),
            "HS512 header": (jwt({"sub": "m-1", "exp": now + 60},
                                 header={"alg": "HS512", "typ": "JWT"}), "does not verify"),
            "not yet valid": (jwt({"sub": "m-1", "exp": now + 600, "nbf": now + 300}),
                              "not valid yet"),
        }
        for what, (tok, msg) in cases.items():
            e = self.assertRpcError(UNAUTH, msg, self.allotments, tok, "m-1")
            self.assertNotIn(tok, e.details(), what)


# ---------------------------------------------------------------------------
# the audit trail
# ---------------------------------------------------------------------------

def audit_all(admin):
    out, seq = [], 0
    while True:
        r = admin.ListAudit(pb.ListAuditRequest(from_seq=seq, limit=2))
        out.extend(r.entries)
        seq = r.next_seq
        if not r.more:
            return out


class AuditTest(SecTestCase):

    def wait_for(self, admin, pred, timeout=3.0):
        deadline = time.monotonic() + timeout
        while True:
            entries = audit_all(admin)
            if pred(entries) or time.monotonic() > deadline:
                return entries
            time.sleep(0.05)

    def test_who_what_when_and_it_survives_restart(self):
        srv = self.secure_server()
        admin, billing = self.stub(srv, "admin"), self.stub(srv, "billing")
        reader = self.stub(srv, "reader")
        seed(admin, billing)
        billing.VoidInvoice(pb.VoidInvoiceRequest(invoice_id="inv-seed", line_id="1"))
        billing.VoidUsage(pb.VoidUsageRequest(usage_id="u-seed"))
        reader.GetAllotments(pb.GetAllotmentsRequest(member_id="m-2", as_of="2025-06-01"))
        portal = self.stub(srv, token=portal_jwt("m-1"))
        portal.GetAllotments(pb.GetAllotmentsRequest(member_id="m-1", as_of="2025-06-01"))
        with self.assertRaises(grpc.RpcError):
            portal.GetAllotments(pb.GetAllotmentsRequest(member_id="m-2"))
        with self.assertRaises(grpc.RpcError):  # a write that fails: NOT_FOUND
            billing.PriceInvoice(invoice("inv-x", "nobody", [line("VISIT", "2025-04-01")]))
        with self.assertRaises(grpc.RpcError):  # a reader may not price
            reader.PriceInvoice(invoice("inv-y", "m-1", [line("VISIT", "2025-04-01")]))

        entries = self.wait_for(admin, lambda es: len(es) >= 14)
        got = [(e.principal, e.role, e.rpc, e.member_id, e.invoice_id, e.line_id, e.usage_id,
                e.plan_id, e.service_code, e.code) for e in entries]
        want = [
            ("ops", "admin", "PutService", "", "", "", "", "", "VISIT", 0),
            ("ops", "admin", "PutPlan", "", "", "", "", "p1", "", 0),
            ("ops", "admin", "PutMember", "m-1", "", "", "", "", "", 0),
            ("ops", "admin", "PutMember", "m-2", "", "", "", "", "", 0),
            ("front-desk", "billing", "PriceInvoice", "m-1", "inv-seed", "", "", "", "", 0),
            ("front-desk", "billing", "PriceInvoice", "m-2", "inv-m2", "", "", "", "", 0),
            ("front-desk", "billing", "RecordUsage", "m-1", "", "", "u-seed", "", "", 0),
            ("front-desk", "billing", "VoidInvoice", "", "inv-seed", "1", "", "", "", 0),
            ("front-desk", "billing", "VoidUsage", "", "", "", "u-seed", "", "", 0),
            ("analytics", "reader", "GetAllotments", "m-2", "", "", "", "", "", 0),
            ("jwt:m-1", "portal", "GetAllotments", "m-1", "", "", "", "", "", 0),
            ("jwt:m-1", "portal", "GetAllotments", "m-2", "", "", "", "", "",
             SC.PERMISSION_DENIED.value[0]),
            ("front-desk", "billing", "PriceInvoice", "nobody", "inv-x", "", "", "", "",
             SC.NOT_FOUND.value[0]),
            # role refused before the request is read: no ids
            ("analytics", "reader", "PriceInvoice", "", "", "", "", "", "",
             SC.PERMISSION_DENIED.value[0]),
        ]
        # reads are flushed by the writer, writes commit with themselves:
        # compare as multisets in order of kind, then check the write order
        self.assertEqual(sorted(got), sorted(want))
        writes = [g for g in got if g[2] in ("PutService", "PutPlan", "PutMember",
                                             "PriceInvoice", "RecordUsage", "VoidInvoice",
                                             "VoidUsage") and g[-1] == 0]
        self.assertEqual(writes, [w for w in want if w in writes])
        seqs = [e.seq for e in entries]
        self.assertEqual(seqs, list(range(1, len(entries) + 1)))
        now = time.time()
        for e in entries:
            self.assertRegex(e.time, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
            when = datetime.datetime.strptime(e.time, "%Y-%m-%dT%H:%M:%S.%fZ")
            when = when.replace(tzinfo=datetime.timezone.utc).timestamp()
            self.assertLess(abs(when - now), 600, e.time)  # UTC, and this run's
            self.assertTrue(e.peer.startswith("ipv4:127.0.0.1:"), e.peer)
            blob = e.SerializeToString()
            for tok in list(ENV.tokens.values()) + [base64.b64encode(HS_KEY).decode()]:
                self.assertNotIn(tok.encode(), blob)
            self.assertNotIn(b"eyJ", blob)  # no JWT either

        # the trail is in the data file, and survives a restart
        srv.stop()
        srv.start()
        again = audit_all(self.stub(srv, "admin"))
        self.assertEqual([e.SerializeToString() for e in again],
                         [e.SerializeToString() for e in entries])
        with open(os.path.join(srv.data_dir, "data.mdb"), "rb") as f:
            data = f.read()
        for tok in ENV.tokens.values():
            self.assertNotIn(tok.encode(), data)

    def test_paging_and_no_way_to_change_it(self):
        srv = self.secure_server()
        admin = self.stub(srv, "admin")
        for i in range(5):
            admin.PutService(pb.PutServiceRequest(service=pb.Service(
                code="S%d" % i, cash_price_cents=i)))
        r = admin.ListAudit(pb.ListAuditRequest(from_seq=0, limit=2))
        self.assertEqual([e.seq for e in r.entries], [1, 2])
        self.assertTrue(r.more)
        self.assertEqual(r.next_seq, 3)
        r = admin.ListAudit(pb.ListAuditRequest(from_seq=4, limit=10))
        self.assertEqual([e.seq for e in r.entries], [4, 5])
        self.assertFalse(r.more)
        self.assertEqual(r.next_seq, 6)
        r = admin.ListAudit(pb.ListAuditRequest(from_seq=9))
        self.assertEqual(list(r.entries), [])
        self.assertEqual(r.next_seq, 9)
        self.assertRpcError(SC.INVALID_ARGUMENT, "limit", admin.ListAudit,
                            pb.ListAuditRequest(limit=1001))
        # the API has one audit method, and it only reads
        audit_methods = [m.name for m in pb.DESCRIPTOR.services_by_name["Allot"].methods
                         if "Audit" in m.name]
        self.assertEqual(audit_methods, ["ListAudit"])
        for name in ("DeleteAudit", "PutAudit", "UpdateAudit", "TruncateAudit"):
            call = srv.channel.unary_unary("/allot.v1.Allot/" + name)
            with self.assertRaises(grpc.RpcError) as cm:
                call(b"", timeout=5, metadata=bearer(ENV.tokens["admin"]))
            self.assertEqual(cm.exception.code(), SC.UNIMPLEMENTED)
        self.assertEqual(len(audit_all(admin)), 5)

    def test_without_auth_the_principal_is_anonymous(self):
        srv = self.start_server()
        srv.stub.PutService(pb.PutServiceRequest(service=pb.Service(code="S", cash_price_cents=1)))
        (e,) = srv.stub.ListAudit(pb.ListAuditRequest()).entries
        self.assertEqual((e.principal, e.role, e.rpc, e.service_code, e.code),
                         ("anonymous", "", "PutService", "S", 0))


# ---------------------------------------------------------------------------
# operator helpers and the config file
# ---------------------------------------------------------------------------

class ToolsTest(SecTestCase):

    def test_hash_token_and_new_token(self):
        p = subprocess.run([harness.allotd_path(), "--hash-token"], input=b"my-token\n",
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.decode().strip(),
                         "sha256:" + hashlib.sha256(b"my-token").hexdigest())
        tok, line = pki.new_token("svc-1", "billing")
        self.assertRegex(tok, r"^allot_[A-Za-z0-9_-]{43}$")
        self.assertEqual(line, "token svc-1 billing sha256:"
                         + hashlib.sha256(tok.encode()).hexdigest())
        p = subprocess.run([harness.allotd_path(), "--new-token", "svc-1", "root"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"role \"root\"", p.stderr)
        self.assertEqual(p.stdout, b"")
        p = subprocess.run([harness.allotd_path(), "--hash-token"], input=b"",
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 2)

    def test_bad_config_refuses_to_start_with_the_line(self):
        d = self.tmpdir()
        conf = os.path.join(d, "auth.conf")
        with open(conf, "w") as f:
            f.write("# ok\ntoken a admin sha256:%s\ntoken b superuser sha256:%s\n"
                    % ("0" * 64, "1" * 64))
        os.chmod(conf, 0o600)
        rc, out = run_allotd(["--listen", "127.0.0.1:%d" % harness.free_port(),
                              "--data", os.path.join(d, "data"), "--auth-config", conf])
        self.assertEqual(rc, 2, out)
        self.assertIn("auth.conf:3: token: role \"superuser\" is not admin, billing or reader",
                      out)
        os.chmod(conf, 0o622)
        with open(conf, "w") as f:
            f.write("token a admin sha256:%s\n" % ("0" * 64))
        rc, out = run_allotd(["--listen", "127.0.0.1:%d" % harness.free_port(),
                              "--data", os.path.join(d, "data"), "--auth-config", conf])
        self.assertEqual(rc, 2, out)
        self.assertIn("group or others may write it", out)


if __name__ == "__main__":
    unittest.main()
