"""Runs the real casacal binary on a copy of a site, for the integration tests.

A test copies a site (examples/casaco or a fixture under tests/data) into a
temporary folder, points its [http] listen at a free loopback port and its
database into that folder, starts `casacal serve`, and talks to it over HTTP
with raw bytes. The daemon is stopped with SIGTERM and must exit 0; its stderr
is printed when a test fails.

Environment (set by tests/integration/CMakeLists.txt):
  CASACAL_BINARY      the casacal executable
  CASACAL_SOURCE_DIR  the source tree
  NODE                node, for icaljs_expand.mjs
"""

import datetime as dt
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
SOURCE_DIR = Path(os.environ.get("CASACAL_SOURCE_DIR", HERE.parent.parent))
BINARY = os.environ.get("CASACAL_BINARY", "")
NODE = os.environ.get("NODE") or shutil.which("node") or "node"
EXAMPLE_SITE = SOURCE_DIR / "examples" / "casaco"
PARIS = ZoneInfo("Europe/Paris")

# A sanitized Debug build starts and renders more slowly than a Release one.
START_TIMEOUT = float(os.environ.get("CASACAL_START_TIMEOUT", "30"))
STOP_TIMEOUT = 20.0


def binary_available():
    return bool(BINARY) and os.access(BINARY, os.X_OK)


def requires_binary(cls):
    """Skips a TestCase class when no casacal binary was given."""
    return unittest.skipUnless(binary_available(), "CASACAL_BINARY is not set or not executable")(cls)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_site(source, workdir, port=None):
    """Copies the site folder `source` into `workdir`/site and rewrites its
    listen address and database path. Returns the path of casacal.toml."""
    site = Path(workdir) / "site"
    shutil.copytree(source, site, ignore=shutil.ignore_patterns("casacal.db*", "outbox"))
    main = site / "casacal.toml"
    text = main.read_text(encoding="utf-8")
    port = port or free_port()
    text, n = re.subn(r'(?m)^(\s*listen\s*=\s*)"[^"]*"', rf'\g<1>"127.0.0.1:{port}"', text)
    assert n == 1, f"{main}: no [http] listen line to rewrite"
    db = Path(workdir) / "state" / "casacal.db"
    db.parent.mkdir(exist_ok=True)
    text, n = re.subn(r'(?m)^(\s*database\s*=\s*)"[^"]*"', rf'\g<1>"{db}"', text)
    assert n == 1, f"{main}: no [storage] database line to rewrite"
    main.write_text(text, encoding="utf-8")
    return main


def run_cli(*args, timeout=120, input=None, env=None):
    """Runs `casacal ARGS...` (with `env` added to the environment); returns
    the CompletedProcess with bytes."""
    return subprocess.run([BINARY, *map(str, args)], capture_output=True, timeout=timeout, input=input,
                          env={**os.environ, **env} if env else None)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value) as received
        self.body = body

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<Response {self.status} {len(self.body)} bytes>"


class Daemon:
    """One `casacal serve` process on a copied site."""

    def __init__(self, source=EXAMPLE_SITE, workdir=None, extra_env=None):
        self._own_tmp = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="casacal-integ-"))
        self.config = copy_site(source, self.workdir)
        self.site = self.config.parent
        text = self.config.read_text(encoding="utf-8")
        self.port = int(re.search(r'listen\s*=\s*"127\.0\.0\.1:(\d+)"', text).group(1))
        self.stderr_path = self.workdir / "stderr.log"
        self.extra_env = extra_env or {}
        self.proc = None

    # -- process ---------------------------------------------------------

    def start(self):
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)
        env.pop("NOTIFY_SOCKET", None)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        env.update(self.extra_env)
        self._stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen([BINARY, "serve", "-c", str(self.config)],
                                     stdout=self._stderr, stderr=self._stderr, env=env)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"casacal serve exited with {self.proc.returncode} at start:\n{self.stderr()}")
            try:
                r = self.get("/healthz", timeout=2)
                # Ready once the first configuration is built and served.
                if r.status in (200, 503) and (health_generation(r.json()) or 0) >= 1:
                    return self
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise AssertionError(f"casacal serve did not answer /healthz within {START_TIMEOUT} s:\n{self.stderr()}")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        """SIGTERM; returns the exit code (the caller asserts it is 0)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"casacal serve did not exit within {STOP_TIMEOUT} s of SIGTERM:\n{self.stderr()}")
        finally:
            self._stderr.close()

    def restart(self):
        code = self.stop()
        assert code == 0, f"exit code {code} on SIGTERM:\n{self.stderr()}"
        return self.start()

    def stderr(self, limit=20000):
        try:
            data = self.stderr_path.read_bytes()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self._own_tmp:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- HTTP --------------------------------------------------------------

    def request(self, method, path, headers=None, body=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, r.getheaders(), data)
        finally:
            conn.close()

    def get(self, path, headers=None, timeout=10):
        return self.request("GET", path, headers=headers, timeout=timeout)

    def health(self):
        return self.get("/healthz").json()

    def wait_for(self, predicate, timeout=15.0, what="condition"):
        """Polls /healthz until predicate(doc) holds; returns the doc."""
        deadline = time.monotonic() + timeout
        doc = None
        while time.monotonic() < deadline:
            try:
                doc = self.health()
                if predicate(doc):
                    return doc
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; last /healthz: {doc}\n{self.stderr()}")

    def wait_generation_above(self, generation, timeout=15.0):
        return self.wait_for(lambda d: (health_generation(d) or 0) > generation, timeout,
                             f"configuration generation > {generation}")

    def stop_clean(self):
        """SIGTERM; the daemon must exit 0. Its folder is removed either way."""
        try:
            code = self.stop()
            assert code == 0, f"exit code {code} after SIGTERM:\n{self.stderr()}"
        finally:
            self.cleanup()


def health_status(doc):
    return doc.get("status")


def health_generation(doc):
    """The configuration generation in /healthz, wherever the document keeps it."""
    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if "generation" in k and isinstance(v, int) and not isinstance(v, bool):
                    return v
            for v in node.values():
                g = walk(v)
                if g is not None:
                    return g
        return None
    return walk(doc)


def health_error_texts(doc):
    """Every string in /healthz that looks like a diagnostic."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str) and ": error: " in node:
            found.append(node)
    walk(doc)
    return found


class DaemonTestCase(unittest.TestCase):
    """Starts a daemon on a copy of SITE for each test (or the class)."""

    SITE = EXAMPLE_SITE

    def start_daemon(self, source=None, **kw):
        d = Daemon(source or self.SITE, **kw)
        self.addCleanup(self._finish, d)
        return d.start()

    def _finish(self, d):
        failed = not getattr(self._outcome, "success", True)
        try:
            code = d.stop()
            if code is not None and not failed:
                self.assertEqual(code, 0, f"casacal serve exit code after SIGTERM:\n{d.stderr()}")
        finally:
            if failed:
                sys.stderr.write(f"\n--- casacal stderr ({self.id()}) ---\n{d.stderr()}\n--- end ---\n")
            d.cleanup()


# -- iCalendar helpers ----------------------------------------------------


def unfold(body):
    """RFC 5545 section 3.1: CRLF followed by one space or tab is removed."""
    return re.sub(rb"\r\n[ \t]", b"", body)


def content_lines(body):
    return unfold(body).split(b"\r\n")


def property_values(body, name):
    """Values of every property NAME (params stripped), unfolded, as str."""
    out = []
    name = name.upper().encode()
    for line in content_lines(body):
        head, _, value = line.partition(b":")
        if head.split(b";")[0].upper() == name:
            out.append(value.decode("utf-8"))
    return out


def property_lines(body, name):
    name = name.upper().encode()
    return [line.decode("utf-8") for line in content_lines(body)
            if line.split(b":")[0].split(b";")[0].upper() == name]


def vevents(body):
    """Each VEVENT of a feed as its list of unfolded lines (str)."""
    events, current = [], None
    for line in content_lines(body):
        text = line.decode("utf-8")
        if text == "BEGIN:VEVENT":
            current = []
        elif text == "END:VEVENT":
            events.append(current)
            current = None
        elif current is not None:
            current.append(text)
    return events


def unescape_text(value):
    """RFC 5545 section 3.3.11 TEXT decoding, in one left-to-right pass.
    python3-icalendar 4.0.3 decodes with chained replaces and turns the
    escaped backslash before "n" in `\\\\\\\\nas` into a line break (see
    test_oracles)."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def prop(event_lines, name):
    for line in event_lines:
        head, _, value = line.partition(":")
        if head.split(";")[0].upper() == name.upper():
            return head, value
    return None, None


# -- occurrences, as comparable sets --------------------------------------


def utc_text(instant):
    return instant.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def api_occurrence_key(o):
    """(uid, start, end) from an /api/events occurrence: UTC instants for
    timed ones, dates for all-day ones."""
    if o["all_day"]:
        return (o["uid"], o["start"], o["end"])
    return (o["uid"], utc_text(dt.datetime.fromisoformat(o["start"])),
            utc_text(dt.datetime.fromisoformat(o["end"])))


def api_set(doc):
    """Occurrences a calendar client would show: cancelled ones are EXDATEs
    in the feed, so they are left out here."""
    return {api_occurrence_key(o) for o in doc["occurrences"] if o.get("status") != "cancelled"}


def ical_value_key(value):
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=PARIS)
        return utc_text(value)
    return value.isoformat()


def site_range(from_date, to_date):
    """[from, to) local dates in Europe/Paris as aware datetimes."""
    return (dt.datetime.combine(from_date, dt.time(), PARIS),
            dt.datetime.combine(to_date, dt.time(), PARIS))


def in_site_range(value, from_date, to_date):
    if isinstance(value, dt.datetime):
        lo, hi = site_range(from_date, to_date)
        v = value if value.tzinfo else value.replace(tzinfo=PARIS)
        return lo <= v < hi
    return from_date <= value < to_date


def python_expand(body, from_date, to_date):
    """Occurrences with start in [from, to) as recurring_ical_events 2.0.1
    expands them from the feed, keyed like api_set()."""
    import icalendar
    import recurring_ical_events
    cal = icalendar.Calendar.from_ical(body)
    # Ask for a wider window: the library selects overlapping events, we
    # select by start as /api/events does.
    events = recurring_ical_events.of(cal).between(from_date - dt.timedelta(days=2),
                                                   to_date + dt.timedelta(days=2))
    out = set()
    for e in events:
        if str(e.get("STATUS", "")).upper() == "CANCELLED":
            continue
        start = e["DTSTART"].dt
        if not in_site_range(start, from_date, to_date):
            continue
        end = e["DTEND"].dt if "DTEND" in e else start + e["DURATION"].dt
        out.add((str(e["UID"]), ical_value_key(start), ical_value_key(end)))
    return out


def icaljs_expand(ics_path, from_date, to_date):
    """Occurrences with start in [from, to) as ical.js 2.x expands them."""
    lo, hi = site_range(from_date, to_date)
    cmd = [NODE, str(HERE / "icaljs_expand.mjs"), str(ics_path), utc_text(lo), utc_text(hi),
           from_date.isoformat(), to_date.isoformat()]
    p = subprocess.run(cmd, capture_output=True, timeout=120, cwd=HERE)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{p.stderr.decode()}")
    doc = json.loads(p.stdout)
    out = set()
    for o in doc["occurrences"]:
        if o["status"] == "CANCELLED":
            continue
        out.add((o["uid"], o["start"], o["end"]))
    return out
