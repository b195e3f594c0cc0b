"""A real SMTP server (aiosmtpd) run by the reminder tests, and the small
site those tests write for each daemon.

The server listens on a free loopback port in a thread of the test process
and records every transaction it sees: the envelope, the raw bytes of DATA
and what it answered. It can be told to answer 451 (at RCPT or after DATA)
for the first N attempts of a recipient, 550 for a recipient, to wait a
little before answering each DATA (so that a burst takes a while), or to
be down (stopped, then started again on the same port).
"""

import datetime as dt
import email
import email.policy
import json
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller

from harness import Daemon, free_port, run_cli

DOMAIN = "casaco.example"
FROM = "Casaco <agenda@casaco.example>"


@dataclass
class Transaction:
    mail_from: str
    rcpt_tos: list
    data: bytes
    reply: str          # what the server answered to DATA
    at: float           # time.monotonic() when DATA ended

    @property
    def accepted(self):
        return self.reply.startswith("250")

    def message(self):
        return email.message_from_bytes(self.data, policy=email.policy.default)


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        s = self.sink
        with s.lock:
            s.rcpt_log.append(address)
            if address in s.reject:
                return "550 5.1.1 no such user here"
            if s.refuse_rcpt.get(address, 0) > 0:
                s.refuse_rcpt[address] -= 1
                return "451 4.3.0 try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        s = self.sink
        import asyncio
        if s.delay:
            await asyncio.sleep(s.delay)
        with s.lock:
            stall = max((s.stall.get(rcpt, 0) for rcpt in envelope.rcpt_tos), default=0)
        if stall:
            await asyncio.sleep(stall)  # this session only: the others go on
        data = envelope.original_content if envelope.original_content is not None else envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        reply = "250 2.0.0 accepted"
        with s.lock:
            for rcpt in envelope.rcpt_tos:
                if s.refuse_data.get(rcpt, 0) > 0:
                    s.refuse_data[rcpt] -= 1
                    reply = "451 4.3.0 try later"
            s.transactions.append(Transaction(envelope.mail_from, list(envelope.rcpt_tos), bytes(data),
                                              reply, time.monotonic()))
            s.changed.notify_all()
        return reply


class SmtpSink:
    """aiosmtpd on 127.0.0.1:port, recording every DATA."""

    def __init__(self, delay=0.0):
        self.port = free_port()
        self.delay = delay
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.transactions = []
        self.rcpt_log = []
        self.refuse_rcpt = {}   # address -> how many RCPT to answer 451
        self.refuse_data = {}   # address -> how many DATA to answer 451
        self.reject = set()     # addresses answered 550 at RCPT
        self.stall = {}         # address -> seconds the reply to its DATA is held
        self.controller = None

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def start(self):
        deadline = time.monotonic() + 10
        while True:
            try:
                self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
                self.controller.start()
                return self
            except (OSError, RuntimeError):
                self.controller = None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    # -- what arrived --------------------------------------------------------

    def accepted(self):
        with self.lock:
            return [t for t in self.transactions if t.accepted]

    def all(self):
        with self.lock:
            return list(self.transactions)

    def accepted_for(self, address):
        return [t for t in self.accepted() if address in t.rcpt_tos]

    def wait_accepted(self, count, timeout, what="messages"):
        """Waits until at least `count` messages were accepted; returns them."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                got = [t for t in self.transactions if t.accepted]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {timeout} s waiting for {count} {what}; "
                                         f"got {len(got)}: {[t.rcpt_tos for t in got]}")
                self.changed.wait(min(left, 0.5))

    def wait_quiet(self, seconds):
        """Waits until nothing arrived for `seconds` (bounded by 4x that)."""
        deadline = time.monotonic() + 4 * seconds
        while time.monotonic() < deadline:
            with self.lock:
                last = self.transactions[-1].at if self.transactions else 0
            if time.monotonic() - last >= seconds:
                return
            time.sleep(0.1)


# -- the site ------------------------------------------------------------------


def utc(instant):
    return instant.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_utc():
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


MAIN_TEMPLATE = """\
[site]
name     = "Casaco"
base_url = "http://127.0.0.1:8080"
domain   = "casaco.example"
timezone = "Europe/Paris"
locale   = "fr"
events   = "events.d"
members  = "members.toml"

[http]
listen = "127.0.0.1:8080"

[storage]
database = "casacal.db"

[smtp]
{smtp}
from = "Casaco <agenda@casaco.example>"
max_per_minute = {max_per_minute}

[reminders]
offsets = {offsets}
grace   = "PT30M"

[categories.apero]
name  = "Casapéros"

[categories.atelier]
name  = "Ateliers"

[categories.vie-du-lieu]
name  = "Vie du lieu"
"""


def toml_list(items):
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def member_toml(email_, name, categories, offsets=None):
    text = f"[[member]]\nemail = {json.dumps(email_)}\nname = {json.dumps(name)}\n" \
           f"categories = {toml_list(categories)}\n"
    if offsets is not None:
        text += f"offsets = {toml_list(offsets)}\n"
    return text + "\n"


def event_toml(id_, title, category, start, minutes=60, rrule=None, offsets=None, status=None,
               extra=""):
    text = f"[[event]]\nid = {json.dumps(id_)}\ntitle = {json.dumps(title)}\ncategory = {json.dumps(category)}\n" \
           f"start = {utc(start)}\nend = {utc(start + dt.timedelta(minutes=minutes))}\n" \
           f"location = \"Espace convivial, rez-de-chaussée\"\n" \
           f"description = \"Apéro mensuel des coworkers.\\nChacun apporte quelque chose.\"\n"
    if rrule:
        text += f"rrule = {json.dumps(rrule)}\n"
    if offsets is not None:
        text += f"offsets = {toml_list(offsets)}\n"
    if status:
        text += f"status = {json.dumps(status)}\n"
    return text + extra + "\n"


def write_site(folder, events, members, smtp_url=None, offsets=("PT1M",), max_per_minute=100000):
    """Writes casacal.toml, events.d/events.toml and members.toml into
    `folder`; returns it. `events` and `members` are TOML texts."""
    folder = Path(folder)
    (folder / "events.d").mkdir(parents=True, exist_ok=True)
    smtp = f'url = "{smtp_url}"\nstarttls = "off"' if smtp_url else 'pickup_dir = "outbox"'
    (folder / "casacal.toml").write_text(
        MAIN_TEMPLATE.format(smtp=smtp, offsets=toml_list(offsets), max_per_minute=max_per_minute),
        encoding="utf-8")
    (folder / "events.d" / "events.toml").write_text(events, encoding="utf-8")
    (folder / "members.toml").write_text(members, encoding="utf-8")
    return folder


def make_daemon(test, events, members, smtp_url=None, offsets=("PT1M",), max_per_minute=100000):
    """A Daemon (not started) on a fresh site whose base_url is its own
    address; cleaned up (SIGTERM, exit 0 asserted by the caller's
    DaemonTestCase._finish) when the test ends."""
    src = Path(tempfile.mkdtemp(prefix="casacal-remsite-"))
    test.addCleanup(shutil.rmtree, src, True)
    write_site(src, events, members, smtp_url, offsets, max_per_minute)
    d = Daemon(src)
    text = d.config.read_text(encoding="utf-8")
    text = text.replace('base_url = "http://127.0.0.1:8080"', f'base_url = "http://127.0.0.1:{d.port}"')
    d.config.write_text(text, encoding="utf-8")
    test.addCleanup(test._finish, d)
    return d


REMINDER_FIELDS = {"event", "uid", "occurrence", "offset", "recipient", "state", "due", "attempts",
                   "last_error", "message_id"}


def reminders(daemon):
    """`casacal reminders --json` for the daemon's site: the reminders, then
    the update and cancellation notices, each row with its "kind"."""
    p = run_cli("reminders", "-c", daemon.config, "--json", timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"casacal reminders --json exited {p.returncode}:\n{p.stderr.decode()}")
    doc = json.loads(p.stdout)
    # product.md names a reminder's fields, exactly
    for r in doc["reminders"]:
        if set(r) != REMINDER_FIELDS:
            raise AssertionError(f"a reminder row has the fields {sorted(r)}")
    return [dict(r, kind="reminder") for r in doc["reminders"]] + doc.get("notices", [])


def wait_rows(daemon, predicate, timeout, what):
    """Polls `casacal reminders --json` until predicate(rows) holds."""
    deadline = time.monotonic() + timeout
    rows = None
    while time.monotonic() < deadline:
        rows = reminders(daemon)
        if predicate(rows):
            return rows
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; rows:\n"
                         + json.dumps(rows, indent=1, ensure_ascii=False)[:6000] + "\n" + daemon.stderr())
