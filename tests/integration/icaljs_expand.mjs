// Expands every VEVENT series of an iCalendar file with Mozilla's ical.js 2.x,
// the library Thunderbird's lineage and many web clients use, and prints the
// occurrences as JSON so that the Python tests can compare them with
// /api/events.
//
//   node icaljs_expand.mjs FILE.ics FROM TO [FROM_DATE TO_DATE]
//
// FROM and TO are RFC 3339 UTC instants (2026-12-31T23:00:00Z). An occurrence
// is printed when its (possibly moved) start lies in [FROM, TO); all-day
// occurrences are printed when their date lies in [FROM_DATE, TO_DATE)
// (default: the dates of FROM and TO).
// Output: {"occurrences": [{"uid", "start", "end", "all_day",
// "recurrence_id", "status", "summary"}]}, timed values as UTC instants
// (2027-03-28T08:00:00Z), all-day values as dates (2027-01-16), end exclusive.
//
// Exceptions are related to their master by UID only. ical.js's Event
// constructor, left to itself, relates every RECURRENCE-ID component of the
// calendar to every master, whatever its UID (so does ical-expander, built on
// ical.js 1.x): with two series sharing a recurrence date, one series' moved
// occurrence would move the other's too. RFC 5545 section 3.8.4.4 identifies
// an instance by UID *and* RECURRENCE-ID, so we pass the exceptions ourselves
// with strictExceptions on.

import { readFileSync } from 'node:fs';
import ICAL from 'ical.js';

const [file, fromText, toText, fromDateText, toDateText] = process.argv.slice(2);
if (!file || !fromText || !toText) {
  process.stderr.write('usage: node icaljs_expand.mjs FILE.ics FROM TO [FROM_DATE TO_DATE]\n');
  process.exit(2);
}

const from = Date.parse(fromText);
const to = Date.parse(toText);
const fromDate = fromDateText || fromText.slice(0, 10);
const toDate = toDateText || toText.slice(0, 10);
// Occurrences may be moved by up to this much away from their recurrence id,
// so the iterator runs a little past TO.
const slackMs = 400 * 24 * 3600 * 1000;

const root = new ICAL.Component(ICAL.parse(readFileSync(file, 'utf8')));
for (const vtimezone of root.getAllSubcomponents('vtimezone')) {
  ICAL.TimezoneService.register(vtimezone);
}

function isoUtc(time) {
  return new Date(time.toUnixTime() * 1000).toISOString().replace('.000Z', 'Z');
}

function isoDate(time) {
  const pad = (n, w) => String(n).padStart(w, '0');
  return `${pad(time.year, 4)}-${pad(time.month, 2)}-${pad(time.day, 2)}`;
}

function render(time) {
  return time.isDate ? isoDate(time) : isoUtc(time);
}

function inRange(start) {
  if (start.isDate) {
    const d = isoDate(start);
    return d >= fromDate && d < toDate;
  }
  const ms = start.toUnixTime() * 1000;
  return ms >= from && ms < to;
}

const vevents = root.getAllSubcomponents('vevent');
const masters = vevents.filter((c) => !c.hasProperty('recurrence-id'));
const exceptionsByUid = new Map();
for (const c of vevents.filter((v) => v.hasProperty('recurrence-id'))) {
  const uid = c.getFirstPropertyValue('uid');
  if (!exceptionsByUid.has(uid)) exceptionsByUid.set(uid, []);
  exceptionsByUid.get(uid).push(c);
}

const out = [];
for (const master of masters) {
  const event = new ICAL.Event(master, { strictExceptions: true, exceptions: [] });
  for (const exception of exceptionsByUid.get(event.uid) || []) {
    event.relateException(exception);
  }
  const status = (component) => String(component.getFirstPropertyValue('status') || '').toUpperCase();

  if (!event.isRecurring()) {
    if (inRange(event.startDate)) {
      out.push({
        uid: event.uid,
        start: render(event.startDate),
        end: render(event.endDate),
        all_day: event.startDate.isDate,
        recurrence_id: null,
        status: status(master),
        summary: event.summary,
      });
    }
    continue;
  }

  const iterator = event.iterator();
  for (let next = iterator.next(); next; next = iterator.next()) {
    if (next.toUnixTime() * 1000 >= to + slackMs) break;
    const details = event.getOccurrenceDetails(next);
    if (!inRange(details.startDate)) continue;
    out.push({
      uid: event.uid,
      start: render(details.startDate),
      end: render(details.endDate),
      all_day: details.startDate.isDate,
      recurrence_id: render(details.recurrenceId),
      status: status(details.item.component),
      summary: details.item.summary,
    });
  }
}

out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.uid < b.uid ? -1 : 1));
process.stdout.write(JSON.stringify({ occurrences: out }, null, 1) + '\n');
