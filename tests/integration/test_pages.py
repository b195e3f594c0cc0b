"""The HTML pages of the example site as a browser gets them from the real
daemon: the agenda (/) and event pages (/events/{id}), parsed with the
standard library's html.parser. Their links lead to the site's real feeds
and pages, the reminder form is accepted by POST /subscribe, and nothing on
them makes the browser fetch anything from another origin."""

import datetime as dt
import re
import tomllib
import sqlite3
import unittest
import urllib.parse
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from harness import EXAMPLE_SITE, Daemon, requires_binary

PARIS = ZoneInfo("Europe/Paris")

MAIN = tomllib.loads((EXAMPLE_SITE / "casacal.toml").read_text(encoding="utf-8"))
BASE_URL = MAIN["site"]["base_url"]
CATEGORIES = sorted(MAIN["categories"])
WEBCAL_BASE = "webcal" + BASE_URL[BASE_URL.index("://"):]
GOOGLE = "https://calendar.google.com/calendar/r?cid="
CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
FRENCH_DAY = re.compile(r"^(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) (1er|[0-9]{1,2}) "
                        r"(janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre)"
                        r"( [0-9]{4})?$")

# Elements that make a browser fetch something by themselves.
FETCHING = {"script", "link", "img", "iframe", "frame", "object", "embed", "source", "video", "audio",
            "track", "picture", "svg", "image", "input", "base", "meta"}
# Attributes that hold a URL.
URL_ATTRIBUTES = {"src", "srcset", "href", "action", "formaction", "data", "poster", "background", "ping",
                  "manifest", "cite", "longdesc", "xlink:href", "icon", "archive", "codebase"}


class Page(HTMLParser):
    """Every start tag with its attributes, and the text of h1/h2/.when."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags = []  # (tag, {attr: value})
        self.headings = []  # (tag, text) for h1 and h2
        self.whens = []  # text of <span class="when">
        self.styles = []  # text of <style>
        self._open = None
        self._text = ""
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in ("h1", "h2", "style") or (tag == "span" and a.get("class") == "when"):
            self._open, self._text = tag if tag != "span" else "when", ""

    def handle_data(self, data):
        if self._open:
            self._text += data

    def handle_endtag(self, tag):
        if self._open and (tag == self._open or (self._open == "when" and tag == "span")):
            if self._open == "when":
                self.whens.append(self._text)
            elif self._open == "style":
                self.styles.append(self._text)
            else:
                self.headings.append((self._open, self._text))
            self._open = None

    def links(self):
        return [a["href"] for t, a in self.tags if t == "a" and "href" in a]

    def inputs(self, **match):
        return [a for t, a in self.tags if t == "input" and all(a.get(k) == v for k, v in match.items())]

    def h2(self):
        return [text for tag, text in self.headings if tag == "h2"]


@requires_binary
class PagesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(EXAMPLE_SITE).start()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop_clean()

    def page(self, path, status=200):
        r = self.daemon.get(path)
        self.assertEqual(r.status, status, f"{path}: {r.body[:300]!r}")
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        self.assertEqual(r.header("Content-Security-Policy"), CSP)
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertIsNone(r.header("Access-Control-Allow-Origin"))
        if status == 200:
            self.assertRegex(r.header("ETag"), r'^"[0-9a-f]{32}"$')
        else:  # RFC 9110 §13.2.1: preconditions do not apply to it, nor an ETag
            self.assertIsNone(r.header("ETag"))
        self.assertRegex(r.header("Cache-Control"), r"^public, max-age=[0-9]+$")
        text = r.body.decode("utf-8")
        self.assertTrue(text.startswith('<!DOCTYPE html>\n<html lang="fr">'), text[:60])
        return Page(text)

    def assert_nothing_third_party(self, page, path):
        """No element fetches anything on its own; only <a> and the form point
        anywhere, and only <a> may point to another origin."""
        for tag, attrs in page.tags:
            with self.subTest(path=path, tag=tag, attrs=attrs):
                self.assertNotIn("src", attrs)
                self.assertNotIn("srcset", attrs)
                self.assertNotIn("url(", attrs.get("style", ""))
                if tag in FETCHING - {"input", "meta"}:
                    self.fail(f"<{tag}> on a page")
                if tag == "input":
                    self.assertIn(attrs.get("type"), ("text", "email", "checkbox"))
                if tag == "meta":
                    self.assertTrue(set(attrs) <= {"charset", "name", "content"})
                for name in URL_ATTRIBUTES & set(attrs):
                    # an <a> is followed only when clicked; the form posts back here
                    self.assertIn((tag, name), {("a", "href"), ("form", "action")})
                if tag == "form":
                    self.assertEqual(attrs.get("action"), "/subscribe")
        for css in page.styles:
            self.assertNotIn("url(", css)
            self.assertNotIn("@import", css)

    def assert_feed_links(self, page, feed_path):
        """The webcal, Google and copyable links of one feed, and the feed is real."""
        webcal = WEBCAL_BASE + feed_path
        links = page.links()
        self.assertIn(webcal, links)
        self.assertIn(GOOGLE + urllib.parse.quote(webcal, safe=""), links)
        google = [l for l in links if l.startswith(GOOGLE)]
        self.assertIn(webcal, [urllib.parse.unquote(l[len(GOOGLE):]) for l in google])
        self.assertTrue(page.inputs(type="text", value=BASE_URL + feed_path), feed_path)
        feed = self.daemon.get(feed_path)
        self.assertEqual(feed.status, 200, feed_path)
        self.assertEqual(feed.header("Content-Type"), "text/calendar; charset=utf-8")

    def test_agenda_days_events_and_filters(self):
        page = self.page("/?from=2027-01-01")
        self.assert_nothing_third_party(page, "/?from=2027-01-01")
        self.assertEqual([t for tag, t in page.headings if tag == "h1"], ["Agenda"])
        days = [h for h in page.h2() if FRENCH_DAY.match(h)]
        self.assertGreaterEqual(len(days), 10, page.h2())
        self.assertTrue(days[0].startswith("jeudi 7 janvier"), days)  # the produce delivery
        self.assertTrue(any(d.startswith("jeudi 14 janvier") for d in days), days)  # the moved Casapéro
        self.assertTrue(any(d.startswith("samedi 16 janvier") for d in days), days)  # all-day open day
        self.assertIn("18h30 – 21h30", page.whens)
        self.assertIn("Toute la journée", page.whens)
        # the links to events and to the filters lead to real pages
        links = page.links()
        events = sorted({l for l in links if l.startswith("/events/")})
        self.assertIn("/events/casapero", events)
        self.assertIn("/events/portes-ouvertes-2027-01", events)
        for path in events:
            with self.subTest(path=path):
                self.assertEqual(self.daemon.get(path).status, 200)
        for key in CATEGORIES:
            with self.subTest(category=key):
                self.assertIn(f"/?category={key}", links)
                filtered = self.page(f"/?category={key}&from=2027-01-01")
                self.assertIn(f"/?category={key}", filtered.links())
        self.assertIn("/?from=2027-03-02", links)  # the next 60 days
        # ten years ahead, where the agenda ends, every link still leads to a
        # page, and a later date is refused, not expanded for seconds
        today = dt.datetime.now(PARIS).date()
        try:
            horizon = today.replace(year=today.year + 10)
        except ValueError:  # February 29 ten years on counts as March 1
            horizon = dt.date(today.year + 10, 3, 1)
        last = self.page(f"/?from={horizon - dt.timedelta(days=1)}")
        for path in last.links():
            if path.startswith("/?"):
                with self.subTest(path=path):
                    self.assertEqual(self.daemon.get(path).status, 200)
        for late in (horizon, "9999-12-01"):
            with self.subTest(late=late):
                self.assertEqual(self.daemon.get(f"/?from={late}").status, 400)

    def test_agenda_subscribe_links_and_reminder_form(self):
        page = self.page("/")
        self.assert_nothing_third_party(page, "/")
        self.assert_feed_links(page, "/calendar.ics")
        for key in CATEGORIES:
            with self.subTest(category=key):
                self.assert_feed_links(page, f"/calendar/{key}.ics")
        forms = [a for t, a in page.tags if t == "form"]
        self.assertEqual(forms, [{"method": "post", "action": "/subscribe"}])
        self.assertEqual(len(page.inputs(type="email", name="email")), 1)
        boxes = page.inputs(type="checkbox", name="categories")
        self.assertEqual(sorted(b["value"] for b in boxes), CATEGORIES)
        # what the form sends is what POST /subscribe takes
        body = urllib.parse.urlencode([("email", "visitor@example.org"), ("name", ""),
                                       ("categories", boxes[0]["value"])]).encode()
        r = self.daemon.request("POST", "/subscribe", body=body,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 202, r.body[:300])
        self.assertIn("Vérifiez votre boîte mail", r.body.decode("utf-8"))
        self.assertIn('<a href="/#reminders">Retour au formulaire</a>', r.body.decode("utf-8"))
        # no address: said so, not "invalid address: "
        r = self.daemon.request("POST", "/subscribe", body=b"name=&categories=apero",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 400)
        self.assertIn("Indiquez votre adresse email.", r.body.decode("utf-8"))
        # a category twice, and "*" beside it: kept as everything, once
        body = urllib.parse.urlencode([("email", "twice@example.org"), ("categories", "apero"),
                                       ("categories", "apero"), ("categories", "*")]).encode()
        r = self.daemon.request("POST", "/subscribe", body=body,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 202, r.body[:300])
        db = sqlite3.connect(f"file:{self.daemon.workdir / 'state' / 'casacal.db'}?mode=ro", uri=True)
        self.addCleanup(db.close)
        self.assertEqual(db.execute("SELECT categories FROM subscribers WHERE email = 'twice@example.org'").fetchall(),
                         [("*",)])
        # that answer's address opened again (a restored tab) leads to the form
        again = self.daemon.get("/subscribe")
        self.assertEqual(again.status, 303)
        self.assertEqual(again.header("Location"), "/#reminders")
        self.assertEqual([a.get("id") for t, a in page.tags if t == "h2" and a.get("id")], ["reminders"])

    def test_event_page(self):
        page = self.page("/events/casapero")
        self.assert_nothing_third_party(page, "/events/casapero")
        self.assertEqual([t for tag, t in page.headings if tag == "h1"], ["Casapéro"])
        # a monthly event without end always has upcoming dates
        self.assertTrue(page.whens)
        for when in page.whens:
            self.assertRegex(when, r"^jeudi (1er|[0-9]+) \S+ [0-9]{4}, 18h30 – 21h(00|30)$")
        self.assert_feed_links(page, "/events/casapero.ics")
        self.assertIn("/?category=apero", page.links())
        self.assertIn("https://casaco.example/casapero", page.links())  # the event's own site: a plain link
        self.assertIn("/", page.links())

        weekend = self.page("/events/weekend-entrepreneurs-2027-03")
        self.assert_nothing_third_party(weekend, "/events/weekend-entrepreneurs-2027-03")
        self.assert_feed_links(weekend, "/events/weekend-entrepreneurs-2027-03.ics")

    def test_unknown_event_and_category_are_404_pages(self):
        for path in ("/events/nope", "/events/Casapero", "/events/atelier_1", "/?category=nope"):
            with self.subTest(path=path):
                page = self.page(path, status=404)
                self.assert_nothing_third_party(page, path)
                self.assertIn("/", page.links())

    def test_head_and_revalidation(self):
        for path in ("/", "/events/casapero"):
            with self.subTest(path=path):
                get = self.daemon.get(path)
                head = self.daemon.request("HEAD", path)
                self.assertEqual(head.status, 200)
                self.assertEqual(head.body, b"")
                self.assertEqual(head.header("Content-Length"), str(len(get.body)))
                self.assertEqual(head.header("ETag"), get.header("ETag"))
                again = self.daemon.get(path, headers={"If-None-Match": get.header("ETag")})
                self.assertEqual(again.status, 304)
                self.assertEqual(again.body, b"")

    def test_metrics_count_the_pages(self):
        self.daemon.get("/")
        self.daemon.get("/events/casapero")
        metrics = self.daemon.get("/metrics").body.decode("utf-8")
        self.assertRegex(metrics, r'casacal_http_requests_total\{route="agenda",status="200"\} [1-9]')
        self.assertRegex(metrics, r'casacal_http_requests_total\{route="event_page",status="200"\} [1-9]')


@requires_binary
class SitePathTest(unittest.TestCase):
    """A base_url with a path (casacal behind a proxy at https://example.org/agenda):
    the pages' links to each other keep that path, as their feed links do, and
    requests that still carry it (a proxy that passes the path on) find their
    routes, so every link works with either kind of proxy."""

    def setUp(self):
        self.daemon = Daemon(EXAMPLE_SITE)
        self.addCleanup(self.daemon.cleanup)
        main = self.daemon.config
        text = main.read_text(encoding="utf-8")
        text = text.replace(f'base_url = "{BASE_URL}"', f'base_url = "http://127.0.0.1:{self.daemon.port}/agenda"')
        main.write_text(text, encoding="utf-8")
        self.daemon.start()
        self.addCleanup(self.daemon.stop_clean)

    def test_links_keep_the_path_and_lead_somewhere(self):
        home = self.daemon.get("/agenda/")
        self.assertEqual(home.status, 200, home.body[:300])
        self.assertEqual(home.body, self.daemon.get("/").body)
        page = Page(home.body.decode("utf-8"))
        own = [l for l in page.links() if l.startswith("/")]
        self.assertIn("/agenda/", own)
        self.assertIn("/agenda/?category=apero", own)
        self.assertTrue([l for l in own if l.startswith("/agenda/events/")], own)
        self.assertEqual([l for l in own if not l.startswith("/agenda/")], [])
        self.assertEqual([a["action"] for t, a in page.tags if t == "form"], ["/agenda/subscribe"])
        event = Page(self.daemon.get("/agenda/events/casapero").body.decode("utf-8"))
        own += [l for l in event.links() if l.startswith("/")]
        feeds = [urllib.parse.urlsplit(a["value"]).path for a in page.inputs(type="text") + event.inputs(type="text") if "value" in a]
        self.assertIn("/agenda/calendar.ics", feeds)
        for path in sorted(set(own + feeds)):
            with self.subTest(path=path):
                self.assertEqual(self.daemon.get(path).status, 200)
                self.assertEqual(self.daemon.get(path[len("/agenda"):]).status, 200)
        self.assertEqual(self.daemon.get("/agenda/calendar.ics").body, self.daemon.get("/calendar.ics").body)
        self.assertEqual(self.daemon.get("/agendas/calendar.ics").status, 404)
        # the path is taken off once: no endless names of one page
        self.assertEqual(self.daemon.get("/agenda/agenda/calendar.ics").status, 404)
        self.assertEqual(self.daemon.get("/agenda/agenda/events/casapero").status, 404)
        body = urllib.parse.urlencode([("email", "visitor@example.org")]).encode()
        r = self.daemon.request("POST", "/agenda/subscribe", body=body,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 202, r.body[:300])
        self.assertEqual(self.daemon.get("/agenda/subscribe").header("Location"), "/agenda/#reminders")


if __name__ == "__main__":
    unittest.main()
