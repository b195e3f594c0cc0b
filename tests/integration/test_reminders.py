"""Email reminders as members receive them: the real daemon sending to a real
SMTP server (aiosmtpd, in this process), every message parsed with Python's
`email` package and its calendar part with python3-icalendar; the state the
operator sees with `casacal reminders --json`.

Events are placed a couple of minutes from now (TOML offset date-times) with
offsets that make their reminders fall due some seconds after the daemon
starts. The slow cases (retries, SMTP down, kill -9) are in
test_reminders_faults.py."""

import collections
import datetime as dt
import email
import email.policy
import email.utils
import hashlib
import json
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from pathlib import Path

import icalendar

from harness import PARIS, DaemonTestCase, health_generation, requires_binary, run_cli
from mailsink import (DOMAIN, FROM, SmtpSink, event_toml, make_daemon, member_toml, now_utc, reminders,
                      utc, wait_rows, write_site)

CAMILLE = "camille.durand@example.org"
YASMINE = "yasmine.benali@example.org"
THOMAS = "thomas.leroux@example.org"
LEA = "lea.nguyen@example.org"

DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre"]

# Every header a reminder carries at the top level, and nothing else.
REMINDER_HEADERS = {"from", "to", "subject", "date", "message-id", "auto-submitted", "list-id",
                    "list-unsubscribe", "list-unsubscribe-post", "mime-version", "content-type"}


def french_when(instant):
    """"dimanche 29 novembre à 11h05" ("à 11h" on the hour, "mardi 1er
    décembre" on the first), as the subject writes an occurrence."""
    local = instant.astimezone(PARIS)
    clock = f"{local.hour}h{local.minute:02d}" if local.minute else f"{local.hour}h"
    day = "1er" if local.day == 1 else str(local.day)
    return f"{DAYS[local.weekday()]} {day} {MONTHS[local.month - 1]} à {clock}"


def log_tail(d, lines=15):
    """The daemon's last stderr lines, for failure messages."""
    return "\n".join(d.stderr().splitlines()[-lines:])


def header_names(msg):
    return [k.lower() for k in msg.keys()]


def recipient_of(t):
    assert len(t.rcpt_tos) == 1, t.rcpt_tos
    return t.rcpt_tos[0]


def unsubscribe_path(msg):
    value = str(msg["List-Unsubscribe"])
    m = re.fullmatch(r"<(http://127\.0\.0\.1:\d+)(/unsubscribe/[A-Za-z0-9_\-]+)>", value)
    assert m, f"List-Unsubscribe is {value!r}"
    return m.group(2)


def feed_path(msg):
    """The path of the personal feed linked from the plain-text part."""
    text = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
    found = re.findall(r"http://127\.0\.0\.1:\d+(/feeds/[0-9a-f]{32}\.ics)",
                       text.get_payload(decode=True).decode("utf-8"))
    assert len(found) == 1, found
    return found[0]


def calendar_part(msg):
    parts = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in msg.walk()]
    return parts[0]


def vevent_of(part):
    payload = part.get_payload(decode=True)
    cal = icalendar.Calendar.from_ical(payload)
    events = cal.walk("VEVENT")
    assert len(events) == 1, payload
    return cal, events[0]


def as_utc(value):
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=PARIS)
    return value.astimezone(dt.timezone.utc)


class ReminderTestCase(DaemonTestCase):

    def sink(self, **kw):
        s = SmtpSink(**kw).start()
        self.addCleanup(s.stop)
        return s

    def daemon(self, events, members, sink=None, **kw):
        d = make_daemon(self, events, members, sink.url if sink else None, **kw)
        return d.start()

    def post_form(self, d, path, fields):
        body = urllib.parse.urlencode(fields).encode()
        return d.request("POST", path, headers={"Content-Type": "application/x-www-form-urlencoded"},
                         body=body)


@requires_binary
class ReminderDeliveryTest(ReminderTestCase):

    def test_each_follower_gets_one_message_per_occurrence_and_offset(self):
        t0 = now_utc()
        apero_start = t0 + dt.timedelta(seconds=135)
        atelier_start = t0 + dt.timedelta(seconds=140)
        events = (event_toml("casapero", "Casapéro", "apero", apero_start) +
                  event_toml("atelier-velo", "Atelier vélo", "atelier", atelier_start))
        members = (member_toml(CAMILLE, "Camille Durand", ["apero"]) +
                   member_toml(YASMINE, "Yasmine Benali", ["*"], offsets=["PT1M55S"]) +
                   member_toml(THOMAS, "Thomas Le Roux", ["atelier"]) +
                   member_toml(LEA, "Léa Nguyen", ["vie-du-lieu"]))
        sink = self.sink()
        d = self.daemon(events, members, sink, offsets=("PT2M", "PT1M50S"))

        # camille: casapéro x 2 offsets; thomas: atelier x 2; yasmine: both events x her 1 offset.
        sink.wait_accepted(6, timeout=90, what="reminders")
        sink.wait_quiet(4)
        got = sink.accepted()
        self.assertEqual(len(got), 6, [(t.rcpt_tos, str(t.message()["Subject"])) for t in got])
        per = collections.Counter((recipient_of(t), str(t.message()["Subject"])) for t in got)
        apero_subject = f"Rappel : Casapéro — {french_when(apero_start)}"
        atelier_subject = f"Rappel : Atelier vélo — {french_when(atelier_start)}"
        self.assertEqual(per, collections.Counter({(CAMILLE, apero_subject): 2, (THOMAS, atelier_subject): 2,
                                                   (YASMINE, apero_subject): 1, (YASMINE, atelier_subject): 1}))
        self.assertEqual([t for t in sink.all() if LEA in t.rcpt_tos], [])
        self.assertNotIn(LEA, sink.rcpt_log)

        rows = wait_rows(d, lambda rows: all(r["state"] == "sent" for r in rows), 20, "every row sent")
        self.assertEqual(sorted((r["event"], r["recipient"], r["offset"], r["kind"], r["state"], r["attempts"])
                                for r in rows),
                         sorted([("casapero", CAMILLE, "PT2M", "reminder", "sent", 1),
                                 ("casapero", CAMILLE, "PT1M50S", "reminder", "sent", 1),
                                 ("casapero", YASMINE, "PT1M55S", "reminder", "sent", 1),
                                 ("atelier-velo", YASMINE, "PT1M55S", "reminder", "sent", 1),
                                 ("atelier-velo", THOMAS, "PT2M", "reminder", "sent", 1),
                                 ("atelier-velo", THOMAS, "PT1M50S", "reminder", "sent", 1)]))
        for r in rows:
            self.assertEqual(r["uid"], f"{r['event']}@{DOMAIN}")
            self.assertIsNone(r["last_error"])
        # /metrics: the six deliveries, their durations as a histogram
        metrics = d.get("/metrics").body.decode()
        self.assertIn('casacal_deliveries_total{outcome="sent"} 6\n', metrics)
        self.assertIn("# TYPE casacal_smtp_latency_seconds histogram\n", metrics)
        self.assertIn('casacal_smtp_latency_seconds_bucket{le="+Inf"} 6\n', metrics)
        self.assertIn("casacal_smtp_latency_seconds_count 6\n", metrics)
        buckets = [int(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                   if line.startswith("casacal_smtp_latency_seconds_bucket")]
        self.assertEqual(buckets, sorted(buckets))  # cumulative
        # each message links its recipient's personal feed: the same link in
        # every message, holding the categories they follow and no others
        feeds = {}
        for t in got:
            feeds.setdefault(recipient_of(t), set()).add(feed_path(t.message()))
        self.assertTrue(all(len(paths) == 1 for paths in feeds.values()), feeds)
        self.assertEqual(len({next(iter(p)) for p in feeds.values()}), 3)
        expected = {CAMILLE: {f"casapero@{DOMAIN}"}, THOMAS: {f"atelier-velo@{DOMAIN}"},
                    YASMINE: {f"casapero@{DOMAIN}", f"atelier-velo@{DOMAIN}"}}
        for who, paths in feeds.items():
            r = d.get(next(iter(paths)))
            self.assertEqual(r.status, 200, who)
            self.assertEqual(r.header("Content-Type"), "text/calendar; charset=utf-8")
            self.assertIsNone(r.header("Access-Control-Allow-Origin"))
            cal = icalendar.Calendar.from_ical(r.body)
            self.assertEqual({str(e["UID"]) for e in cal.walk("VEVENT")}, expected[who], who)
        forged = next(iter(feeds[CAMILLE]))
        forged = forged[:7] + ("0" if forged[7] != "0" else "1") + forged[8:]
        self.assertEqual(d.get(forged).status, 404)
        # the Message-ID each member received is the one the database shows
        self.assertEqual(sorted(r["message_id"] for r in rows),
                         sorted(str(t.message()["Message-ID"]) for t in got))
        self.assertEqual(len({r["message_id"] for r in rows}), 6)
        for r in rows:
            self.assertRegex(r["message_id"], rf"^<[^<>@\s]+@{re.escape(DOMAIN)}>$")
            matching = [t for t in got if str(t.message()["Message-ID"]) == r["message_id"]]
            self.assertEqual([recipient_of(t) for t in matching], [r["recipient"]])
            # due = start - offset, written in the site's zone
            start = apero_start if r["event"] == "casapero" else atelier_start
            seconds = {"PT2M": 120, "PT1M50S": 110, "PT1M55S": 115}[r["offset"]]
            due = dt.datetime.fromisoformat(r["due"])
            self.assertEqual(due, start - dt.timedelta(seconds=seconds))
            self.assertEqual(due.utcoffset(), start.astimezone(PARIS).utcoffset())

    def test_message_headers_structure_and_calendar_part(self):
        t0 = now_utc()
        start = t0 + dt.timedelta(seconds=75)
        events = event_toml("casapero", "Casapéro", "apero", start, rrule="FREQ=DAILY;COUNT=10")
        members = member_toml(CAMILLE, "Camille Durand", ["apero"])
        sink = self.sink()
        d = self.daemon(events, members, sink, offsets=("PT1M",))
        t = sink.wait_accepted(1, timeout=60, what="the reminder")[0]
        received_at = dt.datetime.now(dt.timezone.utc)
        self.assertEqual(t.rcpt_tos, [CAMILLE])
        self.assertEqual(email.utils.parseaddr(t.mail_from)[1], "agenda@casaco.example")
        msg = t.message()

        # headers: exactly these, each once
        names = header_names(msg)
        self.assertEqual(sorted(names), sorted(REMINDER_HEADERS), names)
        self.assertEqual(str(msg["From"]), FROM)
        self.assertEqual(msg["To"].addresses[0].addr_spec, CAMILLE)
        self.assertEqual(msg["To"].addresses[0].display_name, "Camille Durand")
        self.assertEqual(len(msg["To"].addresses), 1)
        self.assertEqual(str(msg["Subject"]), f"Rappel : Casapéro — {french_when(start)}")
        raw_subject = re.search(rb"(?mi)^Subject:(.*(?:\r\n[ \t].*)*)", t.data).group(1)
        self.assertTrue(all(b < 0x80 for b in raw_subject), "Subject is RFC 2047 encoded")
        self.assertIn(b"=?", raw_subject)
        date = msg["Date"].datetime
        self.assertIsNotNone(date.tzinfo)
        self.assertLess(abs((received_at - date).total_seconds()), 60)
        self.assertEqual(str(msg["Auto-Submitted"]), "auto-generated")
        self.assertEqual(str(msg["List-Id"]), f"<reminders.{DOMAIN}>")
        unsubscribe_path(msg)
        self.assertEqual(str(msg["List-Unsubscribe-Post"]), "List-Unsubscribe=One-Click")
        self.assertNotIn(b"\n", t.data.replace(b"\r\n", b""), "bare LF in the message")

        # structure: mixed > (alternative > plain + html) + calendar
        self.assertEqual(msg.get_content_type(), "multipart/mixed")
        top = list(msg.iter_parts())
        self.assertEqual([p.get_content_type() for p in top], ["multipart/alternative", "text/calendar"])
        alt = list(top[0].iter_parts())
        self.assertEqual([p.get_content_type() for p in alt], ["text/plain", "text/html"])
        for p in alt:
            self.assertEqual(p.get_content_charset(), "utf-8")
            body = p.get_payload(decode=True).decode("utf-8")
            self.assertIn("Casapéro", body)
            self.assertIn("Espace convivial, rez-de-chaussée", body)
        self.assertIn("<", alt[1].get_content())

        cal_part = top[1]
        self.assertEqual(cal_part.get_param("method"), "PUBLISH")
        cal, ev = vevent_of(cal_part)
        self.assertEqual(str(cal["METHOD"]), "PUBLISH")
        self.assertEqual(str(ev["UID"]), f"casapero@{DOMAIN}")
        self.assertEqual(as_utc(ev["DTSTART"].dt), start)
        self.assertEqual(as_utc(ev["DTEND"].dt), start + dt.timedelta(minutes=60))
        self.assertIn("RECURRENCE-ID", ev)
        self.assertEqual(as_utc(ev["RECURRENCE-ID"].dt), start)
        self.assertEqual(str(ev["SUMMARY"]), "Casapéro")

        rows = wait_rows(d, lambda rows: any(r["state"] == "sent" for r in rows), 10, "a sent row")
        sent = [r for r in rows if r["state"] == "sent"]
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["message_id"], str(msg["Message-ID"]))
        # the other occurrences of the series in the next 7 days wait their turn
        planned = [r for r in rows if r["state"] == "planned"]
        self.assertEqual(len(planned), 6, rows)
        self.assertEqual(len({r["occurrence"] for r in rows}), 7)

    def test_550_fails_that_recipient_only(self):
        t0 = now_utc()
        start = t0 + dt.timedelta(seconds=75)
        events = event_toml("casapero", "Casapéro", "apero", start)
        members = (member_toml(CAMILLE, "Camille Durand", ["apero"]) +
                   member_toml(YASMINE, "Yasmine Benali", ["apero"]) +
                   member_toml(LEA, "Léa Nguyen", ["apero"]))
        sink = self.sink()
        sink.reject.add(YASMINE)
        d = self.daemon(events, members, sink, offsets=("PT1M",))
        sink.wait_accepted(2, timeout=60, what="reminders")
        rows = wait_rows(d, lambda rows: len(rows) == 3 and all(r["state"] not in ("planned", "sending")
                                                                for r in rows), 20, "three outcomes")
        sink.wait_quiet(3)
        self.assertEqual(sorted(recipient_of(t) for t in sink.accepted()), sorted([CAMILLE, LEA]))
        by = {r["recipient"]: r for r in rows}
        self.assertEqual(by[CAMILLE]["state"], "sent")
        self.assertEqual(by[LEA]["state"], "sent")
        self.assertEqual(by[YASMINE]["state"], "failed")
        self.assertEqual(by[YASMINE]["attempts"], 1)
        self.assertIn("550", by[YASMINE]["last_error"] or "")
        self.assertEqual(sink.rcpt_log.count(YASMINE), 1, "a 5xx is not retried")
        # the operator reads it in the log too
        note = re.search(rf"reminders: reminder #(\d+) \((\S+) (\S+) PT1M\) to {re.escape(YASMINE)} failed: 550 ",
                         d.stderr())
        self.assertIsNotNone(note, d.stderr())
        self.assertEqual((note[2], note[3]), (by[YASMINE]["event"], by[YASMINE]["occurrence"]))
        # and finds the row by its id in the listing
        listing = run_cli("reminders", "-c", d.config).stdout.decode()
        self.assertRegex(listing, rf"(?m)^#{note[1]}  \S+  failed .*  {re.escape(YASMINE)}  — 550 ")


@requires_binary
class HeaderInjectionTest(ReminderTestCase):

    def test_check_refuses_a_line_break_in_a_title(self):
        import tempfile
        start = now_utc() + dt.timedelta(days=2)
        cases = {
            "event title": (event_toml("casapero", "Casapéro\r\nBcc: x@example.org", "apero", start), None),
            "site name": (event_toml("casapero", "Casapéro", "apero", start), "Casaco\r\nBcc: x@example.org"),
        }
        for what, (events, site_name) in cases.items():
            with self.subTest(what=what), tempfile.TemporaryDirectory() as tmp:
                site = write_site(tmp, events, member_toml(CAMILLE, "Camille", ["apero"]),
                                  smtp_url="smtp://127.0.0.1:9")
                if site_name:
                    main = site / "casacal.toml"
                    main.write_text(main.read_text(encoding="utf-8").replace(
                        'name     = "Casaco"', 'name     = "Casaco\\r\\nBcc: x@example.org"'), encoding="utf-8")
                p = run_cli("check", "-c", site / "casacal.toml")
                out = (p.stdout + p.stderr).decode("utf-8", "replace")
                self.assertEqual(p.returncode, 1, out)
                expected_file = "events.toml" if what == "event title" else "casacal.toml"
                self.assertRegex(out, rf"(?m)^\S*{re.escape(expected_file)}:\d+:\d+: error: ", out)

    def test_subscribe_form_cannot_add_a_header_or_a_recipient(self):
        t0 = now_utc()
        start = t0 + dt.timedelta(seconds=100)
        events = event_toml("casapero", "Casapéro", "apero", start)
        members = member_toml(CAMILLE, "Camille Durand", ["apero"])
        sink = self.sink()
        d = self.daemon(events, members, sink, offsets=("PT1M",))

        # a line break in the name: no extra header, no extra recipient
        r = self.post_form(d, "/subscribe", {"email": "eve@example.org", "name": "Eve\r\nBcc: victim@example.org",
                                             "categories": "apero"})
        self.assertIn(r.status, (202, 400), r.body[:500])
        # a name made to look like more addresses
        r2 = self.post_form(d, "/subscribe", {"email": "mallory@example.org",
                                              "name": 'Mallory" <victim2@example.org>, "Bob',
                                              "categories": "apero"})
        self.assertEqual(r2.status, 202, r2.body[:500])
        # other controls, and a bidirectional override, as members.toml refuses them
        for bad in ("Eve\x1b[31m", "Eve\u202emoc.elpmaxe", "Eve\u0085"):
            r3 = self.post_form(d, "/subscribe", {"email": "eve2@example.org", "name": bad,
                                                  "categories": "apero"})
            self.assertEqual(r3.status, 400, ascii(bad))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not sink.accepted_for("mallory@example.org"):
            time.sleep(0.1)
        if r.status == 202:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not sink.accepted_for("eve@example.org"):
                time.sleep(0.1)
        sink.wait_quiet(2)
        for t in sink.all():
            self.assertEqual(len(t.rcpt_tos), 1, t.rcpt_tos)
            self.assertNotIn("victim", " ".join(t.rcpt_tos))
        self.assertFalse([a for a in sink.rcpt_log if "victim" in a], sink.rcpt_log)

        confirmations = sink.accepted_for("mallory@example.org") + sink.accepted_for("eve@example.org")
        self.assertEqual(len(confirmations), 2 if r.status == 202 else 1)
        link = None
        for t in confirmations:
            msg = t.message()
            names = header_names(msg)
            self.assertNotIn("bcc", names)
            self.assertNotIn("cc", names)
            self.assertEqual(len(names), len(set(names)), f"a header appears twice: {names}")
            self.assertTrue({"from", "to", "subject", "date", "message-id"} <= set(names), names)
            self.assertTrue(set(names) <= REMINDER_HEADERS | {"content-transfer-encoding"}, names)
            to = msg["To"].addresses
            self.assertEqual(len(to), 1, str(msg["To"]))
            self.assertEqual(to[0].addr_spec, recipient_of(t))
            for line in t.data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
                self.assertFalse(line.lower().startswith(b"bcc:"), line)
            body = (msg.get_body(("plain",)) or msg).get_content()
            m = re.search(r"http://127\.0\.0\.1:\d+(/confirm/[A-Za-z0-9_\-]+)", body)
            self.assertIsNotNone(m, body)
            if recipient_of(t) == "mallory@example.org":
                link = m.group(1)
                self.assertEqual(to[0].display_name, 'Mallory" <victim2@example.org>, "Bob')

        # nobody gets reminders before confirming; after GET /confirm/..., mallory does
        self.assertFalse([r for r in reminders(d) if r["recipient"] == "mallory@example.org"])
        c = d.get(link)
        self.assertEqual(c.status, 200, c.body[:500])
        deadline = time.monotonic() + 70
        while time.monotonic() < deadline and not [t for t in sink.accepted_for("mallory@example.org")
                                                   if "Rappel" in str(t.message()["Subject"])]:
            time.sleep(0.2)
        got = [t for t in sink.accepted_for("mallory@example.org") if "Rappel" in str(t.message()["Subject"])]
        self.assertEqual(len(got), 1, d.stderr())
        self.assertEqual(str(got[0].message()["Subject"]), f"Rappel : Casapéro — {french_when(start)}")
        self.assertFalse([a for a in sink.rcpt_log if "victim" in a], sink.rcpt_log)


@requires_binary
class SubscribeFloodTest(ReminderTestCase):

    def test_repeated_requests_for_one_address_send_one_confirmation(self):
        sink = self.sink()
        d = self.daemon(event_toml("casapero", "Casapéro", "apero", now_utc() + dt.timedelta(days=2)),
                        "", sink)
        for n, address in enumerate(["victim@example.org", "Victim@Example.org"] * 3):
            r = self.post_form(d, "/subscribe", {"email": address, "categories": "apero" if n else "*"})
            self.assertEqual(r.status, 202, r.body[:500])
        sink.wait_accepted(1, 20, "a confirmation")
        sink.wait_quiet(2)
        self.assertEqual([t.rcpt_tos for t in sink.all()], [["victim@example.org"]])
        # HEAD (a mail scanner checking the link) confirms nothing
        link = re.search(r"/confirm/[A-Za-z0-9_\-]+", sink.all()[0].message().get_body(("plain",)).get_content())
        self.assertEqual(d.request("HEAD", link.group(0)).status, 200)
        db = sqlite3.connect(d.workdir / "state" / "casacal.db", timeout=10)
        self.assertEqual(db.execute("SELECT confirmed FROM subscribers").fetchall(), [(None,)])
        # the link that was sent confirms the latest choices
        self.assertEqual(d.get(link.group(0)).status, 200)
        self.assertEqual(db.execute("SELECT categories FROM subscribers WHERE confirmed IS NOT NULL").fetchall(),
                         [("apero",)])
        db.close()
        # followed again (the person after a mail scanner that came first): still confirmed
        again = d.get(link.group(0))
        self.assertEqual(again.status, 200, again.body[:500])
        self.assertIn(b"victim@example.org", again.body)
        self.assertEqual(d.get("/confirm/" + "A" * 22).status, 404)

    def test_the_form_media_type_is_read_in_any_case_and_refusals_stay_utf8(self):
        sink = self.sink()
        d = self.daemon(event_toml("casapero", "Casapéro", "apero", now_utc() + dt.timedelta(days=2)),
                        "", sink)
        r = d.request("POST", "/subscribe", headers={"Content-Type": "Application/X-WWW-Form-URLEncoded"},
                      body=b"email=casse%40example.org")
        self.assertEqual(r.status, 202, r.body[:500])  # RFC 9110 §8.3.1
        for media in ("application/x-www-form-urlencodedX", "text/plain"):
            r = d.request("POST", "/subscribe", headers={"Content-Type": media}, body=b"email=x%40example.org")
            self.assertEqual(r.status, 400, media)
        r = self.post_form(d, "/subscribe", {"email": b"\xff\xfe@example.org"})
        self.assertEqual(r.status, 400)
        r.body.decode("utf-8")  # the bytes that are not UTF-8 are not repeated
        self.assertNotIn(b"\xff", r.body)
        # a field that is not percent-encoded properly is a refusal, not a
        # field left out: without its category the address would follow all
        for body in (b"email=pct%40example.org&categories=apero%", b"email=pct%40example.org&categories=%zz",
                     b"email=pct%40example.org&categories=ap%2", b"email=pct%40example.org&name=%"):
            with self.subTest(body=body):
                r = d.request("POST", "/subscribe", headers={"Content-Type": "application/x-www-form-urlencoded"},
                              body=body)
                self.assertEqual(r.status, 400, r.body[:500])
                self.assertIn("mal formé".encode(), r.body)
        db = sqlite3.connect(d.workdir / "state" / "casacal.db", timeout=10)
        self.assertEqual(db.execute("SELECT count(*) FROM subscribers WHERE email LIKE 'pct%'").fetchone(), (0,))
        db.close()

    def test_names_are_counted_in_characters_and_refusals_say_why(self):
        d = self.daemon(event_toml("casapero", "Casapéro", "apero", now_utc() + dt.timedelta(days=2)), "")
        # the form's maxlength counts characters: 100 accented ones are 200 bytes
        r = self.post_form(d, "/subscribe", {"email": "long@example.org", "name": "é" * 100})
        self.assertEqual(r.status, 202, r.body[:500])
        for name, why in (("é" * 101, "Le nom est trop long : 100 caractères au plus."),
                          ("Eve\x1b[31m", "Le nom ne peut contenir ni saut de ligne ni caractère de contrôle.")):
            r = self.post_form(d, "/subscribe", {"email": "eve@example.org", "name": name})
            self.assertEqual(r.status, 400, ascii(name))
            self.assertIn(why.replace("'", "&#39;").encode(), r.body)
        # a web subscriber chose no language: the site's, whenever it is written
        db = sqlite3.connect(d.workdir / "state" / "casacal.db", timeout=10)
        self.assertEqual(db.execute("SELECT email, locale FROM subscribers").fetchall(), [("long@example.org", "")])
        db.close()

    def test_a_database_locked_elsewhere_answers_503_at_once_and_feeds_keep_going(self):
        # An operator's sqlite3 shell holding the write lock: the form may
        # be sent again (503, Retry-After), and the feeds, served from
        # memory, do not wait five seconds behind it.
        d = self.daemon(event_toml("casapero", "Casapéro", "apero", now_utc() + dt.timedelta(days=2)), "")
        lock = sqlite3.connect(d.workdir / "state" / "casacal.db", timeout=10, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        try:
            t0 = time.monotonic()
            r = self.post_form(d, "/subscribe", {"email": "zoe@example.org", "categories": "apero"})
            self.assertLess(time.monotonic() - t0, 2.0)
            self.assertEqual(r.status, 503, r.body[:300])
            self.assertEqual(r.header("Retry-After"), "5")
            # a person sent the form: a page in the site's language
            self.assertTrue(r.header("Content-Type").startswith("text/html"), r.header("Content-Type"))
            self.assertIn("Réessayez dans un instant".encode(), r.body)
            t0 = time.monotonic()
            self.assertEqual(d.get("/calendar.ics").status, 200)
            self.assertLess(time.monotonic() - t0, 1.0)
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        r = self.post_form(d, "/subscribe", {"email": "zoe@example.org", "categories": "apero"})
        self.assertEqual(r.status, 202, r.body[:300])

    def test_a_confirmation_the_server_defers_turns_healthz_degraded_until_one_goes(self):
        sink = self.sink()
        sink.refuse_rcpt["camille@example.org"] = 1
        d = self.daemon(event_toml("casapero", "Casapéro", "apero", now_utc() + dt.timedelta(days=2)),
                        "", sink)
        self.assertEqual(d.health()["status"], "ok")
        r = self.post_form(d, "/subscribe", {"email": "camille@example.org", "categories": "apero"})
        self.assertEqual(r.status, 202, r.body[:500])
        h = d.wait_for(lambda h: h.get("status") == "degraded", 20, "/healthz degraded")
        self.assertEqual(h["smtp"], "retrying: confirmation email not sent: 451 4.3.0 try later")
        # the next request sends a new link at once, the server takes it
        r = self.post_form(d, "/subscribe", {"email": "camille@example.org", "categories": "apero"})
        self.assertEqual(r.status, 202, r.body[:500])
        sink.wait_accepted(1, 20, "the second confirmation")
        h = d.wait_for(lambda h: h.get("status") == "ok", 20, "/healthz ok again")
        self.assertTrue(h["smtp"].startswith("ok (smtp://127.0.0.1:"), h)

    def test_more_confirmations_than_connections_all_leave_with_no_reminder_due(self):
        # Each SMTP connection waits for its last outcome to be recorded
        # before the next message; a confirmation has no row to record, and
        # no reminder is due to make a turn: twelve still all leave.
        start = now_utc() + dt.timedelta(days=2)
        sink = self.sink()
        d = self.daemon(event_toml("casapero", "Casapéro", "apero", start),
                        member_toml(LEA, "Léa Nguyen", ["apero"]), sink, offsets=("PT1M",))
        for n in range(12):
            r = self.post_form(d, "/subscribe", {"email": f"new{n}@example.org", "categories": "apero"})
            self.assertEqual(r.status, 202, r.body)
        got = sink.wait_accepted(12, timeout=20, what="confirmations")
        self.assertEqual(sorted(m.rcpt_tos[0] for m in got), sorted(f"new{n}@example.org" for n in range(12)))

    def test_a_flood_of_addresses_is_refused_before_it_delays_the_reminders(self):
        # max_per_minute = 8: confirmations, which anyone can ask for, get
        # two of them a minute; the reminders keep the rest.
        start = now_utc() + dt.timedelta(seconds=75)
        sink = self.sink()
        d = self.daemon(event_toml("casapero", "Casapéro", "apero", start),
                        member_toml(LEA, "Léa Nguyen", ["apero"]), sink, offsets=("PT1M",), max_per_minute=8)
        answers = [self.post_form(d, "/subscribe", {"email": f"flood{n}@example.org", "categories": "apero"})
                   for n in range(6)]
        self.assertEqual([r.status for r in answers], [202, 202, 429, 429, 429, 429])
        self.assertEqual(answers[2].header("Retry-After"), "60")
        reminder = sink.wait_accepted(3, timeout=60, what="two confirmations and the reminder")[2]
        self.assertEqual(reminder.rcpt_tos, [LEA])
        due = start - dt.timedelta(minutes=1)
        shift = time.time() - time.monotonic()
        self.assertLess(abs(reminder.at + shift - due.timestamp()), 5, "the reminder left 5 s or more off its time")


@requires_binary
class SubscriptionChangeTest(ReminderTestCase):

    def confirm_link(self, sink, count):
        """The /confirm/ path of the count-th email the sink accepted."""
        t = sink.wait_accepted(count, 20, f"confirmation email {count}")[count - 1]
        body = t.message().get_body(("plain",)).get_content()
        m = re.search(r"/confirm/[A-Za-z0-9_\-]+", body)
        self.assertIsNotNone(m, body)
        return m.group(0), body

    def test_a_confirmed_address_changes_its_categories_by_following_a_new_link(self):
        start = now_utc() + dt.timedelta(days=2)
        sink = self.sink()
        d = self.daemon(event_toml("casapero", "Casapéro", "apero", start) +
                        event_toml("atelier-linkedin", "Atelier LinkedIn", "atelier", start), "", sink)
        address = "camille@example.org"

        def followed():
            return sorted({r["event"] for r in reminders(d)
                           if r["recipient"] == address and r["state"] == "planned"})

        self.assertEqual(self.post_form(d, "/subscribe", {"email": address, "categories": "apero"}).status, 202)
        first, _ = self.confirm_link(sink, 1)
        self.assertEqual(d.get(first).status, 200)
        wait_rows(d, lambda rows: followed() == ["casapero"], 20, "camille's Casapéro reminder")

        # Asking again with other categories sends a new link and changes
        # nothing until it is followed: whoever knows the address cannot
        # change that person's reminders.
        r = self.post_form(d, "/subscribe", {"email": "Camille@Example.org", "categories": "atelier"})
        self.assertEqual(r.status, 202, r.body[:500])
        second, body = self.confirm_link(sink, 2)
        self.assertNotEqual(second, first)
        self.assertIn("catégories", body)
        # the first link, followed again, only says the address is confirmed
        self.assertEqual(d.get(first).status, 200)
        self.assertEqual(d.request("HEAD", second).status, 200)
        time.sleep(1)
        self.assertEqual(followed(), ["casapero"])
        self.assertEqual(d.get(second).status, 200)
        wait_rows(d, lambda rows: followed() == ["atelier-linkedin"], 20, "camille following the workshops only")
        self.assertEqual(d.get(second).status, 200)  # again: the same page, nothing changes
        self.assertEqual(d.get(first).status, 404)  # the change's link is the one that stands now
        time.sleep(1)
        self.assertEqual(followed(), ["atelier-linkedin"])
        sink.wait_quiet(1)
        self.assertEqual(len(sink.all()), 2)


@requires_binary
class UnsubscribeTest(ReminderTestCase):

    def test_one_click_post_cancels_pending_reminders_and_get_changes_nothing(self):
        t0 = now_utc()
        start = t0 + dt.timedelta(seconds=135)
        events = event_toml("casapero", "Casapéro", "apero", start)
        members = (member_toml(CAMILLE, "Camille Durand", ["apero"]) +
                   member_toml(LEA, "Léa Nguyen", ["apero"]))
        sink = self.sink()
        d = self.daemon(events, members, sink, offsets=("PT2M", "PT1M20S"))
        first = sink.wait_accepted(2, timeout=60, what="the first reminders")
        by = {recipient_of(t): t.message() for t in first}
        self.assertEqual(set(by), {CAMILLE, LEA})

        # GET shows a confirm page and changes nothing
        g = d.get(unsubscribe_path(by[LEA]))
        self.assertEqual(g.status, 200)
        self.assertIn(b"<form", g.body)
        self.assertIn(b'method="post"', g.body.lower())

        # the link's id with another secret is no link; nor is a bare id
        lea_path = unsubscribe_path(by[LEA])
        link_id, secret = lea_path.rsplit("/", 1)[1].split("-")
        forged = f"/unsubscribe/{link_id}-{'0' * 32 if secret != '0' * 32 else '1' * 32}"
        self.assertEqual(d.get(forged).status, 404)
        self.assertEqual(d.get(f"/unsubscribe/{link_id}").status, 404)
        # a link sent before unsubscribe_links existed (32 hex digits, kept
        # in `tokens` by its hash) still leads to its page
        old = "5f0c6b3a9d2e4f718a0b1c2d3e4f5a6b"
        db = sqlite3.connect(d.workdir / "state" / "casacal.db", timeout=10)
        with db:
            db.execute("INSERT INTO tokens (hash, email, purpose, created) VALUES (?, ?, 'unsubscribe', 0)",
                       (hashlib.sha256(old.encode()).hexdigest(), LEA))
        db.close()
        g_old = d.get(f"/unsubscribe/{old}")
        self.assertEqual(g_old.status, 200)
        self.assertIn(LEA.encode(), g_old.body)

        # the one-click POST (RFC 8058) as a mail client sends it
        path = unsubscribe_path(by[CAMILLE])
        p = d.request("POST", path, headers={"Content-Type": "application/x-www-form-urlencoded"},
                      body=b"List-Unsubscribe=One-Click")
        self.assertEqual(p.status, 200, p.body[:500])
        rows = reminders(d)
        later = [r for r in rows if r["recipient"] == CAMILLE and r["offset"] == "PT1M20S"]
        self.assertEqual([r["state"] for r in later], ["cancelled"], rows)
        lea_later = [r for r in rows if r["recipient"] == LEA and r["offset"] == "PT1M20S"]
        self.assertEqual([r["state"] for r in lea_later], ["planned"], rows)

        # lea's second reminder still goes; camille gets nothing more (in
        # particular no "Annulé :" mail: the event still takes place)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(sink.accepted_for(LEA)) < 2:
            time.sleep(0.2)
        sink.wait_quiet(3)
        seen = [(t.rcpt_tos, str(t.message()["Subject"])) for t in sink.accepted()]
        self.assertEqual(len(sink.accepted_for(LEA)), 2, f"{seen}\n{reminders(d)}")
        self.assertEqual(len(sink.accepted_for(CAMILLE)), 1, f"{seen}\n{log_tail(d)}")
        rows = reminders(d)
        self.assertEqual(sorted((r["recipient"], r["offset"], r["state"]) for r in rows),
                         sorted([(CAMILLE, "PT2M", "sent"), (CAMILLE, "PT1M20S", "cancelled"),
                                 (LEA, "PT2M", "sent"), (LEA, "PT1M20S", "sent")]))

        # followed again from the mail: it says so, and asks nothing more
        g2 = d.get(path)
        self.assertEqual(g2.status, 200)
        self.assertNotIn(b"<form", g2.body)
        self.assertIn(b"ne recevra plus de rappels", g2.body)
        # a second POST is harmless; a reload does not bring camille back
        p2 = d.request("POST", path, headers={"Content-Type": "application/x-www-form-urlencoded"},
                       body=b"List-Unsubscribe=One-Click")
        self.assertIn(p2.status, (200, 404))
        self.assertEqual(d.get("/unsubscribe/not-a-token").status, 404)

    def test_leaving_and_coming_back_brings_no_false_update(self):
        start = now_utc() + dt.timedelta(seconds=75)
        sink = self.sink()
        d = self.daemon(event_toml("casapero", "Casapéro", "apero", start),
                        member_toml(LEA, "Léa Nguyen", ["apero"]), sink, offsets=("PT1M",))
        reminder = sink.wait_accepted(1, timeout=60, what="the reminder")[0].message()
        self.assertEqual(d.request("POST", unsubscribe_path(reminder),
                                   headers={"Content-Type": "application/x-www-form-urlencoded"},
                                   body=b"List-Unsubscribe=One-Click").status, 200)
        self.assertEqual(self.post_form(d, "/subscribe", {"email": LEA, "categories": "apero"}).status, 202)
        confirmation = sink.wait_accepted(2, timeout=20, what="the confirmation")[1].message()
        link = re.search(r"/confirm/[A-Za-z0-9_\-]+", confirmation.get_body(("plain",)).get_content())
        self.assertEqual(d.get(link.group(0)).status, 200)
        sink.wait_quiet(4)
        self.assertEqual(len(sink.accepted()), 2, [str(t.message()["Subject"]) for t in sink.accepted()])
        self.assertFalse([r for r in reminders(d) if r["kind"] != "reminder"], reminders(d))

    def test_member_removed_from_the_file_gets_no_cancellation_email(self):
        t0 = now_utc()
        start = t0 + dt.timedelta(seconds=75)
        events = event_toml("casapero", "Casapéro", "apero", start)
        members = (member_toml(CAMILLE, "Camille Durand", ["apero"]) +
                   member_toml(LEA, "Léa Nguyen", ["apero"]))
        sink = self.sink()
        d = self.daemon(events, members, sink, offsets=("PT1M",))
        sink.wait_accepted(2, timeout=60, what="the reminders")
        before = health_generation(d.health())
        (d.site / "members.toml").write_text(member_toml(LEA, "Léa Nguyen", ["apero"]), encoding="utf-8")
        d.wait_generation_above(before, timeout=20)
        time.sleep(5)
        sink.wait_quiet(3)
        seen = [(t.rcpt_tos, str(t.message()["Subject"])) for t in sink.accepted()]
        # Camille stopped following; Casapéro still takes place: telling her
        # "Annulé :" would be false.
        self.assertEqual(sorted(seen), sorted([([CAMILLE], f"Rappel : Casapéro — {french_when(start)}"),
                                               ([LEA], f"Rappel : Casapéro — {french_when(start)}")]),
                         log_tail(d))


@requires_binary
class CancellationTest(ReminderTestCase):

    def test_cancelled_occurrences_and_events_get_nothing(self):
        t0 = now_utc()
        start = t0 + dt.timedelta(seconds=75)
        events = (event_toml("annule", "Atelier annulé", "atelier", start, status="cancelled") +
                  event_toml("casapero", "Casapéro", "apero", start, rrule="FREQ=DAILY;COUNT=3",
                             extra=f"[[event.override]]\nrecurrence_id = {start.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
                                   f"status = \"cancelled\"\n") +
                  event_toml("controle", "Atelier témoin", "atelier", start + dt.timedelta(seconds=5)))
        members = member_toml(YASMINE, "Yasmine Benali", ["*"])
        sink = self.sink()
        d = self.daemon(events, members, sink, offsets=("PT1M",))
        sink.wait_accepted(1, timeout=60, what="the control event's reminder")
        # past every due time of the cancelled ones, plus slack
        while now_utc() < t0 + dt.timedelta(seconds=22):
            time.sleep(0.2)
        sink.wait_quiet(3)
        subjects = [str(t.message()["Subject"]) for t in sink.all()]
        self.assertEqual(subjects, [f"Rappel : Atelier témoin — {french_when(start + dt.timedelta(seconds=5))}"])
        rows = reminders(d)
        for r in rows:
            if r["event"] == "annule" or (r["event"] == "casapero" and
                                          dt.datetime.fromisoformat(r["due"]) <= start):
                self.assertIn(r["state"], ("cancelled",), r)
        self.assertFalse([r for r in rows if r["state"] == "sent" and r["event"] != "controle"], rows)

    def test_cancelling_after_the_reminder_sends_a_cancellation(self):
        t0 = now_utc()
        start = t0 + dt.timedelta(seconds=75)
        events = event_toml("velo", "Atelier vélo", "atelier", start, rrule="FREQ=DAILY;COUNT=3")
        members = (member_toml(THOMAS, "Thomas Le Roux", ["atelier"]) +
                   member_toml(CAMILLE, "Camille Durand", ["apero"]))
        sink = self.sink()
        d = self.daemon(events, members, sink, offsets=("PT1M",))
        reminder = sink.wait_accepted(1, timeout=60, what="the reminder")[0].message()
        self.assertEqual(str(reminder["Subject"]), f"Rappel : Atelier vélo — {french_when(start)}")

        f = d.site / "events.d" / "events.toml"
        f.write_text(f.read_text(encoding="utf-8") +
                     f"[[event.override]]\nrecurrence_id = {start.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
                     f"status = \"cancelled\"\n", encoding="utf-8")
        d.signal(signal.SIGHUP)
        got = sink.wait_accepted(2, timeout=30, what="the cancellation")
        sink.wait_quiet(3)
        self.assertEqual(len(sink.accepted()), 2)
        t = got[1]
        self.assertEqual(t.rcpt_tos, [THOMAS])
        msg = t.message()
        self.assertEqual(str(msg["Subject"]), f"Annulé : Atelier vélo — {french_when(start)}")
        self.assertNotEqual(str(msg["Message-ID"]), str(reminder["Message-ID"]))
        self.assertEqual(str(msg["Auto-Submitted"]), "auto-generated")
        self.assertIn("Atelier vélo", (msg.get_body(("plain",)) or msg).get_content())
        # the occurrence the reminder attached, now cancelled, newer than it was
        part = calendar_part(msg)
        self.assertEqual(part.get_param("method"), "PUBLISH")
        self.assertEqual(part.get_filename(), "event.ics")
        cal, ev = vevent_of(part)
        self.assertEqual(str(cal["METHOD"]), "PUBLISH")
        self.assertEqual(str(ev["UID"]), f"velo@{DOMAIN}")
        self.assertEqual(as_utc(ev["RECURRENCE-ID"].dt), start)
        self.assertEqual(as_utc(ev["DTSTART"].dt), start)
        self.assertEqual(str(ev.get("STATUS")), "CANCELLED")
        self.assertNotIn("RRULE", ev)
        _, was = vevent_of(calendar_part(reminder))
        self.assertGreater(int(ev["SEQUENCE"]), int(was.get("SEQUENCE", 0)))
        rows = reminders(d)
        kinds = collections.Counter((r["kind"], r["state"]) for r in rows if r["recipient"] == THOMAS)
        self.assertEqual(kinds[("reminder", "sent")], 1, rows)
        self.assertEqual(kinds[("cancellation", "sent")], 1, rows)


    def test_a_single_event_moved_cancelled_or_deleted_after_its_reminder(self):
        t0 = now_utc()
        start = t0 + dt.timedelta(seconds=75)
        events = (event_toml("bouge", "Atelier qui bouge", "atelier", start) +
                  event_toml("annule", "Atelier annulé", "atelier", start) +
                  event_toml("supprime", "Atelier supprimé", "atelier", start))
        members = member_toml(THOMAS, "Thomas Le Roux", ["atelier"])
        sink = self.sink()
        d = self.daemon(events, members, sink, offsets=("PT1M",))
        sent = sink.wait_accepted(3, timeout=60, what="the three reminders")
        sequences = {}
        for t in sent:
            _, ev = vevent_of(calendar_part(t.message()))
            sequences[str(ev["UID"])] = int(ev.get("SEQUENCE", 0))

        moved = start + dt.timedelta(minutes=15)
        f = d.site / "events.d" / "events.toml"
        text = f.read_text(encoding="utf-8")
        first, second, _ = text.split("[[event]]")[1:]
        first = first.replace(f"start = {utc(start)}\nend = {utc(start + dt.timedelta(minutes=60))}",
                              f"start = {utc(moved)}\nend = {utc(moved + dt.timedelta(minutes=60))}")
        f.write_text("[[event]]" + first + "[[event]]" + second + 'status = "cancelled"\n', encoding="utf-8")
        d.signal(signal.SIGHUP)
        got = sink.wait_accepted(6, timeout=30, what="an update and two cancellations")
        sink.wait_quiet(3)
        self.assertEqual(len(sink.accepted()), 6)
        subjects = sorted(str(t.message()["Subject"]) for t in got[3:])
        self.assertEqual(subjects, [f"Annulé : Atelier annulé — {french_when(start)}",
                                    f"Annulé : Atelier supprimé — {french_when(start)}",
                                    f"Modifié : Atelier qui bouge — {french_when(moved)}"])
        # each with the event as it is now, newer than the reminder's: moved,
        # cancelled, or gone (cancelled as a whole)
        parts = {}
        for t in got[3:]:
            _, ev = vevent_of(calendar_part(t.message()))
            parts[str(ev["UID"])] = ev
            self.assertGreater(int(ev["SEQUENCE"]), sequences[str(ev["UID"])], ev.to_ical())
        self.assertEqual(as_utc(parts[f"bouge@{DOMAIN}"]["DTSTART"].dt), moved)
        self.assertEqual(str(parts[f"bouge@{DOMAIN}"]["STATUS"]), "CONFIRMED")
        for uid in (f"annule@{DOMAIN}", f"supprime@{DOMAIN}"):
            self.assertEqual(as_utc(parts[uid]["DTSTART"].dt), start)
            self.assertEqual(str(parts[uid]["STATUS"]), "CANCELLED")
            self.assertNotIn("RECURRENCE-ID", parts[uid])
        self.assertEqual(str(parts[f"supprime@{DOMAIN}"]["SUMMARY"]), "Atelier supprimé")
        rows = [r for r in reminders(d) if r["event"] == "bouge"]
        self.assertEqual(sorted((r["kind"], r["state"]) for r in rows),
                         [("reminder", "sent"), ("update", "sent")], rows)


def programme_toml(id_, title, category, sessions, extra=""):
    """A [[programme]] whose sessions are (title, start, minutes)."""
    text = f"[[programme]]\nid = {json.dumps(id_)}\ntitle = {json.dumps(title)}\n" \
           f"category = {json.dumps(category)}\ndescription = \"Deux jours pour tester son idée.\"\n" + extra
    for name, start, minutes in sessions:
        text += f"  [[programme.session]]\n  title = {json.dumps(name)}\n  start = {utc(start)}\n" \
                f"  end = {utc(start + dt.timedelta(minutes=minutes))}\n"
    return text + "\n"


@requires_binary
class ProgrammeTest(ReminderTestCase):

    def test_one_reminder_lists_every_session_and_a_moved_session_brings_an_update(self):
        t0 = now_utc()
        first = t0 + dt.timedelta(seconds=75)
        second = first + dt.timedelta(hours=3)
        events = programme_toml("weekend", "Week-end entrepreneurial", "atelier",
                                [("Pitchs", first, 120), ("Ateliers business model", second, 240)])
        members = (member_toml(THOMAS, "Thomas Le Roux", ["atelier"]) +
                   member_toml(CAMILLE, "Camille Durand", ["apero"]))
        sink = self.sink()
        d = self.daemon(events, members, sink, offsets=("PT1M",))
        got = sink.wait_accepted(1, timeout=60, what="the programme's reminder")
        sink.wait_quiet(3)
        self.assertEqual(len(sink.accepted()), 1, [str(t.message()["Subject"]) for t in sink.accepted()])
        self.assertEqual(got[0].rcpt_tos, [THOMAS])
        msg = got[0].message()
        self.assertEqual(str(msg["Subject"]), f"Rappel : Week-end entrepreneurial — {french_when(first)}")
        text = msg.get_body(("plain",)).get_content()
        for name, when in (("Pitchs", first), ("Ateliers business model", second)):
            self.assertIn(name, text)
            local = when.astimezone(PARIS)
            self.assertIn(f"{local.hour}h{local.minute:02d}" if local.minute else f"{local.hour}h", text)
        # the calendar part holds each session under its feed UID
        cals = [p for p in msg.walk() if p.get_content_type() == "text/calendar"]
        self.assertEqual(len(cals), 1)
        cal = icalendar.Calendar.from_ical(cals[0].get_payload(decode=True))
        uids = sorted(str(ev["UID"]) for ev in cal.walk("VEVENT"))
        self.assertEqual(uids, [f"weekend-1@{DOMAIN}", f"weekend-2@{DOMAIN}"])

        # the second session moves after the reminder went out: one update
        moved = second + dt.timedelta(minutes=30)
        f = d.site / "events.d" / "events.toml"
        f.write_text(f.read_text(encoding="utf-8").replace(utc(second), utc(moved)), encoding="utf-8")
        d.signal(signal.SIGHUP)
        got = sink.wait_accepted(2, timeout=30, what="the update")
        sink.wait_quiet(3)
        self.assertEqual(len(sink.accepted()), 2, [str(t.message()["Subject"]) for t in sink.accepted()])
        update = got[1].message()
        self.assertEqual(got[1].rcpt_tos, [THOMAS])
        self.assertEqual(str(update["Subject"]), f"Modifié : Week-end entrepreneurial — {french_when(first)}")
        local = moved.astimezone(PARIS)
        self.assertIn(f"{local.hour}h{local.minute:02d}" if local.minute else f"{local.hour}h",
                      update.get_body(("plain",)).get_content())
        rows = reminders(d)
        self.assertEqual(sorted((r["kind"], r["state"]) for r in rows), [("reminder", "sent"), ("update", "sent")],
                         rows)

        # a reload that changes nothing sends nothing more
        before = health_generation(d.health())
        d.signal(signal.SIGHUP)
        d.wait_generation_above(before, timeout=20)
        sink.wait_quiet(3)
        self.assertEqual(len(sink.accepted()), 2)



@requires_binary
class AfterTheStartTest(ReminderTestCase):

    def test_moves_after_the_start_bring_an_update_and_no_second_reminder(self):
        # An event moved once it has begun (postponed), and a later session
        # of a programme under way: the rows of what began lie before the
        # plan's scope, and must still be found.
        t0 = now_utc()
        start = t0 + dt.timedelta(seconds=30)
        second = start + dt.timedelta(hours=3)
        events = (event_toml("reporte", "Atelier reporté", "atelier", start) +
                  programme_toml("weekend", "Week-end entrepreneurial", "atelier",
                                 [("Pitchs", start, 120), ("Ateliers business model", second, 240)]))
        members = member_toml(THOMAS, "Thomas Le Roux", ["atelier"])
        sink = self.sink()
        d = self.daemon(events, members, sink, offsets=("PT25S",))
        sink.wait_accepted(2, timeout=40, what="the two reminders")
        time.sleep(max(0.0, (start - now_utc()).total_seconds()) + 2)

        later = start + dt.timedelta(minutes=15)
        moved = second + dt.timedelta(minutes=30)
        f = d.site / "events.d" / "events.toml"
        text = f.read_text(encoding="utf-8")
        single = f"start = {utc(start)}\nend = {utc(start + dt.timedelta(minutes=60))}"
        self.assertIn(single, text)
        text = text.replace(single, f"start = {utc(later)}\nend = {utc(later + dt.timedelta(minutes=60))}", 1)
        f.write_text(text.replace(utc(second), utc(moved)), encoding="utf-8")
        d.signal(signal.SIGHUP)
        try:
            got = sink.wait_accepted(4, timeout=30, what="two updates")
        except AssertionError as e:
            self.fail(f"{e}\n{[str(t.message()['Subject']) for t in sink.accepted()]}\n{log_tail(d, 30)}")
        sink.wait_quiet(3)
        self.assertEqual(len(sink.accepted()), 4, [str(t.message()["Subject"]) for t in sink.accepted()])
        self.assertEqual(sorted(str(t.message()["Subject"]) for t in got[2:]),
                         [f"Modifié : Atelier reporté — {french_when(later)}",
                          f"Modifié : Week-end entrepreneurial — {french_when(start)}"])
        rows = reminders(d)
        for event in ("reporte", "weekend"):
            self.assertEqual(sorted((r["kind"], r["state"]) for r in rows if r["event"] == event),
                             [("reminder", "sent"), ("update", "sent")], rows)

@requires_binary
class StopTest(ReminderTestCase):

    def test_sigterm_exits_at_once_when_nothing_is_in_flight(self):
        # A drain with nothing to wait for must not hold the process for the
        # drain's 10 s (its cut timer once did), connection open or not.
        sink = self.sink()
        d = self.daemon(event_toml("casapero", "Casapéro", "apero", now_utc() + dt.timedelta(days=2)),
                        member_toml(LEA, "Léa Nguyen", ["apero"]), sink, offsets=("PT1M",))
        self.assertEqual(self.post_form(d, "/subscribe", {"email": CAMILLE, "categories": "apero"}).status, 202)
        sink.wait_accepted(1, timeout=20, what="the confirmation")
        t = time.monotonic()
        self.assertEqual(d.stop(), 0)
        self.assertLess(time.monotonic() - t, 3, log_tail(d))


@requires_binary
class RateLimitTest(ReminderTestCase):

    def test_max_per_minute_lets_that_many_go_each_minute_and_misses_none(self):
        start = now_utc() + dt.timedelta(seconds=150)
        members = "".join(member_toml(f"membre{n}@example.org", f"Membre {n}", ["apero"]) for n in range(6))
        sink = self.sink()
        d = self.daemon(event_toml("casapero", "Casapéro", "apero", start), members, sink,
                        offsets=("PT2M",), max_per_minute=4)
        sink.wait_accepted(4, timeout=140, what="the first four reminders")
        d.restart()  # the minute goes on across a restart
        got = sink.wait_accepted(6, timeout=140, what="six reminders, four a minute")
        sink.wait_quiet(2)
        self.assertEqual(len(sink.accepted()), 6)
        # wall-clock time of each arrival
        shift = time.time() - time.monotonic()
        arrived = sorted(t.at + shift for t in got)
        due = (start - dt.timedelta(minutes=2)).timestamp()
        self.assertLess(arrived[3] - due, 5, arrived)      # four at the due time
        self.assertGreaterEqual(arrived[4] - arrived[0], 59.5, arrived)  # the fifth a minute after the first
        self.assertLess(arrived[5] - due, 70, arrived)
        for i in range(len(arrived) - 4):                  # never five in a minute
            self.assertGreaterEqual(arrived[i + 4] - arrived[i], 59.5, arrived)
        rows = reminders(d)
        self.assertEqual(collections.Counter(r["state"] for r in rows), {"sent": 6}, rows)

@requires_binary
class SendTestCommandTest(ReminderTestCase):

    def test_send_test_says_the_server_offers_no_starttls(self):
        sink = self.sink()
        site = Path(tempfile.mkdtemp(prefix="casacal-sendtest-"))
        self.addCleanup(shutil.rmtree, site, True)
        write_site(site, "", "", sink.url)
        main = site / "casacal.toml"
        main.write_text(main.read_text(encoding="utf-8").replace('starttls = "off"', 'starttls = "required"'),
                        encoding="utf-8")
        p = run_cli("send-test", "-c", main, "--to", CAMILLE)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn('casacal send-test: not sent (a reminder would be tried again later): '
                      'the server does not offer STARTTLS, and [smtp] starttls = "required"',
                      p.stderr.decode())
        self.assertEqual(sink.accepted(), [])

        main.write_text(main.read_text(encoding="utf-8").replace('starttls = "required"', 'starttls = "off"'),
                        encoding="utf-8")
        p = run_cli("send-test", "-c", main, "--to", CAMILLE)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.decode().startswith("250"), p.stdout)
        self.assertEqual([t.rcpt_tos for t in sink.accepted()], [[CAMILLE]])


@requires_binary
class PickupTest(ReminderTestCase):

    def test_without_url_each_message_is_an_eml_file(self):
        t0 = now_utc()
        start = t0 + dt.timedelta(seconds=75)
        events = event_toml("casapero", "Casapéro", "apero", start)
        members = (member_toml(CAMILLE, "Camille Durand", ["apero"]) +
                   member_toml(LEA, "Léa Nguyen", ["apero"]) +
                   member_toml(THOMAS, "Thomas Le Roux", ["atelier"]))
        d = self.daemon(events, members, None, offsets=("PT1M",))
        outbox = d.site / "outbox"
        deadline = time.monotonic() + 60
        files = []
        while time.monotonic() < deadline:
            files = sorted(outbox.glob("*.eml")) if outbox.is_dir() else []
            if len(files) >= 2:
                break
            time.sleep(0.2)
        time.sleep(2)
        files = sorted(outbox.glob("*.eml"))
        self.assertEqual(len(files), 2, [p.name for p in outbox.iterdir()] if outbox.is_dir() else "no outbox")
        # nothing half-written is left next to them
        self.assertEqual(sorted(p.name for p in outbox.iterdir()), [p.name for p in files])
        msgs = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in files]
        self.assertEqual(sorted(m["To"].addresses[0].addr_spec for m in msgs), sorted([CAMILLE, LEA]))
        rows = wait_rows(d, lambda rows: all(r["state"] == "sent" for r in rows), 10, "rows sent")
        self.assertEqual(sorted(r["message_id"] for r in rows), sorted(str(m["Message-ID"]) for m in msgs))
        for m in msgs:
            self.assertEqual(str(m["Subject"]), f"Rappel : Casapéro — {french_when(start)}")
            self.assertEqual(m.get_content_type(), "multipart/mixed")
            cal, ev = vevent_of(calendar_part(m))
            self.assertEqual(str(ev["UID"]), f"casapero@{DOMAIN}")
            self.assertEqual(as_utc(ev["DTSTART"].dt), start)
        # what a receiver's filter makes of it: SpamAssassin's local rules
        # (-L: no network tests), under 2.0 points
        for p in files:
            score, tests = spam_score(p.read_bytes())
            self.assertLess(score, 2.0, f"{p.name}: {tests}")


def spam_score(raw):
    """SpamAssassin's score of a message with its local rules, and the rules that hit."""
    r = subprocess.run(["spamassassin", "-L", "-t"], input=raw, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    status = email.message_from_bytes(r.stdout, policy=email.policy.default)["X-Spam-Status"]
    m = re.search(r"score=(-?[0-9.]+).*?tests=([^\s]*)", " ".join(str(status).split()).replace(", ", ","))
    assert m, status
    return float(m.group(1)), m.group(2)


if __name__ == "__main__":
    unittest.main()
