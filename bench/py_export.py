#!/usr/bin/python3
"""The baseline for `casacal export`: the same calendar built with
python3-icalendar from the same TOML files (read with tomllib).

    /usr/bin/python3 bench/py_export.py SITE/casacal.toml > calendar.ics

It writes what casacal's /calendar.ics holds, property for property: one
VTIMEZONE in RRULE form, one master VEVENT per event with RRULE and EXDATE,
one VEVENT per override (RECURRENCE-ID), cancelled overrides as EXDATEs, one
VEVENT per programme session, all-day ends made exclusive. It does what a
straightforward Python daemon would do per request; it is not a validator.
"""

import datetime as dt
import sys
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar


def vtimezone(tzid):
    tz = icalendar.Timezone()
    tz.add("TZID", tzid)
    for kind, name, frm, to, start, month in (
            (icalendar.TimezoneDaylight, "CEST", "+0100", "+0200", dt.datetime(1970, 3, 29, 2), 3),
            (icalendar.TimezoneStandard, "CET", "+0200", "+0100", dt.datetime(1970, 10, 25, 3), 10)):
        c = kind()
        c.add("TZNAME", name)
        c.add("TZOFFSETFROM", dt.timedelta(hours=int(frm[:3])))
        c.add("TZOFFSETTO", dt.timedelta(hours=int(to[:3])))
        c.add("DTSTART", start)
        c.add("RRULE", {"FREQ": "YEARLY", "BYMONTH": month, "BYDAY": "-1SU"})
        tz.add_component(c)
    return tz


def parse_duration(text):
    return icalendar.vDuration.from_ical(text)


def to_value(v, zone):
    if isinstance(v, dt.datetime):
        return v if v.tzinfo else v.replace(tzinfo=zone)
    return v


def times(e, zone):
    start = to_value(e["start"], zone)
    if "end" in e:
        end = to_value(e["end"], zone)
        if not isinstance(end, dt.datetime):
            end = end + dt.timedelta(days=1)  # inclusive last day -> exclusive DTEND
    elif "duration" in e:
        end = start + parse_duration(e["duration"])
    else:
        end = start + dt.timedelta(days=1) if not isinstance(start, dt.datetime) else start + dt.timedelta(hours=1)
    return start, end


def main():
    main_file = Path(sys.argv[1])
    cfg = tomllib.loads(main_file.read_text(encoding="utf-8"))
    site = cfg["site"]
    zone_name = site.get("timezone", "Europe/Paris")
    zone = ZoneInfo(zone_name)
    domain = site["domain"]
    categories = cfg.get("categories", {})
    stamp = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)

    cal = icalendar.Calendar()
    cal.add("PRODID", "-//casacal bench//py_export//FR")
    cal.add("VERSION", "2.0")
    cal.add("CALSCALE", "GREGORIAN")
    cal.add("METHOD", "PUBLISH")
    cal.add("NAME", site["name"])
    cal.add("X-WR-CALNAME", site["name"])
    cal.add("X-WR-TIMEZONE", zone_name)
    cal.add("REFRESH-INTERVAL", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("X-PUBLISHED-TTL", "PT1H")
    cal.add_component(vtimezone(zone_name))

    def common(ev, e, uid, category):
        ev.add("UID", uid)
        ev.add("DTSTAMP", stamp)
        ev.add("LAST-MODIFIED", stamp)
        ev.add("SEQUENCE", 0)
        ev.add("SUMMARY", e["title"])
        if e.get("location"):
            ev.add("LOCATION", e["location"])
        if e.get("description"):
            ev.add("DESCRIPTION", e["description"])
        if e.get("url"):
            ev.add("URL", e["url"])
        if e.get("organizer"):
            name, _, addr = e["organizer"].rpartition("<")
            ev.add("ORGANIZER", "mailto:" + addr.rstrip(">"), parameters={"CN": name.strip()})
        ev.add("STATUS", e.get("status", "confirmed").upper())
        cat = categories.get(category, {})
        ev.add("CATEGORIES", [cat.get("name", category)])
        if cat.get("color"):
            ev.add("COLOR", cat["color"])

    events_dir = main_file.parent / site["events"]
    for f in sorted(events_dir.glob("*.toml")):
        doc = tomllib.loads(f.read_text(encoding="utf-8"))
        for e in doc.get("event", []):
            ez = ZoneInfo(e["timezone"]) if "timezone" in e else zone
            uid = f"{e['id']}@{domain}"
            ev = icalendar.Event()
            common(ev, e, uid, e["category"])
            start, end = times(e, ez)
            ev.add("DTSTART", start)
            ev.add("DTEND", end)
            if e.get("rrule"):
                ev.add("RRULE", icalendar.vRecur.from_ical(e["rrule"]))
                exdates = [to_value(x, ez) for x in e.get("exdates", [])]
                exdates += [to_value(o["recurrence_id"], ez) for o in e.get("override", [])
                            if o.get("status") == "cancelled"]
                if exdates:
                    ev.add("EXDATE", exdates)
            cal.add_component(ev)
            for o in e.get("override", []):
                if o.get("status") == "cancelled":
                    continue
                ov = icalendar.Event()
                common(ov, {**e, **{k: v for k, v in o.items() if k in ("title", "location", "description")}},
                       uid, e["category"])
                rid = to_value(o["recurrence_id"], ez)
                ov.add("RECURRENCE-ID", rid)
                o_start = to_value(o.get("start", rid), ez)
                ov.add("DTSTART", o_start)
                ov.add("DTEND", to_value(o["end"], ez) if "end" in o else o_start + (end - start))
                cal.add_component(ov)
        for p in doc.get("programme", []):
            for n, s in enumerate(p["session"], 1):
                ev = icalendar.Event()
                common(ev, {**p, **s}, f"{p['id']}-{n}@{domain}", p["category"])
                start, end = times(s, zone)
                ev.add("DTSTART", start)
                ev.add("DTEND", end)
                cal.add_component(ev)

    sys.stdout.buffer.write(cal.to_ical())


if __name__ == "__main__":
    main()
