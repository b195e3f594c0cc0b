"""A feed large enough to be sent from its memory file with sendfile(2)
(feed_bytes::k_file_from, 64 KiB): the same bytes as `casacal export`,
correct framing on a kept-alive and a pipelined connection, HEAD and gzip,
a slow reader that gets every byte, and a reader in the middle of the old
feed when a reload publishes a new one."""

import gzip
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import tomllib
import unittest
from pathlib import Path

import icalendar

from harness import SOURCE_DIR, Daemon, DaemonTestCase, health_generation, requires_binary, run_cli

EVENTS = 300  # about 240 kB of /calendar.ics
# About 5 MB, more than the kernel holds in a socket's buffers (tcp_wmem's
# 4 MiB): sendfile then meets EAGAIN, and EPIPE or ECONNRESET when the
# client leaves.
HUGE_EVENTS = 6500


def generate_site(n, folder):
    subprocess.run([sys.executable, str(SOURCE_DIR / "bench" / "gen_site.py"), str(n), str(folder)],
                   check=True, capture_output=True)


def read_response(sock, buffered=b"", head=False, chunk=65536, pause=0.0):
    """One HTTP/1.1 response with a Content-Length from `sock` (without a
    body for a HEAD), its body read `chunk` bytes at a time with `pause`
    seconds between reads; returns (status line, headers dict, body, bytes
    read past it)."""
    data = buffered
    while b"\r\n\r\n" not in data:
        got = sock.recv(65536)
        if not got:
            raise AssertionError(f"connection closed inside the headers: {data[:200]!r}")
        data += got
    header_bytes, _, rest = data.partition(b"\r\n\r\n")
    lines = header_bytes.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = 0 if head else int(headers["content-length"])
    while len(rest) < length:
        got = sock.recv(chunk)
        if not got:
            raise AssertionError(f"connection closed after {len(rest)} of {length} body bytes")
        rest += got
        time.sleep(pause)
    return lines[0], headers, rest[:length], rest[length:]


def connect(test, daemon=None):
    """A connection to the daemon, closed when `test` ends; the receive
    buffer is set before connecting, so the window it announces stays small."""
    daemon = daemon or test.daemon
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", daemon.port))
    test.addCleanup(sock.close)
    return sock


@requires_binary
class LargeFeedTest(DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="casacal-large-"))
        cls.site = cls.tmp / "site"
        generate_site(EVENTS, cls.site)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.d = self.start_daemon(self.site)
        self.feed = self.d.get("/calendar.ics")
        self.assertEqual(self.feed.status, 200)
        self.assertGreater(len(self.feed.body), 128 * 1024, "the feed should be sent from its memory file")

    def connect(self):
        return connect(self, self.d)

    def test_the_same_bytes_as_export_and_a_calendar_parser_reads_them(self):
        exported = run_cli("export", "-c", self.d.config, "-o", "-")
        self.assertEqual(exported.returncode, 0, exported.stderr)
        self.assertEqual(self.feed.body, exported.stdout)
        self.assertEqual(self.feed.header("Content-Length"), str(len(self.feed.body)))
        cal = icalendar.Calendar.from_ical(self.feed.body)
        self.assertGreaterEqual(len(cal.walk("VEVENT")), EVENTS)

    def test_kept_alive_and_pipelined_requests_are_framed(self):
        sock = self.connect()
        request = b"GET /calendar.ics HTTP/1.1\r\nHost: t\r\n\r\n"
        head = b"HEAD /calendar.ics HTTP/1.1\r\nHost: t\r\n\r\n"
        small = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
        # Three pipelined in one write, then one more on the same connection.
        sock.sendall(request + head + small)
        status, headers, body, rest = read_response(sock)
        self.assertEqual((status, body), ("HTTP/1.1 200 OK", self.feed.body))
        self.assertNotEqual(headers.get("connection"), "close")
        # HEAD: the same length announced, no body follows.
        status, headers, _, rest = read_response(sock, rest, head=True)
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertEqual(headers["content-length"], str(len(self.feed.body)))
        status, headers, body, rest = read_response(sock, rest)
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertIn(b'"status"', body)
        sock.sendall(request)
        status, _, body, rest = read_response(sock, rest)
        self.assertEqual(body, self.feed.body)
        self.assertEqual(rest, b"")

    def test_gzip_when_asked(self):
        r = self.d.get("/calendar.ics", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Encoding"), "gzip")
        self.assertEqual(gzip.decompress(r.body), self.feed.body)

    def test_a_reload_in_the_middle_of_a_response_leaves_it_whole(self):
        sock = self.connect()
        sock.sendall(b"GET /calendar.ics HTTP/1.1\r\nHost: t\r\n\r\n")
        data = sock.recv(4096)
        (self.d.site / "events.d" / "zz-late.toml").write_text(
            '[[event]]\nid = "ajout-tardif"\ntitle = "Ajout tardif"\ncategory = "'
            + self.first_category() + '"\nstart = 2027-03-04T18:30:00\nend = 2027-03-04T20:00:00\n',
            encoding="utf-8")
        before = health_generation(self.d.health())
        self.d.signal(signal.SIGHUP)
        self.d.wait_generation_above(before, timeout=60)
        # The old feed goes on to its last byte, unchanged.
        _, headers, body, _ = read_response(sock, data)
        self.assertEqual(body, self.feed.body)
        new = self.d.get("/calendar.ics")
        self.assertIn(b"Ajout tardif", new.body)
        self.assertNotEqual(new.header("ETag"), self.feed.header("ETag"))

    def first_category(self):
        main = tomllib.loads((self.d.site / "casacal.toml").read_text(encoding="utf-8"))
        return sorted(main["categories"])[0]


@requires_binary
class HugeFeedTest(unittest.TestCase):
    """One daemon for the class: a sanitized build takes seconds to start it."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="casacal-huge-"))
        generate_site(HUGE_EVENTS, cls.tmp / "site")
        cls.daemon = Daemon(cls.tmp / "site").start()
        cls.feed = cls.daemon.get("/calendar.ics", timeout=60).body
        assert len(cls.feed) > 4 * 1024 * 1024, len(cls.feed)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.daemon.stop_clean()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_a_slow_reader_gets_every_byte(self):
        sock = connect(self)
        sock.sendall(b"GET /calendar.ics HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(1.5)  # the daemon fills the socket and waits
        _, _, body, _ = read_response(sock, chunk=16384, pause=0.001)
        self.assertEqual(body, self.feed)

    def test_clients_that_leave_in_the_middle_of_a_body_harm_nothing(self):
        for reset in (False, True, False, True):
            sock = connect(self)
            sock.sendall(b"GET /calendar.ics HTTP/1.1\r\nHost: t\r\n\r\n")
            sock.recv(1000)
            if reset:  # RST instead of FIN: the next sendfile gets EPIPE or ECONNRESET
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        time.sleep(0.5)
        self.assertIsNone(self.daemon.proc.poll(), self.daemon.stderr())
        self.assertEqual(self.daemon.get("/calendar.ics").body, self.feed)


if __name__ == "__main__":
    unittest.main()
