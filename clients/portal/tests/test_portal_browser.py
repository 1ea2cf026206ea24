"""The portal in a real browser: Debian's headless Chromium driven through
chromedriver by python3-selenium, against a real allotd with sample data.

Checks the figures a person reads, that an injected member id is shown as
text (no script element, no alert), the unknown-member and service-down
pages, that the stylesheet loads under the CSP with no CSP violation logged,
and saves screenshots (portal-member.png, portal-not-found.png,
portal-unreachable.png) to $ALLOT_PORTAL_ARTIFACTS (ctest: the build dir
clients/portal/).

Needs the Debian packages chromium, chromium-driver and python3-selenium
(scripts/deps.sh installs them). Without them the test is skipped with a
message saying so, unless ALLOT_REQUIRE_BROWSER=1, when it fails.

Run: ctest -L clients   (or with ALLOTD, ALLOT_PYGEN and ALLOT_CLIENT_GEN
exported, /usr/bin/python3 -m unittest -v test_portal_browser from this directory)
"""

import os
import shutil
import tempfile
import unittest
import urllib.parse

from portal_fixture import (AS_OF, MEMBER, SCRIPT_ID, PortalTestCase, artifacts_dir,
                            wait_until)

# $ALLOT_CHROMIUM / $ALLOT_CHROMEDRIVER override where they are looked for.
CHROMIUM = os.environ.get("ALLOT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = (os.environ.get("ALLOT_CHROMEDRIVER") or shutil.which("chromedriver")
                or "/usr/bin/chromedriver")

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.chrome.service import Service as DriverService
    from selenium.webdriver.common.by import By
    SELENIUM_ERROR = None
except ImportError as e:  # python3-selenium not installed
    SELENIUM_ERROR = e


def missing_packages():
    """The Debian packages whose files are missing for a browser test."""
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append("chromium")
    if not os.access(CHROMEDRIVER, os.X_OK):
        missing.append("chromium-driver")
    if SELENIUM_ERROR is not None:
        missing.append("python3-selenium")
    return missing


CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
    "--hide-scrollbars", "--window-size=1200,1000", "--force-device-scale-factor=1",
    "--lang=en-US",
]


class Browser(PortalTestCase):
    @classmethod
    def setUpClass(cls):
        missing = missing_packages()
        if missing:
            if os.environ.get("ALLOT_REQUIRE_BROWSER") == "1":
                raise AssertionError("ALLOT_REQUIRE_BROWSER=1, but Debian packages are "
                                     "missing: %s" % " ".join(missing))
            # ctest's SKIP_REGULAR_EXPRESSION matches this text
            raise unittest.SkipTest(
                "headless Chromium is not available (missing Debian packages: %s; "
                "scripts/deps.sh installs them)" % " ".join(missing))

    def setUp(self):
        self.start_all()
        self.profile = tempfile.mkdtemp(prefix="allot-portal-chromium-")
        self.addCleanup(shutil.rmtree, self.profile, True)
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for f in CHROMIUM_FLAGS:
            opts.add_argument(f)
        opts.add_argument("--user-data-dir=" + self.profile)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        log = os.path.join(self.profile, "chromedriver.log")
        self.driver = webdriver.Chrome(service=DriverService(CHROMEDRIVER, log_path=log),
                                       options=opts)
        self.addCleanup(self.driver.quit)
        self.driver.set_page_load_timeout(30)

    # -- helpers ------------------------------------------------------------
    def open(self, path):
        self.driver.get(self.portal.url + path)
        return self.driver.find_element(By.TAG_NAME, "body").text

    def shot(self, name):
        path = os.path.join(artifacts_dir(), name)
        self.assertTrue(self.driver.save_screenshot(path), path)
        self.assertGreater(os.path.getsize(path), 10000)
        print("\nscreenshot: %s" % path)
        return path

    def rule(self, key_title):
        for art in self.driver.find_elements(By.CSS_SELECTOR, "article.rule"):
            if art.find_element(By.TAG_NAME, "h2").text == key_title:
                return art
        self.fail("no rule titled %r on the page" % key_title)

    def assertNoScriptsOrAlerts(self):
        self.assertEqual(self.driver.find_elements(By.TAG_NAME, "script"), [])
        self.assertEqual(self.driver.find_elements(By.TAG_NAME, "img"), [])
        with self.assertRaises(NoAlertPresentException):
            self.driver.switch_to.alert.text

    def browser_problems(self):
        """Console messages about the CSP, or the stylesheet failing to load
        (a 404 page's own status is logged too, and is not a problem)."""
        return [e["message"] for e in self.driver.get_log("browser")
                if "Content Security Policy" in e["message"]
                or ("Failed to load" in e["message"] and "/static/" in e["message"])]

    # -- tests --------------------------------------------------------------
    def test_member_page_as_a_person_sees_it(self):
        text = self.open("/member/%s?as_of=%s" % (MEMBER, AS_OF.isoformat()))
        self.assertIn("Coverage for member m-1001", text)
        self.assertIn("as of 1 Jun 2025", text)

        visits = self.rule("Home visits")
        vt = visits.text
        self.assertIn("1 of 2 home visits left", vt)
        self.assertIn("resets 15 Mar 2026", vt)
        self.assertIn("used 4 Apr 2025", vt)
        self.assertIn("Home visit", vt)
        # the bar: the fill is half the track, in the "ok" colour, so the
        # stylesheet was allowed by the CSP and applied
        track = visits.find_element(By.CSS_SELECTOR, ".bar")
        fill = visits.find_element(By.CSS_SELECTOR, ".bar .fill")
        self.assertGreater(track.size["width"], 100)
        self.assertAlmostEqual(fill.size["width"] / track.size["width"], 0.5, delta=0.02)
        self.assertEqual(fill.value_of_css_property("background-color"),
                         "rgba(47, 143, 91, 1)")

        labs = self.rule("Labs")
        lt = labs.text
        self.assertIn("Household", lt)
        self.assertIn("$300.00 of $500.00 left", lt)
        self.assertIn("$200.00 used by the household", lt)
        self.assertIn("You used $120.00 of the household's $200.00", lt)
        self.assertIn("used 10 Feb 2025", lt)
        self.assertNotIn("1 Mar 2025", lt)  # the other member's visit is not shown

        massage = self.rule("Massage")
        self.assertIn("3 of 12 massage sessions left", massage.text)
        fill = massage.find_element(By.CSS_SELECTOR, ".bar .fill")
        self.assertEqual(fill.value_of_css_property("background-color"),
                         "rgba(208, 138, 18, 1)")  # 75 %: the warning colour

        self.assertNoScriptsOrAlerts()
        self.assertEqual(self.browser_problems(), [])
        self.shot("portal-member.png")

    def test_lookup_form_and_injected_id(self):
        self.open("/")
        box = self.driver.find_element(By.ID, "id")
        box.send_keys(SCRIPT_ID)
        self.driver.find_element(By.CSS_SELECTOR, "form.lookup button").click()
        wait_until(lambda: "/member/" in self.driver.current_url)
        path = urllib.parse.urlsplit(self.driver.current_url).path
        self.assertEqual(urllib.parse.unquote(path), "/member/" + SCRIPT_ID)
        h1 = self.driver.find_element(By.TAG_NAME, "h1").text
        self.assertEqual(h1, "No member with id \u201c%s\u201d" % SCRIPT_ID)
        self.assertNoScriptsOrAlerts()
        self.shot("portal-not-found.png")

        # the same id typed straight into the address bar
        self.open("/member/" + SCRIPT_ID)
        self.assertIn(SCRIPT_ID, self.driver.find_element(By.TAG_NAME, "h1").text)
        self.assertNoScriptsOrAlerts()

        # a known member through the form
        self.open("/")
        self.driver.find_element(By.ID, "id").send_keys(MEMBER)
        self.driver.find_element(By.CSS_SELECTOR, "form.lookup button").click()
        wait_until(lambda: self.driver.current_url.endswith("/member/" + MEMBER))
        self.assertIn("Coverage for member m-1001",
                      self.driver.find_element(By.TAG_NAME, "h1").text)
        self.assertEqual(self.browser_problems(), [])

    def test_unknown_member(self):
        text = self.open("/member/m-404")
        self.assertIn("No member with id \u201cm-404\u201d", text)
        self.assertEqual(self.driver.title, "No member with id \u201cm-404\u201d")

    def test_service_down(self):
        self.assertIn("home visits left", self.open("/member/%s" % MEMBER))
        self.allotd.stop()
        text = self.open("/member/%s?as_of=%s" % (MEMBER, AS_OF.isoformat()))
        self.assertIn("The coverage service is not reachable right now", text)
        self.assertNotIn("home visits", text)
        self.shot("portal-unreachable.png")


if __name__ == "__main__":
    unittest.main()
