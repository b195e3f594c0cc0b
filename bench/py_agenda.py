#!/usr/bin/python3
"""The baseline for `casacal agenda --json`: recurring_ical_events expanding
an exported feed over [FROM, TO) and printing a JSON list of occurrences.

    /usr/bin/python3 bench/py_agenda.py calendar.ics 2027-01-01 2028-01-01 > agenda.json
"""

import datetime as dt
import json
import sys

import icalendar
import recurring_ical_events


def iso(v):
    return v.isoformat()


def main():
    path, start, stop = sys.argv[1], dt.date.fromisoformat(sys.argv[2]), dt.date.fromisoformat(sys.argv[3])
    with open(path, "rb") as f:
        cal = icalendar.Calendar.from_ical(f.read())
    out = []
    for e in recurring_ical_events.of(cal).between(start, stop):
        s = e["DTSTART"].dt
        end = e["DTEND"].dt if "DTEND" in e else s
        out.append({"uid": str(e["UID"]), "title": str(e.get("SUMMARY", "")), "start": iso(s), "end": iso(end),
                    "all_day": not isinstance(s, dt.datetime), "location": str(e.get("LOCATION", "")),
                    "status": str(e.get("STATUS", "")).lower()})
    out.sort(key=lambda o: (o["start"], o["uid"]))
    json.dump({"occurrences": out}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
