"""Client: one method per allot RPC, plain Python values in and out."""

import copy
import ipaddress
import os
import random
import threading
import time

import grpc

from ._stubs import health_pb2, pb, pb_grpc
from .errors import AllotError
from .money import date_to_wire
from .types import (Allotments, AuditPage, InvoiceLine, Member, Plan, PlanVersion,
                    PricedInvoice, RecordedUsage, Saved, Service, ThresholdEvent, UsageSource,
                    VoidedInvoice)

__all__ = ["Client", "ThresholdWatch", "DEFAULT_ADDR", "is_loopback_addr", "read_token_file"]

DEFAULT_ADDR = "127.0.0.1:50051"
_HEALTH_CHECK = "/grpc.health.v1.Health/Check"

# Reconnect quickly after a server restart (the library's default backoff
# grows to two minutes).
_CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 5000),
]


def _invalid(e):
    return AllotError(grpc.StatusCode.INVALID_ARGUMENT, str(e))


# -- credentials ---------------------------------------------------------------

def is_loopback_addr(addr):
    """True when addr (a gRPC target: "127.0.0.1:50051", "localhost:1",
    "[::1]:1", "ipv4:127.0.0.1:1", "unix:/path") can only reach this
    machine. Anything else, DNS names included, is not loopback."""
    a = str(addr).strip()
    if a.startswith(("unix:", "unix-abstract:")):
        return True
    for scheme in ("ipv4:", "ipv6:", "dns:///", "dns:"):
        if a.startswith(scheme):
            a = a[len(scheme):]
            break
    if a.startswith("["):
        host, sep, rest = a[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return False
    else:
        host, sep, port = a.rpartition(":")
        if not sep:
            host = a
        elif ":" in host:
            return False  # an unbracketed IPv6 address and a port: ambiguous
    if host.lower() == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _read_pem(value, what):
    """PEM bytes from bytes, a PEM string, or a file path (str or PathLike)."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    elif isinstance(value, str) and value.lstrip().startswith("-----BEGIN"):
        data = value.encode("ascii")
    else:
        try:
            with open(value, "rb") as f:
                data = f.read()
        except OSError as e:
            raise ValueError("%s: cannot read %s: %s" % (what, value, e.strerror)) from None
    if b"-----BEGIN" not in data:
        raise ValueError("%s: not PEM (no \"-----BEGIN\" line)" % what)
    return data


def _check_token(token, what="token"):
    if not isinstance(token, str):
        raise TypeError("%s: want a str, got %s" % (what, type(token).__name__))
    if not token:
        raise ValueError("%s: empty" % what)
    if any(not (0x20 < ord(ch) < 0x7f) for ch in token):
        raise ValueError("%s: a token is printable ASCII without spaces" % what)
    return token


def read_token_file(path):
    """The token in path: its first line, surrounding blanks dropped (as
    allotctl reads --token-file; the whole output of `allotd --new-token`
    works too)."""
    try:
        with open(path, "r", encoding="ascii", errors="strict") as f:
            tok = f.readline(8192).strip()
    except OSError as e:
        raise ValueError("token_file: cannot read %s: %s" % (path, e.strerror)) from None
    except UnicodeDecodeError:
        raise ValueError("token_file: %s is not ASCII" % path) from None
    return _check_token(tok, "token_file %s" % path)


class _Bearer(grpc.AuthMetadataPlugin):
    """Call credentials sending "authorization: Bearer <token>"; source()
    gives the token for each call (it runs on a gRPC thread)."""

    def __init__(self, source):
        self._source = source

    def __call__(self, context, callback):
        try:
            tok = _check_token(self._source())
        except Exception as e:  # noqa: BLE001 - handed to gRPC, fails the call
            callback(None, e)
            return
        callback((("authorization", "Bearer " + tok),), None)


class Client:
    """A connection to allotd.

        with Client("127.0.0.1:50051") as c:
            left = c.get_allotments("m-1")

        # a server with TLS and --auth-config
        with Client("allot.example:50051", tls_ca="/etc/allot/ca.pem",
                    token_file="/etc/allot/front-desk.token") as c:
            ...

        c = Client.from_env()   # ALLOT_ADDR, ALLOT_TLS_CA, ALLOT_TOKEN, ...

    timeout: seconds allowed for each call (a deadline), unless a method is
    given its own timeout=. Every failure raises AllotError(code, message)
    (UnauthenticatedError / PermissionDeniedError for those two codes).
    wait_for_ready: False (gRPC's default) fails a call at once with
    UNAVAILABLE while the server cannot be reached (right for interactive
    use: the portal answers 503 at once); True lets unary calls wait for the
    connection until their deadline (for batch jobs riding out a restart).

    Transport security (keyword only; all optional):
      tls_ca            the CA that signed allotd's certificate: PEM bytes or
                        a file path. Turns TLS on.
      tls_cert,         the client's certificate chain and private key (PEM
      tls_key           bytes or paths), for a server started with
                        --tls-client-ca (mutual TLS). Together or not at all.
      tls_target_name   the name to check the server's certificate against
                        when it differs from the host in addr (dialing an IP
                        address whose certificate names a host, say).
      tls               True: TLS even without tls_ca (the system's trusted
                        CAs). Default: TLS when any tls_* option is given.
    Credentials (keyword only):
      token             a service token or portal JWT, sent as
                        "authorization: Bearer <token>" on every call,
                        WatchThresholds streams included; or a callable
                        returning one, called for each call (from gRPC's
                        threads: make it thread-safe).
      token_file        a file holding the token (read once, here).
      insecure          with a token but without TLS, the token would cross
                        the network in clear text: allowed only when addr is
                        loopback (127.0.0.0/8, ::1, localhost, unix:) unless
                        insecure=True (a network trusted as a whole).
    On TLS the token travels as gRPC call credentials (which gRPC never
    sends over an unencrypted connection); without TLS, or on a channel=
    the caller made, as plain call metadata. Bad options raise ValueError
    (TypeError for wrong types).
    with_token(t) gives a client on the same connection with another token.
    The client is safe to share between threads."""

    def __init__(self, addr=DEFAULT_ADDR, timeout=10, channel=None, options=(),
                 wait_for_ready=False, *, tls_ca=None, tls_cert=None, tls_key=None,
                 tls_target_name=None, tls=None, token=None, token_file=None,
                 insecure=False):
        self.addr = addr
        self.timeout = timeout
        self.wait_for_ready = wait_for_ready
        self.insecure = bool(insecure)
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("tls_cert and tls_key go together (mutual TLS)")
        if tls is None:
            tls = any(x is not None for x in (tls_ca, tls_cert, tls_target_name))
        elif not tls and any(x is not None for x in (tls_ca, tls_cert, tls_target_name)):
            raise ValueError("tls=False with tls_ca / tls_cert / tls_target_name")
        if channel is not None and tls:
            raise ValueError("channel= is already made: pass TLS options or a channel, "
                             "not both")
        if token is not None and token_file is not None:
            raise ValueError("token and token_file: give one")
        if token_file is not None:
            token = read_token_file(token_file)
        if token is not None and not callable(token):
            _check_token(token)
        self.tls = bool(tls) if channel is None else None  # None: the caller's channel
        self._token = token
        if token is not None and channel is None and not tls:
            self._check_plaintext_token()

        self._own_channel = channel is None
        if channel is not None:
            self._channel = channel
        else:
            opts = _CHANNEL_OPTIONS + list(options)
            if tls:
                creds = grpc.ssl_channel_credentials(
                    root_certificates=_read_pem(tls_ca, "tls_ca"),
                    private_key=_read_pem(tls_key, "tls_key"),
                    certificate_chain=_read_pem(tls_cert, "tls_cert"))
                if tls_target_name:
                    opts.append(("grpc.ssl_target_name_override", tls_target_name))
                self._channel = grpc.secure_channel(addr, creds, options=opts)
            else:
                self._channel = grpc.insecure_channel(addr, options=opts)
        self._init_stubs()
        self._init_auth()

    @classmethod
    def from_env(cls, environ=None, **kw):
        """A client configured from the environment; keyword arguments that
        are not None win over it (so argparse defaults of None fall back):

          ALLOT_ADDR        addr (default 127.0.0.1:50051)
          ALLOT_TLS_CA      tls_ca: the CA file; turns TLS on
          ALLOT_TLS_CLIENT_CERT    tls_cert: client certificate chain (mutual TLS)
          ALLOT_TLS_CLIENT_KEY     tls_key: its private key
          ALLOT_TOKEN       token
          ALLOT_TOKEN_FILE  token_file (prefer it: a file is not inherited
                            by every child process and not shown by ps e)

        Empty variables count as unset. Other keywords (timeout,
        wait_for_ready, tls_target_name, insecure, ...) pass through."""
        env = os.environ if environ is None else environ

        def get(name):
            v = env.get(name)
            return v if v else None

        given = {k: v for k, v in kw.items() if v is not None}
        conf = {"addr": get("ALLOT_ADDR") or DEFAULT_ADDR, "tls_ca": get("ALLOT_TLS_CA"),
                "tls_cert": get("ALLOT_TLS_CLIENT_CERT"), "tls_key": get("ALLOT_TLS_CLIENT_KEY")}
        # a token given by argument replaces the environment's (either kind)
        if "token" not in given and "token_file" not in given:
            conf["token"] = get("ALLOT_TOKEN")
            conf["token_file"] = get("ALLOT_TOKEN_FILE")
            if conf["token"] and conf["token_file"]:
                raise ValueError("ALLOT_TOKEN and ALLOT_TOKEN_FILE are both set: give one")
        conf.update(given)
        conf = {k: v for k, v in conf.items() if v is not None}
        return cls(**conf)

    def with_token(self, token):
        """A client on the same connection (and with the same settings)
        sending token instead (a str, a callable, or None for no credential).
        Closing it does not close the connection; it lives as long as self
        stays open. For a portal calling for one member with that member's
        JWT:  client.with_token(jwt).get_allotments(member_id)."""
        if token is not None and not callable(token):
            _check_token(token)
        other = copy.copy(self)
        other._own_channel = False
        other._token = token
        if token is not None and self.tls is False:
            other._check_plaintext_token()
        other._init_auth()
        return other

    def _check_plaintext_token(self):
        if not self.insecure and not is_loopback_addr(self.addr):
            raise ValueError(
                "a token without TLS would cross the network in clear text to %s: give "
                "tls_ca (or tls=True), or insecure=True for a network trusted as a whole"
                % self.addr)

    def _init_stubs(self):
        self._stub = pb_grpc.AllotStub(self._channel)
        self._health = self._channel.unary_unary(
            _HEALTH_CHECK,
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString)

    def _init_auth(self):
        """_auth: the keyword arguments that carry the token on each call."""
        tok = self._token
        if tok is None:
            self._auth = {}
        elif not self.tls:
            # call credentials need a secure channel: plain metadata without
            # TLS, and on a caller's channel (which may be either)
            if callable(tok):
                self._auth = None  # computed per call, see _auth_kw
            else:
                self._auth = {"metadata": (("authorization", "Bearer " + tok),)}
        else:
            # TLS: call credentials on top of the channel's, which gRPC
            # sends only over a secure connection
            source = tok if callable(tok) else (lambda t=tok: t)
            self._auth = {"credentials": grpc.metadata_call_credentials(
                _Bearer(source), name="allot-bearer")}

    def _auth_kw(self):
        if self._auth is not None:
            return self._auth
        return {"metadata": (("authorization", "Bearer " + _check_token(self._token())),)}

    @property
    def channel(self):
        """The grpc.Channel (for stubs of other services on the same connection)."""
        return self._channel

    # -- plumbing -----------------------------------------------------------
    def close(self):
        if self._own_channel and self._channel is not None:
            self._channel.close()
        self._channel = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method, request, timeout):
        try:
            return getattr(self._stub, method)(
                request, timeout=self.timeout if timeout is None else timeout,
                wait_for_ready=self.wait_for_ready, **self._auth_kw())
        except grpc.RpcError as e:
            raise AllotError.from_rpc(e) from None

    # -- health -------------------------------------------------------------
    def health(self, service="", timeout=None):
        """The grpc.health.v1 status name: 'SERVING', 'NOT_SERVING', ...
        service: "" for the server, "allot.v1.Allot" for the service."""
        try:
            resp = self._health(health_pb2.HealthCheckRequest(service=service),
                                timeout=self.timeout if timeout is None else timeout,
                                wait_for_ready=self.wait_for_ready, **self._auth_kw())
        except grpc.RpcError as e:
            raise AllotError.from_rpc(e) from None
        return health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)

    # -- catalog ------------------------------------------------------------
    def put_service(self, service: Service, timeout=None) -> Saved:
        """Creates or replaces a service; Saved(Service, created)."""
        resp = self._call("PutService", pb.PutServiceRequest(service=service.to_pb()), timeout)
        return Saved(Service.from_pb(resp.service), resp.created)

    def list_services(self, page_size=0, timeout=None):
        """Every service in code order (a generator; fetches page after page)."""
        token = ""
        while True:
            resp = self._call("ListServices",
                              pb.ListServicesRequest(page_size=page_size, page_token=token),
                              timeout)
            for s in resp.services:
                yield Service.from_pb(s)
            token = resp.next_page_token
            if not token:
                return

    # -- plans --------------------------------------------------------------
    def put_plan(self, plan_id, version: PlanVersion, name="", timeout=None) -> Saved:
        """Adds a version (creating the plan); Saved(Plan, created) where
        created tells whether the version was new."""
        try:
            req = pb.PutPlanRequest(plan_id=plan_id, name=name, version=version.to_pb())
        except ValueError as e:
            raise _invalid(e) from None
        resp = self._call("PutPlan", req, timeout)
        return Saved(Plan.from_pb(resp.plan), resp.created)

    def get_plan(self, plan_id, timeout=None) -> Plan:
        return Plan.from_pb(self._call("GetPlan", pb.GetPlanRequest(plan_id=plan_id), timeout))

    def list_plans(self, page_size=0, timeout=None):
        """Every plan in id order, each with all its versions (a generator)."""
        token = ""
        while True:
            resp = self._call("ListPlans",
                              pb.ListPlansRequest(page_size=page_size, page_token=token), timeout)
            for p in resp.plans:
                yield Plan.from_pb(p)
            token = resp.next_page_token
            if not token:
                return

    # -- members ------------------------------------------------------------
    def put_member(self, member: Member, timeout=None) -> Saved:
        """Creates or replaces a member; Saved(Member, created)."""
        try:
            req = pb.PutMemberRequest(member=member.to_pb())
        except ValueError as e:
            raise _invalid(e) from None
        resp = self._call("PutMember", req, timeout)
        return Saved(Member.from_pb(resp.member), resp.created)

    def get_member(self, member_id, timeout=None) -> Member:
        return Member.from_pb(self._call("GetMember", pb.GetMemberRequest(member_id=member_id),
                                         timeout))

    # -- pricing ------------------------------------------------------------
    @staticmethod
    def _invoice_request(invoice_id, member_id, lines):
        if isinstance(lines, InvoiceLine):
            lines = [lines]
        try:
            return pb.PriceInvoiceRequest(invoice_id=invoice_id, member_id=member_id,
                                          lines=[ln.to_pb(i) for i, ln in enumerate(lines)])
        except ValueError as e:
            raise _invalid(e) from None

    def price_invoice(self, invoice_id, member_id, lines, timeout=None) -> PricedInvoice:
        """Prices the lines and records their usage, durably. Idempotent on
        invoice_id (the same content returns the stored answer)."""
        return PricedInvoice.from_pb(self._call(
            "PriceInvoice", self._invoice_request(invoice_id, member_id, lines), timeout))

    def preview_invoice(self, member_id, lines, invoice_id="", timeout=None) -> PricedInvoice:
        """What price_invoice would answer now; records nothing."""
        return PricedInvoice.from_pb(self._call(
            "PreviewInvoice", self._invoice_request(invoice_id, member_id, lines), timeout))

    def void_invoice(self, invoice_id, line_id="", timeout=None) -> VoidedInvoice:
        """Restores the usage of the whole invoice, or of one line."""
        return VoidedInvoice.from_pb(self._call(
            "VoidInvoice", pb.VoidInvoiceRequest(invoice_id=invoice_id, line_id=line_id),
            timeout))

    def record_usage(self, usage_id, member_id, rule_key, service_date, amount,
                     source=UsageSource.PRIOR, note="", timeout=None) -> RecordedUsage:
        """Records prior / external usage or an adjustment (amount in the
        rule's unit: units, or cents for amount rules). Idempotent on usage_id."""
        try:
            req = pb.RecordUsageRequest(usage_id=usage_id, member_id=member_id,
                                        rule_key=rule_key,
                                        service_date=date_to_wire(service_date, "service_date"),
                                        amount=amount, source=int(source), note=note)
        except ValueError as e:
            raise _invalid(e) from None
        return RecordedUsage.from_pb(self._call("RecordUsage", req, timeout))

    def void_usage(self, usage_id, timeout=None) -> bool:
        """True when voided now, False when it was voided already."""
        return self._call("VoidUsage", pb.VoidUsageRequest(usage_id=usage_id), timeout).voided

    # -- views --------------------------------------------------------------
    def get_allotments(self, member_id, as_of=None, timeout=None) -> Allotments:
        """What the member has left on as_of (None: today in the server's
        calendar), per rule of the plan in force."""
        try:
            req = pb.GetAllotmentsRequest(member_id=member_id,
                                          as_of=date_to_wire(as_of, "as_of"))
        except ValueError as e:
            raise _invalid(e) from None
        return Allotments.from_pb(self._call("GetAllotments", req, timeout))

    # -- audit trail (admin) ---------------------------------------------------
    def list_audit(self, from_seq=0, limit=0, timeout=None) -> AuditPage:
        """One page of the audit trail: entries with seq >= from_seq, oldest
        first, at most limit (0: the server's 100; at most 1000), with
        next_seq to continue from (an exporter keeps it and polls) and more."""
        return AuditPage.from_pb(self._call(
            "ListAudit", pb.ListAuditRequest(from_seq=from_seq, limit=limit), timeout))

    def iter_audit(self, from_seq=0, page_size=0, timeout=None):
        """Every stored audit entry from from_seq on (a generator; page after page)."""
        while True:
            page = self.list_audit(from_seq, page_size, timeout)
            yield from page.entries
            if not page.more:
                return
            from_seq = page.next_seq

    def watch_thresholds(self, from_seq=0, member_id="", resume=True, *,
                         initial_backoff=0.1, max_backoff=5.0, give_up_after=None):
        """Threshold events with seq >= from_seq, stored ones first, then live
        ones; a ThresholdWatch, which iterates like a generator:

            for ev in client.watch_thresholds(from_seq=last + 1):
                ...

        resume: when the stream fails with UNAVAILABLE (the server stopped or
        is not reachable), reconnect with exponential backoff (initial_backoff
        doubling up to max_backoff seconds, jittered) from the last seq seen
        + 1, so no event is missed or repeated. give_up_after: seconds of
        failing to reconnect after which AllotError(UNAVAILABLE) is raised
        (None: never). Other errors raise AllotError. Stop it with cancel()
        (from any thread) or close()."""
        return ThresholdWatch(self, from_seq, member_id, resume, initial_backoff,
                              max_backoff, give_up_after)


class ThresholdWatch:
    """An iterator of ThresholdEvent over WatchThresholds; see
    Client.watch_thresholds. next_seq is where a reconnect (or a later
    watch) starts; reconnects counts the reconnections."""

    # A stream that lived this long, or delivered an event, was connected:
    # the next failure starts again from initial_backoff.
    _HEALTHY_AFTER = 1.0

    def __init__(self, client, from_seq, member_id, resume, initial_backoff, max_backoff,
                 give_up_after):
        self._client = client
        self.member_id = member_id
        self.resume = resume
        self.next_seq = max(int(from_seq), 1)
        self.last_seq = None
        self.reconnects = 0
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.give_up_after = give_up_after
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._call = None
        self._gen = self._run()

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._gen)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def cancel(self):
        """Ends the iteration (StopIteration in the consuming thread). Thread-safe."""
        self._cancelled.set()
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()

    def close(self):
        """cancel(), then closes the generator (from the consuming thread only)."""
        self.cancel()
        try:
            self._gen.close()
        except ValueError:
            pass  # running in another thread: cancel() ends it

    @property
    def cancelled(self):
        return self._cancelled.is_set()

    def _start(self):
        req = pb.WatchThresholdsRequest(from_seq=self.next_seq, member_id=self.member_id)
        with self._lock:
            if self._cancelled.is_set():
                return None
            # No deadline: the stream never ends by itself.
            self._call = self._client._stub.WatchThresholds(req, **self._client._auth_kw())
            return self._call

    def _run(self):
        backoff = self.initial_backoff
        failing_since = None
        while True:
            call = self._start()
            if call is None:
                return
            started = time.monotonic()
            delivered = False
            error = None
            try:
                for m in call:
                    ev = ThresholdEvent.from_pb(m)
                    if self.last_seq is not None and ev.seq <= self.last_seq:
                        continue  # never hand out an event twice
                    self.last_seq = ev.seq
                    self.next_seq = ev.seq + 1
                    delivered = True
                    yield ev
            except grpc.RpcError as e:
                if self._cancelled.is_set():
                    return
                if not self.resume or e.code() != grpc.StatusCode.UNAVAILABLE:
                    raise AllotError.from_rpc(e) from None
                error = e
            finally:
                call.cancel()  # a no-op once it ended; ends it if the consumer left
                with self._lock:
                    self._call = None
            if self._cancelled.is_set():
                return
            if error is None and not self.resume:
                return  # the server ended the stream (it should not)
            now = time.monotonic()
            if delivered or now - started >= self._HEALTHY_AFTER:
                backoff = self.initial_backoff
                failing_since = None
            if failing_since is None:
                failing_since = now
            if self.give_up_after is not None and now - failing_since >= self.give_up_after:
                msg = error.details() if error is not None else "stream ended"
                raise AllotError(grpc.StatusCode.UNAVAILABLE,
                                 "WatchThresholds: no connection for %.1f s: %s"
                                 % (now - failing_since, msg))
            if self._cancelled.wait(backoff * random.uniform(0.5, 1.0)):
                return
            backoff = min(backoff * 2, self.max_backoff)
            self.reconnects += 1
