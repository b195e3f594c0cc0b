#!/usr/bin/python3
"""The training run of the profile-guided release build (`make build`).

    /usr/bin/python3 bench/train.py --binary build/pgo-generate/daemon/casacal

Runs an instrumented casacal (CMake `-DCASACAL_PGO=generate`) through what a
site does in a day, so that the counts it records describe real use: `check`,
`export` and `agenda` on a synthetic site of 3,000 events (bench/gen_site.py
seeds its generator with the size, so this is not one of the benchmarks'
sites), then `serve` on it answering a mix of feed, API, page and
conditional requests through three reloads, then a burst of reminders sent
over SMTP to an aiosmtpd server in this process. Stops at the first failure;
takes about ten seconds.
"""

import argparse
import datetime as dt
import http.client
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from aiosmtpd.controller import Controller

from reminders import write_site
from run import Server, free_port, gen_site, wait_generation, year_range

EVENTS = 3000
REQUESTS = 3000
MEMBERS = 300


def log(msg):
    print(f"[train] {msg}", file=sys.stderr, flush=True)


def run(binary, *args):
    subprocess.run([binary, *args], check=True, stdout=subprocess.DEVNULL)


def commands(binary, config):
    run(binary, "check", "-c", str(config))
    for _ in range(3):
        run(binary, "export", "-c", str(config), "-o", "/dev/null")
    first, last = (d.isoformat() for d in year_range())
    for _ in range(3):
        run(binary, "agenda", "--json", "-c", str(config), "--from", first, "--to", last)
    run(binary, "agenda", "-c", str(config), "--from", first, "--to", last)


def requests(server, count):
    """A subscriber's mix: feeds (plain, gzip, revalidated), API ranges, pages."""
    first, _ = year_range()
    month = f"from={first.isoformat()}&to={(first + dt.timedelta(days=31)).isoformat()}"
    paths = ["/calendar.ics", "/calendar/apero.ics", "/calendar/atelier.ics", "/events/ev-00007.ics",
             f"/api/events?{month}", f"/api/events?{month}&category=atelier", "/", "/healthz", "/nowhere"]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    etags = {}
    for i in range(count):
        path = paths[i % len(paths)]
        headers = {"Accept-Encoding": "gzip"} if i % 3 == 0 else {}
        if i % 4 == 1 and path in etags:
            headers["If-None-Match"] = etags[path]
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status == 200 and response.getheader("ETag") and "gzip" not in headers.values():
            etags[path] = response.getheader("ETag")
    conn.close()


def serve(binary, config, workdir):
    """Requests, two edits seen by inotify, then a SIGHUP, then requests."""
    server = Server(binary, config, free_port(), workdir)
    try:
        requests(server, REQUESTS // 2)
        target = config.parent / "events.d" / "events-000.toml"
        original = target.read_text(encoding="utf-8")
        for i in range(2):
            generation = server.generation()
            target.write_text(original.replace('"Atelier ', f'"Atelier (rev {i}) ', 1), encoding="utf-8")
            wait_generation(server, generation, timeout=60)
        server.proc.send_signal(signal.SIGHUP)
        requests(server, REQUESTS // 2)
    finally:
        code = server.stop()
    if code != 0:
        raise RuntimeError(f"casacal serve exited with {code}")


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
        return "250 OK"


def reminders(binary, workdir):
    """MEMBERS reminders already due (within the default 30 min of grace)."""
    handler = Counter()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        start = int(time.time()) + 20 * 60
        config = write_site(workdir / "mail", free_port(), [(start, "apero")], MEMBERS, ["PT25M"],
                            f'url = "smtp://127.0.0.1:{controller.port}"\nstarttls = "off"\n'
                            'max_per_minute = 1000000')
        server = Server(binary, config, free_port(), workdir)
        try:
            deadline = time.monotonic() + 120
            while handler.count < MEMBERS and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            server.stop()
        if handler.count < MEMBERS:
            raise RuntimeError(f"{handler.count} of {MEMBERS} reminders arrived")
    finally:
        controller.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True, type=lambda p: str(Path(p).resolve()))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="casacal-train-") as tmp:
        root = Path(tmp)
        started = time.monotonic()
        config = gen_site(EVENTS, root)
        log(f"commands on {EVENTS} events")
        commands(args.binary, config)
        log(f"serve: {REQUESTS} requests, 3 reloads ({time.monotonic() - started:.1f} s)")
        serve(args.binary, config, root)
        log(f"{MEMBERS} reminders over SMTP ({time.monotonic() - started:.1f} s)")
        reminders(args.binary, root)
        log(f"done in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
