"""allotctl end to end: the real allotd (started by the integration harness
on a free port with a temporary data directory) driven by the real allotctl,
including the README walkthrough examples/first-invoice.sh, and allotctl
against a server with TLS, mutual TLS and bearer tokens (certificates made
with the openssl command, tokens with `allotd --new-token`), and the audit
trail (`allotctl audit`).

Environment (set by ctest, see clients/cli/CMakeLists.txt):
  ALLOTD          allotd binary
  ALLOTCTL        allotctl binary
  ALLOT_PYGEN     Python stubs (the harness needs them)
  ALLOT_EXAMPLES  the examples/ directory

Run with Debian's /usr/bin/python3 (python3-grpcio).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402
import pki as certs  # noqa: E402  (pki() below is the fixture)

ALLOTCTL = os.environ.get("ALLOTCTL")
EXAMPLES = os.environ.get("ALLOT_EXAMPLES", os.path.join(HERE, "..", "..", "examples"))
RUN_TIMEOUT = 60  # seconds per allotctl run (sanitizer builds are slow)

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
SECURITY_ENV = ("ALLOT_TLS_CA", "ALLOT_TLS_CLIENT_CERT", "ALLOT_TLS_CLIENT_KEY", "ALLOT_TOKEN",
                "ALLOT_TOKEN_FILE")


def need_allotctl():
    if not ALLOTCTL or not os.access(ALLOTCTL, os.X_OK):
        raise RuntimeError("ALLOTCTL=%r is not an executable (run through ctest)" % ALLOTCTL)
    return ALLOTCTL


class CliTestCase(harness.AllotTestCase):
    """A running allotd per test and helpers to run allotctl against it."""

    def setUp(self):
        need_allotctl()
        self.server = self.start_server()
        self.work = self.tmpdir()

    def env(self, addr=None, extra=None):
        """The environment of an allotctl run: ALLOT_ADDR, none of the
        security variables of the caller's environment, then extra."""
        env = {k: v for k, v in os.environ.items() if k not in SECURITY_ENV}
        env["ALLOT_ADDR"] = addr or self.server.address
        env["ALLOTCTL"] = ALLOTCTL
        env.update(extra or {})
        return env

    def ctl(self, *args, addr=None, want=0, stdin=None, env=None):
        """Runs allotctl (env: extra variables); asserts the exit code and a
        sanitizer-clean stderr."""
        p = subprocess.run([ALLOTCTL] + list(args), env=self.env(addr, env), input=stdin,
                           capture_output=True, text=True, timeout=RUN_TIMEOUT)
        self.assertClean(p.stderr)
        if want is not None:
            self.assertEqual(p.returncode, want,
                             "allotctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(args), p.returncode, want, p.stdout, p.stderr))
        return p

    def ctl_json(self, *args):
        return json.loads(self.ctl("--json", *args).stdout)

    def assertClean(self, stderr):
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, stderr, "sanitizer report:\n" + stderr)

    def write(self, name, text):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def first_invoice(self):
        p = subprocess.run([os.path.join(EXAMPLES, "first-invoice.sh")], env=self.env(),
                           capture_output=True, text=True, timeout=4 * RUN_TIMEOUT)
        self.assertClean(p.stderr)
        self.assertEqual(p.returncode, 0, "first-invoice.sh failed:\n%s\n%s" % (p.stdout, p.stderr))
        return p.stdout


def table_rows(text, first_cell):
    """Rows of a printed table whose first cell is first_cell."""
    return [line for line in text.splitlines() if line.split()[:1] == [first_cell]]


class TestFirstInvoice(CliTestCase):

    def test_walkthrough_two_free_one_billed(self):
        out = self.first_invoice()
        self.assertIn("service HOME_VISIT created", out)
        self.assertIn("plan family: version from 2024-01-01 added", out)
        self.assertIn("member m-1 created", out)
        self.assertIn("Invoice inv-1 for member m-1", out)

        (l1,) = table_rows(out, "1")
        (l2,) = table_rows(out, "2")
        (l3,) = table_rows(out, "3")
        for free in (l1, l2):
            self.assertIn("HOME_VISIT", free)
            self.assertIn(" covered ", free)
            self.assertIn("$0.00", free)
            self.assertIn("2026-03-15", free)
        self.assertIn("1 of 2 left (home-visits)", l1)
        self.assertIn("0 of 2 left (home-visits)", l2)
        self.assertIn("2025-09-01", l3)
        self.assertIn("1 x $150.00", l3)
        self.assertIn("$150.00  patient m-1", l3)
        self.assertIn("allotment used up", l3)
        self.assertIn("0 of 2 left", l3)
        self.assertIn("2026-03-15", l3)
        self.assertIn("Total due: $150.00 (patient m-1 $150.00)", out)

        (home,) = table_rows(out, "home-visits")
        self.assertRegex(home, r"home-visits\s+0 of 2 left\s+used 2025-04-01 \(inv-1\), "
                               r"2025-06-01 \(inv-1\)\s+resets 2026-03-15")

    def test_walkthrough_runs_again_with_the_same_answer(self):
        first = self.first_invoice()
        again = self.first_invoice()
        self.assertIn("already stored, identical: nothing changed", again)
        self.assertIn("member m-1 replaced", again)

        def priced(text):
            start = text.index("Invoice inv-1")
            return text[start:text.index("Total due", start)]
        self.assertEqual(priced(first), priced(again))
        # Replaying inv-1 recorded nothing: still two uses.
        a = self.ctl_json("allotments", "m-1", "--as-of", "2025-09-02")
        home = [x for x in a["allotments"] if x["rule_key"] == "home-visits"][0]
        self.assertEqual(home["used"], 2)
        self.assertEqual(len(home["history"]), 2)


class TestJsonOutput(CliTestCase):

    def setUp(self):
        super().setUp()
        self.first_invoice()

    def test_price_json(self):
        r = self.ctl_json("price", "inv-1", "m-1", "HOME_VISIT@2025-04-01",
                          "HOME_VISIT@2025-06-01", "HOME_VISIT@2025-09-01")  # replay
        self.assertEqual(r["invoice_id"], "inv-1")
        self.assertFalse(r["preview"])
        self.assertEqual([l["amount_due_cents"] for l in r["lines"]], [0, 0, 15000])
        self.assertEqual([l["amount_due"] for l in r["lines"]], ["0.00", "0.00", "150.00"])
        self.assertEqual([l["reason"] for l in r["lines"]],
                         ["covered", "covered", "allotment_used_up"])
        last = r["lines"][2]
        self.assertEqual(last["carc"], "119")
        self.assertEqual(last["unit_price_cents"], 15000)
        self.assertEqual(last["reset_date"], "2026-03-15")
        self.assertEqual(last["due"], [{"payer": "patient", "payer_id": "m-1",
                                        "amount_cents": 15000, "amount": "150.00"}])
        self.assertEqual(r["total_due_cents"], 15000)
        self.assertEqual(r["total_due"], "150.00")
        self.assertIsNone(r["lines"][0]["carc"])

    def test_allotments_json(self):
        a = self.ctl_json("allotments", "m-1", "--as-of", "2025-09-02")
        self.assertEqual(a["plan_id"], "family")
        by_key = {x["rule_key"]: x for x in a["allotments"]}
        home = by_key["home-visits"]
        self.assertEqual((home["allowance"], home["used"], home["remaining"]), (2, 2, 0))
        self.assertEqual(home["reset_date"], "2026-03-15")
        self.assertEqual(home["period"], {"kind": "member_year"})
        self.assertEqual(home["x12_time_period"], "22")
        self.assertEqual([h["invoice_id"] for h in home["history"]], ["inv-1", "inv-1"])
        labs = by_key["labs"]
        self.assertEqual(labs["limit"], "amount")
        self.assertEqual((labs["allowance_cents"], labs["allowance"]), (50000, "500.00"))
        self.assertEqual(labs["pool"], "household")
        self.assertEqual(labs["member_cap"], "250.00")

    def test_plan_and_member_json_round_trip(self):
        plan = self.ctl_json("plan", "get", "family")
        self.assertEqual(plan["name"], "Family Membership")
        rules = {r["key"]: r for r in plan["versions"][0]["rules"]}
        self.assertEqual(rules["labs"]["allowance"], "500.00")
        self.assertEqual(rules["office-visits"]["unlimited"], True)
        self.ctl("plan", "put", self.write("plan.json", json.dumps(plan)))
        put = self.ctl_json("plan", "put", self.write("plan.json", json.dumps(plan)))
        self.assertEqual(put[0]["created"], False)

        member = self.ctl_json("member", "get", "m-1")
        self.assertEqual(member["enrollments"], [{"plan_id": "family", "start": "2024-03-15",
                                                  "end": None}])
        put = self.ctl_json("member", "put", self.write("m.json", json.dumps(member)))
        self.assertEqual(put[0]["created"], False)

        services = self.ctl_json("service", "list")
        self.assertEqual({s["code"]: s["cash_price"] for s in services}["HOME_VISIT"], "150.00")
        self.assertEqual(len(services), 5)
        self.assertEqual(len(self.ctl_json("plan", "list")), 1)

    def test_preview_records_nothing_and_void_restores(self):
        p = self.ctl("preview", "m-1", "HOME_VISIT@2026-04-01")
        self.assertIn("nothing recorded", p.stdout)
        self.assertIn("1 of 2 left", p.stdout)
        self.assertIn("2027-03-15", p.stdout)
        self.ctl("void", "inv-1", "3")
        v = self.ctl_json("void", "inv-1")
        self.assertEqual(sorted(v["voided_line_ids"]), ["1", "2"])
        self.assertIn("already voided", self.ctl("void", "inv-1").stdout)
        a = self.ctl_json("allotments", "m-1", "--as-of", "2025-09-02")
        home = [x for x in a["allotments"] if x["rule_key"] == "home-visits"][0]
        self.assertEqual(home["remaining"], 2)

    def test_price_from_a_file(self):
        inv = self.write("inv.json", json.dumps({
            "invoice_id": "inv-2", "member_id": "m-1", "lines": [
                {"line_id": "a", "service_code": "97110", "service_date": "2025-03-02",
                 "quantity": 3, "unit_price": "120.00"},
                "97112@2025-03-02=130"]}))
        r = self.ctl_json("price", "--file", inv)
        self.assertEqual([l["line_id"] for l in r["lines"]], ["a", "2"])
        self.assertEqual(r["lines"][0]["covered_quantity"], 3)
        self.assertEqual(r["total_due_cents"], 0)
        # Ids on the command line must agree with the file's; LINEs follow its lines.
        r = self.ctl_json("price", "inv-3", "m-1", "--file", self.write("l.json", json.dumps(
            {"lines": ["OFFICE_VISIT@2025-05-01"]})), "LAB_PANEL@2025-05-01")
        self.assertEqual([l["service_code"] for l in r["lines"]], ["OFFICE_VISIT", "LAB_PANEL"])
        self.assertEqual(r["lines"][0]["reason"], "covered")
        p = self.ctl("preview", "m-2", "--file", inv, want=2)
        self.assertIn('the command line says member "m-2" but the file says "m-1"', p.stderr)
        p = self.ctl("price", "--file", self.write("n.json", '{"lines": ["A@2025-01-01"]}'),
                     want=2)
        self.assertIn("no invoice id", p.stderr)

    def test_usage_record_in_the_rules_unit(self):
        out = self.ctl("usage", "record", "u-1", "m-1", "physical-therapy", "2025-01-10", "5",
                       "--source", "external", "--note", "from Dr. X").stdout
        self.assertIn("physical-therapy now 15 of 20 left", out)
        r = self.ctl_json("usage", "record", "u-2", "m-1", "labs", "2025-01-10", "80.50")
        self.assertEqual(r["rule"]["drawn_cents"], 8050)
        p = self.ctl("usage", "record", "u-3", "m-1", "labs", "2025-01-10", "80.555", want=2)
        self.assertIn("more than 2 decimals", p.stderr)
        p = self.ctl("usage", "record", "u-4", "m-1", "physical-therapy", "2025-01-10", "1.5",
                     want=2)
        self.assertIn("whole number of units", p.stderr)
        self.assertIn("voided", self.ctl("usage", "void", "u-1").stdout)


class TestErrors(CliTestCase):

    def setUp(self):
        super().setUp()
        self.first_invoice()

    def test_unknown_member(self):
        for args in (("allotments", "m-42"),
                     ("price", "inv-9", "m-42", "HOME_VISIT@2025-04-01"),
                     ("member", "get", "m-42")):
            p = self.ctl(*args, want=1)
            self.assertEqual(p.stderr, 'allotctl: member "m-42" not found\n', args)
            self.assertEqual(p.stdout, "")

    def test_server_refusals(self):
        p = self.ctl("price", "inv-1", "m-1", "HOME_VISIT@2025-04-02", want=1)
        self.assertIn('invoice "inv-1"', p.stderr)
        p = self.ctl("preview", "m-1", "NOPE@2025-04-02", want=1)
        self.assertEqual(p.stderr, 'allotctl: service "NOPE" not found\n')
        p = self.ctl("plan", "get", "nope", want=1)
        self.assertEqual(p.stderr, 'allotctl: plan "nope" not found\n')
        # A file the server finds wrong: the file, the plan and the field.
        bad = self.write("zero.json", json.dumps({
            "id": "z", "version": {"effective_from": "2024-01-01", "rules": [
                {"key": "a", "service_codes": ["A"], "limit": "quantity", "allowance": 1,
                 "period": "member_year", "pool": "household"}]}}))
        p = self.ctl("plan", "put", bad, want=1)
        self.assertRegex(p.stderr, r"^allotctl: .*zero\.json: plan z, version from 2024-01-01: "
                                   r"version\.rules\[0\]\.period")

    def test_bad_files(self):
        bad = self.write("bad.json", json.dumps({
            "id": "x", "version": {"effective_from": "2024-01-01", "rules": [
                {"key": "a", "service_codes": ["A"], "limit": "amount", "allowance": "1.234",
                 "period": "member_year"}]}}))
        p = self.ctl("plan", "put", bad, want=2)
        self.assertEqual(p.stderr, "allotctl: %s: version.rules[0].allowance: \"1.234\": more "
                                   "than 2 decimals (amounts are whole cents)\n" % bad)
        syntax = self.write("syntax.json", '{"id": "x",\n "version": }\n')
        p = self.ctl("plan", "put", syntax, want=2)
        self.assertTrue(p.stderr.startswith("allotctl: %s:2:" % syntax), p.stderr)
        p = self.ctl("member", "put", os.path.join(self.work, "missing.json"), want=2)
        self.assertIn("unable to open", p.stderr)
        typo = self.write("typo.json", json.dumps({"id": "m-2", "enrolments": []}))
        p = self.ctl("member", "put", typo, want=2)
        self.assertIn('unknown field "enrolments"', p.stderr)
        # Nothing was stored.
        self.ctl("plan", "get", "x", want=1)
        self.ctl("member", "get", "m-2", want=1)

    def test_usage_errors_exit_2(self):
        cases = [
            (("frobnicate",), "unknown command"),
            (("price", "inv-2", "m-1", "HOME_VISIT"), "bad LINE"),
            (("price", "inv-2", "m-1", "HOME_VISIT@2025-02-30"), "date"),
            (("price", "inv-2", "m-1"), "at least one LINE"),
            (("price", "--as-of", "2025-01-01", "i", "m", "A@2025-01-01"), "does not take --as-of"),
            (("allotments", "m-1", "--as-of", "2025-13-01"), "not a date"),
            (("allotments", "m-1", "--format", "xml"), "want table, json or fhir"),
            (("--timeout", "0", "health"), "--timeout"),
            (("service",), "needs a command"),
            (("--bogus",), "unknown option"),
            (("--token", "abc", "health"), "unknown option"),
            (("audit", "--limit", "0"), "--limit"),
            (("audit", "--from", "x"), "--from"),
            (("price", "--follow", "i", "m", "A@2025-01-01"), "does not take --follow"),
            (("--tls-cert", "c.pem", "--tls-key", "c.key", "health"), "needs --tls-ca"),
            (("--tls-ca", "/nonexistent/ca.pem", "health"), "/nonexistent/ca.pem"),
            (("--token-file", "/nonexistent/token", "health"), "/nonexistent/token"),
        ]
        for args, msg in cases:
            p = self.ctl(*args, want=2)
            self.assertIn(msg, p.stderr, args)
            self.assertTrue(p.stderr.startswith("allotctl: "), p.stderr)

    def test_help(self):
        p = self.ctl("--help")
        self.assertIn("Exit codes:", p.stdout)
        for code in ("0  ok", "1  the server said no", "2  usage", "3  unavailable",
                     "6  not authenticated", "7  permission denied"):
            self.assertIn(code, p.stdout)
        for opt in ("--tls-ca FILE", "--tls-cert FILE", "--tls-key FILE", "--tls-name NAME",
                    "--token-file FILE", "ALLOT_TOKEN_FILE", "ALLOT_TOKEN", "ALLOT_TLS_CA",
                    "ALLOT_TLS_CLIENT_CERT", "ALLOT_TLS_CLIENT_KEY", "  audit ", "--insecure"):
            self.assertIn(opt, p.stdout)
        self.assertNotIn("--token VALUE", p.stdout)
        sec = self.ctl("help", "security").stdout
        self.assertIn("no option that takes the token itself", sec)
        self.assertIn("  6  not authenticated", sec)
        audit = self.ctl("audit", "--help").stdout
        for opt in ("--from SEQ", "--limit N", "--follow"):
            self.assertIn(opt, audit)
        self.assertEqual(self.ctl("help", "price").stdout, self.ctl("price", "--help").stdout)
        self.assertIn("usage: allotctl usage record", self.ctl("usage", "record", "-h").stdout)
        self.assertIn("member_cap", self.ctl("help", "files").stdout)
        self.ctl("help", "nothing-like-this", want=2)

    def test_unreachable_server_exit_3(self):
        port = harness.free_port()
        p = self.ctl("health", addr="127.0.0.1:%d" % port, want=3)
        self.assertIn("cannot reach allotd at 127.0.0.1:%d" % port, p.stderr)
        p = self.ctl("allotments", "m-1", addr="127.0.0.1:%d" % port, want=3)
        self.assertIn("cannot reach allotd", p.stderr)

    def test_silent_server_times_out_exit_4(self):
        # A socket that accepts connections but never speaks HTTP/2.
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        try:
            addr = "127.0.0.1:%d" % s.getsockname()[1]
            t0 = time.monotonic()
            p = self.ctl("--timeout", "1.5", "health", addr=addr, want=4)
            self.assertLess(time.monotonic() - t0, 15)
            self.assertEqual(p.stderr, "allotctl: no answer from allotd at %s within 1.5 s "
                                       "(see --timeout)\n" % addr)
        finally:
            s.close()

    def test_health(self):
        self.assertIn("serving", self.ctl("health").stdout)
        self.assertEqual(self.ctl_json("health")["status"], "SERVING")
        self.ctl("health", "allot.v1.Allot")
        self.ctl("health", "no.such.Service", want=1)


# ---- FHIR ------------------------------------------------------------------

R4_TOP = {"resourceType", "id", "meta", "implicitRules", "language", "text", "contained",
          "extension", "modifierExtension", "identifier", "status", "purpose", "patient",
          "servicedDate", "servicedPeriod", "created", "requestor", "request", "outcome",
          "disposition", "insurer", "insurance", "preAuthRef", "form", "error"}
R4_INSURANCE = {"id", "extension", "modifierExtension", "coverage", "inforce", "benefitPeriod",
                "item"}
R4_ITEM = {"id", "extension", "modifierExtension", "category", "productOrService", "modifier",
           "provider", "excluded", "name", "description", "network", "unit", "term", "benefit",
           "authorizationRequired", "authorizationSupporting", "authorizationUrl"}
R4_BENEFIT = {"id", "extension", "modifierExtension", "type", "allowedUnsignedInt",
              "allowedString", "allowedMoney", "usedUnsignedInt", "usedString", "usedMoney"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?$")
UNIT = "http://terminology.hl7.org/CodeSystem/benefit-unit"
TERM = "http://terminology.hl7.org/CodeSystem/benefit-term"
BTYPE = "http://terminology.hl7.org/CodeSystem/benefit-type"


class TestFhir(CliTestCase):

    def setUp(self):
        super().setUp()
        self.first_invoice()

    def check_codeable(self, cc, system=None, codes=None):
        self.assertIsInstance(cc, dict)
        self.assertTrue(cc.get("coding") or cc.get("text"), cc)
        for c in cc.get("coding", []):
            self.assertIsInstance(c["code"], str)
            self.assertRegex(c["system"], r"^(https?|urn):")
            if system:
                self.assertEqual(c["system"], system)
            if codes:
                self.assertIn(c["code"], codes)

    def check_money(self, m):
        self.assertEqual(set(m), {"value", "currency"})
        self.assertIsInstance(m["value"], (int, float))
        self.assertEqual(m["currency"], "USD")

    def check_period(self, p):
        for k, v in p.items():
            self.assertIn(k, ("start", "end"))
            self.assertRegex(v, DATE)
        if "start" in p and "end" in p:
            self.assertLessEqual(p["start"], p["end"])

    def test_coverage_eligibility_response_shape(self):
        p = self.ctl("allotments", "m-1", "--as-of", "2025-09-02", "--format", "fhir")
        res = json.loads(p.stdout)
        self.assertLessEqual(set(res), R4_TOP)
        # Required (1..1 / 1..*) elements.
        self.assertEqual(res["resourceType"], "CoverageEligibilityResponse")
        self.assertIn(res["status"], ("active", "cancelled", "draft", "entered-in-error"))
        self.assertEqual(res["status"], "active")
        self.assertEqual(res["purpose"], ["benefits"])
        self.assertEqual(res["patient"], {"reference": "Patient/m-1"})
        self.assertRegex(res["created"], DATETIME)
        self.assertTrue(res["request"].get("reference") or res["request"].get("display")
                        or res["request"].get("identifier"))
        self.assertIn(res["outcome"], ("queued", "complete", "error", "partial"))
        self.assertEqual(res["outcome"], "complete")
        self.assertEqual(res["insurer"], {"display": "allot"})
        self.assertEqual(res["servicedDate"], "2025-09-02")

        (ins,) = res["insurance"]
        self.assertLessEqual(set(ins), R4_INSURANCE)
        self.assertIn("coverage", ins)
        self.assertIs(ins["inforce"], True)
        if "benefitPeriod" in ins:
            self.check_period(ins["benefitPeriod"])
        items = ins["item"]
        self.assertEqual([i["name"] for i in items],
                         ["home-visits", "office-visits", "physical-therapy", "neuromuscular",
                          "labs"])
        for it in items:
            self.assertLessEqual(set(it), R4_ITEM)
            # ces-1: a category or a productOrService, not both.
            self.assertTrue(("category" in it) != ("productOrService" in it), it)
            self.check_codeable(it["productOrService"])
            self.check_codeable(it["unit"], UNIT, ("individual", "family"))
            self.check_codeable(it["term"])
            for c in it["term"].get("coding", []):
                self.assertEqual(c["system"], TERM)
                self.assertIn(c["code"], ("annual", "day", "lifetime"))
            for b in it["benefit"]:
                self.assertLessEqual(set(b), R4_BENEFIT)
                self.check_codeable(b["type"], BTYPE, ("benefit",))
                allowed = [k for k in b if k.startswith("allowed")]
                used = [k for k in b if k.startswith("used")]
                self.assertLessEqual(len(allowed), 1)
                self.assertLessEqual(len(used), 1)
                for k in allowed + used:
                    if k.endswith("UnsignedInt"):
                        self.assertIsInstance(b[k], int)
                        self.assertGreaterEqual(b[k], 0)
                    elif k.endswith("Money"):
                        self.check_money(b[k])
                    else:
                        self.assertIsInstance(b[k], str)
            for e in it.get("extension", []):
                self.assertEqual(set(e), {"url", "valuePeriod"})
                self.assertRegex(e["url"], r"^(https?|urn):")
                self.check_period(e["valuePeriod"])

        home, office, pt, neuro, labs = items
        self.assertEqual(home["productOrService"]["coding"][0]["code"], "HOME_VISIT")
        self.assertEqual(home["unit"]["coding"][0]["code"], "individual")
        self.assertEqual(home["term"]["coding"][0]["code"], "annual")
        self.assertEqual(home["benefit"][0]["allowedUnsignedInt"], 2)
        self.assertEqual(home["benefit"][0]["usedUnsignedInt"], 2)
        self.assertEqual(home["extension"][0]["valuePeriod"],
                         {"start": "2025-03-15", "end": "2026-03-14"})
        self.assertIn("resets 2026-03-15", home["description"])
        self.assertEqual(office["benefit"][0]["allowedString"], "unlimited")
        self.assertEqual(sorted(c["code"] for c in pt["productOrService"]["coding"]),
                         ["97110", "97112"])
        self.assertEqual(labs["unit"]["coding"][0]["code"], "family")
        self.assertEqual(labs["benefit"][0]["allowedMoney"], {"value": 500, "currency": "USD"})
        self.assertEqual(labs["benefit"][0]["usedMoney"]["value"], 0)

    def test_not_enrolled_member_is_still_valid(self):
        p = self.ctl("allotments", "m-1", "--as-of", "2023-01-01", "--format", "fhir")
        res = json.loads(p.stdout)
        (ins,) = res["insurance"]
        self.assertIs(ins["inforce"], False)
        self.assertEqual(ins["item"], [])
        self.assertIn("display", ins["coverage"])


# ---- watch -----------------------------------------------------------------

class Watch:
    """allotctl --json watch (or another command that prints JSON lines until
    interrupted: audit --follow) in the background, its lines read by a
    thread."""

    def __init__(self, test, *args, command="watch"):
        import threading
        self.lines = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen([ALLOTCTL, "--json", command] + list(args),
                                     env=test.env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.stderr = ""
        self.t1 = threading.Thread(target=self._read, daemon=True)
        self.t1.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(json.loads(line))
                self.cond.notify_all()

    def wait_for(self, n, timeout=30):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.lines) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("watch printed %d events, want %d: %r"
                                         % (len(self.lines), n, self.lines))
                self.cond.wait(left)
            return list(self.lines)

    def finish(self, sig=None, timeout=20):
        if sig is not None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.t1.join(5)
        self.stderr = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc


class TestWatch(CliTestCase):

    def test_events_resume_across_a_server_restart(self):
        self.first_invoice()
        w = Watch(self)
        try:
            events = w.wait_for(4)
            self.assertEqual([e["seq"] for e in events], [1, 2, 3, 4])
            self.assertEqual([e["percent"] for e in events], [70, 80, 90, 100])
            self.assertEqual({e["rule_key"] for e in events}, {"home-visits"})
            self.assertEqual(events[3]["invoice_id"], "inv-1")

            # Restart the server on the same port and data; watch reconnects.
            port, data, work = self.server.port, self.server.data_dir, self.server.workdir
            self.server.stop()
            time.sleep(1.0)  # watch sees the disconnect and backs off
            self.server = self.new_server(workdir=work, data_dir=data, port=port).start()
            self.ctl("price", "inv-2", "m-1", "97110@2025-05-01x14")  # 14 of 20: 70%
            events = w.wait_for(5)
            self.assertEqual(events[4]["seq"], 5)
            self.assertEqual(events[4]["rule_key"], "physical-therapy")
            self.assertEqual(events[4]["percent"], 70)
            time.sleep(0.5)
            self.assertEqual(len(w.lines), 5)  # nothing replayed twice
        finally:
            rc = w.finish(signal.SIGINT)
        self.assertEqual(rc, 0, w.stderr)
        self.assertClean(w.stderr)
        self.assertIn("reconnecting from seq 5", w.stderr)

    def test_from_member_and_once(self):
        self.first_invoice()
        w = Watch(self, "--from", "3", "--member", "m-1", "--once")
        try:
            events = w.wait_for(2)
            self.assertEqual([e["seq"] for e in events], [3, 4])
            self.server.stop()
        finally:
            rc = w.finish()
        self.assertEqual(rc, 3, w.stderr)
        self.assertClean(w.stderr)
        self.assertTrue(w.stderr.startswith("allotctl: "), w.stderr)

    def test_human_output(self):
        self.first_invoice()
        with subprocess.Popen([ALLOTCTL, "watch"], env=self.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) as p:
            try:
                line = p.stdout.readline()
            finally:
                p.send_signal(signal.SIGINT)
                rc = p.wait(20)
            self.assertClean(p.stderr.read())
        self.assertEqual(rc, 0)
        self.assertRegex(line, r"^#1  member m-1  home-visits reached 70%: used 2 of 2, 0 left, "
                               r"resets 2026-03-15  \(invoice inv-1 line 2\)")


# ---- TLS, tokens, roles ----------------------------------------------------

class Pki:
    """Made once for the module: a CA, a server certificate for 127.0.0.1
    and localhost, a client certificate, a CA nobody trusts; a token per
    role from `allotd --new-token`, each in a 0600 file ending in a line
    break, and the auth config that admits them."""

    ROLES = (("ops", "admin"), ("front-desk", "billing"), ("analytics", "reader"))

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="allot-cli-pki-")
        certs.make_ca(self.dir, "ca")
        certs.make_leaf(self.dir, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                                  "extendedKeyUsage=serverAuth")
        certs.make_leaf(self.dir, "client", "ca", "extendedKeyUsage=clientAuth")
        certs.make_ca(self.dir, "rogue-ca")
        self.tokens = {}
        config = []
        for ident, role in self.ROLES:
            p = subprocess.run([harness.allotd_path(), "--new-token", ident, role],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=RUN_TIMEOUT, check=True)
            token, line = p.stdout.splitlines()
            self.tokens[role] = token
            self.write(role + ".token", token + "\n", 0o600)
            config.append(line)
        self.write("auth.conf", "\n".join(config) + "\n", 0o600)
        for n in os.listdir(self.dir):
            if n.endswith(".key"):
                os.chmod(self.path(n), 0o600)

    def path(self, name):
        return os.path.join(self.dir, name)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def write(self, name, text, mode):
        with open(self.path(name), "w") as f:
            f.write(text)
        os.chmod(self.path(name), mode)
        return self.path(name)

    def close(self):
        if os.environ.get("ALLOT_IT_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)


_PKI = None


def pki():
    global _PKI
    if _PKI is None:
        _PKI = Pki()
    return _PKI


def tearDownModule():
    if _PKI is not None:
        _PKI.close()


class SecureCliTestCase(CliTestCase):
    """allotd with TLS and --auth-config (and --tls-client-ca when
    client_ca); as_role(ROLE) gives the allotctl options to call it as a
    token of that role."""

    client_ca = False

    def setUp(self):
        need_allotctl()
        self.pki = pki()
        args = ["--tls-cert", self.pki.path("server.pem"), "--tls-key",
                self.pki.path("server.key"), "--auth-config", self.pki.path("auth.conf")]
        kw = {}
        if self.client_ca:
            args += ["--tls-client-ca", self.pki.path("ca.pem")]
            kw = dict(tls_client_key=self.pki.read("client.key"),
                      tls_client_chain=self.pki.read("client.pem"))
        self.server = self.start_server(extra_args=args, tls_root=self.pki.read("ca.pem"), **kw)
        self.work = self.tmpdir()

    def tls(self):
        args = ["--tls-ca", self.pki.path("ca.pem")]
        if self.client_ca:
            args += ["--tls-cert", self.pki.path("client.pem"),
                     "--tls-key", self.pki.path("client.key")]
        return args

    def as_role(self, role):
        return self.tls() + ["--token-file", self.pki.path(role + ".token")]

    def setup_catalog(self):
        """Services, the family plan and member m-1, as admin."""
        admin = self.as_role("admin")
        self.ctl(*admin, "service", "put", os.path.join(EXAMPLES, "services.json"))
        self.ctl(*admin, "plan", "put", os.path.join(EXAMPLES, "plans", "family.json"))
        self.ctl(*admin, "member", "put", os.path.join(EXAMPLES, "members", "m-1.json"))


class TestTokensAndRoles(SecureCliTestCase):

    def test_no_token_is_unauthenticated_exit_6(self):
        # Health needs no credential; everything else does.
        self.assertIn("serving", self.ctl(*self.tls(), "health").stdout)
        for args in (("service", "list"), ("allotments", "m-1"), ("audit",)):
            p = self.ctl(*self.tls(), *args, want=6)
            self.assertEqual(p.stdout, "")
            self.assertTrue(p.stderr.startswith("allotctl: allotd at %s wants a token (missing "
                                                "credentials" % self.server.address), p.stderr)
            self.assertIn("--token-file FILE", p.stderr)
        # A token the server does not know: 6 too, naming where it came from.
        bad = self.write("bad.token", "not-a-known-token\n")
        os.chmod(bad, 0o600)
        p = self.ctl(*self.tls(), "--token-file", bad, "service", "list", want=6)
        self.assertIn("did not accept the token from --token-file %s" % bad, p.stderr)
        self.assertIn("unknown token", p.stderr)
        self.assertNotIn("not-a-known-token", p.stderr)

    def test_billing_prices_but_may_not_put_plans_exit_7(self):
        self.setup_catalog()
        billing = self.as_role("billing")
        p = self.ctl(*billing, "plan", "put", os.path.join(EXAMPLES, "plans", "family.json"),
                     want=7)
        self.assertIn("permission denied: role billing may not call PutPlan", p.stderr)
        self.assertIn("another role", p.stderr)
        r = json.loads(self.ctl(*billing, "--json", "price", "inv-1", "m-1",
                                "HOME_VISIT@2025-04-01").stdout)
        self.assertEqual(r["lines"][0]["reason"], "covered")
        # admin sets up but does not price; reader reads but does not preview.
        p = self.ctl(*self.as_role("admin"), "price", "inv-2", "m-1", "HOME_VISIT@2025-05-01",
                     want=7)
        self.assertIn("role admin may not call PriceInvoice", p.stderr)
        self.ctl(*self.as_role("reader"), "allotments", "m-1", "--as-of", "2025-05-01")
        self.ctl(*self.as_role("reader"), "preview", "m-1", "HOME_VISIT@2025-05-01", want=7)

    def test_token_sources(self):
        self.setup_catalog()
        tls, tokens = self.tls(), self.pki.tokens
        admin_file = self.pki.path("admin.token")
        # ALLOT_TOKEN_FILE, ALLOT_TOKEN, --token-file (a trailing line break dropped).
        self.ctl(*tls, "plan", "get", "family", env={"ALLOT_TOKEN_FILE": admin_file})
        self.ctl(*tls, "plan", "get", "family", env={"ALLOT_TOKEN": tokens["reader"]})
        self.ctl(*tls, "--token-file", admin_file, "plan", "get", "family")
        # The flag wins over the environment, whichever variable it is.
        bad = {"ALLOT_TOKEN": "wrong-token"}
        self.ctl(*tls, "--token-file", admin_file, "plan", "get", "family", env=bad)
        self.ctl(*tls, "plan", "get", "family", env=bad, want=6)
        # TLS from the environment too.
        self.ctl("plan", "get", "family", env={"ALLOT_TLS_CA": self.pki.path("ca.pem"),
                                               "ALLOT_TOKEN_FILE": admin_file})
        # Both variables: ambiguous, nothing sent.
        p = self.ctl(*tls, "plan", "get", "family", want=2,
                     env={"ALLOT_TOKEN": tokens["admin"], "ALLOT_TOKEN_FILE": admin_file})
        self.assertIn("ALLOT_TOKEN and ALLOT_TOKEN_FILE are both set", p.stderr)
        # A token file others may read: used, with a warning that never shows it.
        loose = self.write("loose.token", tokens["admin"] + "\n")
        os.chmod(loose, 0o644)
        p = self.ctl(*tls, "--token-file", loose, "plan", "get", "family")
        self.assertIn("warning: --token-file %s may be read by group or others" % loose,
                      p.stderr)
        self.assertNotIn(tokens["admin"], p.stderr)
        # A token about to go in plaintext beyond this machine: refused
        # before anything is sent, unless --insecure (then a warning).
        # 192.0.2.1 is TEST-NET-1: nothing answers there.
        p = self.ctl("--timeout", "0.5", "--addr", "192.0.2.1:9", "health", want=2,
                     env={"ALLOT_TOKEN_FILE": admin_file})
        self.assertIn("the token from ALLOT_TOKEN_FILE %s would go to 192.0.2.1:9 without "
                      "TLS" % admin_file, p.stderr)
        self.assertIn("--insecure", p.stderr)
        self.assertNotIn(tokens["admin"], p.stderr)
        # No environment variable stands in for the flag.
        self.ctl("--addr", "192.0.2.1:9", "health", want=2,
                 env={"ALLOT_TOKEN_FILE": admin_file, "ALLOT_INSECURE": "1"})
        p = self.ctl("--timeout", "0.5", "--addr", "192.0.2.1:9", "--insecure", "health",
                     want=None, env={"ALLOT_TOKEN_FILE": admin_file})
        self.assertIn("warning: the token from ALLOT_TOKEN_FILE %s goes to 192.0.2.1:9 without "
                      "TLS (--insecure)" % admin_file, p.stderr)
        self.assertIn(p.returncode, (3, 4))
        # Without a token there is nothing to protect: no refusal.
        p = self.ctl("--timeout", "0.5", "--addr", "192.0.2.1:9", "health", want=None)
        self.assertIn(p.returncode, (3, 4))
        # On loopback a plaintext token is allowed: sent, so this TLS server
        # fails the handshake (exit 3) rather than allotctl refusing (2).
        p = self.ctl("plan", "get", "family", env={"ALLOT_TOKEN_FILE": admin_file}, want=3)
        self.assertNotIn("would go", p.stderr)
        p = self.ctl("--timeout", "0.5", *tls, "--addr", "192.0.2.1:9", "health", want=None,
                     env={"ALLOT_TOKEN_FILE": admin_file})
        self.assertNotIn("warning", p.stderr)
        # An empty token file is a usage error.
        empty = self.write("empty.token", "\n")
        p = self.ctl(*tls, "--token-file", empty, "plan", "get", "family", want=2)
        self.assertIn("the token is empty", p.stderr)

    def test_watch_sends_the_token(self):
        self.setup_catalog()
        p = self.ctl(*self.tls(), "watch", "--once", want=6)
        self.assertIn("wants a token", p.stderr)
        self.ctl(*self.as_role("billing"), "price", "inv-1", "m-1", "HOME_VISIT@2025-04-01",
                 "HOME_VISIT@2025-06-01")
        w = Watch(self, *self.as_role("reader"))
        try:
            events = w.wait_for(1)
            self.assertEqual(events[0]["rule_key"], "home-visits")
        finally:
            rc = w.finish(signal.SIGINT)
        self.assertEqual(rc, 0, w.stderr)
        self.assertClean(w.stderr)


class TestTls(SecureCliTestCase):

    def test_wrong_ca_fails_clearly_exit_3(self):
        admin = ["--token-file", self.pki.path("admin.token")]
        p = self.ctl("--timeout", "5", "--tls-ca", self.pki.path("rogue-ca.pem"), *admin,
                     "service", "list", want=3)
        self.assertTrue(p.stderr.startswith("allotctl: cannot reach allotd at %s over TLS"
                                            % self.server.address), p.stderr)
        self.assertIn("--tls-ca is the CA that signed its certificate", p.stderr)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)  # no gRPC log lines
        # Plaintext to the TLS port.
        p = self.ctl("--timeout", "5", *admin, "service", "list", want=3)
        self.assertIn("if it uses TLS, give --tls-ca", p.stderr)

    def test_server_name(self):
        admin = ["--token-file", self.pki.path("admin.token")]
        ca = ["--tls-ca", self.pki.path("ca.pem")]
        # The certificate names 127.0.0.1 and localhost. (Not dialed as
        # localhost: gRPC's c-ares resolver leaks 10 bytes per lookup, which
        # the sanitizer build reports.)
        self.ctl(*ca, *admin, "--tls-name", "localhost", "service", "list")
        p = self.ctl("--timeout", "5", *ca, *admin, "--tls-name", "allot.example.org", "service",
                     "list", want=3)
        self.assertIn("over TLS", p.stderr)
        self.assertIn("--tls-name", p.stderr)


class TestMutualTls(SecureCliTestCase):

    client_ca = True

    def test_client_certificate(self):
        token = ["--token-file", self.pki.path("admin.token")]
        self.assertEqual(self.ctl(*self.tls(), *token, "--json", "service", "list").stdout,
                         "[]\n")
        self.ctl("service", "list", env={"ALLOT_TLS_CA": self.pki.path("ca.pem"),
                                         "ALLOT_TLS_CLIENT_CERT": self.pki.path("client.pem"),
                                         "ALLOT_TLS_CLIENT_KEY": self.pki.path("client.key"),
                                         "ALLOT_TOKEN_FILE": self.pki.path("admin.token")})
        # Without one the handshake fails, and the message says what to try.
        p = self.ctl("--timeout", "5", "--tls-ca", self.pki.path("ca.pem"), *token, "service",
                     "list", want=3)
        self.assertIn("over TLS", p.stderr)
        self.assertIn("requires a client certificate (--tls-cert, --tls-key)", p.stderr)
        # A certificate without its key is a usage error.
        p = self.ctl("--tls-ca", self.pki.path("ca.pem"), "--tls-cert",
                     self.pki.path("client.pem"), *token, "service", "list", want=2)
        self.assertIn("--tls-cert needs --tls-key", p.stderr)


# ---- audit -------------------------------------------------------------------

AUDIT_KEYS = {"seq", "time", "principal", "role", "rpc", "code", "status", "member_id",
              "invoice_id", "line_id", "usage_id", "plan_id", "service_code", "peer"}
RFC3339_MICROS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def json_lines(text):
    return [json.loads(line) for line in text.splitlines()]


class TestAudit(SecureCliTestCase):

    def audit(self, *args, role="admin"):
        return json_lines(self.ctl(*self.as_role(role), "--json", "audit", *args).stdout)

    def wait_audit(self, n, timeout=20):
        """Entries, once at least n are committed (reads within ~100 ms)."""
        deadline = time.monotonic() + timeout
        while True:
            entries = self.audit()
            if len(entries) >= n or time.monotonic() > deadline:
                return entries
            time.sleep(0.2)

    def test_lists_the_writes_with_who_did_them(self):
        self.setup_catalog()
        billing = self.as_role("billing")
        self.ctl(*billing, "price", "inv-1", "m-1", "HOME_VISIT@2025-04-01")
        self.ctl(*billing, "plan", "put", os.path.join(EXAMPLES, "plans", "family.json"), want=7)
        self.ctl(*billing, "void", "inv-1", "1")
        entries = self.wait_audit(10)
        got = [(e["principal"], e["role"], e["rpc"], e["status"]) for e in entries]
        self.assertEqual(got, [("ops", "admin", "PutService", "OK")] * 5 + [
            ("ops", "admin", "PutPlan", "OK"),
            ("ops", "admin", "PutMember", "OK"),
            ("front-desk", "billing", "PriceInvoice", "OK"),
            ("front-desk", "billing", "PutPlan", "PERMISSION_DENIED"),
            ("front-desk", "billing", "VoidInvoice", "OK"),
        ])
        self.assertEqual([e["seq"] for e in entries], list(range(1, 11)))
        for e in entries:
            self.assertEqual(set(e), AUDIT_KEYS)
            self.assertRegex(e["time"], RFC3339_MICROS)
            self.assertTrue(e["peer"].startswith("ipv4:127.0.0.1:"), e)
        price = entries[7]
        self.assertEqual((price["member_id"], price["invoice_id"], price["code"]),
                         ("m-1", "inv-1", 0))
        self.assertIsNone(price["plan_id"])
        self.assertEqual(entries[8]["code"], 7)
        self.assertEqual((entries[9]["invoice_id"], entries[9]["line_id"]), ("inv-1", "1"))
        self.assertEqual(entries[5]["plan_id"], "family")
        self.assertEqual(entries[0]["service_code"], "HOME_VISIT")

        # The table: one line per entry, what was set and nothing else.
        out = self.ctl(*self.as_role("admin"), "audit").stdout.splitlines()
        self.assertEqual(out[0].split(), ["SEQ", "TIME", "WHO", "RPC", "STATUS", "IDS"])
        self.assertEqual(len(out), 11)
        self.assertRegex(out[8], r"^8 +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  front-desk \(billing\) "
                                 r" +PriceInvoice +OK +member=m-1 invoice=inv-1 "
                                 r"peer=ipv4:127\.0\.0\.1:\d+$")
        self.assertRegex(out[9], r"^9 .* front-desk \(billing\) +PutPlan +PERMISSION_DENIED +"
                                 r"peer=")
        # Only admin reads the trail.
        p = self.ctl(*self.as_role("billing"), "audit", want=7)
        self.assertIn("role billing may not call ListAudit", p.stderr)

    def test_pages_through_more_than_one_answer(self):
        self.setup_catalog()
        stub = self.server.stub_for(token=self.pki.tokens["admin"])
        # Reads of a member are audited: 1200 of them, plus 7 writes.
        for _ in range(12):
            futures = [stub.GetMember.future(harness.pb.GetMemberRequest(member_id="m-1"))
                       for _ in range(100)]
            for f in futures:
                f.result()
        total = 1207
        entries = self.wait_audit(total)
        # One answer holds at most 1000: all of them, once each, in order.
        self.assertEqual([e["seq"] for e in entries], list(range(1, total + 1)))
        self.assertEqual(sum(e["rpc"] == "GetMember" for e in entries), 1200)
        # --limit and --from: exactly those, across the page boundary too.
        self.assertEqual([e["seq"] for e in self.audit("--limit", "3")], [1, 2, 3])
        self.assertEqual([e["seq"] for e in self.audit("--from", "998", "--limit", "5")],
                         [998, 999, 1000, 1001, 1002])
        self.assertEqual(len(self.audit("--limit", "1001")), 1001)
        self.assertEqual([e["seq"] for e in self.audit("--from", "1200")],
                         list(range(1200, total + 1)))
        self.assertEqual(self.audit("--from", str(total + 1)), [])
        p = self.ctl(*self.as_role("admin"), "audit", "--from", str(total + 1))
        self.assertEqual(p.stdout, "no audit entries from seq %d\n" % (total + 1))
        # The table pages the same way.
        out = self.ctl(*self.as_role("admin"), "audit", "--from", "990", "--limit", "20").stdout
        self.assertEqual([int(l.split()[0]) for l in out.splitlines()[1:]],
                         list(range(990, 1010)))

    def test_follow_prints_new_entries_until_interrupted(self):
        self.setup_catalog()
        w = Watch(self, "--follow", "--from", "6", *self.as_role("admin"), command="audit")
        try:
            first = w.wait_for(2)
            self.assertEqual([(e["seq"], e["rpc"]) for e in first],
                             [(6, "PutPlan"), (7, "PutMember")])
            # A write made after it reached the end shows up.
            time.sleep(1.5)
            self.ctl(*self.as_role("billing"), "price", "inv-9", "m-1",
                     "HOME_VISIT@2025-04-01")
            new = w.wait_for(3)[2]
            self.assertEqual((new["seq"], new["principal"], new["rpc"], new["invoice_id"]),
                             (8, "front-desk", "PriceInvoice", "inv-9"))
            time.sleep(1.5)
            self.assertEqual(len(w.lines), 3)  # nothing printed twice
        finally:
            rc = w.finish(signal.SIGINT)
        self.assertEqual(rc, 0, w.stderr)
        self.assertClean(w.stderr)
        self.assertEqual(w.stderr, "")

    def test_follow_waits_out_a_server_restart(self):
        self.setup_catalog()
        w = Watch(self, "--follow", "--from", "7", *self.as_role("admin"), command="audit")
        try:
            self.assertEqual(w.wait_for(1)[0]["seq"], 7)
            old = self.server
            old.stop()
            time.sleep(1.5)  # audit --follow finds it gone and retries
            self.server = self.new_server(workdir=old.workdir, data_dir=old.data_dir,
                                          port=old.port, extra_args=old.extra_args,
                                          tls_root=old.tls_root).start()
            self.ctl(*self.as_role("admin"), "service", "put",
                     os.path.join(EXAMPLES, "services.json"))
            entries = w.wait_for(6)
            self.assertEqual([e["seq"] for e in entries], list(range(7, 13)))
        finally:
            rc = w.finish(signal.SIGINT)
        self.assertEqual(rc, 0, w.stderr)
        self.assertClean(w.stderr)
        self.assertIn("allotctl: audit: cannot reach allotd", w.stderr)
        self.assertIn("trying again from seq 8", w.stderr)

    def test_anonymous_on_a_server_without_authentication(self):
        plain = self.start_server()
        self.ctl("service", "put", os.path.join(EXAMPLES, "services.json"), addr=plain.address)
        out = self.ctl("audit", "--limit", "1", addr=plain.address).stdout.splitlines()
        self.assertEqual(len(out), 2)
        self.assertRegex(out[1], r"^1 .*  anonymous  +PutService +OK +service=\w+ peer=")
        (e,) = json_lines(self.ctl("--json", "audit", "--limit", "1", addr=plain.address).stdout)
        self.assertEqual((e["principal"], e["role"]), ("anonymous", None))


if __name__ == "__main__":
    unittest.main()
