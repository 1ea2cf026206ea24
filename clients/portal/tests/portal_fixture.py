"""Shared by the portal's tests: a real allotd (tests/integration/harness.py)
with sample data, and portal.py running against it on a free port.

Sample data (as of 2025-06-01):
  m-1001  household h-7, anniversary 2024-03-15
          home-visits  2 per membership year, 1 used on 2025-04-04
                       -> "1 of 2 home visits left", "resets 15 Mar 2026"
          labs         $500 per calendar year, household pool; m-1001 used
                       $120 on 2025-02-10, m-1002 $80 on 2025-03-01
                       -> "$300.00 of $500.00 left", only 10 Feb 2025 listed
          massage      12 per membership year, 9 used before joining
  m-1002  same household
  <b>&"x'/1  an id full of HTML and URL syntax, enrolled like m-1001
"""

import datetime
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PORTAL_DIR = os.path.normpath(os.path.join(HERE, ".."))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "clients", "python"))
sys.path.insert(0, PORTAL_DIR)

import harness  # noqa: E402,F401  (puts $ALLOT_PYGEN on sys.path)
from harness import AllotTestCase  # noqa: E402

import allot_client as ac  # noqa: E402

date = datetime.date
AS_OF = date(2025, 6, 1)
MEMBER = "m-1001"
NEIGHBOUR = "m-1002"
ODD_ID = "<b>&\"x'/1"
SCRIPT_ID = "<script>alert(1)</script>"
PORTAL = os.path.join(PORTAL_DIR, "portal.py")


def artifacts_dir():
    """Where screenshots go: $ALLOT_PORTAL_ARTIFACTS (ctest: the build dir)."""
    d = os.environ.get("ALLOT_PORTAL_ARTIFACTS") or os.path.join(
        REPO, "build", "clients", "portal")
    os.makedirs(d, exist_ok=True)
    return d


def load_sample(addr, admin_kw=None, billing_kw=None):
    """The sample data. admin_kw / billing_kw: Client options (TLS, token)
    for the coverage set-up and for pricing, on a secured allotd."""
    admin_kw = dict(admin_kw or {})
    with ac.Client(addr, timeout=harness.RPC_TIMEOUT, **admin_kw) as c:
        c.put_service(ac.Service("HOME_VISIT", "Home visit", 15000))
        c.put_service(ac.Service("LAB", "Lab panel", 12000))
        c.put_service(ac.Service("MASSAGE", "Massage session", 9000))
        c.put_plan("family", ac.PlanVersion(date(2024, 1, 1), [
            ac.Rule("home-visits", ["HOME_VISIT"], ac.LimitKind.QUANTITY, 2,
                    ac.Period.member_year()),
            ac.Rule("labs", ["LAB"], ac.LimitKind.AMOUNT, 50000, ac.Period.calendar_year(),
                    ac.PoolKind.HOUSEHOLD),
            ac.Rule("massage", ["MASSAGE"], ac.LimitKind.QUANTITY, 12, ac.Period.member_year()),
        ]), name="Family Membership")
        for mid in (MEMBER, NEIGHBOUR, ODD_ID):
            c.put_member(ac.Member(mid, [ac.Enrollment("family", date(2024, 3, 15))],
                                   household_id="h-7"))
    with ac.Client(addr, timeout=harness.RPC_TIMEOUT, **dict(billing_kw or admin_kw)) as c:
        c.price_invoice("inv-1", MEMBER, [ac.InvoiceLine("HOME_VISIT", date(2025, 4, 4)),
                                          ac.InvoiceLine("LAB", date(2025, 2, 10))])
        c.price_invoice("inv-2", NEIGHBOUR, [ac.InvoiceLine("LAB", date(2025, 3, 1),
                                                            unit_price_cents=8000)])
        c.record_usage("prior-1", MEMBER, "massage", date(2025, 3, 20), 9,
                       ac.UsageSource.PRIOR, note="at the previous practice")


class Portal:
    """portal.py as a child process on a free port."""

    def __init__(self, allot_addr, workdir, extra_args=()):
        self.log_path = os.path.join(workdir, "portal.log")
        env = dict(os.environ)
        for k in ("ALLOT_TLS_CA", "ALLOT_TLS_CLIENT_CERT", "ALLOT_TLS_CLIENT_KEY"):
            env.pop(k, None)   # only what the test passes
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, PORTAL, "--allot-addr", allot_addr, "--listen", "127.0.0.1:0",
             "--timeout", "3"] + list(extra_args),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log, env=env,
            cwd=workdir)
        line = self.proc.stdout.readline().decode("utf-8", "replace")
        if "listening on http://" not in line:
            self.stop(check=False)
            raise AssertionError("portal did not start: %r\n%s" % (line, self.log_text()))
        self.url = line.split("listening on ", 1)[1].split()[0].rstrip("/")

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, check=True):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc.stdout.close()
        self._log.close()
        if check and rc != 0:
            raise AssertionError("portal exited with %s:\n%s" % (rc, self.log_text()))
        return rc


class PortalTestCase(AllotTestCase):
    """start_all(): allotd with the sample data, and the portal against it."""

    def start_all(self):
        self.allotd = self.start_server()
        load_sample(self.allotd.address)
        self.portal = Portal(self.allotd.address, self.tmpdir())
        self.addCleanup(self._stop_portal)
        return self.portal

    def _stop_portal(self):
        try:
            self.portal.stop()
        finally:
            self._portal_log = self.portal.log_text()  # its directory goes away

    def run(self, result=None):
        self._portal_log = None
        before = len(result.failures) + len(result.errors) if result else 0
        try:
            return super().run(result)
        finally:
            if result and len(result.failures) + len(result.errors) > before \
                    and self._portal_log is not None:
                sys.stderr.write("\n----- portal log -----\n%s----- end -----\n"
                                 % self._portal_log)


def wait_until(fn, timeout=10.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)
