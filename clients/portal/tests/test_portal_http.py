"""portal.py over HTTP against a real allotd: statuses, headers, figures,
escaping and quoting, unknown members, and allotd going away.

Run: ctest -L clients   (or with ALLOTD, ALLOT_PYGEN and ALLOT_CLIENT_GEN
exported, /usr/bin/python3 -m unittest -v test_portal_http from this directory)
"""

import datetime
import html
import http.client
import re
import time
import unittest
import urllib.parse

from portal_fixture import (AS_OF, MEMBER, ODD_ID, SCRIPT_ID, PortalTestCase)

import allot_client as ac
import portal as portal_mod


def text(doc):
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", doc))).strip()


class Http(PortalTestCase):
    def get(self, path, method="GET"):
        u = urllib.parse.urlsplit(self.portal.url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        try:
            conn.request(method, path)
            r = conn.getresponse()
            body = r.read().decode("utf-8")
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body
        finally:
            conn.close()

    def assertSecure(self, headers):
        self.assertEqual(headers["content-security-policy"], portal_mod.CSP)
        self.assertIn("default-src 'none'", portal_mod.CSP)
        self.assertNotIn("unsafe", portal_mod.CSP)
        self.assertEqual(headers["x-content-type-options"], "nosniff")
        self.assertEqual(headers["referrer-policy"], "no-referrer")
        self.assertEqual(headers["x-frame-options"], "DENY")

    def test_member_page(self):
        self.start_all()
        status, h, body = self.get("/member/%s?as_of=%s" % (MEMBER, AS_OF.isoformat()))
        self.assertEqual(status, 200, body)
        self.assertSecure(h)
        self.assertEqual(h["content-type"], "text/html; charset=utf-8")
        self.assertEqual(h["cache-control"], "no-store")
        self.assertNotIn("<script", body.lower())
        self.assertNotIn("style=", body)
        t = text(body)
        self.assertIn("Coverage for member m-1001", t)
        self.assertIn("Plan family \u00b7 as of 1 Jun 2025", t)
        self.assertIn("1 of 2 home visits left", t)
        self.assertIn("resets 15 Mar 2026", t)
        self.assertIn("used 4 Apr 2025", t)
        self.assertIn("$300.00 of $500.00 left", t)
        self.assertIn("used 10 Feb 2025 ($120.00)", t)
        self.assertNotIn("1 Mar 2025", t)   # the other household member's lab
        self.assertIn("3 of 12 massage sessions left", t)
        self.assertIn("used 20 Mar 2025 (\u00d79, before joining)", t)

        # today in allotd's calendar
        status, h, body = self.get("/member/%s" % MEMBER)
        self.assertEqual(status, 200)
        self.assertIn("as of %s" % ac.format_date(datetime.date.today()), text(body))

    def test_lookup_and_redirect(self):
        self.start_all()
        status, h, body = self.get("/")
        self.assertEqual(status, 200)
        self.assertSecure(h)
        self.assertIn('action="/member"', body)
        status, h, _ = self.get("/member?id=%s&as_of=2025-06-01" % MEMBER)
        self.assertEqual(status, 303)
        self.assertEqual(h["location"], "/member/m-1001?as_of=2025-06-01")
        status, h, _ = self.get("/member?" + urllib.parse.urlencode({"id": ODD_ID, "as_of": ""}))
        self.assertEqual(status, 303)
        self.assertEqual(h["location"], "/member/%3Cb%3E%26%22x%27%2F1")
        status, h, body = self.get("/member?id=+")
        self.assertEqual(status, 400)
        self.assertIn("Enter a member id.", text(body))
        status, h, body = self.get("/member?id=m-1&as_of=June")
        self.assertEqual(status, 400)
        self.assertIn("Not a date: June", text(body))

    def test_odd_id_is_escaped_and_quoted(self):
        self.start_all()
        status, h, body = self.get("/member/%s?as_of=2025-06-01"
                                   % urllib.parse.quote(ODD_ID, safe=""))
        self.assertEqual(status, 200, body)
        self.assertIn("&lt;b&gt;&amp;&quot;x&#x27;/1", body)
        self.assertNotIn("<b>&", body)
        self.assertIn('action="/member/%3Cb%3E%26%22x%27%2F1"', body)
        self.assertIn("Coverage for member <b>&\"x'/1", text(body))
        # the same id with its slash left unencoded
        status, h, body = self.get("/member/%3Cb%3E%26%22x%27/1?as_of=2025-06-01")
        self.assertEqual(status, 200)

    def test_unknown_and_injected_ids(self):
        self.start_all()
        status, h, body = self.get("/member/m-404")
        self.assertEqual(status, 404)
        self.assertSecure(h)
        self.assertIn("No member with id \u201cm-404\u201d", text(body))
        status, h, body = self.get("/member/" + urllib.parse.quote(SCRIPT_ID, safe=""))
        self.assertEqual(status, 404)
        self.assertNotIn("<script", body.lower())
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", body)
        self.assertIn("No member with id \u201c%s\u201d" % SCRIPT_ID, text(body))
        # not even a valid id (spaces, too long): no such member either
        for bad in ('"><img src=x onerror=alert(1)>', "x" * 65):
            status, h, body = self.get("/member/" + urllib.parse.quote(bad, safe=""))
            self.assertEqual(status, 404, bad)
            self.assertNotIn("<img", body)
        status, h, body = self.get("/member/m-1001?as_of=2025-02-30")
        self.assertEqual(status, 400)
        self.assertIn("Not a date: 2025-02-30", text(body))
        status, h, body = self.get("/nope")
        self.assertEqual(status, 404)
        self.assertIn("Page not found", text(body))

    def test_static_head_and_health(self):
        self.start_all()
        status, h, css = self.get("/static/portal.css")
        self.assertEqual(status, 200)
        self.assertEqual(h["content-type"], "text/css; charset=utf-8")
        self.assertIn(".w50{width:50%}", css)
        self.assertSecure(h)
        status, h, body = self.get("/", method="HEAD")
        self.assertEqual((status, body), (200, ""))
        self.assertGreater(int(h["content-length"]), 100)
        self.assertEqual(self.get("/healthz")[0], 200)

    def test_allotd_down(self):
        self.start_all()
        self.assertEqual(self.get("/member/%s" % MEMBER)[0], 200)
        self.allotd.stop()
        status, h, body = self.get("/member/%s?as_of=2025-06-01" % MEMBER)
        self.assertEqual(status, 503, body)
        self.assertSecure(h)
        self.assertEqual(h["retry-after"], "30")
        self.assertIn("The coverage service is not reachable right now", text(body))
        # the lookup page needs no allotd
        self.assertEqual(self.get("/")[0], 200)
        # and when it is back (same address, same data), so is the page
        self.new_server(data_dir=self.allotd.data_dir, port=self.allotd.port).start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status, h, body = self.get("/member/%s?as_of=2025-06-01" % MEMBER)
            if status == 200:
                break
            time.sleep(0.2)
        self.assertEqual(status, 200)
        self.assertIn("1 of 2 home visits left", text(body))


if __name__ == "__main__":
    unittest.main()
