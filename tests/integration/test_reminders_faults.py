"""Reminders when things go wrong: an SMTP server that answers 451, one that
is down when reminders fall due, a daemon killed with SIGKILL, or
stopped with SIGTERM, in the middle of a burst, and a database another
process keeps locked in the middle of a burst. Each case waits for the real 60 s retry, so this file
is slower than test_reminders.py (ctest runs them side by side)."""

import collections
import contextlib
import datetime as dt
import signal
import sqlite3
import time
import unittest

from harness import requires_binary, run_cli
from mailsink import event_toml, member_toml, now_utc, reminders, wait_rows
from test_reminders import CAMILLE, LEA, YASMINE, ReminderTestCase, french_when, recipient_of

# When a crash or a locked database leaves outcomes unrecorded, at most one
# message per connection can go twice: a connection waits for its last
# outcome to be committed before it takes the next message.
REPEATABLE = 10


@contextlib.contextmanager
def write_lock(daemon):
    """Another process (an operator's sqlite3 shell) holding the write lock
    of the daemon's database."""
    db = sqlite3.connect(daemon.workdir / "state" / "casacal.db", timeout=10, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        yield
    finally:
        db.rollback()
        db.close()


@requires_binary
class TransientFailureTest(ReminderTestCase):

    def test_451_after_data_is_retried_once_with_the_same_message_id_and_date(self):
        t0 = now_utc()
        start = t0 + dt.timedelta(seconds=140)
        events = event_toml("casapero", "Casapéro", "apero", start)
        members = (member_toml(CAMILLE, "Camille Durand", ["apero"]) +
                   member_toml(LEA, "Léa Nguyen", ["apero"]))
        sink = self.sink()
        sink.refuse_data[CAMILLE] = 1
        d = self.daemon(events, members, sink, offsets=("PT2M",))

        rows = wait_rows(d, lambda rows: any(r["recipient"] == CAMILLE and r["state"] == "deferred"
                                             for r in rows), 60, "camille's reminder deferred")
        row = [r for r in rows if r["recipient"] == CAMILLE][0]
        self.assertEqual(row["attempts"], 1)
        self.assertIn("451", row["last_error"] or "")
        self.assertEqual(len(sink.accepted_for(LEA)), 1, "the other recipient is not held back")
        # the text listing says when the deferred one is tried again
        listing = run_cli("reminders", "-c", d.config, timeout=60).stdout.decode()
        line = [x for x in listing.splitlines() if CAMILLE in x and "deferred" in x]
        self.assertEqual(len(line), 1, listing)
        self.assertRegex(line[0], r"next attempt \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", listing)

        deadline = time.monotonic() + 100
        while time.monotonic() < deadline and not sink.accepted_for(CAMILLE):
            time.sleep(0.2)
        sink.wait_quiet(3)
        tries = [t for t in sink.all() if CAMILLE in t.rcpt_tos]
        self.assertEqual([t.reply[:3] for t in tries], ["451", "250"], d.stderr())
        refused, accepted = tries[0].message(), tries[1].message()
        self.assertEqual(str(refused["Message-ID"]), str(accepted["Message-ID"]))
        self.assertEqual(str(refused["Date"]), str(accepted["Date"]))
        self.assertEqual(str(accepted["Subject"]), f"Rappel : Casapéro — {french_when(start)}")
        gap = tries[1].at - tries[0].at
        self.assertGreaterEqual(gap, 55, "retried after about a minute")
        self.assertLess(gap, 80)

        rows = wait_rows(d, lambda rows: all(r["state"] == "sent" for r in rows), 15, "both sent")
        row = [r for r in rows if r["recipient"] == CAMILLE][0]
        self.assertEqual(row["attempts"], 2)
        self.assertEqual(row["message_id"], str(accepted["Message-ID"]))
        self.assertEqual(len(sink.accepted_for(CAMILLE)), 1)
        self.assertEqual(len(sink.accepted_for(LEA)), 1)

    def test_server_down_when_due_then_back_delivers_each_once(self):
        t0 = now_utc()
        start = t0 + dt.timedelta(seconds=140)
        events = event_toml("casapero", "Casapéro", "apero", start)
        everyone = [CAMILLE, LEA, YASMINE]
        members = "".join(member_toml(a, a.split("@")[0], ["apero"]) for a in everyone)
        sink = self.sink()
        sink.stop()  # the port is known; nothing listens on it yet
        d = self.daemon(events, members, sink, offsets=("PT2M",))

        rows = wait_rows(d, lambda rows: len(rows) == 3 and all(r["state"] == "deferred" for r in rows),
                         60, "all three deferred")
        down_at = time.monotonic()
        for r in rows:
            self.assertEqual(r["attempts"], 1)
            self.assertTrue(r["last_error"], r)
        h = d.health()
        self.assertEqual(h["status"], "degraded", h)
        self.assertTrue(h["smtp"].startswith("retrying: "), h)
        time.sleep(max(0.0, 20 - (time.monotonic() - down_at)))
        sink.start()
        sink.wait_accepted(3, timeout=90, what="the three reminders after the server came back")
        sink.wait_quiet(4)
        self.assertEqual(collections.Counter(recipient_of(t) for t in sink.all()),
                         collections.Counter(everyone))
        rows = wait_rows(d, lambda rows: all(r["state"] == "sent" for r in rows), 15, "all sent")
        self.assertEqual(sorted(r["attempts"] for r in rows), [2, 2, 2])
        self.assertEqual(d.health()["status"], "ok")
        self.assertEqual(sorted(r["message_id"] for r in rows),
                         sorted(str(t.message()["Message-ID"]) for t in sink.accepted()))


@requires_binary
class CrashTest(ReminderTestCase):

    def burst_of_200(self):
        """200 members' reminders due together, to a slow sink, the first 40
        received: (members, sink, daemon)."""
        start = now_utc() + dt.timedelta(seconds=80)
        events = event_toml("casapero", "Casapéro", "apero", start)
        everyone = [f"membre{n:03d}@example.org" for n in range(200)]
        members = "".join(member_toml(a, f"Membre {n}", ["apero"]) for n, a in enumerate(everyone))
        sink = self.sink(delay=0.02)
        d = self.daemon(events, members, sink, offsets=("PT1M",))
        sink.wait_accepted(40, timeout=60, what="the start of the burst")
        return everyone, sink, d

    def wait_all_sent(self, d):
        wait_rows(d, lambda rows: len(rows) == 200 and all(r["state"] == "sent" for r in rows),
                  20, "200 rows sent")

    def restart_until_everyone_got_it(self, everyone, sink, d, repeats_at_most):
        """Starts the stopped daemon again and waits until every member got
        the message, none more than twice and `repeats_at_most` repeats in
        all, and every row is sent; returns how many times each got it."""
        d._stderr.close()
        d.start()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len({recipient_of(t) for t in sink.accepted()}) < 200:
            time.sleep(0.2)
        sink.wait_quiet(4)
        counts = collections.Counter(recipient_of(t) for t in sink.accepted())
        self.assertEqual(set(counts), set(everyone), f"{200 - len(counts)} recipients never got it")
        duplicates = {a: n for a, n in counts.items() if n > 1}
        self.assertLessEqual(max(counts.values()), 2, duplicates)
        self.assertLessEqual(sum(n - 1 for n in counts.values()), repeats_at_most, duplicates)
        self.wait_all_sent(d)
        return counts

    def test_sigkill_mid_burst_loses_nothing_and_repeats_at_most_in_flight(self):
        everyone, sink, d = self.burst_of_200()
        d.signal(signal.SIGKILL)
        d.proc.wait(timeout=10)
        self.assertEqual(d.proc.returncode, -signal.SIGKILL)
        before = len(sink.accepted())
        self.assertLess(before, 200, "the kill landed after the burst; make the sink slower")
        counts = self.restart_until_everyone_got_it(everyone, sink, d, repeats_at_most=REPEATABLE)
        duplicates = [a for a, n in counts.items() if n > 1]
        # a repeated message is the same message: same Message-ID
        for a in duplicates:
            ids = {str(t.message()["Message-ID"]) for t in sink.accepted_for(a)}
            self.assertEqual(len(ids), 1, a)

    def test_sigterm_mid_burst_gives_back_what_was_not_sent(self):
        everyone, sink, d = self.burst_of_200()
        d.signal(signal.SIGTERM)
        self.assertEqual(d.proc.wait(timeout=30), 0, d.stderr())
        before = collections.Counter(recipient_of(t) for t in sink.accepted())
        self.assertLess(sum(before.values()), 200, "the stop landed after the burst; make the sink slower")
        # What the transport had not started is back in the outbox as it was:
        # planned, no attempt counted, no Date; nothing deferred or missed.
        rows = reminders(d)
        states = collections.Counter(r["state"] for r in rows)
        self.assertEqual(set(states), {"sent", "planned"}, states)
        self.assertEqual(states["sent"], sum(before.values()))
        self.assertTrue(all(r["attempts"] == 0 for r in rows if r["state"] == "planned"), rows)

        d._stderr.close()
        d.start()
        sink.wait_accepted(200, timeout=60, what="the rest of the burst after the restart")
        sink.wait_quiet(3)
        counts = collections.Counter(recipient_of(t) for t in sink.accepted())
        self.assertEqual(counts, collections.Counter(everyone))  # each exactly once
        self.wait_all_sent(d)

    def test_a_server_stalling_on_some_messages_holds_only_their_connections(self):
        # A content filter that takes minutes over three messages: libcurl
        # waits for each reply to the end of DATA on its thread, so the
        # other messages must not be queued behind those three.
        start = now_utc() + dt.timedelta(seconds=80)
        stalled = [f"lent{n}@example.org" for n in range(3)]
        others = [f"vite{n:02d}@example.org" for n in range(30)]
        members = "".join(member_toml(a, "", ["apero"]) for a in stalled + others)
        sink = self.sink()
        sink.stall = {a: 300 for a in stalled}
        d = self.daemon(event_toml("casapero", "Casapéro", "apero", start), members, sink, offsets=("PT1M",))
        sink.wait_accepted(30, timeout=60, what="every message but the stalled ones")
        with sink.lock:
            self.assertEqual(sorted(recipient_of(t) for t in sink.transactions), others)
        # stopped meanwhile: the stalled transfers are cut (bounded), and
        # nothing that never reached the server counts as an attempt
        d.signal(signal.SIGTERM)
        self.assertEqual(d.proc.wait(timeout=30), 0, d.stderr())
        rows = {r["recipient"]: r for r in reminders(d)}
        self.assertEqual({a for a, r in rows.items() if r["state"] == "sent"}, set(others))
        for a in stalled:
            # (deferred, or missed when the retry would come after the event's start)
            self.assertIn(rows[a]["state"], ("deferred", "missed"), rows[a])
            self.assertEqual(rows[a]["attempts"], 1, rows[a])
            self.assertIn("aborted at shutdown; the server may or may not have it", rows[a]["last_error"])

    def test_database_locked_mid_burst_then_free_delivers_each_once(self):
        everyone, sink, d = self.burst_of_200()
        # Another process (an operator's sqlite3 shell) holds the write lock
        # for 6 s (a turn waits a quarter of a second for it): the daemon's
        # commits fail, the transport starts nothing new, the results of the
        # messages in flight wait in memory, and nothing is sent twice or lost
        # once the lock goes.
        with write_lock(d):
            time.sleep(6)
            doc = d.wait_for(lambda h: "locked" in h.get("database", ""), 15,
                             "the locked database on /healthz")
            self.assertEqual(doc["status"], "degraded", doc)
            self.assertLess(len(sink.accepted()), 200, "the lock landed after the burst")
        sink.wait_accepted(200, timeout=60, what="the rest of the burst once the lock went")
        sink.wait_quiet(3)
        counts = collections.Counter(recipient_of(t) for t in sink.accepted())
        self.assertEqual(counts, collections.Counter(everyone))  # each exactly once
        self.wait_all_sent(d)
        d.wait_for(lambda h: h.get("database") == "ok", 10, "the database ok again on /healthz")
        log = d.stderr()
        self.assertIn("reminders: recording deliveries: ", log)
        self.assertIn("database is locked", log)
        self.assertIn("recording deliveries again", log)

    def test_sigterm_while_the_database_is_locked_exits_in_time_and_loses_nothing(self):
        everyone, sink, d = self.burst_of_200()
        with write_lock(d):
            stopped_at = time.monotonic()
            d.signal(signal.SIGTERM)
            # Outcomes that cannot be recorded are tried for about ten more
            # seconds, then left to the next start: the stop stays within
            # systemd's 30 s.
            self.assertEqual(d.proc.wait(timeout=40), 0, d.stderr())
            took = time.monotonic() - stopped_at
            self.assertLess(took, 25, d.stderr())
        before = len(sink.accepted())
        self.assertLess(before, 200, "the stop landed after the burst; make the sink slower")
        # The lock outlived the daemon, so no outcome since it was taken
        # could be recorded: the messages in flight then, and the outcomes
        # gathered for the next commit, may come twice, nothing more, nothing
        # lost.
        self.restart_until_everyone_got_it(everyone, sink, d, repeats_at_most=REPEATABLE)

    def test_sigkill_while_the_database_is_locked_repeats_only_what_was_in_flight(self):
        everyone, sink, d = self.burst_of_200()
        with write_lock(d):
            # Nothing can be recorded: the transport finishes the transfers it
            # started and starts none of the rows it still holds (up to the
            # window of 100), which a crash would send again.
            time.sleep(3)
            held = len(sink.accepted())
            time.sleep(2)
            self.assertEqual(len(sink.accepted()), held, "messages kept leaving while the database was locked")
            d.signal(signal.SIGKILL)
            d.proc.wait(timeout=10)
        self.assertLess(held, 200, "the lock landed after the burst; make the sink slower")
        self.restart_until_everyone_got_it(everyone, sink, d, repeats_at_most=REPEATABLE)


if __name__ == "__main__":
    unittest.main()
