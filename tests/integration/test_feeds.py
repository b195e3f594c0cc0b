"""The iCalendar feeds of the example site, as calendar clients receive them:
bytes on the wire, HTTP caching, and the occurrences two independent readers
(python3-icalendar + recurring_ical_events, and Mozilla's ical.js 2.x) expand
from them, compared with /api/events over 2027 (both DST changes)."""

import contextlib
import datetime as dt
import email.utils
import gzip
import os
import re
import signal
import sqlite3
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import tomllib
import unittest
from pathlib import Path

import icalendar

from harness import (BINARY, EXAMPLE_SITE, PARIS, START_TIMEOUT, STOP_TIMEOUT, Daemon, DaemonTestCase, api_set, free_port, health_error_texts,
                     health_generation, icaljs_expand, prop, property_lines, property_values, python_expand,
                     requires_binary, run_cli, unescape_text, vevents)

DOMAIN = "casaco.example"
YEAR_2027 = (dt.date(2027, 1, 1), dt.date(2028, 1, 1))


def site_files(site=EXAMPLE_SITE):
    main = tomllib.loads((site / "casacal.toml").read_text(encoding="utf-8"))
    events = []
    for f in sorted((site / "events.d").glob("*.toml")):
        doc = tomllib.loads(f.read_text(encoding="utf-8"))
        events += [dict(e, programme=False) for e in doc.get("event", [])]
        events += [dict(e, programme=True) for e in doc.get("programme", [])]
    return main, events


MAIN, EVENTS = site_files()
CATEGORIES = sorted(MAIN["categories"])
EVENT_IDS = [e["id"] for e in EVENTS]


def expected_uids(events=EVENTS):
    uids = set()
    for e in events:
        if e["programme"]:
            uids |= {f"{e['id']}-{n}@{DOMAIN}" for n in range(1, len(e["session"]) + 1)}
        else:
            uids.add(f"{e['id']}@{DOMAIN}")
    return uids


def known_until_flaw(body, missing):
    """Occurrences recurring_ical_events 2.0.1 is known to drop (see
    test_oracles): the last one of a zoned series whose UTC UNTIL names it
    exactly, with a DST change between DTSTART and UNTIL."""
    forgiven = set()
    cal = icalendar.Calendar.from_ical(body)
    for ev in cal.walk("VEVENT"):
        if "RRULE" not in ev or "RECURRENCE-ID" in ev:
            continue
        until = ev["RRULE"].get("UNTIL")
        start = ev["DTSTART"].dt
        if not until or not isinstance(start, dt.datetime) or start.tzinfo is None:
            continue
        until = until[0]
        if start.utcoffset() == until.astimezone(start.tzinfo).utcoffset():
            continue
        stamp = until.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        forgiven |= {m for m in missing if m[0] == str(ev["UID"]) and m[1] == stamp}
    return forgiven


@requires_binary
class PublishedFeedTest(DaemonTestCase):
    """Read-only checks on one daemon serving the example site."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(EXAMPLE_SITE).start()
        cls.feeds = {}
        paths = ["/calendar.ics"] + [f"/calendar/{c}.ics" for c in CATEGORIES] + \
                [f"/events/{i}.ics" for i in EVENT_IDS]
        for path in paths:
            cls.feeds[path] = cls.daemon.get(path)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop_clean()

    def all_feed(self):
        return self.feeds["/calendar.ics"].body

    def master(self, event_id, body=None):
        for ev in vevents(body or self.all_feed()):
            if prop(ev, "UID")[1] == f"{event_id}@{DOMAIN}" and prop(ev, "RECURRENCE-ID")[0] is None:
                return ev
        self.fail(f"no master VEVENT for {event_id}")

    # -- the wire format -----------------------------------------------------

    def test_every_feed_is_served_as_calendar(self):
        for path, r in self.feeds.items():
            with self.subTest(path=path):
                self.assertEqual(r.status, 200)
                self.assertEqual(r.header("Content-Type"), "text/calendar; charset=utf-8")
                self.assertTrue(r.body.startswith(b"BEGIN:VCALENDAR\r\n"))
                self.assertTrue(r.body.endswith(b"END:VCALENDAR\r\n"))
                self.assertEqual(r.header("Access-Control-Allow-Origin"), "*")
                self.assertIsNotNone(r.header("Cache-Control"))
                etag = r.header("ETag")
                self.assertRegex(etag, r'^"[^"]+"$', "strong ETag")
                self.assertIsNotNone(email.utils.parsedate_to_datetime(r.header("Last-Modified")))

    def test_every_feed_parses_with_python_icalendar(self):
        for path, r in self.feeds.items():
            with self.subTest(path=path):
                cal = icalendar.Calendar.from_ical(r.body)
                self.assertEqual(cal.name, "VCALENDAR")
                self.assertGreater(len(cal.walk("VEVENT")), 0)

    def test_every_feed_parses_with_icaljs(self):
        with tempfile.TemporaryDirectory() as tmp:
            for path, r in self.feeds.items():
                with self.subTest(path=path):
                    f = Path(tmp) / "feed.ics"
                    f.write_bytes(r.body)
                    # raises with node's stderr if ical.js rejects the feed
                    icaljs_expand(f, *YEAR_2027)

    def test_lines_end_in_crlf_and_fold_at_75_octets_on_character_boundaries(self):
        for path, r in self.feeds.items():
            with self.subTest(path=path):
                self.assertNotIn(b"\n", r.body.replace(b"\r\n", b""), "bare LF")
                self.assertNotIn(b"\r", r.body.replace(b"\r\n", b""), "bare CR")
                for line in r.body[:-2].split(b"\r\n"):
                    self.assertLessEqual(len(line), 75, line)
                    line.decode("utf-8")  # a fold that split a character would not decode
        # the long French texts of the example really are folded
        self.assertIn(b"\r\n ", self.all_feed())

    def test_calendar_properties(self):
        for path, r in self.feeds.items():
            with self.subTest(path=path):
                b = r.body
                self.assertEqual(property_values(b, "VERSION"), ["2.0"])
                self.assertEqual(len(property_values(b, "PRODID")), 1)
                self.assertEqual(property_values(b, "CALSCALE"), ["GREGORIAN"])
                self.assertEqual(property_values(b, "METHOD"), ["PUBLISH"])
                self.assertEqual(len(property_values(b, "NAME")), 1)
                self.assertEqual(property_values(b, "NAME"), property_values(b, "X-WR-CALNAME"))
                self.assertEqual(property_values(b, "X-WR-TIMEZONE"), ["Europe/Paris"])
                refresh = property_lines(b, "REFRESH-INTERVAL")
                self.assertEqual(len(refresh), 1)
                self.assertRegex(refresh[0], r"^REFRESH-INTERVAL;VALUE=DURATION:P")
                self.assertRegex(property_values(b, "X-PUBLISHED-TTL")[0], r"^P")
        self.assertIn("Casaco", property_values(self.all_feed(), "NAME")[0])

    def test_one_vtimezone_in_rrule_form_without_history(self):
        for path, r in self.feeds.items():
            with self.subTest(path=path):
                b = r.body
                text = b.decode("utf-8")
                if ";TZID=" not in text:
                    # only dates (all-day events): no zone is used, so none is sent
                    self.assertNotIn("BEGIN:VTIMEZONE", text)
                    continue
                self.assertEqual(text.count("BEGIN:VTIMEZONE\r\n"), 1)
                self.assertEqual(property_values(b, "TZID"), ["Europe/Paris"])
                self.assertIn("RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", text)
                self.assertIn("RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", text)
                self.assertNotIn("RDATE", text)
                self.assertNotIn("1891", text)
                self.assertNotIn("LMT", text)

    def test_uids(self):
        uids = set(property_values(self.all_feed(), "UID"))
        self.assertEqual(uids, expected_uids())
        self.assertIn("casapero@casaco.example", uids)
        self.assertIn("weekend-entrepreneurs-2027-03-1@casaco.example", uids)
        self.assertIn("weekend-entrepreneurs-2027-03-3@casaco.example", uids)
        # one master per UID
        masters = [prop(ev, "UID")[1] for ev in vevents(self.all_feed()) if prop(ev, "RECURRENCE-ID")[0] is None]
        self.assertEqual(sorted(masters), sorted(expected_uids()))

    def test_category_and_event_feeds_hold_exactly_their_events(self):
        for c in CATEGORIES:
            with self.subTest(category=c):
                uids = set(property_values(self.feeds[f"/calendar/{c}.ics"].body, "UID"))
                self.assertEqual(uids, expected_uids([e for e in EVENTS if e["category"] == c]))
        for e in EVENTS:
            with self.subTest(event=e["id"]):
                uids = set(property_values(self.feeds[f"/events/{e['id']}.ics"].body, "UID"))
                self.assertEqual(uids, expected_uids([e]))

    def test_recurring_master_overrides_and_exdates(self):
        feed = self.all_feed()
        casapero = self.master("casapero")
        self.assertEqual(prop(casapero, "DTSTART"), ("DTSTART;TZID=Europe/Paris", "20261203T183000"))
        self.assertEqual(prop(casapero, "DTEND"), ("DTEND;TZID=Europe/Paris", "20261203T210000"))
        self.assertEqual(prop(casapero, "RRULE")[1], "FREQ=MONTHLY;BYDAY=1TH")
        # the cancelled occurrence is an EXDATE of the master's form
        exdates = [line for line in casapero if line.startswith("EXDATE")]
        self.assertEqual(exdates, ["EXDATE;TZID=Europe/Paris:20270805T183000"])
        # the moved one is a RECURRENCE-ID VEVENT of the master's form
        moved = [ev for ev in vevents(feed)
                 if prop(ev, "UID")[1] == "casapero@casaco.example" and prop(ev, "RECURRENCE-ID")[0]]
        self.assertEqual(len(moved), 1)
        self.assertEqual(prop(moved[0], "RECURRENCE-ID"), ("RECURRENCE-ID;TZID=Europe/Paris", "20270107T183000"))
        self.assertEqual(prop(moved[0], "DTSTART"), ("DTSTART;TZID=Europe/Paris", "20270114T183000"))
        self.assertEqual(prop(moved[0], "DTEND"), ("DTEND;TZID=Europe/Paris", "20270114T213000"))

        academie = self.master("casacademie")
        self.assertEqual([line for line in academie if line.startswith("EXDATE")],
                         ["EXDATE;TZID=Europe/Paris:20261229T093000"])
        rids = sorted(prop(ev, "RECURRENCE-ID") for ev in vevents(feed)
                      if prop(ev, "UID")[1] == "casacademie@casaco.example" and prop(ev, "RECURRENCE-ID")[0])
        self.assertEqual(rids, [("RECURRENCE-ID;TZID=Europe/Paris", "20270406T093000"),
                                ("RECURRENCE-ID;TZID=Europe/Paris", "20270518T093000")])

        ruche = self.master("ruche-qui-dit-oui")
        values = sorted(v for line in ruche if line.startswith("EXDATE;TZID=Europe/Paris:")
                        for v in line.split(":", 1)[1].split(","))
        self.assertEqual(values, ["20261224T170000", "20261231T170000"])
        self.assertEqual([line for line in ruche if line.startswith("EXDATE") and "TZID=Europe/Paris" not in line], [])

    def test_until_written_as_local_date_becomes_utc_and_keeps_that_day(self):
        rrule = prop(self.master("casacademie"), "RRULE")[1]
        until = re.search(r"UNTIL=([0-9TZ]+)", rrule).group(1)
        self.assertRegex(until, r"^\d{8}T\d{6}Z$", "UTC UNTIL for a zoned DTSTART (RFC 5545 3.3.10)")
        # 29 June 2027 at 09:30 Paris (07:30Z) is the last session; UNTIL must not exclude it
        self.assertGreaterEqual(until, "20270629T073000Z")
        self.assertLess(until, "20270630T000000Z")

    def test_all_day_events_have_exclusive_date_end(self):
        po = self.master("portes-ouvertes-2027-01")
        self.assertEqual(prop(po, "DTSTART"), ("DTSTART;VALUE=DATE", "20270116"))
        self.assertEqual(prop(po, "DTEND"), ("DTEND;VALUE=DATE", "20270117"))
        summer = self.master("fermeture-estivale-2027")
        self.assertEqual(prop(summer, "DTSTART"), ("DTSTART;VALUE=DATE", "20270802"))
        self.assertEqual(prop(summer, "DTEND"), ("DTEND;VALUE=DATE", "20270816"))

    def test_text_round_trips_through_escaping(self):
        masters = {prop(ev, "UID")[1]: ev for ev in vevents(self.all_feed()) if prop(ev, "RECURRENCE-ID")[0] is None}
        for e in EVENTS:
            if e["programme"]:
                continue
            with self.subTest(event=e["id"]):
                ev = masters[f"{e['id']}@{DOMAIN}"]
                self.assertEqual(unescape_text(prop(ev, "SUMMARY")[1]), e["title"])
                description = unescape_text(prop(ev, "DESCRIPTION")[1])
                # the price may be appended to the description, which is kept whole
                self.assertTrue(description.startswith(e["description"]), description)
                if "price" in e:
                    self.assertIn(e["price"], description)
                if "location" in e:
                    self.assertEqual(unescape_text(prop(ev, "LOCATION")[1]), e["location"])
                if "url" in e:
                    self.assertEqual(prop(ev, "URL")[1], e["url"])
        # the raw escapes themselves: backslash, semicolon, comma, newline
        raw = "".join(line for line in self.master("casacademie") if line.startswith("DESCRIPTION"))
        self.assertIn(r"partage \\\\nas\\casacademie \; pensez", raw)
        self.assertIn(r"compta\, prospection", raw)
        self.assertIn(r"parole.\nSupports", raw)

    def test_sessions_are_their_own_vevents(self):
        cal = icalendar.Calendar.from_ical(self.feeds["/events/weekend-entrepreneurs-2027-03.ics"].body)
        sessions = {str(ev["UID"]): ev for ev in cal.walk("VEVENT")}
        third = sessions["weekend-entrepreneurs-2027-03-3@casaco.example"]
        # the session's title, possibly after the programme's
        self.assertTrue(str(third["SUMMARY"]).endswith("Prototypes, tests terrain et présentation au jury"),
                        str(third["SUMMARY"]))
        self.assertEqual(str(third["LOCATION"]), "Tout le bâtiment")
        # Sunday 28 March 2027, after the 02:00 -> 03:00 change: 10:00 CEST is 08:00Z
        self.assertEqual(third["DTSTART"].dt.astimezone(dt.timezone.utc),
                         dt.datetime(2027, 3, 28, 8, 0, tzinfo=dt.timezone.utc))

    def test_properties_where_known(self):
        casapero = self.master("casapero")
        self.assertEqual(prop(casapero, "STATUS")[1], "CONFIRMED")
        self.assertEqual(prop(casapero, "URL")[1], "https://casaco.example/casapero")
        self.assertIn("mailto:aurelien@casaco.example", prop(casapero, "ORGANIZER")[1].lower())
        self.assertIsNotNone(prop(casapero, "CATEGORIES")[0])
        self.assertIsNotNone(prop(casapero, "COLOR")[0])
        self.assertEqual(prop(self.master("atelier-robin-des-bois"), "STATUS")[1], "TENTATIVE")
        for ev in vevents(self.all_feed()):
            with self.subTest(uid=prop(ev, "UID")[1], rid=prop(ev, "RECURRENCE-ID")[1]):
                self.assertRegex(prop(ev, "DTSTAMP")[1], r"^\d{8}T\d{6}Z$")
                self.assertEqual(prop(ev, "DTSTAMP")[1], prop(ev, "LAST-MODIFIED")[1])
                self.assertRegex(prop(ev, "SEQUENCE")[1], r"^\d+$")

    def test_healthz_and_metrics(self):
        r = self.daemon.get("/healthz")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("Content-Type").startswith("application/json"))
        doc = r.json()
        self.assertEqual(doc["status"], "ok")
        self.assertGreaterEqual(health_generation(doc), 1)
        self.assertEqual(health_error_texts(doc), [])
        m = self.daemon.get("/metrics")
        self.assertEqual(m.status, 200)
        self.assertTrue(m.header("Content-Type").startswith("text/plain"))
        text = m.body.decode()
        self.assertRegex(text, r'(?m)^casacal_http_requests_total\{[^}]*route="feed"[^}]*status="200"[^}]*\} [1-9]')
        self.assertRegex(text, rf'(?m)^casacal_feed_bytes\{{path="/calendar.ics"\}} {len(self.all_feed())}$')

    def test_unknown_feeds_are_404(self):
        for path in ("/events/nope.ics", "/calendar/nope.ics", "/calendar/apero", "/events/casapero.ICS"):
            with self.subTest(path=path):
                self.assertEqual(self.daemon.get(path).status, 404)

    # -- the occurrences the feed implies ----------------------------------

    def api_2027(self, category=None):
        q = "/api/events?from=2027-01-01&to=2028-01-01" + (f"&category={category}" if category else "")
        r = self.daemon.get(q)
        self.assertEqual(r.status, 200, r.body[:500])
        self.assertEqual(r.header("Access-Control-Allow-Origin"), "*")
        return r.json()

    def test_api_occurrences_across_both_dst_changes(self):
        api = api_set(self.api_2027())
        expected = {
            # Casapéro: 18:30 CET = 17:30Z before 28 March, 18:30 CEST = 16:30Z after
            ("casapero@casaco.example", "2027-03-04T17:30:00Z", "2027-03-04T20:00:00Z"),
            ("casapero@casaco.example", "2027-04-01T16:30:00Z", "2027-04-01T19:00:00Z"),
            ("casapero@casaco.example", "2027-10-07T16:30:00Z", "2027-10-07T19:00:00Z"),
            ("casapero@casaco.example", "2027-11-04T17:30:00Z", "2027-11-04T20:00:00Z"),
            # moved by its override
            ("casapero@casaco.example", "2027-01-14T17:30:00Z", "2027-01-14T20:30:00Z"),
            # UNTIL=20270629 (local date): the session of that day still happens
            ("casacademie@casaco.example", "2027-06-29T07:30:00Z", "2027-06-29T10:00:00Z"),
            ("casacademie@casaco.example", "2027-05-18T12:00:00Z", "2027-05-18T15:30:00Z"),
            # the week of the autumn change (31 October)
            ("ruche-qui-dit-oui@casaco.example", "2027-10-28T15:00:00Z", "2027-10-28T17:00:00Z"),
            ("ruche-qui-dit-oui@casaco.example", "2027-11-04T16:00:00Z", "2027-11-04T18:00:00Z"),
            ("weekend-entrepreneurs-2027-03-2@casaco.example", "2027-03-27T13:00:00Z", "2027-03-27T17:30:00Z"),
            ("weekend-entrepreneurs-2027-03-3@casaco.example", "2027-03-28T08:00:00Z", "2027-03-28T15:00:00Z"),
            ("portes-ouvertes-2027-01@casaco.example", "2027-01-16", "2027-01-17"),
            ("fermeture-estivale-2027@casaco.example", "2027-08-02", "2027-08-16"),
            ("assemblee-generale-scic-2027@casaco.example", "2027-10-30T08:00:00Z", "2027-10-30T10:30:00Z"),
        }
        self.assertEqual(expected - api, set())
        uids_dates = {(u, s[:10]) for u, s, _ in api}
        self.assertNotIn(("casapero@casaco.example", "2027-01-07"), uids_dates, "moved away")
        self.assertNotIn(("casapero@casaco.example", "2027-08-05"), uids_dates, "cancelled")
        self.assertNotIn(("casacademie@casaco.example", "2027-05-18T07:30:00Z"), {(u, s) for u, s, _ in api})
        self.assertFalse([k for k in api if k[0] == "casacademie@casaco.example" and k[1] > "2027-06-30"])
        # every Thursday of 2027 (its exdates are in 2026): 52 of them
        self.assertEqual(len([k for k in api if k[0] == "ruche-qui-dit-oui@casaco.example"]), 52)

    def test_api_document_shape(self):
        doc = self.api_2027()
        occ = doc["occurrences"]
        self.assertGreater(len(occ), 60)
        keys = {"uid", "event", "title", "category", "start", "end", "all_day", "location", "status",
                "recurrence_id", "url"}
        for o in occ:
            self.assertEqual(keys - set(o), set(), o)
        first = next(o for o in occ if o["uid"] == "casapero@casaco.example" and o["start"].startswith("2027-03-04"))
        self.assertEqual(first["start"], "2027-03-04T18:30:00+01:00")
        self.assertEqual(first["end"], "2027-03-04T21:00:00+01:00")
        self.assertEqual(first["title"], "Casapéro")
        self.assertEqual(first["category"], "apero")
        self.assertEqual(first["event"], "casapero")
        self.assertFalse(first["all_day"])
        april = next(o for o in occ if o["uid"] == "casapero@casaco.example" and o["start"].startswith("2027-04-01"))
        self.assertEqual(april["start"], "2027-04-01T18:30:00+02:00")
        po = next(o for o in occ if o["event"] == "portes-ouvertes-2027-01")
        self.assertEqual((po["start"], po["end"], po["all_day"]), ("2027-01-16", "2027-01-17", True))
        self.assertEqual(po["recurrence_id"] or "", "")
        moved = next(o for o in occ if o["uid"] == "casapero@casaco.example" and o["start"].startswith("2027-01-14"))
        self.assertEqual(moved["recurrence_id"], "2027-01-07T18:30:00+01:00")
        self.assertEqual(moved["title"], "Casapéro de la nouvelle année, galette des rois")
        # sorted by start instant
        instants = [dt.datetime.fromisoformat(o["start"]) if not o["all_day"]
                    else dt.datetime.combine(dt.date.fromisoformat(o["start"]), dt.time(), PARIS) for o in occ]
        self.assertEqual(instants, sorted(instants))

    def test_feed_expansions_match_api(self):
        feed = self.all_feed()
        api = api_set(self.api_2027())
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "calendar.ics"
            path.write_bytes(feed)
            js = icaljs_expand(path, *YEAR_2027)
        py = python_expand(feed, *YEAR_2027)

        self.assertEqual(sorted(js - api), [], "ical.js shows occurrences /api/events does not list")
        self.assertEqual(sorted(api - js), [], "/api/events lists occurrences ical.js does not show")
        self.assertEqual(sorted(py - api), [], "recurring_ical_events shows occurrences /api/events does not list")
        missing = api - py
        forgiven = known_until_flaw(feed, missing)
        self.assertEqual(sorted(missing - forgiven), [],
                         "/api/events lists occurrences recurring_ical_events does not show")

    def test_category_feed_expansions_match_api(self):
        with tempfile.TemporaryDirectory() as tmp:
            for c in CATEGORIES:
                with self.subTest(category=c):
                    path = Path(tmp) / f"{c}.ics"
                    path.write_bytes(self.feeds[f"/calendar/{c}.ics"].body)
                    self.assertEqual(icaljs_expand(path, *YEAR_2027), api_set(self.api_2027(c)))

    # -- HTTP caching -------------------------------------------------------

    def test_same_bytes_on_every_fetch(self):
        for path, r in self.feeds.items():
            with self.subTest(path=path):
                again = self.daemon.get(path)
                self.assertEqual(again.body, r.body)
                self.assertEqual(again.header("ETag"), r.header("ETag"))
                self.assertEqual(again.header("Last-Modified"), r.header("Last-Modified"))

    def test_export_gives_the_bytes_served(self):
        p = run_cli("export", "-c", self.daemon.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, self.all_feed())
        p = run_cli("export", "-c", self.daemon.config, "--category", "apero")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, self.feeds["/calendar/apero.ics"].body)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.ics"
            p = run_cli("export", "-c", self.daemon.config, "-o", out)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(out.read_bytes(), self.all_feed())

    def test_agenda_json_is_the_api_document(self):
        p = run_cli("agenda", "-c", self.daemon.config, "--from", "2027-01-01", "--to", "2028-01-01", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        import json
        self.assertEqual(json.loads(p.stdout), self.api_2027())

    def test_conditional_requests(self):
        r = self.feeds["/calendar.ics"]
        etag, last_modified = r.header("ETag"), r.header("Last-Modified")
        inm = self.daemon.get("/calendar.ics", {"If-None-Match": etag})
        self.assertEqual(inm.status, 304)
        self.assertEqual(inm.body, b"")
        self.assertEqual(inm.header("ETag"), etag)
        listed = self.daemon.get("/calendar.ics", {"If-None-Match": f'"nope", {etag}'})
        self.assertEqual(listed.status, 304)
        other = self.daemon.get("/calendar.ics", {"If-None-Match": '"something-else"'})
        self.assertEqual(other.status, 200)
        self.assertEqual(other.body, r.body)
        ims = self.daemon.get("/calendar.ics", {"If-Modified-Since": last_modified})
        self.assertEqual(ims.status, 304)
        self.assertEqual(ims.body, b"")
        older = email.utils.format_datetime(
            email.utils.parsedate_to_datetime(last_modified) - dt.timedelta(days=1), usegmt=True)
        self.assertEqual(self.daemon.get("/calendar.ics", {"If-Modified-Since": older}).status, 200)

    def test_head_has_headers_and_no_body(self):
        r = self.feeds["/calendar.ics"]
        head = self.daemon.request("HEAD", "/calendar.ics")
        self.assertEqual(head.status, 200)
        self.assertEqual(head.body, b"")
        self.assertEqual(head.header("ETag"), r.header("ETag"))
        self.assertEqual(head.header("Content-Length"), str(len(r.body)))
        self.assertEqual(head.header("Content-Type"), "text/calendar; charset=utf-8")

    def test_gzip_only_when_asked(self):
        plain = self.feeds["/calendar.ics"]
        self.assertIsNone(plain.header("Content-Encoding"))
        self.assertIn("accept-encoding", (plain.header("Vary") or "").lower())
        self.assertEqual(self.daemon.get("/calendar.ics", {"Accept-Encoding": "identity"}).body, plain.body)
        self.assertIsNone(self.daemon.get("/calendar.ics", {"Accept-Encoding": "br"}).header("Content-Encoding"))
        self.assertIsNone(self.daemon.get("/calendar.ics", {"Accept-Encoding": "gzip;q=0"}).header("Content-Encoding"))
        z = self.daemon.get("/calendar.ics", {"Accept-Encoding": "gzip, deflate, br"})
        self.assertEqual(z.status, 200)
        self.assertEqual(z.header("Content-Encoding"), "gzip")
        self.assertIn("accept-encoding", (z.header("Vary") or "").lower())
        self.assertEqual(z.header("Content-Length"), str(len(z.body)))
        self.assertLess(len(z.body), len(plain.body))
        self.assertEqual(gzip.decompress(z.body), plain.body)
        # a gzip representation is a different one: its ETag must differ
        self.assertNotEqual(z.header("ETag"), plain.header("ETag"))


@requires_binary
class DaylightEdgeTest(DaemonTestCase):
    """Events that end in the hour the autumn change repeats: the feed must
    say the same instants as /api/events to both readers."""

    EVENTS = """
[[event]]
id       = "nuit-des-makers"
title    = "Nuit des makers"
category = "atelier"
start    = 2027-10-31T01:45:00
duration = "PT1H45M"

[[event]]
id       = "veillee"
title    = "Veillée"
category = "atelier"
start    = 2027-10-31T01:00:00
duration = "PT2H30M"
rrule    = "FREQ=DAILY;COUNT=3"
"""

    def test_feed_and_api_agree_on_ends_in_the_repeated_hour(self):
        d = Daemon(self.SITE)
        self.addCleanup(self._finish, d)
        (d.site / "events.d" / "zz-nuit.toml").write_text(self.EVENTS, encoding="utf-8")
        d.start()
        body = d.get("/calendar.ics").body
        api = api_set(d.get("/api/events?from=2027-10-01&to=2027-11-15").json())
        # 01:45 CEST + 1 h 45 is the second 02:30 (UTC+01:00).
        self.assertIn(("nuit-des-makers@casaco.example", "2027-10-30T23:45:00Z", "2027-10-31T01:30:00Z"), api)
        nuit = [ev for ev in vevents(body) if prop(ev, "UID")[1] == "nuit-des-makers@casaco.example"][0]
        self.assertEqual(prop(nuit, "DTEND")[1], "20271031T013000Z")
        lo, hi = dt.date(2027, 10, 1), dt.date(2027, 11, 15)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "calendar.ics"
            path.write_bytes(body)
            js = icaljs_expand(path, lo, hi)
        py = python_expand(body, lo, hi)
        # ical.js 2.x adds a series' length to the wall clock of each
        # occurrence; RFC 5545 §3.8.5.3 gives every occurrence the exact
        # duration of DTSTART..DTEND (2 h 30 here), as the API and
        # recurring_ical_events do. Its first Veillée ends an hour late.
        first = ("veillee@casaco.example", "2027-10-30T23:00:00Z", "2027-10-31T01:30:00Z")
        self.assertIn(first, api)
        js = (js - {first[:2] + ("2027-10-31T02:30:00Z",)}) | {first}
        for uid in ("nuit-des-makers@casaco.example", "veillee@casaco.example"):
            mine = {o for o in api if o[0] == uid}
            self.assertTrue(mine, uid)
            self.assertEqual({o for o in js if o[0] == uid}, mine, f"ical.js, {uid}")
            self.assertEqual({o for o in py if o[0] == uid}, mine, f"recurring_ical_events, {uid}")


    def test_a_series_at_a_utc_instant_and_a_date_in_another_zone_read_alike(self):
        # A weekly 09:00Z across the spring change: recurring_ical_events
        # reads a feed's UTC times on X-WR-TIMEZONE's wall clock (as Google
        # does), and would move it to 08:00Z in summer were it written in
        # UTC. An all-day date of an Auckland event is floating in the feed:
        # every reader shows it on its date, and the API lists it there.
        d = Daemon(self.SITE)
        self.addCleanup(self._finish, d)
        (d.site / "events.d" / "zz-visio.toml").write_text("""
[[event]]
id       = "visio"
title    = "Visio du mardi"
category = "atelier"
start    = 2027-03-16T09:00:00Z
duration = "PT1H"
rrule    = "FREQ=WEEKLY;COUNT=4"
exdates  = [2027-03-23T09:00:00Z]

[[event]]
id       = "journee-auckland"
title    = "Journée à Auckland"
category = "atelier"
timezone = "Pacific/Auckland"
start    = 2027-03-31
""", encoding="utf-8")
        d.start()
        body = d.get("/calendar.ics").body
        lo, hi = dt.date(2027, 3, 1), dt.date(2027, 4, 30)
        api = api_set(d.get(f"/api/events?from={lo}&to={hi}").json())
        visio = {o for o in api if o[0] == "visio@casaco.example"}
        self.assertEqual({o[1] for o in visio},
                         {"2027-03-16T09:00:00Z", "2027-03-30T09:00:00Z", "2027-04-06T09:00:00Z"})
        day = d.get("/api/events?from=2027-03-31&to=2027-04-01").json()["occurrences"]
        self.assertIn("journee-auckland", [o["event"] for o in day])
        self.assertNotIn("journee-auckland", [o["event"] for o in
                                              d.get("/api/events?from=2027-03-30&to=2027-03-31")
                                              .json()["occurrences"]])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "calendar.ics"
            path.write_bytes(body)
            js = icaljs_expand(path, lo, hi)
        py = python_expand(body, lo, hi)
        for uid in ("visio@casaco.example", "journee-auckland@casaco.example"):
            mine = {o for o in api if o[0] == uid}
            self.assertTrue(mine, uid)
            self.assertEqual({o for o in js if o[0] == uid}, mine, f"ical.js, {uid}")
            self.assertEqual({o for o in py if o[0] == uid}, mine, f"recurring_ical_events, {uid}")

class FeedChangeTest(DaemonTestCase):
    """Edits, reloads and restarts, each on its own copy of the site."""

    def casapero_vevent(self, d):
        for ev in vevents(d.get("/calendar.ics").body):
            if prop(ev, "UID")[1] == "casapero@casaco.example" and prop(ev, "RECURRENCE-ID")[0] is None:
                return ev

    def sequences(self, body):
        return {(prop(ev, "UID")[1], prop(ev, "RECURRENCE-ID")[1]): int(prop(ev, "SEQUENCE")[1])
                for ev in vevents(body)}

    def edit(self, path, old, new):
        text = path.read_text(encoding="utf-8")
        self.assertIn(old, text)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text.replace(old, new, 1), encoding="utf-8")
        tmp.replace(path)  # editors save by rename; inotify must see it

    def test_same_bytes_across_a_restart(self):
        d = self.start_daemon()
        before = {p: d.get(p) for p in ("/calendar.ics", "/calendar/apero.ics", "/events/casapero.ics")}
        d.restart()
        for p, r in before.items():
            with self.subTest(path=p):
                after = d.get(p)
                self.assertEqual(after.body, r.body)
                self.assertEqual(after.header("ETag"), r.header("ETag"))
                self.assertEqual(after.header("Last-Modified"), r.header("Last-Modified"))

    def test_a_second_daemon_on_the_same_database_refuses_to_start(self):
        # Each would take the other's leases for a crash's and send the
        # reminders in flight again.
        d = self.start_daemon()
        state = d.workdir / "state" / "casacal.db"

        def revisions():
            with sqlite3.connect(state, timeout=10) as c:
                return c.execute("SELECT * FROM revisions ORDER BY uid").fetchall()

        before = revisions()
        # The second one's events differ: refused, it must not have recorded them.
        shutil.copytree(d.site / "events.d", d.site / "other.d")
        self.edit(d.site / "other.d" / "casapero.toml", 'title       = "Casapéro"',
                  'title       = "Casapéro bis"')
        other = d.site / "other.toml"
        text = d.config.read_text(encoding="utf-8")
        text = re.sub(r'listen = "[^"]*"', f'listen = "127.0.0.1:{free_port()}"', text)
        text = re.sub(r'(?m)^(\s*events\s*=\s*)"[^"]*"', r'\g<1>"other.d"', text)
        other.write_text(text, encoding="utf-8")
        second = subprocess.run([BINARY, "serve", "-c", str(other)], capture_output=True, timeout=60,
                                cwd=d.site)
        self.assertEqual(second.returncode, 3, second.stderr)
        self.assertIn(b"in use by another casacal serve", second.stderr)
        self.assertEqual(revisions(), before)
        self.assertEqual(d.health()["status"], "ok")
        # Read-only commands still share it.
        self.assertEqual(run_cli("reminders", "-c", d.config).returncode, 0)
        self.assertEqual(d.stop(), 0)
        # Once the first has stopped, the database is free again.
        d.start()

    def test_a_database_deleted_under_the_daemon_turns_it_degraded(self):
        # It writes on into the deleted file and its lock went with it: the
        # operator must hear of it before a restart drops what it records.
        d = self.start_daemon()
        self.assertEqual(d.health()["status"], "ok")
        state = d.workdir / "state" / "casacal.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(state) + suffix).unlink(missing_ok=True)
        health = d.wait_for(lambda doc: doc["status"] != "ok", timeout=25, what="degraded")
        self.assertEqual(health["status"], "degraded")
        self.assertIn("casacal.db: the database file was deleted while casacal ran", health["database"])
        self.assertIn("the database file was deleted while casacal ran", d.stderr())
        # a reload that succeeds does not make it look well again
        generation = health_generation(health)
        d.proc.send_signal(signal.SIGHUP)
        health = d.wait_generation_above(generation)
        self.assertIn("deleted while casacal ran", health["database"])
        self.assertEqual(d.stop(), 0)

    def test_a_database_emptied_under_the_daemon_turns_it_degraded(self):
        d = self.start_daemon()
        state = d.workdir / "state" / "casacal.db"
        with open(state, "w"):  # `: > casacal.db`: same file, no byte left
            pass
        health = d.wait_for(lambda doc: doc["status"] != "ok", timeout=25, what="degraded")
        self.assertIn("casacal.db: the database file was emptied while casacal ran", health["database"])
        self.assertIn("the database file was emptied while casacal ran", d.stderr())
        self.assertEqual(d.stop(), 0)

    def test_sighup_while_the_site_is_read_at_start_reloads_once_serving(self):
        # Before, SIGHUP killed a daemon still reading its site (exit by the
        # signal, which systemd counts as clean: no restart).
        d = Daemon(self.SITE)
        self.addCleanup(self._finish, d)
        lines = []
        for i in range(3000):
            lines += ["[[event]]", f'id = "atelier-{i}"', f'title = "Atelier {i}"',
                      'category = "atelier"', f"start = 2027-0{1 + i % 9}-1{i % 10}T10:00:00",
                      'duration = "PT1H"', ""]
        (d.site / "events.d" / "zz-many.toml").write_text("\n".join(lines), encoding="utf-8")
        sent = []

        def hup():
            if d.proc and d.proc.poll() is None:
                d.proc.send_signal(signal.SIGHUP)
                sent.append(time.monotonic())

        timer = threading.Timer(0.3, hup)
        timer.start()
        d.start()
        ready = time.monotonic()
        timer.join()
        self.assertTrue(sent and sent[0] < ready, "the site was read in under 0.3 s: no SIGHUP during it")
        d.wait_generation_above(1)
        self.assertIn("reloading: SIGHUP", d.stderr())
        self.assertEqual(d.health()["status"], "ok")

    def test_a_new_listen_address_waits_for_a_restart_and_says_so(self):
        d = self.start_daemon()
        self.assertEqual(d.health()["restart_needed"], [])
        gen = health_generation(d.health())
        old = f"127.0.0.1:{d.port}"
        self.edit(d.config, f'listen = "{old}"', 'listen = "127.0.0.1:1"')
        d.signal(signal.SIGHUP)
        d.wait_generation_above(gen)
        h = d.health()  # still answered on the old address
        self.assertEqual(h["status"], "ok")
        self.assertEqual(h["restart_needed"], [
            f'[http] listen changed from "{old}" to "127.0.0.1:1"; serve keeps "{old}" until it is restarted'])
        self.assertIn("[http] listen changed", d.stderr())

    def test_sighup_without_edit_keeps_the_bytes(self):
        d = self.start_daemon()
        before = d.get("/calendar.ics")
        gen = health_generation(d.health())
        time.sleep(1.1)
        d.signal(signal.SIGHUP)
        # the reload may or may not count as a new generation; wait for its trace
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and health_generation(d.health()) == gen:
            time.sleep(0.05)
        time.sleep(0.5)
        after = d.get("/calendar.ics")
        self.assertEqual(after.body, before.body)
        self.assertEqual(after.header("ETag"), before.header("ETag"))
        self.assertEqual(after.header("Last-Modified"), before.header("Last-Modified"))
        self.assertEqual(d.health()["status"], "ok")

    def test_edit_and_sighup_changes_etag_and_sequence(self):
        d = self.start_daemon()
        before = d.get("/calendar.ics")
        gen = health_generation(d.health())
        seq = self.sequences(before.body)
        time.sleep(1.1)  # LAST-MODIFIED has one-second resolution
        self.edit(d.site / "events.d" / "casapero.toml", 'location    = "Espace convivial, rez-de-chaussée"',
                  'location    = "Terrasse du 3e étage"')
        d.signal(signal.SIGHUP)
        doc = d.wait_generation_above(gen)
        self.assertEqual(doc["status"], "ok")
        after = d.get("/calendar.ics")
        self.assertNotEqual(after.header("ETag"), before.header("ETag"))
        new_seq = self.sequences(after.body)
        self.assertEqual(new_seq[("casapero@casaco.example", None)], seq[("casapero@casaco.example", None)] + 1)
        self.assertEqual(new_seq[("ruche-qui-dit-oui@casaco.example", None)],
                         seq[("ruche-qui-dit-oui@casaco.example", None)], "untouched events keep their SEQUENCE")
        ev = self.casapero_vevent(d)
        self.assertEqual(prop(ev, "LOCATION")[1], "Terrasse du 3e étage")
        self.assertGreater(email.utils.parsedate_to_datetime(after.header("Last-Modified")),
                           email.utils.parsedate_to_datetime(before.header("Last-Modified")))
        self.assertEqual(d.get("/calendar.ics", {"If-None-Match": before.header("ETag")}).status, 200)
        # the new SEQUENCE survives a restart
        d.restart()
        self.assertEqual(d.get("/calendar.ics").body, after.body)

    def test_file_write_is_picked_up_without_sighup(self):
        d = self.start_daemon()
        before = d.get("/calendar.ics")
        gen = health_generation(d.health())
        seq = self.sequences(before.body)
        path = d.site / "events.d" / "ateliers.toml"
        text = path.read_text(encoding="utf-8").replace("impression 3D et découpe", "impression 3D, découpe laser")
        # an in-place write, as `echo >>` or a simple editor does
        with open(path, "w", encoding="utf-8") as f:
            f.write(text + '\n[[event]]\nid = "atelier-compta"\ntitle = "Atelier compta : la TVA sans douleur"\n'
                    'category = "atelier"\nstart = 2027-02-10T18:00:00\nduration = "PT1H30M"\n')
        d.wait_generation_above(gen)
        after = d.get("/calendar.ics")
        self.assertNotEqual(after.header("ETag"), before.header("ETag"))
        self.assertIn("atelier-compta@casaco.example", property_values(after.body, "UID"))
        key = ("atelier-impression-3d@casaco.example", None)
        self.assertEqual(self.sequences(after.body)[key], seq[key] + 1)
        self.assertEqual(self.sequences(after.body)[("casapero@casaco.example", None)],
                         seq[("casapero@casaco.example", None)])
        self.assertEqual(d.get("/events/atelier-compta.ics").status, 200)

    def test_deleting_an_event_moves_last_modified(self):
        d = self.start_daemon()
        before = d.get("/calendar.ics")
        gen = health_generation(d.health())
        time.sleep(1.1)
        (d.site / "events.d" / "ateliers.toml").unlink()
        d.signal(signal.SIGHUP)
        d.wait_generation_above(gen)
        after = d.get("/calendar.ics")
        self.assertNotIn("atelier-impression-3d@casaco.example", property_values(after.body, "UID"))
        self.assertGreater(email.utils.parsedate_to_datetime(after.header("Last-Modified")),
                           email.utils.parsedate_to_datetime(before.header("Last-Modified")))
        self.assertEqual(d.get("/events/atelier-impression-3d.ics").status, 404)
        self.assertEqual(d.get("/calendar.ics", {"If-Modified-Since": before.header("Last-Modified")}).status, 200)

    def test_two_changes_in_one_second_give_two_last_modified(self):
        d = self.start_daemon()
        path = d.site / "events.d" / "casapero.toml"
        while time.time() % 1 > 0.1:  # both changes within one second, when the machine allows
            time.sleep(0.01)
        gen = health_generation(d.health())
        self.edit(path, 'title       = "Casapéro"', 'title       = "Casapéro !"')
        d.signal(signal.SIGHUP)
        d.wait_generation_above(gen)
        first = d.get("/calendar.ics")
        gen = health_generation(d.health())
        self.edit(path, 'title       = "Casapéro !"', 'title       = "Casapéro !!"')
        d.signal(signal.SIGHUP)
        d.wait_generation_above(gen)
        again = d.get("/calendar.ics", {"If-Modified-Since": first.header("Last-Modified")})
        self.assertEqual(again.status, 200, "a client holding the first change was told nothing changed")
        self.assertNotEqual(again.header("ETag"), first.header("ETag"))
        # Once the clock has passed the dates given to the changes (each a
        # second after the one before when they come within a second: the
        # start-up may be one), the header says the last one and validates.
        deadline = time.monotonic() + 10
        while True:
            later = d.get("/calendar.ics")
            if d.get("/calendar.ics", {"If-Modified-Since": later.header("Last-Modified")}).status == 304:
                break
            self.assertLess(time.monotonic(), deadline, "Last-Modified never validated")
            time.sleep(0.3)
        self.assertGreater(email.utils.parsedate_to_datetime(later.header("Last-Modified")),
                           email.utils.parsedate_to_datetime(first.header("Last-Modified")))

    def test_broken_edit_keeps_old_feed_and_degrades_health(self):
        d = self.start_daemon()
        before = d.get("/calendar.ics")
        gen = health_generation(d.health())
        path = d.site / "events.d" / "casapero.toml"
        good = path.read_text(encoding="utf-8")
        # line 6: an unknown category
        self.edit(path, 'category    = "apero"', 'category    = "aperitif"')
        d.signal(signal.SIGHUP)
        doc = d.wait_for(lambda h: h.get("status") == "degraded", what="status degraded")
        errors = health_error_texts(doc)
        self.assertTrue(errors, doc)
        self.assertTrue(any(re.match(r"^(\S*/)?events\.d/casapero\.toml:6:\d+: error: .*aperitif", e)
                            for e in errors), errors)
        self.assertEqual(health_generation(doc), gen, "a failed reload must not change the generation")
        still = d.get("/calendar.ics")
        self.assertEqual(still.body, before.body)
        self.assertEqual(still.header("ETag"), before.header("ETag"))
        # a TOML syntax error, found by inotify alone
        path.write_text(good.replace('title       = "Casapéro"', 'title       = "Casapéro'), encoding="utf-8")
        time.sleep(1.0)
        doc = d.wait_for(lambda h: h.get("status") == "degraded" and any(
            ":5:" in e for e in health_error_texts(h)), what="syntax error on line 5")
        self.assertEqual(d.get("/calendar.ics").body, before.body)
        # fixed: back to ok, a new generation, same content as before the breakage
        path.write_text(good, encoding="utf-8")
        doc = d.wait_for(lambda h: h.get("status") == "ok", what="status ok")
        self.assertEqual(health_error_texts(doc), [])
        self.assertEqual(d.get("/calendar.ics").body, before.body)


    def test_an_events_folder_moved_away_and_back_is_seen(self):
        d = self.start_daemon()
        gen = health_generation(d.health())
        events = d.site / "events.d"
        spare = d.site / "events.new"
        shutil.copytree(events, spare)
        (spare / "compta.toml").write_text(
            '[[event]]\nid = "atelier-compta"\ntitle = "Atelier compta"\ncategory = "atelier"\n'
            'start = 2027-02-10T18:00:00\nduration = "PT1H30M"\n', encoding="utf-8")
        events.rename(d.site / "events.old")
        d.wait_for(lambda h: h.get("status") == "degraded", what="degraded without the events folder")
        time.sleep(1.0)  # the folder's own watch went with it
        spare.rename(events)
        doc = d.wait_for(lambda h: h.get("status") == "ok", what="the events folder seen again")
        self.assertGreater(health_generation(doc), gen)
        self.assertEqual(d.get("/events/atelier-compta.ics").status, 200)
        # and the new folder is watched
        gen = health_generation(doc)
        (events / "compta.toml").unlink()
        d.wait_generation_above(gen)
        self.assertEqual(d.get("/events/atelier-compta.ics").status, 404)

    def test_a_reload_the_database_refused_is_tried_again_by_itself(self):
        d = self.start_daemon()
        gen = health_generation(d.health())
        db = sqlite3.connect(d.workdir / "state" / "casacal.db", timeout=10, isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")  # longer than the daemon's 5 s busy timeout
        try:
            self.edit(d.site / "events.d" / "casapero.toml", 'title       = "Casapéro"',
                      'title       = "Casapéro du jeudi"')
            doc = d.wait_for(lambda h: h.get("status") == "degraded", timeout=20,
                             what="the reload refused by the locked database")
            self.assertIn("locked", doc.get("database", ""), doc)
        finally:
            db.execute("ROLLBACK")
            db.close()
        # nothing else happens: the daemon tries again on its own
        doc = d.wait_for(lambda h: h.get("status") == "ok", timeout=20, what="the reload retried")
        self.assertGreater(health_generation(doc), gen)
        self.assertEqual(prop(self.casapero_vevent(d), "SUMMARY")[1], "Casapéro du jeudi")

    def test_a_plan_the_database_refused_is_made_again_by_itself(self):
        d = self.start_daemon()
        state = d.workdir / "state" / "casacal.db"

        def sql(statement, *args):
            with sqlite3.connect(state, timeout=10) as c:
                return c.execute(statement, args).fetchall()

        # The outbox refuses the new member's rows, as a full disk would.
        sql("CREATE TRIGGER refuse BEFORE INSERT ON outbox WHEN NEW.recipient = 'nouvelle@example.org' "
            "BEGIN SELECT RAISE(ABORT, 'no room left'); END")
        members = d.site / "members.toml"
        members.write_text(members.read_text(encoding="utf-8") +
                           '\n[[member]]\nemail = "nouvelle@example.org"\ncategories = ["*"]\n',
                           encoding="utf-8")
        doc = d.wait_for(lambda h: "no room left" in h.get("database", ""), timeout=30,
                         what="the plan refused by the database")
        self.assertIn("planning reminders", doc["database"])
        sql("DROP TRIGGER refuse")
        # nothing else happens (the next hourly plan is far): it is made again on its own
        # (/healthz may read ok a moment before the plan's rows are in: wait for the rows)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and \
                not sql("SELECT count(*) FROM outbox WHERE recipient = 'nouvelle@example.org'")[0][0]:
            time.sleep(0.2)
        self.assertGreater(sql("SELECT count(*) FROM outbox WHERE recipient = 'nouvelle@example.org'")[0][0], 0)
        d.wait_for(lambda h: h.get("database") == "ok", timeout=30, what="the plan made again")

    def test_sigusr1_and_sigusr2_are_logged_and_ignored(self):
        d = self.start_daemon()
        before = d.get("/calendar.ics")
        for sig, name in ((signal.SIGUSR1, "SIGUSR1"), (signal.SIGUSR2, "SIGUSR2")):
            d.signal(sig)
            deadline = time.monotonic() + 10
            while f"ignoring {name}" not in d.stderr() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertIn(f"ignoring {name} (SIGHUP reloads, SIGTERM stops)", d.stderr())
        self.assertIsNone(d.proc.poll())
        self.assertEqual(d.health()["status"], "ok")
        self.assertEqual(d.get("/calendar.ics").body, before.body)

    @staticmethod
    def first_generation(d):
        """The generation /healthz reports once a daemon started by hand answers."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                gen = health_generation(d.health())
                if gen is not None:
                    return gen
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"no answer on /healthz within {START_TIMEOUT} s")

    def test_stderr_into_a_closed_pipe_does_not_end_the_daemon(self):
        d = Daemon(self.SITE)
        self.addCleanup(d.cleanup)
        read_end, write_end = os.pipe()
        d.proc = subprocess.Popen([BINARY, "serve", "-c", str(d.config)], stdout=write_end,
                                  stderr=write_end)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as reader:
            for line in reader:  # until the daemon has started
                if b"listening on" in line:
                    break
        # the reader is gone: every log line from here on meets EPIPE
        gen = self.first_generation(d)
        d.signal(signal.SIGHUP)  # a reload logs several lines
        doc = d.wait_for(lambda h: health_generation(h) > gen, timeout=20, what="the reload")
        self.assertEqual(doc["status"], "ok")
        self.assertEqual(d.get("/calendar.ics").status, 200)
        self.assertIsNone(d.proc.poll())
        d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(d.proc.wait(timeout=STOP_TIMEOUT), 0)

    def test_standard_descriptors_closed_at_start_are_opened_on_dev_null(self):
        d = Daemon(self.SITE)
        self.addCleanup(d.cleanup)

        def close_standard_descriptors():
            for fd in (0, 1, 2):
                os.close(fd)

        d.proc = subprocess.Popen([BINARY, "serve", "-c", str(d.config)],
                                  preexec_fn=close_standard_descriptors)
        gen = self.first_generation(d)
        # otherwise the first descriptors the daemon opens (its event loop's)
        # take these numbers, and its log lines are written into them
        for fd in (0, 1, 2):
            self.assertEqual(os.readlink(f"/proc/{d.proc.pid}/fd/{fd}"), "/dev/null", fd)
        d.signal(signal.SIGHUP)
        self.assertEqual(d.wait_for(lambda h: health_generation(h) > gen, timeout=20,
                                    what="the reload")["status"], "ok")
        d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(d.proc.wait(timeout=STOP_TIMEOUT), 0)


class SystemdNotifyTest(DaemonTestCase):
    """Type=notify: what serve tells the socket systemd names in NOTIFY_SOCKET
    (libsystemd is loaded for it, and only then)."""

    def messages(self, sock, until, timeout=20):
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                got.append(sock.recv(4096).decode())
            except socket.timeout:
                break
            if until in got[-1]:
                return got
        self.fail(f"no {until!r} on NOTIFY_SOCKET; got {got}")

    def notify_socket(self):
        """A datagram socket bound where NOTIFY_SOCKET will point, and its path."""
        path = Path(tempfile.mkdtemp(prefix="casacal-notify-")) / "notify"
        self.addCleanup(lambda: path.unlink(missing_ok=True))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.bind(str(path))
        return sock, str(path)

    def test_ready_reloading_and_stopping(self):
        sock, path = self.notify_socket()
        d = self.start_daemon(extra_env={"NOTIFY_SOCKET": path})
        first = self.messages(sock, "READY=1")
        self.assertRegex(first[-1], r"(?m)^STATUS=serving generation 1, \d+ events$")
        d.signal(signal.SIGHUP)
        reloading = [m for m in self.messages(sock, "READY=1") if "RELOADING=1" in m]
        self.assertEqual(len(reloading), 1)
        self.assertRegex(reloading[0], r"(?m)^MONOTONIC_USEC=\d+$")
        self.assertRegex(reloading[0], r"(?m)^STATUS=reloading$")
        self.assertEqual(d.stop(), 0)
        self.assertIn("STOPPING=1", self.messages(sock, "STOPPING=1")[-1])

    def test_watchdog_pings_at_half_the_interval(self):
        sock, path = self.notify_socket()
        self.start_daemon(extra_env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
        self.messages(sock, "READY=1")
        started = time.monotonic()
        for _ in range(3):
            self.messages(sock, "WATCHDOG=1", timeout=5)
        # three pings every 0.2 s, the first one right after READY
        self.assertLess(time.monotonic() - started, 2.0)

    def test_a_watchdog_of_a_microsecond_is_no_busy_loop(self):
        sock, path = self.notify_socket()
        self.start_daemon(extra_env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1"})
        self.messages(sock, "READY=1")
        time.sleep(0.5)
        sock.setblocking(False)
        pings = 0
        with contextlib.suppress(BlockingIOError):
            while True:
                pings += sock.recv(4096).count(b"WATCHDOG=1")
        # every 10 ms at most: about 50, where a busy loop sent thousands
        self.assertGreater(pings, 5)
        self.assertLess(pings, 120)


if __name__ == "__main__":
    unittest.main()
