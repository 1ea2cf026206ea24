"""Certificates and tokens for tests that run allotd with TLS and
authentication: made with the openssl command into a directory, and with
`allotd --new-token`. Shared by tests/integration/test_security.py, the CLI
tests (tests/cli) and the Python client and portal tests (clients/), which
put this directory on sys.path as they do for harness.py."""

import os
import subprocess

import harness

_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def openssl(*args, cwd):
    """Runs openssl ARGS in cwd; raises with its stderr when it fails."""
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), p.stderr.decode()))


def make_ca(d, name):
    """d/NAME.pem and d/NAME.key: a self-signed EC CA valid for 2 days."""
    openssl("req", "-x509", *_EC, "-keyout", name + ".key", "-out", name + ".pem",
            "-days", "2", "-subj", "/CN=" + name, cwd=d)


def make_leaf(d, name, ca, ext):
    """d/NAME.pem and d/NAME.key, signed by CA, with the X.509 v3 extension
    lines ext (e.g. "subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth")."""
    openssl("req", *_EC, "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/CN=" + name, cwd=d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write(ext + "\n")
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
            "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext",
            cwd=d)


def keys_private(d):
    """Mode 0600 on every *.key in d (allotd warns about readable keys)."""
    for n in os.listdir(d):
        if n.endswith(".key"):
            os.chmod(os.path.join(d, n), 0o600)


def new_token(ident, role, timeout=30):
    """(token, config line) from `allotd --new-token ID ROLE`."""
    p = subprocess.run([harness.allotd_path(), "--new-token", ident, role],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("allotd --new-token: %s" % p.stderr.decode())
    token, line = p.stdout.decode().splitlines()
    return token, line
