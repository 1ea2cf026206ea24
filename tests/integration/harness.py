"""Harness for allot integration tests: runs the real allotd on a free
loopback port with a temporary data directory and drives it with grpcio.

Environment (set by ctest, see CMakeLists.txt here):
  ALLOTD       path of the allotd binary
  ALLOT_PYGEN  directory of the Python stubs generated at build time
  ALLOT_IT_KEEP=1 keeps the temporary directories (data and server logs)

Run with Debian's /usr/bin/python3 (python3-grpcio, python3-protobuf).
"""

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import grpc  # the library; imported before the stubs dir joins sys.path

RPC_TIMEOUT = 5.0        # seconds, every RPC
START_TIMEOUT = 10.0     # seconds until the health check answers SERVING
STOP_TIMEOUT = 10.0      # seconds from SIGTERM to exit

MAX_MESSAGE = 4 * 1024 * 1024  # the server's receive limit


def _need_env(name):
    v = os.environ.get(name)
    if not v:
        raise RuntimeError(
            "%s is not set: run the integration tests through ctest "
            "(ctest -L integration), or export %s yourself" % (name, name))
    return v


PYGEN = _need_env("ALLOT_PYGEN")
if not os.path.isfile(os.path.join(PYGEN, "allot", "v1", "allot_pb2.py")):
    raise RuntimeError("no generated stubs in %s: build the allot_pygen target" % PYGEN)
if PYGEN not in sys.path:
    sys.path.insert(0, PYGEN)

from allot.v1 import allot_pb2 as pb  # noqa: E402
from allot.v1 import allot_pb2_grpc as pb_grpc  # noqa: E402


def _load_by_path(modname, path):
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sys.modules[modname] = mod
    return mod


# grpc/health/v1/health_pb2.py cannot be imported as grpc.health.v1 (the
# grpc library owns that package name); it only imports google.protobuf, so
# load it from its file.
health_pb2 = _load_by_path(
    "allot_it_health_pb2", os.path.join(PYGEN, "grpc", "health", "v1", "health_pb2.py"))

SERVING = health_pb2.HealthCheckResponse.SERVING
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
HEALTH_WATCH = "/grpc.health.v1.Health/Watch"


def allotd_path():
    p = _need_env("ALLOTD")
    if not os.access(p, os.X_OK):
        raise RuntimeError("ALLOTD=%s is not an executable file (is allotd built?)" % p)
    return p


def free_port():
    """A port that was free a moment ago (bind 0, read, close)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def port_is_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def channel_options():
    # No client-side size limits: the tests probe the server's own limit.
    return [("grpc.max_send_message_length", -1),
            ("grpc.max_receive_message_length", -1)]


def bearer(token):
    """Call metadata that carries token as allotd expects it."""
    return [("authorization", "Bearer " + token)]


class TimeoutStub:
    """Wraps a generated stub so that every call carries a deadline
    (RPC_TIMEOUT unless the caller passes timeout=) and, when metadata is
    given (e.g. bearer(token)), that metadata unless the caller passes its
    own."""

    def __init__(self, stub, metadata=None):
        self._stub = stub
        self._metadata = list(metadata) if metadata else None

    def _kw(self, kw):
        kw = dict({"timeout": RPC_TIMEOUT}, **kw)
        if self._metadata is not None:
            kw.setdefault("metadata", self._metadata)
        return kw

    def __getattr__(self, name):
        method = getattr(self._stub, name)

        def call(request, **kw):
            return method(request, **self._kw(kw))

        call.with_call = lambda request, **kw: method.with_call(request, **self._kw(kw))
        call.future = lambda request, **kw: method.future(request, **self._kw(kw))
        return call


class StartError(AssertionError):
    pass


class Server:
    """One allotd process. Start it with start(); stop it with stop()
    (SIGTERM, asserts exit code 0) or kill() (SIGKILL).

    Security (all optional; the defaults are plaintext, no credentials):
      tls_root          PEM bytes of the CA the client trusts: the harness
                        then talks TLS (health checks included)
      tls_client_key,   PEM bytes of the client's key and certificate chain,
      tls_client_chain  for servers that require client certificates
      token             sent as "authorization: Bearer <token>" by self.stub
      listen_host       the host given to --listen (default 127.0.0.1); the
                        harness always connects to 127.0.0.1
    Server flags themselves (--tls-cert, --auth-config, ...) go in
    extra_args."""

    def __init__(self, workdir, data_dir=None, port=None, extra_args=(), env=None,
                 use_flags=True, tls_root=None, tls_client_key=None, tls_client_chain=None,
                 token=None, listen_host="127.0.0.1"):
        self.workdir = workdir
        self.data_dir = data_dir or os.path.join(workdir, "data")
        self.fixed_port = port
        self.port = port
        self.extra_args = list(extra_args)
        self.env = env
        self.use_flags = use_flags
        self.tls_root = tls_root
        self.tls_client_key = tls_client_key
        self.tls_client_chain = tls_client_chain
        self.token = token
        self.listen_host = listen_host
        self.proc = None
        self.log_path = None
        self.logs = []          # every log file this object wrote, in order
        self.channel = None
        self.stub = None
        self.returncode = None

    # -- addresses ---------------------------------------------------------
    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    @property
    def listen_address(self):
        return "%s:%d" % (self.listen_host, self.port)

    def new_channel(self, tls_root=None, tls_client_key=None, tls_client_chain=None,
                    plaintext=False):
        """A channel to the server: TLS with this server's tls_* settings (or
        the ones given) unless plaintext or none is set."""
        root = tls_root if tls_root is not None else self.tls_root
        key = tls_client_key if tls_client_key is not None else self.tls_client_key
        chain = tls_client_chain if tls_client_chain is not None else self.tls_client_chain
        if plaintext or root is None:
            return grpc.insecure_channel(self.address, options=channel_options())
        creds = grpc.ssl_channel_credentials(root_certificates=root, private_key=key,
                                             certificate_chain=chain)
        return grpc.secure_channel(self.address, creds, options=channel_options())

    def stub_for(self, channel=None, token=None):
        """A TimeoutStub on channel (default: self.channel) sending token
        (None: no credentials)."""
        ch = channel if channel is not None else self.channel
        return TimeoutStub(pb_grpc.AllotStub(ch), bearer(token) if token else None)

    # -- lifecycle ---------------------------------------------------------
    def _spawn(self):
        os.makedirs(self.data_dir, exist_ok=True)
        n = len(self.logs) + 1
        self.log_path = os.path.join(self.workdir, "allotd-%d.log" % n)
        self.logs.append(self.log_path)
        argv = [allotd_path()]
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        if self.use_flags:
            argv += ["--listen", self.listen_address, "--data", self.data_dir]
        else:
            env["ALLOT_LISTEN"] = self.listen_address
            env["ALLOT_DATA"] = self.data_dir
        argv += self.extra_args
        with open(self.log_path, "ab") as log:
            log.write(("$ %s\n" % " ".join(argv)).encode())
            log.flush()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env,
                                         cwd=self.workdir)
        self.returncode = None

    def start(self, timeout=START_TIMEOUT):
        """Starts allotd and waits until Check("") answers SERVING."""
        attempts = 1 if self.fixed_port else 5
        last = None
        for _ in range(attempts):
            if not self.fixed_port:
                self.port = free_port()
            self._spawn()
            try:
                self._wait_serving(timeout)
            except StartError as e:
                last = e
                if (not self.fixed_port and self.proc.poll() is not None
                        and not port_is_free(self.port)):
                    continue  # somebody took the port meanwhile: another one
                raise
            self.channel = self.new_channel()
            self.stub = TimeoutStub(pb_grpc.AllotStub(self.channel),
                                    bearer(self.token) if self.token else None)
            return self
        raise last

    def _wait_serving(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            rc = self.proc.poll()
            if rc is not None:
                self.returncode = rc
                raise StartError("allotd exited with %d during startup:\n%s"
                                 % (rc, self.log_text()))
            if time.monotonic() > deadline:
                self.kill()
                raise StartError("allotd did not answer SERVING within %.0f s:\n%s"
                                 % (timeout, self.log_text()))
            ch = self.new_channel()
            try:
                resp = health_check(ch, "", timeout=0.5)
                if resp.status == SERVING:
                    return
            except grpc.RpcError:
                pass
            finally:
                ch.close()
            time.sleep(0.05)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def close_channel(self):
        if self.channel is not None:
            self.channel.close()
            self.channel = None
            self.stub = None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=STOP_TIMEOUT):
        """Waits for exit; returns the exit code or None on timeout."""
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def stop(self, timeout=STOP_TIMEOUT, close=True):
        """SIGTERM; returns the exit code. Raises AssertionError if allotd does
        not exit within timeout (it is then killed) or exits nonzero."""
        if close:
            self.close_channel()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.wait(timeout)
        if rc is None:
            self.kill()
            raise AssertionError("allotd did not exit within %.0f s of SIGTERM:\n%s"
                                 % (timeout, self.log_text()))
        if rc != 0:
            raise AssertionError("allotd exited with %d after SIGTERM (want 0):\n%s"
                                 % (rc, self.log_text()))
        return rc

    def kill(self):
        """SIGKILL (a crash)."""
        self.close_channel()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.returncode = self.proc.wait()
        return self.returncode

    def log_text(self, all_runs=False):
        out = []
        for p in (self.logs if all_runs else self.logs[-1:]):
            try:
                with open(p, "rb") as f:
                    out.append(f.read().decode("utf-8", "replace"))
            except OSError:
                pass
        return "".join(out)


def health_check(channel, service, timeout=RPC_TIMEOUT):
    call = channel.unary_unary(
        HEALTH_CHECK,
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString)
    return call(health_pb2.HealthCheckRequest(service=service), timeout=timeout)


def raw_unary(channel, method, payload, timeout=RPC_TIMEOUT):
    """Sends payload bytes as the request of method, no serialization."""
    call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    return call(payload, timeout=timeout)


def raw_with_call(channel, method, payload, timeout=RPC_TIMEOUT, metadata=None):
    """Sends payload bytes as the request of method; returns (response bytes,
    trailing metadata as a dict). The bytes are exactly what the server sent."""
    call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    resp, c = call.with_call(payload, timeout=timeout, metadata=metadata)
    return resp, dict(c.trailing_metadata() or ())


def run_verify(data_dir, timeout=60):
    """Runs `allotd --verify --data DIR`; returns (exit code, stdout + stderr)."""
    p = subprocess.run([allotd_path(), "--verify", "--data", data_dir],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


class Watcher:
    """A WatchThresholds stream read by a background thread. events is the
    list of events received so far; error is the RpcError that ended the
    stream (None while it runs or if it ended OK)."""

    def __init__(self, stub, request, timeout=120):
        self.events = []
        self.error = None
        self.ended = threading.Event()
        self._cv = threading.Condition()
        self.call = stub.WatchThresholds(request, timeout=timeout)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        try:
            for ev in self.call:
                with self._cv:
                    self.events.append(ev)
                    self._cv.notify_all()
        except grpc.RpcError as e:
            self.error = e
        finally:
            with self._cv:
                self.ended.set()
                self._cv.notify_all()

    def wait_for(self, n, timeout=5.0):
        """Waits until at least n events arrived (or the stream ended);
        returns a copy of the events."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while len(self.events) < n and not self.ended.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cv.wait(left)
            return list(self.events)

    def quiet(self, seconds=0.5):
        """Waits until no event arrived for `seconds`; returns the events."""
        with self._cv:
            while True:
                n = len(self.events)
                self._cv.wait(seconds)
                if len(self.events) == n or self.ended.is_set():
                    return list(self.events)

    def cancel(self):
        self.call.cancel()
        self._thread.join(10)

    def wait_end(self, timeout=10.0):
        self.ended.wait(timeout)
        return self.ended.is_set()


class AllotTestCase(unittest.TestCase):
    """Base class: start_server() gives a running allotd that is stopped
    (SIGTERM, exit code 0 asserted) after the test. When a test fails, the
    logs of every server it started are printed to stderr."""

    maxDiff = None

    def run(self, result=None):
        self._servers = []
        self._tmpdirs = []
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        try:
            return super().run(result)
        finally:
            failed = len(result.failures) + len(result.errors) > before
            if failed:
                for i, s in enumerate(self._servers):
                    sys.stderr.write("\n----- allotd #%d (%s) logs of %s -----\n%s"
                                     "----- end of logs -----\n"
                                     % (i + 1, s.address if s.port else "-", self.id(),
                                        s.log_text(all_runs=True)))
            keep = os.environ.get("ALLOT_IT_KEEP") == "1"
            for d in self._tmpdirs:
                if keep:
                    sys.stderr.write("kept %s\n" % d)
                else:
                    shutil.rmtree(d, ignore_errors=True)

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="allot-it-")
        self._tmpdirs.append(d)
        return d

    def new_server(self, workdir=None, **kw):
        """A Server object (not started) whose cleanup stops it."""
        s = Server(workdir or self.tmpdir(), **kw)
        self._servers.append(s)
        self.addCleanup(self._cleanup_server, s)
        return s

    def start_server(self, **kw):
        return self.new_server(**kw).start()

    def _cleanup_server(self, s):
        if s.running():
            s.stop()
        else:
            s.close_channel()

    # -- assertions --------------------------------------------------------
    def assertRpcError(self, code, field, fn, *args, **kw):
        """fn(*args, **kw) must fail with status code and a message that
        contains field. Returns the error."""
        try:
            resp = fn(*args, **kw)
        except grpc.RpcError as e:
            self.assertEqual(e.code(), code,
                             "want %s (%r), got %s: %r" % (code, field, e.code(), e.details()))
            if field is not None:
                self.assertIn(field, e.details() or "",
                              "message %r does not name %r" % (e.details(), field))
            return e
        self.fail("want %s naming %r, got OK: %r" % (code, field, resp))


# ---------------------------------------------------------------------------
# Fault, backup and soak helpers (test_faults, test_backup, test_soak).
# Additive only: nothing above depends on them.
# ---------------------------------------------------------------------------

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                     "ThreadSanitizer", "runtime error:")


def sanitizer_reports(text):
    """The lines of text that look like a sanitizer report ([] when none).
    ASan exits with 1 by default, so an expected "exit 1" must also be
    checked for these."""
    return [ln for ln in text.splitlines() if any(m in ln for m in SANITIZER_MARKERS)]


def allotd_is_sanitized():
    """True when allotd was built with AddressSanitizer (ALLOT_SANITIZE=ON)."""
    with open(allotd_path(), "rb") as f:
        return b"__asan_init" in f.read()


def run_allotd(args, timeout=60, cwd=None, env=None, user=None, group=None):
    """Runs `allotd ARGS` to completion (for --verify, --backup, or a start
    that must fail). Returns (exit code, stdout + stderr). user/group: run
    as that uid/gid (tests running as root use it to meet a permission
    check), through setpriv (util-linux): Popen(user=...) would make Python
    fork() rather than vfork(), and a fork runs grpcio 1.51's pthread_atfork
    handler, which waits for gRPC's thread pool to go idle and, on a busy
    machine, was seen to wait forever. Kills it and raises AssertionError
    if it does not exit within timeout."""
    e = dict(os.environ)
    if env:
        e.update(env)
    argv = [allotd_path()] + list(args)
    if user is not None:
        argv = ["setpriv", "--reuid=%d" % user,
                "--regid=%d" % (group if group is not None else user), "--clear-groups",
                "--"] + argv
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, cwd=cwd or tempfile.gettempdir(), env=e)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        raise AssertionError("`%s` did not exit within %.0f s:\n%s"
                             % (" ".join(argv), timeout, out.decode("utf-8", "replace")))
    return p.returncode, out.decode("utf-8", "replace")


def run_backup(data_dir, dest, timeout=60):
    """Runs `allotd --backup DEST --data DIR`; returns (exit code, output)."""
    return run_allotd(["--backup", dest, "--data", data_dir], timeout=timeout)


def start_must_fail(data_dir, extra_args=(), timeout=15, user=None):
    """Starts allotd to serve on a free loopback port with --data data_dir
    (which, unlike Server.start, is not created first) and waits for it to
    exit. Returns (exit code, output); AssertionError if it is still
    running after timeout (it is then killed)."""
    args = ["--listen", "127.0.0.1:%d" % free_port(), "--data", data_dir] + list(extra_args)
    return run_allotd(args, timeout=timeout, user=user)


def proc_status_kib(pid):
    """The kB fields of /proc/PID/status (VmRSS, RssAnon, RssFile, VmHWM,
    ...) as a dict of ints, in KiB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            k, _, v = ln.partition(":")
            v = v.split()
            if len(v) == 2 and v[1] == "kB":
                out[k] = int(v[0])
    return out


def tree_digest(path):
    """A digest of every regular file under path except LMDB's lock.mdb
    (names and contents): equal digests mean nothing was written."""
    import hashlib
    h = hashlib.sha256()
    if os.path.isfile(path):
        with open(path, "rb") as f:
            h.update(f.read())
        return h.hexdigest()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            if name == "lock.mdb":
                continue
            p = os.path.join(root, name)
            h.update(os.path.relpath(p, path).encode() + b"\0")
            with open(p, "rb") as f:
                h.update(f.read())
    return h.hexdigest()
