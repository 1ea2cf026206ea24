"""Client: one method per allot RPC, plain Python values in and out."""

import random
import threading
import time

import grpc

from ._stubs import health_pb2, pb, pb_grpc
from .errors import AllotError
from .money import date_to_wire
from .types import (Allotments, InvoiceLine, Member, Plan, PlanVersion, PricedInvoice,
                    RecordedUsage, Saved, Service, ThresholdEvent, UsageSource,
                    VoidedInvoice)

__all__ = ["Client", "ThresholdWatch", "DEFAULT_ADDR"]

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


class Client:
    """A connection to allotd.

        with Client("127.0.0.1:50051") as c:
            left = c.get_allotments("m-1")

    timeout: seconds allowed for each call (a deadline), unless a method is
    given its own timeout=. Every failure raises AllotError(code, message).
    wait_for_ready: False (gRPC's default) fails a call at once with
    UNAVAILABLE while the server cannot be reached (right for interactive
    use: the portal answers 503 at once); True lets unary calls wait for the
    connection until their deadline (for batch jobs riding out a restart).
    The client is safe to share between threads."""

    def __init__(self, addr=DEFAULT_ADDR, timeout=10, channel=None, options=(),
                 wait_for_ready=False):
        self.addr = addr
        self.timeout = timeout
        self.wait_for_ready = wait_for_ready
        self._own_channel = channel is None
        self._channel = channel or grpc.insecure_channel(
            addr, options=_CHANNEL_OPTIONS + list(options))
        self._stub = pb_grpc.AllotStub(self._channel)
        self._health = self._channel.unary_unary(
            _HEALTH_CHECK,
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString)

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
                wait_for_ready=self.wait_for_ready)
        except grpc.RpcError as e:
            raise AllotError.from_rpc(e) from None

    # -- health -------------------------------------------------------------
    def health(self, service="", timeout=None):
        """The grpc.health.v1 status name: 'SERVING', 'NOT_SERVING', ...
        service: "" for the server, "allot.v1.Allot" for the service."""
        try:
            resp = self._health(health_pb2.HealthCheckRequest(service=service),
                                timeout=self.timeout if timeout is None else timeout,
                                wait_for_ready=self.wait_for_ready)
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
            self._call = self._client._stub.WatchThresholds(req)
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
