"""A secured allotd for the clients' tests: certificates made with the openssl
command, service tokens from `allotd --new-token`, and an auth config with
portal JWT keys, all in one temporary directory per test module.

  ca.pem / ca.key             the CA clients trust
  server.pem / server.key     for 127.0.0.1 and localhost (serverAuth)
  named.pem / named.key       for the DNS name allot.internal only
  client.pem / client.key     a client certificate from ca (clientAuth)
  rogue-ca.pem                a CA nobody trusts
  portal-hs.key               HS256 key (file:, as allotd reads it)
  portal-rs.key / .pub        RS256 private key (the portal's) / public key (allotd's)
  auth.conf                   token ops admin, token front-desk billing,
                              token analytics reader, jwt-key portal-hs hs256,
                              jwt-key portal-rs rs256

Used by clients/python/tests/test_client_security.py and
clients/portal/tests/test_portal_secure.py; it needs harness.py (ALLOTD) on
sys.path first.
"""

import os
import shutil
import tempfile

import harness
import pki

HS_KEY_ID = "portal-hs"
RS_KEY_ID = "portal-rs"
NAMED_HOST = "allot.internal"


class SecureEnv:
    """Everything in one temporary directory; close() removes it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="allot-client-sec-")
        d = self.dir
        pki.make_ca(d, "ca")
        pki.make_leaf(d, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                 "extendedKeyUsage=serverAuth")
        pki.make_leaf(d, "named", "ca", "subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth"
              % NAMED_HOST)
        pki.make_leaf(d, "client", "ca", "extendedKeyUsage=clientAuth")
        pki.make_ca(d, "rogue-ca")
        pki.openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                "-out", "portal-rs.key", cwd=d)
        pki.openssl("pkey", "-in", "portal-rs.key", "-pubout", "-out", "portal-rs.pub", cwd=d)
        self.hs_key = os.urandom(32).hex().encode()  # 64 bytes of text
        with open(self.path("portal-hs.key"), "wb") as f:
            f.write(self.hs_key + b"\n")  # allotd and the portal drop the newline
        self.tokens = {}
        lines = ["# made by clients/python/tests/secure_fixture.py"]
        for ident, role in (("ops", "admin"), ("front-desk", "billing"),
                            ("analytics", "reader")):
            tok, line = pki.new_token(ident, role)
            self.tokens[role] = tok
            lines.append(line)
        lines.append("jwt-key %s hs256 file:portal-hs.key" % HS_KEY_ID)
        lines.append("jwt-key %s rs256 file:portal-rs.pub" % RS_KEY_ID)
        self.auth_config = self.path("auth.conf")
        with open(self.auth_config, "w") as f:
            f.write("\n".join(lines) + "\n")
        for n in os.listdir(d):
            if n.endswith(".key") or n == "auth.conf":
                os.chmod(self.path(n), 0o600)
        for role, tok in self.tokens.items():
            p = self.path(role + ".token")
            with open(p, "w") as f:
                f.write(tok + "\n")
            os.chmod(p, 0o600)

    def path(self, name):
        return os.path.join(self.dir, name)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def server_args(self, cert="server", client_ca=False, auth=True, tls=True):
        a = []
        if tls:
            a += ["--tls-cert", self.path(cert + ".pem"), "--tls-key", self.path(cert + ".key")]
        if client_ca:
            a += ["--tls-client-ca", self.path("ca.pem")]
        if auth:
            a += ["--auth-config", self.auth_config]
        return a

    def harness_kw(self, client_ca=False, tls=True):
        """Keyword arguments for harness.Server so that its own health checks
        get through (they need no token)."""
        kw = {}
        if tls:
            kw["tls_root"] = self.read("ca.pem")
        if client_ca:
            kw["tls_client_key"] = self.read("client.key")
            kw["tls_client_chain"] = self.read("client.pem")
        return kw

    def close(self):
        if os.environ.get("ALLOT_IT_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)


def start_secure(case, env, cert="server", client_ca=False, auth=True, tls=True, **kw):
    """Starts allotd for an AllotTestCase with env's TLS files and auth config."""
    skw = env.harness_kw(client_ca=client_ca, tls=tls)
    skw.update(kw)
    return case.start_server(extra_args=env.server_args(cert, client_ca, auth, tls), **skw)


class NamedServer(harness.Server):
    """A harness.Server whose own channels check the certificate against
    target_name (for a certificate that does not name 127.0.0.1)."""

    target_name = NAMED_HOST

    def new_channel(self, tls_root=None, tls_client_key=None, tls_client_chain=None,
                    plaintext=False):
        import grpc
        root = tls_root if tls_root is not None else self.tls_root
        if plaintext or root is None:
            return super().new_channel(tls_root, tls_client_key, tls_client_chain, plaintext)
        key = tls_client_key if tls_client_key is not None else self.tls_client_key
        chain = tls_client_chain if tls_client_chain is not None else self.tls_client_chain
        creds = grpc.ssl_channel_credentials(root_certificates=root, private_key=key,
                                             certificate_chain=chain)
        opts = harness.channel_options() + [("grpc.ssl_target_name_override", self.target_name)]
        return grpc.secure_channel(self.address, creds, options=opts)


def start_named(case, env, **kw):
    """allotd with named.pem (for allot.internal only), TLS only, started the
    way AllotTestCase.start_server does (stopped after the test)."""
    skw = env.harness_kw()
    skw.update(kw)
    s = NamedServer(case.tmpdir(), extra_args=env.server_args("named", auth=False), **skw)
    case._servers.append(s)
    case.addCleanup(case._cleanup_server, s)
    return s.start()
