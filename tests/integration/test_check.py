"""`casacal check`: exit codes and the exact `path:line:column: error:
message` lines an organizer reads, on the example site and on broken copies
of it."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from harness import BINARY, EXAMPLE_SITE, requires_binary, run_cli


def line_of(path, needle):
    """1-based line number and column of the first line containing needle."""
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return n, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in {path}")


def replace(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@requires_binary
class CheckTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="casacal-check-"))
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.site = self.tmp / "casaco"
        shutil.copytree(EXAMPLE_SITE, self.site, ignore=shutil.ignore_patterns("casacal.db*", "outbox"))
        self.events = self.site / "events.d"

    def check(self, *extra):
        p = run_cli("check", "-c", self.site / "casacal.toml", *extra)
        out = (p.stdout + p.stderr).decode("utf-8")
        errors = [line for line in out.splitlines() if ": error: " in line]
        return p.returncode, errors, out

    def normalized(self, errors):
        """Paths shown relative to the site folder, whether printed absolute or not."""
        prefix = str(self.site) + "/"
        return [e.replace(prefix, "") for e in errors]

    def test_example_site_is_valid(self):
        code, errors, out = self.check()
        self.assertEqual(code, 0, out)
        self.assertEqual(errors, [], out)

    def test_every_config_problem_is_reported_at_once(self):
        ateliers = self.events / "ateliers.toml"
        line_cat, _ = line_of(ateliers, 'category    = "atelier"')
        replace(ateliers, 'category    = "atelier"', 'category    = "ateliers"')
        line_prix, _ = line_of(ateliers, 'price       = "Prix libre"')
        replace(ateliers, 'price       = "Prix libre"', 'prix        = "Prix libre"')
        line_end, _ = line_of(ateliers, "end         = 2027-01-20T17:00:00")
        replace(ateliers, "end         = 2027-01-20T17:00:00", "end         = 2027-01-20T13:00:00")
        vie = self.events / "vie-du-lieu.toml"
        line_dup, _ = line_of(vie, 'id          = "portes-ouvertes-2027-01"')
        replace(vie, 'id          = "portes-ouvertes-2027-01"', 'id          = "casapero"')
        line_first, _ = line_of(self.events / "casapero.toml", 'id          = "casapero"')
        members = self.site / "members.toml"
        line_mail, _ = line_of(members, '"lea.nguyen@example.org"')
        replace(members, '"lea.nguyen@example.org"', '"lea.nguyen(at)example.org"')

        code, errors, out = self.check()
        self.assertEqual(code, 1, out)
        got = self.normalized(errors)
        expected = [
            f"events.d/ateliers.toml:{line_cat}:15: error: unknown category 'ateliers'; did you mean 'atelier'?",
            f"events.d/ateliers.toml:{line_prix}:1: error: unknown key 'prix' in [[event]]; did you mean 'price'?",
            f"events.d/vie-du-lieu.toml:{line_dup}:15: error: duplicate id 'casapero' "
            f"(first defined at events.d/casapero.toml:{line_first}:15)",
        ]
        for wanted in expected:
            self.assertIn(wanted, got, out)
        self.assertIn(f"events.d/ateliers.toml:{line_end}:15: error: 'end' (2027-01-20T13:00:00) is before "
                      f"'start' (2027-01-20T14:00:00)", got, out)
        self.assertIn(f"members.toml:{line_mail}:14: error: invalid email address 'lea.nguyen(at)example.org': "
                      f"missing '@'", got, out)
        self.assertEqual(len(got), 5, out)
        # sorted by path, line, column
        keys = [(m.group(1), int(m.group(2)), int(m.group(3)))
                for m in (re.match(r"^(.*?):(\d+):(\d+): error: ", e) for e in got)]
        self.assertEqual(keys, sorted(keys), out)

    def test_unknown_time_zone(self):
        line, _ = line_of(self.site / "casacal.toml", 'timezone = "Europe/Paris"')
        replace(self.site / "casacal.toml", 'timezone = "Europe/Paris"', 'timezone = "Europe/Pariss"')
        code, errors, out = self.check()
        self.assertEqual(code, 1, out)
        self.assertEqual([e for e in self.normalized(errors)
                          if re.fullmatch(rf"casacal\.toml:{line}:12: error: (unknown|invalid) time zone "
                                          rf"'Europe/Pariss'.*", e)], self.normalized(errors), out)
        self.assertEqual(len(errors), 1, out)

    def test_invalid_rrule_and_override_that_matches_nothing(self):
        casapero = self.events / "casapero.toml"
        line_rule, _ = line_of(casapero, 'rrule       = "FREQ=MONTHLY;BYDAY=1TH"')
        academie = self.events / "casacademie.toml"
        line_bad, _ = line_of(academie, 'rrule       = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20270629"')
        replace(academie, "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20270629", "FREQ=WEEKLI;INTERVAL=2;BYDAY=TU")
        line_rid, _ = line_of(casapero, "recurrence_id = 2027-08-05T18:30:00")
        # a Friday: the first-Thursday series has no occurrence there
        replace(casapero, "recurrence_id = 2027-08-05T18:30:00", "recurrence_id = 2027-08-06T18:30:00")
        code, errors, out = self.check()
        self.assertEqual(code, 1, out)
        got = self.normalized(errors)
        self.assertIn(f"events.d/casacademie.toml:{line_bad}:15: error: invalid rrule "
                      f"'FREQ=WEEKLI;INTERVAL=2;BYDAY=TU': FREQ must be DAILY, WEEKLY, MONTHLY, YEARLY, HOURLY, "
                      f"MINUTELY or SECONDLY", got, out)
        self.assertIn(f"events.d/casapero.toml:{line_rid}:19: error: override matches no occurrence of 'casapero' "
                      f"(recurrence_id 2027-08-06T18:30:00)", got, out)
        self.assertEqual(len(got), 2, out)
        self.assertNotIn(f"casapero.toml:{line_rule}:", out)

    def test_a_recurrence_id_of_the_wrong_type_is_said_once(self):
        casapero = self.events / "casapero.toml"
        line_rid, _ = line_of(casapero, "recurrence_id = 2027-08-05T18:30:00")
        replace(casapero, "recurrence_id = 2027-08-05T18:30:00", 'recurrence_id = "2027-08-05T18:30:00"')
        code, errors, out = self.check()
        self.assertEqual(code, 1, out)
        self.assertEqual(self.normalized(errors),
                         [f"events.d/casapero.toml:{line_rid}:19: error: 'recurrence_id' must be a date or "
                          f"date-time, not a string"], out)

    def test_calendar_problems_are_reported_with_file_problems(self):
        # product.md: check reports *every* problem at once, invalid RRULEs
        # included, so an organizer fixing a typo in members.toml does not
        # discover the broken rule only on the next run.
        academie = self.events / "casacademie.toml"
        line_bad, _ = line_of(academie, "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20270629")
        replace(academie, "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20270629", "FREQ=WEEKLI;INTERVAL=2;BYDAY=TU")
        members = self.site / "members.toml"
        line_mail, _ = line_of(members, '"lea.nguyen@example.org"')
        replace(members, '"lea.nguyen@example.org"', '"lea.nguyen(at)example.org"')
        code, errors, out = self.check()
        self.assertEqual(code, 1, out)
        got = self.normalized(errors)
        self.assertIn(f"members.toml:{line_mail}:14: error: invalid email address 'lea.nguyen(at)example.org': "
                      f"missing '@'", got, out)
        self.assertIn(f"events.d/casacademie.toml:{line_bad}:15: error: invalid rrule "
                      f"'FREQ=WEEKLI;INTERVAL=2;BYDAY=TU': FREQ must be DAILY, WEEKLY, MONTHLY, YEARLY, HOURLY, "
                      f"MINUTELY or SECONDLY", got, out)

    def test_syntax_error_does_not_hide_other_files_problems(self):
        casapero = self.events / "casapero.toml"
        line, _ = line_of(casapero, 'title       = "Casapéro"')
        replace(casapero, 'title       = "Casapéro"', 'title       = "Casapéro')
        ateliers = self.events / "ateliers.toml"
        line_cat, _ = line_of(ateliers, 'category    = "atelier"')
        replace(ateliers, 'category    = "atelier"', 'category    = "ateliers"')
        code, errors, out = self.check()
        self.assertEqual(code, 1, out)
        got = self.normalized(errors)
        self.assertIn(f"events.d/ateliers.toml:{line_cat}:15: error: unknown category 'ateliers'; "
                      f"did you mean 'atelier'?", got, out)
        self.assertTrue(any(e.startswith(f"events.d/casapero.toml:{line}:") for e in got), out)

    def test_toml_syntax_error(self):
        casapero = self.events / "casapero.toml"
        line, _ = line_of(casapero, 'title       = "Casapéro"')
        replace(casapero, 'title       = "Casapéro"', 'title       = "Casapéro')
        code, errors, out = self.check()
        self.assertEqual(code, 1, out)
        got = self.normalized(errors)
        self.assertTrue(got, out)
        self.assertRegex(got[0], rf"^events\.d/casapero\.toml:{line}:\d+: error: \S")

    def test_unreadable_members_file(self):
        line, _ = line_of(self.site / "casacal.toml", 'members  = "members.toml"')
        replace(self.site / "casacal.toml", 'members  = "members.toml"', 'members  = "absent.toml"')
        code, errors, out = self.check()
        self.assertEqual(code, 1, out)
        got = self.normalized(errors)
        self.assertTrue(any(re.fullmatch(rf"casacal\.toml:{line}:12: error: cannot read members file .*absent\.toml.*",
                                         e) for e in got), out)

    def test_files_that_are_not_regular_are_refused_without_waiting_on_them(self):
        os.mkfifo(self.events / "pipe.toml")  # opening it for reading would wait for a writer
        (self.events / "zero.toml").symlink_to("/dev/zero")  # reading it would never end
        os.mkfifo(self.site / "password")
        replace(self.site / "casacal.toml", 'pickup_dir = "outbox"',
                'url = "smtp://127.0.0.1:9"\nstarttls = "off"\npassword_file = "password"')
        p = run_cli("check", "-c", self.site / "casacal.toml", timeout=20)
        out = (p.stdout + p.stderr).decode("utf-8")
        self.assertEqual(p.returncode, 1, out)
        got = self.normalized([line for line in out.splitlines() if ": error: " in line])
        self.assertIn("events.d/pipe.toml:1:1: error: cannot read file: not a regular file (a named pipe)", got)
        self.assertIn("events.d/zero.toml:1:1: error: cannot read file: not a regular file (a device)", got)
        self.assertTrue(any(re.fullmatch(r"casacal\.toml:\d+:\d+: error: cannot read \[smtp\] password_file "
                                         r"'.*password': not a regular file \(a named pipe\)", e) for e in got), got)

    def test_an_event_with_an_invalid_id_is_still_named_in_its_other_messages(self):
        (self.events / "bad.toml").write_text(
            '[[event]]\nid = "Casa Pero"\ntitle = "A"\ncategory = "apero"\n'
            'start = 2026-12-03T18:30:00\nduration = "PT0S"\n', encoding="utf-8")
        code, errors, out = self.check()
        self.assertEqual(code, 1, out)
        self.assertEqual(self.normalized(errors), [
            "events.d/bad.toml:2:6: error: invalid id 'Casa Pero': use only a-z, 0-9 and '-'",
            "events.d/bad.toml:6:12: error: duration of event 'Casa Pero' must be longer than zero"])

    def test_agenda_text_reads_the_site_wall_clock(self):
        (self.events / "elsewhere.toml").write_text("""
[[event]]
id = "new-york-call"
title = "Appel New York"
category = "atelier"
timezone = "America/New_York"
start = 2027-03-08T20:00:00
duration = "PT1H30M"
rrule = "FREQ=WEEKLY;BYDAY=MO"

[[event]]
id = "night-owl"
title = "Nuit blanche"
category = "atelier"
start = 2027-10-31T02:30:00
duration = "PT1H"
status = "tentative"
""", encoding="utf-8")
        p = run_cli("agenda", "-c", self.site / "casacal.toml", "--from", "2027-03-23", "--to", "2027-03-24")
        self.assertEqual(p.returncode, 0, p.stderr)
        # Monday 20:00 in New York is Tuesday 01:00 in Paris, inside the range asked for.
        self.assertIn("2027-03-23 01:00–02:30  Appel New York\n", p.stdout.decode())
        self.assertNotIn("2027-03-22", p.stdout.decode())
        p = run_cli("agenda", "-c", self.site / "casacal.toml", "--from", "2027-10-31", "--to", "2027-11-01")
        self.assertEqual(p.returncode, 0, p.stderr)
        # Both ends in the repeated hour: the offsets tell the two 02:30 apart.
        self.assertIn("2027-10-31 02:30+02:00–02:30+01:00  Nuit blanche  [tentative]\n", p.stdout.decode())

    def test_missing_main_file(self):
        p = run_cli("check", "-c", self.tmp / "nowhere.toml")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("nowhere.toml", (p.stdout + p.stderr).decode())

    def test_usage_errors_exit_2(self):
        for args in (["check", "--bogus"], ["frobnicate"], [], ["check", "-c"],
                     ["agenda", "-c", self.site / "casacal.toml", "--from", "someday"]):
            with self.subTest(args=args):
                p = run_cli(*args)
                self.assertEqual(p.returncode, 2, (p.stdout + p.stderr).decode())
                self.assertTrue(p.stderr.strip(), "a usage error says what was wrong on stderr")

    def test_version_and_help(self):
        p = run_cli("--version")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout.decode(), r"^casacal \d+\.\d+\.\d+")
        p = run_cli("--help")
        self.assertEqual(p.returncode, 0)
        for cmd in ("serve", "check", "export", "agenda", "reminders", "send-test"):
            self.assertIn(cmd, p.stdout.decode())
        p = run_cli("check", "--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("-c", p.stdout.decode())

    def test_commands_that_send_no_mail_do_not_load_libcurl_or_libsystemd(self):
        # libcurl and the 26 libraries it brings cost 4 ms at every start; only mail loads them.
        # libsystemd and its six cost 1 ms; only a serve that systemd supervises loads them.
        config = self.site / "casacal.toml"
        for args in (["check", "-c", config], ["export", "-c", config, "-o", self.tmp / "out.ics"],
                     ["agenda", "-c", config, "--json"], ["--version"]):
            with self.subTest(args=args):
                p = run_cli(*args, env={"LD_DEBUG": "files"})
                self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace")[-2000:])
                self.assertIn(b"libical.so", p.stderr, "LD_DEBUG lists the libraries loaded")
                for library in (b"libcurl", b"libsystemd"):
                    self.assertFalse(library in p.stderr, f"{library.decode()} was loaded")

    def test_mail_commands_name_a_libcurl_that_cannot_be_loaded(self):
        broken = self.tmp / "lib"
        broken.mkdir()
        (broken / "libcurl.so.4").write_bytes(b"")  # found first, and not a library
        p = run_cli("send-test", "-c", self.site / "casacal.toml", "--to", "camille@example.org",
                    env={"LD_LIBRARY_PATH": str(broken)})
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("libcurl could not be loaded: " + str(broken / "libcurl.so.4"), p.stderr.decode())
        self.assertFalse((self.site / "outbox").exists() and any((self.site / "outbox").iterdir()),
                         "nothing was written")

    def test_send_test_names_a_bad_address_without_writing_its_control_characters(self):
        p = run_cli("send-test", "-c", self.site / "casacal.toml", "--to", "camille@example.org\r\nBcc: x@example.org\x1b[31m")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(p.stderr.decode(), "casacal: send-test: invalid address 'camille@example.org??Bcc: x@example.org?[31m'\n"
                         "Try 'casacal send-test --help'.\n")
        self.assertFalse((self.site / "outbox").exists() and any((self.site / "outbox").iterdir()),
                         "nothing was written")

    def test_a_database_edited_into_nonsense_stops_export_with_the_reason(self):
        import sqlite3
        feed = self.tmp / "feed.ics"
        p = run_cli("export", "-c", self.site / "casacal.toml", "-o", feed)
        self.assertEqual(p.returncode, 0, p.stderr)
        db = sqlite3.connect(self.site / "casacal.db")
        db.execute("UPDATE revisions SET sequence = 'abc' WHERE uid = 'casapero@casaco.example'")
        db.commit()
        db.close()
        p = run_cli("export", "-c", self.site / "casacal.toml", "-o", self.tmp / "other.ics")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("casacal.db: column 'sequence' holds 'abc', not an integer", p.stderr.decode())
        self.assertFalse((self.tmp / "other.ics").exists(), "no feed with a made-up SEQUENCE")

    def test_export_names_why_it_cannot_write(self):
        for target, reason in ((self.tmp, "Is a directory"), ("/dev/full", "No space left on device"),
                               (self.tmp / "missing" / "feed.ics", "No such file or directory")):
            with self.subTest(target=str(target)):
                p = run_cli("export", "-c", self.site / "casacal.toml", "-o", target)
                self.assertEqual(p.returncode, 3, p.stderr)
                self.assertIn(f": cannot write: {reason}", p.stderr.decode())

    def test_export_replaces_its_output_without_touching_files_beside_it(self):
        out = self.tmp / "feed.ics"
        victim = self.tmp / "victim"
        victim.write_text("precious\n")
        (self.tmp / "feed.ics.tmp").symlink_to(victim)
        p = run_cli("export", "-c", self.site / "casacal.toml", "-o", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(victim.read_text(), "precious\n", "a link planted beside the output is not followed")
        self.assertFalse(out.is_symlink())
        self.assertTrue(out.read_bytes().startswith(b"BEGIN:VCALENDAR\r\n"))
        self.assertEqual(sorted(f.name for f in self.tmp.iterdir()), ["casaco", "feed.ics", "feed.ics.tmp", "victim"])

        out.chmod(0o600)
        if os.geteuid() == 0:
            os.chown(out, 65534, 65534)
        p = run_cli("export", "-c", self.site / "casacal.toml", "-o", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(out.stat().st_mode & 0o7777, 0o600, "the replaced file's mode is kept")
        if os.geteuid() == 0:
            self.assertEqual((out.stat().st_uid, out.stat().st_gid), (65534, 65534), "and its owner")

    @unittest.skipUnless(os.geteuid() == 0, "needs root, to run export as an unprivileged user")
    def test_export_in_a_folder_it_cannot_write_names_the_folder_once(self):
        p = run_cli("export", "-c", self.site / "casacal.toml", "-o", self.tmp / "feed.ics")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.tmp.chmod(0o755)
        for path in (self.site, *self.site.rglob("*")):
            path.chmod(0o555 if path.is_dir() else 0o444)
        self.addCleanup(lambda: [path.chmod(0o755) for path in (self.site, *self.site.rglob("*"))])
        p = subprocess.run([BINARY, "export", "-c", "casacal.toml"], cwd=self.site, user=65534,
                           capture_output=True, timeout=120)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(p.stderr.decode(), "casacal: database: casacal.db: attempt to write a readonly "
                         "database in: PRAGMA user_version (its folder . is not writable: the database, and its -wal and -shm files "
                         "beside it, are made there)\n")

    def test_output_that_cannot_be_written_is_a_runtime_failure(self):
        for args in (("check",), ("agenda",), ("agenda", "--json"), ("reminders", "--json"), ("export",)):
            with self.subTest(args=args), open("/dev/full", "wb") as full:
                p = subprocess.run([BINARY, *args, "-c", str(self.site / "casacal.toml")],
                                   stdout=full, stderr=subprocess.PIPE, timeout=120)
                self.assertEqual(p.returncode, 3, p.stderr)
                self.assertIn(b"casacal: ", p.stderr)

    def test_reminders_says_when_there_is_no_database_and_refuses_a_missing_folder(self):
        p = run_cli("reminders", "-c", self.site / "casacal.toml", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout), {"reminders": []})
        self.assertIn("casacal: reminders: no database at ", p.stderr.decode())
        replace(self.site / "casacal.toml", 'database = "casacal.db"', 'database = "nodir/casacal.db"')
        p = run_cli("reminders", "-c", self.site / "casacal.toml")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("nodir does not exist", p.stderr.decode())
        self.assertEqual(p.stdout, b"")

    def test_reminders_and_send_test_refuse_an_unknown_site_zone_as_check_does(self):
        replace(self.site / "casacal.toml", 'timezone = "Europe/Paris"', 'timezone = "Mars/Olympus"')
        main = self.site / "casacal.toml"
        for args in (("check",), ("reminders", "--json"), ("send-test", "--to", "a@example.org")):
            with self.subTest(args=args):
                p = run_cli(args[0], "-c", main, *args[1:])
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(f"{main}:8:12: error: unknown time zone 'Mars/Olympus'\n", p.stderr.decode())
                self.assertEqual(p.stdout, b"")
        self.assertFalse((self.site / "outbox").exists() and any((self.site / "outbox").iterdir()),
                         "no test message was written")

    def test_reminders_and_send_test_work_while_event_files_are_broken(self):
        p = run_cli("export", "-c", self.site / "casacal.toml", "-o", self.tmp / "feed.ics")  # makes the database
        self.assertEqual(p.returncode, 0, p.stderr)
        broken = sorted(self.events.glob("*.toml"))[0]
        broken.write_text(broken.read_text(encoding="utf-8") + "\ngarbage = = 1\n", encoding="utf-8")
        p = run_cli("reminders", "-c", self.site / "casacal.toml", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("reminders", json.loads(p.stdout))
        self.assertIn(f"{broken.name}:", p.stderr.decode())
        self.assertIn("casacal: reminders: going on, as the main file is valid; `casacal check` lists every "
                      "problem\n", p.stderr.decode())
        # send-test too: its transport is the main file's (here the pickup folder)
        p = run_cli("send-test", "-c", self.site / "casacal.toml", "--to", "camille@example.org")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"{broken.name}:", p.stderr.decode())
        self.assertEqual(len(list((self.site / "outbox").glob("*.eml"))), 1)
        # a members file or events folder that is not there (a deploy under
        # way): reported on the main file's line naming it, and no more fatal
        (self.site / "members.toml").rename(self.site / "members.away")
        shutil.rmtree(self.events)
        for args in (("reminders", "--json"), ("send-test", "--to", "camille@example.org")):
            p = run_cli(args[0], "-c", self.site / "casacal.toml", *args[1:])
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("error: cannot read members file", p.stderr.decode())
            self.assertIn("error: cannot read events folder", p.stderr.decode())
        self.assertEqual(len(list((self.site / "outbox").glob("*.eml"))), 2)
        replace(self.site / "casacal.toml", "[storage]", "[storage]\nbad = = 1")
        for args in (("reminders", "--json"), ("send-test", "--to", "camille@example.org")):
            p = run_cli(args[0], "-c", self.site / "casacal.toml", *args[1:])
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertEqual(p.stdout, b"")


if __name__ == "__main__":
    unittest.main()
