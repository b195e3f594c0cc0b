#!/usr/bin/python3
"""Reminder benchmarks, run by bench/run.py (`--only smtp,planning,idle`).

  smtp      a burst of 2,000 reminders, all due in the same second, sent by
            `casacal serve` to Postfix's smtp-sink on loopback; against
            smtp-source sending 2,000 messages of the same bytes to the same
            sink over 10 reused sessions (the ceiling of that sink); and,
            to show what the stack allows, libcurl alone (bench/smtp_floor)
            sending the same message built with curl_mime, nothing stored
  planning  start-up planning of ~100,000 reminders (10,000 events over the
            next 6 days, 2 offsets, 5 members following everything): the
            "reminders planned … in X ms" of the first start, VmRSS/VmHWM;
            against inserting the very same outbox rows into an empty table
            with Python's sqlite3 (the storage floor), and the same events
            spread over a year (only the next 7 days are planned)
  idle      CPU (utime + stime) and context switches of serve over 30 s
            holding those ~100,000 planned reminders, none due for hours,
            from the first half second without CPU after the plan

Each part writes its own site into the temporary folder; every process it
starts is stopped before it returns.
"""

import datetime as dt
import email
import email.policy
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from run import Server, fetch, free_port

SINK = "/usr/sbin/smtp-sink"
SOURCE = "/usr/sbin/smtp-source"
CATEGORIES = ["apero", "casacademie", "atelier", "vie-du-lieu"]


def have_postfix_tools():
    return os.access(SINK, os.X_OK) and os.access(SOURCE, os.X_OK)


def zulu(t):
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_site(out, port, events, members, offsets, smtp):
    """A site whose events are (start_unix, category) pairs, one hour long."""
    (out / "events.d").mkdir(parents=True, exist_ok=True)
    cats = "\n".join(f'[categories.{c}]\nname = "{c}"\n' for c in CATEGORIES)
    offs = ", ".join(f'"{o}"' for o in offsets)
    (out / "casacal.toml").write_text(f"""[site]
name     = "Casaco (banc d'essai des rappels)"
base_url = "http://127.0.0.1:{port}"
domain   = "casaco.example"
timezone = "Europe/Paris"
locale   = "fr"
events   = "events.d"
members  = "members.toml"

[http]
listen = "127.0.0.1:{port}"

[storage]
database = "casacal.db"

[smtp]
{smtp}

[reminders]
offsets = [{offs}]

{cats}""", encoding="utf-8")
    (out / "members.toml").write_text("".join(
        f'[[member]]\nemail = "membre{m:05d}@example.org"\nname = "Membre {m}"\ncategories = ["*"]\n\n'
        for m in range(members)), encoding="utf-8")
    per_file = 500
    for f in range(0, len(events), per_file):
        chunk = []
        for i, (start, cat) in enumerate(events[f:f + per_file], start=f):
            chunk.append(f'[[event]]\nid = "ev-{i:05d}"\ntitle = "Casapéro n° {i}"\ncategory = "{cat}"\n'
                         f'start = {zulu(start)}\nduration = "PT1H"\n'
                         f'location = "Espace convivial, rez-de-chaussée"\n'
                         f'description = "Apéro du jeudi : on se retrouve, on discute ; ouvert à tous."\n')
        (out / "events.d" / f"events-{f // per_file:03d}.toml").write_text("\n".join(chunk), encoding="utf-8")
    return out / "casacal.toml"


def metrics(server):
    text = fetch(server.base + "/metrics").decode()
    states = {m.group(1): int(float(m.group(2)))
              for m in re.finditer(r'^casacal_reminders\{state="(\w+)"\}\s+(\S+)', text, re.M)}
    depth = re.search(r"^casacal_mail_queue_depth\s+(\S+)", text, re.M)
    return states, int(float(depth.group(1))) if depth else 0


def planned_line(logfile):
    """(rows, ms) of every "reminders planned: N … in X ms" line so far."""
    text = Path(logfile).read_text(errors="replace")
    return [(int(n), int(ms)) for n, ms in re.findall(r"reminders planned: (\d+) in the next 7 days .*? in (\d+) ms",
                                                       text)]


def wait_planned(server, count, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = planned_line(server.err.name)
        if len(lines) >= count:
            return lines[count - 1]
        time.sleep(0.05)
    raise RuntimeError(f"no 'reminders planned' line in {server.err.name}")


def longest_wait_during_replan(server):
    """SIGHUP, then GET /healthz one after another on one keep-alive connection
    until the replan's log line: (longest wait in ms, requests, replan ms)."""
    import http.client
    before = len(planned_line(server.err.name))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    server.proc.send_signal(signal.SIGHUP)
    longest, requests = 0.0, 0
    deadline = time.monotonic() + 120
    while len(planned_line(server.err.name)) <= before:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no replan after SIGHUP in {server.err.name}")
        t = time.monotonic()
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        longest = max(longest, time.monotonic() - t)
        requests += 1
    conn.close()
    return longest * 1000, requests, planned_line(server.err.name)[-1][1]


def cpu_ticks(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def ctx_switches(pid):
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = task.joinpath("status").read_text()
        except OSError:
            continue
        total += sum(int(v) for v in re.findall(r"^(?:non)?voluntary_ctxt_switches:\s+(\d+)", status, re.M))
    return total


class Sink:
    """smtp-sink on a loopback port, counting what it receives."""

    def __init__(self, root):
        self.port = free_port()
        self.out = open(root / f"smtp-sink-{self.port}.log", "wb")
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self.proc = subprocess.Popen([SINK, "-c", *user, f"127.0.0.1:{self.port}", "256"],
                                     stdout=self.out, stderr=self.out)
        for _ in range(200):
            try:
                with socket_to(self.port) as s:
                    if s.recv(100).startswith(b"220"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("smtp-sink did not start")

    def messages(self):
        """Messages received so far, from the -c counters."""
        self.out.flush()
        found = re.findall(rb"mesg=(\d+)", Path(self.out.name).read_bytes())
        return int(found[-1]) if found else 0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.close()


def socket_to(port):
    import socket
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    return s


def smtp_source(port, n, message, sessions=10):
    """Wall time of smtp-source sending n copies of `message` over reused sessions."""
    t0 = time.monotonic()
    subprocess.run([SOURCE, "-s", str(sessions), "-m", str(n), "-d", "-F", str(message),
                    "-f", "agenda@casaco.example", "-t", "membre00000@example.org", f"127.0.0.1:{port}"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    return time.monotonic() - t0


# -- smtp ----------------------------------------------------------------------


def one_message(binary, root):
    """The bytes of one reminder of the burst site, as the SMTP server gets them.

    A one-member copy of the site whose reminder is already due (five minutes
    late, within the grace period) goes through the pickup transport, which
    writes exactly what an SMTP server would receive."""
    now = time.time()
    out = root / "reminders-one"
    config = write_site(out, free_port(), [(int(now) + 600, "apero")], 1, ["PT15M"], 'pickup_dir = "outbox"')
    server = Server(binary, config, free_port(), root)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            files = [p for p in (out / "outbox").glob("*.eml")] if (out / "outbox").exists() else []
            if files:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"no message in {out / 'outbox'}")
    finally:
        server.stop()
    return files[0].read_bytes()


def burst(args, root, sink, n, name):
    """One casacal burst: n members, one event 70 s ahead, reminded 1 min before."""
    start = int(time.time()) + 70
    due = start - 60
    config = write_site(root / name, free_port(), [(start, "apero")], n, ["PT1M"],
                        f'url = "smtp://127.0.0.1:{sink.port}"\nstarttls = "off"\nmax_per_minute = 1000000')
    received0 = sink.messages()
    server = Server(args.binary, config, free_port(), root)
    try:
        planned, _ = wait_planned(server, 1)
        if time.time() >= due - 1:
            raise RuntimeError("the burst site was planned too late; its reminders are already due")
        cpu0 = cpu_ticks(server.proc.pid)
        first = done = None
        states = {}
        deadline = due + 60 + 30  # the event starts 60 s after the due time
        while time.time() < deadline:
            states, depth = metrics(server)
            now = time.time()
            if first is None and (depth > 0 or states.get("sent", 0) > 0):
                first = now
            pending = sum(states.get(s, 0) for s in ("planned", "sending", "deferred"))
            if now >= due and pending == 0:
                done = now
                break
            time.sleep(0.01 if now >= due - 0.5 else 0.25)
        cpu = (cpu_ticks(server.proc.pid) - cpu0) / os.sysconf("SC_CLK_TCK")
        rss, hwm = server.rss()
    finally:
        server.stop()
    if done is None:
        raise RuntimeError(f"burst not finished 30 s after the event start: {states}")
    sent = states.get("sent", 0)
    return {"planned": planned, "sent": sent, "states": states, "elapsed_s": done - due,
            "first_after_due_s": (first - due) if first else None, "msg_s": sent / (done - due),
            "cpu_s": cpu, "vmrss_mib": rss, "vmhwm_mib": hwm, "sink_received": sink.messages() - received0}


def message_parts(raw, folder):
    """The parts bench/smtp_floor builds a reminder from, taken from `raw`:
    its headers (unfolded, without the MIME ones curl_mime writes), its
    plain text and HTML (CRLF lines, as casacal hands them to curl_mime)
    and its calendar."""
    folder.mkdir()
    lines = []
    for line in raw.split(b"\r\n\r\n", 1)[0].decode().split("\r\n"):
        if line[:1] in (" ", "\t"):
            lines[-1] += line
        else:
            lines.append(line)
    kept = [x for x in lines if x.split(":", 1)[0].lower() not in ("mime-version", "content-type")]
    (folder / "headers").write_text("\n".join(kept) + "\n")
    names = {"text/plain": "text", "text/html": "html", "text/calendar": "event.ics"}
    for part in email.message_from_bytes(raw, policy=email.policy.default).walk():
        name = names.get(part.get_content_type())
        if name == "event.ics":
            (folder / name).write_bytes(part.get_payload(decode=True))
        elif name:
            (folder / name).write_bytes(part.get_content().replace("\n", "\r\n").encode())
    return folder


def smtp_floor(tool, port, n, parts, sessions, mode):
    """msg/s of libcurl alone (bench/smtp_floor) sending n messages built from `parts`."""
    out = subprocess.run([str(tool), f"smtp://127.0.0.1:{port}", str(parts), str(n), str(sessions), mode],
                         capture_output=True, text=True, timeout=300)
    result = json.loads(out.stdout) if out.returncode == 0 else None
    if not result or result["sent"] != n:
        raise RuntimeError(f"smtp_floor {mode} failed: {out.stdout} {out.stderr[-300:]}")
    return result["msg_s"]


def bench_smtp(args, root, n=2000, sessions=10):
    raw = one_message(args.binary, root)
    size = len(raw)
    # smtp-source -F appends CRLF to each line and dot-stuffs: give it plain lines.
    msg_file = root / "reminder.txt"
    msg_file.write_bytes(raw.replace(b"\r\n", b"\n"))
    parts = message_parts(raw, root / "reminder-parts")
    tool = Path(args.binary).resolve().parent.parent / "bench" / "smtp_floor"
    if not os.access(tool, os.X_OK):
        tool = None
    sink = Sink(root)
    ceiling, rounds, multi, threads = [], [], [], []
    try:
        # alternate, so that a noisy neighbour on the shared cores hurts all
        for r in range(args.smtp_rounds):
            ceiling.append(n / smtp_source(sink.port, n, msg_file, sessions))
            if tool:
                multi.append(smtp_floor(tool, sink.port, n, parts, sessions, "multi"))
                threads.append(smtp_floor(tool, sink.port, n, parts, sessions, "threads"))
            rounds.append(burst(args, root, sink, n, f"reminders-burst-{r}"))
        ceiling.append(n / smtp_source(sink.port, n, msg_file, sessions))
    finally:
        sink.stop()
    c = max(rounds, key=lambda x: x["msg_s"])
    best = max(ceiling)
    ratio = c["msg_s"] / best
    all_sent = all(x["sent"] == n and x["sink_received"] == n for x in rounds)
    baseline = f"smtp-source -s {sessions} -d, same bytes: {best:.0f} msg/s (best of {len(ceiling)})"
    if tool:
        baseline += (f"; libcurl alone, the same message built with curl_mime, nothing stored: "
                     f"{max(multi):.0f} msg/s on one multi handle ({max(multi) / best:.2f}×), "
                     f"{max(threads):.0f} on {sessions} threads ({max(threads) / best:.2f}×)")
    return [{
        "name": f"SMTP burst, {n:,} reminders due in the same second ({size:,} B each), smtp-sink on loopback",
        "casacal": f"{c['msg_s']:.0f} msg/s ({c['sent']:,} sent in {c['elapsed_s']:.2f} s from the due time, "
                   f"CPU {c['cpu_s']:.2f} s; best of {len(rounds)}, others "
                   + ", ".join(f"{x['msg_s']:.0f}" for x in rounds if x is not c) + ")",
        "baseline": baseline,
        "ratio": f"{ratio:.2f}× the msg/s" + (f" ({c['msg_s'] / max(multi):.2f}× libcurl alone on one multi handle)"
                                              if tool else ""),
        "target": "≥ 0.5×, all sent",
        "met": ratio >= 0.5 and all_sent,
        "raw": {"message_bytes": size, "rounds": rounds, "smtp_source_msg_s": ceiling,
                "libcurl_multi_msg_s": multi, "libcurl_threads_msg_s": threads},
    }]


# -- planning and idle -----------------------------------------------------------


def planning_site(root, name, n_events, span_days, members, lead_s=3 * 3600):
    """n_events single events from now + lead_s over span_days, 2 offsets."""
    now = int(time.time())
    span = span_days * 86400 - lead_s
    events = [(now + lead_s + (i * span) // n_events, CATEGORIES[i % len(CATEGORIES)]) for i in range(n_events)]
    return write_site(root / name, free_port(), events, members, ["PT10M", "PT5M"], 'pickup_dir = "outbox"')


def sqlite_floor(db, root):
    """Seconds to insert casacal's planned rows into an empty copy of its outbox."""
    src = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    schema = [r[0] for r in src.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'outbox' AND sql IS NOT NULL")]
    cols = [r[1] for r in src.execute("PRAGMA table_info(outbox)")]
    rows = src.execute(f"SELECT {', '.join(cols)} FROM outbox WHERE state = 'planned'").fetchall()
    src.close()
    path = root / "floor.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    dst = sqlite3.connect(path, isolation_level=None)
    dst.execute("PRAGMA journal_mode = WAL")
    dst.execute("PRAGMA synchronous = FULL")
    for sql in schema:
        dst.execute(sql)
    key = cols.index("key")
    insert = f"INSERT INTO outbox ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    t0 = time.monotonic()
    dst.execute("BEGIN")
    for r in rows:  # like a planner: look the key up, insert when absent
        if dst.execute("SELECT id FROM outbox WHERE key = ?", (r[key],)).fetchone() is None:
            dst.execute(insert, r)
    dst.execute("COMMIT")
    elapsed = time.monotonic() - t0
    dst.close()
    return elapsed, len(rows)


def settle(pid, timeout=20):
    """Waits for a half second without CPU: the end of start-up's work.

    After a plan, the checkpoint thread copies the log the plan's commit
    left into the database file (a fifth of a second of CPU for 100,000
    rows): start-up's work, not idling. Returns the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        c = cpu_ticks(pid)
        time.sleep(0.5)
        if cpu_ticks(pid) == c:
            break
    return time.monotonic() - t0


def idle_cpu(server, seconds):
    pid = server.proc.pid
    settled = settle(pid)
    t0, c0, s0 = time.monotonic(), cpu_ticks(pid), ctx_switches(pid)
    time.sleep(seconds)
    t1, c1, s1 = time.monotonic(), cpu_ticks(pid), ctx_switches(pid)
    return (c1 - c0) / os.sysconf("SC_CLK_TCK"), (s1 - s0) / (t1 - t0), settled


def bench_planning_and_idle(args, root, want_planning, want_idle, n_events=10000, members=5):
    rows = []
    week = planning_site(root, "reminders-week", n_events, 6, members)
    t0 = time.monotonic()
    server = Server(args.binary, week, free_port(), root)
    try:
        planned, plan_ms = wait_planned(server, 1)
        startup = time.monotonic() - t0
        rss, hwm = server.rss()
        idle = idle_cpu(server, args.idle_seconds) if want_idle else None
    finally:
        server.stop()
    # a second start plans the same site again: nothing new
    server = Server(args.binary, week, free_port(), root)
    try:
        _, replan_ms = wait_planned(server, 1)
        # then a reload: the replan runs while HTTP is served
        longest_ms, during, reload_plan_ms = longest_wait_during_replan(server)
    finally:
        server.stop()

    year = planning_site(root, "reminders-year", n_events, 365, members)
    server = Server(args.binary, year, free_port(), root)
    try:
        y_planned, y_plan_ms = wait_planned(server, 1)
        y_rss, y_hwm = server.rss()
        y_idle = idle_cpu(server, args.idle_seconds) if want_idle else None
    finally:
        server.stop()

    if want_planning:
        floor_s, floor_rows = sqlite_floor(week.parent / "casacal.db", root)
        rows.append({
            "name": f"planning at start-up, {n_events:,} events in the next 6 days × 2 offsets × {members} members",
            "casacal": f"{planned:,} rows in {plan_ms} ms (second start, nothing new: {replan_ms} ms); "
                       f"start-up {startup:.1f} s; replanned after SIGHUP in {reload_plan_ms} ms while "
                       f"{during:,} requests were answered one after another, the longest in {longest_ms:.1f} ms",
            "baseline": f"Python sqlite3 inserting the same {floor_rows:,} rows into an empty outbox "
                        f"(key lookup + insert, one transaction): {floor_s * 1000:.0f} ms",
            "ratio": f"{plan_ms / 1000 / floor_s:.1f}× the storage floor",
            "target": "< 2 s",
            "met": plan_ms < 2000,
            "raw": {"planned": planned, "plan_ms": plan_ms, "replan_ms": replan_ms, "startup_s": startup,
                    "sighup_replan_ms": reload_plan_ms, "requests_during_replan": during,
                    "longest_request_during_replan_ms": longest_ms,
                    "sqlite_floor_s": floor_s, "sqlite_floor_rows": floor_rows},
        })
        rows.append({
            "name": f"resident memory of serve after planning, {n_events:,} events",
            "casacal": f"next 6 days ({planned:,} rows): VmRSS {rss:.1f} MiB (peak {hwm:.1f} MiB)",
            "baseline": f"same events over a year ({y_planned:,} rows planned in {y_plan_ms} ms): "
                        f"VmRSS {y_rss:.1f} MiB (peak {y_hwm:.1f} MiB)",
            "ratio": f"+{rss - y_rss:.1f} MiB for {planned - y_planned:,} more rows",
            "target": "the year's site no larger (planned rows bounded by the 7-day horizon)",
            "met": y_hwm <= hwm * 1.05,
            "raw": {"week": {"planned": planned, "vmrss_mib": rss, "vmhwm_mib": hwm},
                    "year": {"planned": y_planned, "plan_ms": y_plan_ms, "vmrss_mib": y_rss, "vmhwm_mib": y_hwm}},
        })
    if want_idle:
        cpu, cs, settled = idle
        y_cpu, y_cs, _ = y_idle
        rows.append({
            "name": f"idle serve over {args.idle_seconds} s, {planned:,} reminders planned, none due for 2 h 50 min",
            "casacal": f"CPU {cpu * 1000:.0f} ms, {cs:.1f} context switches/s "
                       f"(from the first half second without CPU, {settled:.1f} s after the plan)",
            "baseline": f"same events over a year ({y_planned:,} rows): CPU {y_cpu * 1000:.0f} ms, "
                        f"{y_cs:.1f} context switches/s",
            "ratio": f"{cpu / args.idle_seconds * 100:.2f} % of a CPU",
            "target": "≈ 0 (< 0.1 % of a CPU)",
            "met": cpu / args.idle_seconds < 0.001,
            "raw": {"cpu_s": cpu, "ctx_per_s": cs, "year_cpu_s": y_cpu, "year_ctx_per_s": y_cs,
                    "seconds": args.idle_seconds, "settled_after_s": settled},
        })
    return rows
