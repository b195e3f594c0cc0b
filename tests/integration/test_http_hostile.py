"""Hostile and broken HTTP clients against the real daemon: oversized
headers, request bodies, slowloris, path traversal, garbage. Each gets a 4xx
or a closed connection, never a file outside the routes, and the daemon
keeps serving the same bytes afterwards.

The slowloris clients start in setUpClass and run while the other tests do,
so the ~20 s the daemon may wait before dropping them is spent once."""

import socket
import threading
import time
import unittest

from harness import EXAMPLE_SITE, Daemon, requires_binary

HEADER_DEADLINE = 20.0  # product.md: a whole request header within 20 s
SLACK = 5.0


def raw_exchange(port, data, timeout=10.0):
    """Sends raw bytes, returns everything received until the server closes
    or `timeout` passes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if complete(b"".join(chunks)):
                break
        return b"".join(chunks)


def complete(data):
    """True once one whole response (headers and Content-Length body) is in."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def status_of(response):
    if not response.startswith(b"HTTP/1."):
        return None
    return int(response.split(b" ", 2)[1])


class SlowClient(threading.Thread):
    """Sends part of a request header, then either stalls or trickles one
    byte every `trickle` seconds, and records when the server closed."""

    def __init__(self, port, trickle=None):
        super().__init__(daemon=True)
        self.port, self.trickle = port, trickle
        self.closed_after = None
        self.error = None

    def run(self):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=60)
            start = time.monotonic()
            s.sendall(b"GET /calendar.ics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            s.settimeout(self.trickle or 60)
            while time.monotonic() - start < 60:
                try:
                    data = s.recv(4096)
                    if not data:
                        break
                    if b"\r\n\r\n" in data:  # a 408 before closing is fine too
                        continue
                except socket.timeout:
                    try:
                        s.sendall(b"a")
                    except OSError:
                        break
                except OSError:
                    break
            self.closed_after = time.monotonic() - start
            s.close()
        except Exception as e:  # reported by the test
            self.error = e


@requires_binary
class HostileHttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(EXAMPLE_SITE).start()
        cls.port = cls.daemon.port
        cls.reference = cls.daemon.get("/calendar.ics")
        cls.slow = [SlowClient(cls.port), SlowClient(cls.port, trickle=2.0)]
        for c in cls.slow:
            c.start()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop_clean()

    def still_serving(self):
        r = self.daemon.get("/calendar.ics")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, self.reference.body)

    def test_header_over_8_kib_is_refused(self):
        big = b"GET /calendar.ics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
        r = raw_exchange(self.port, big)
        self.assertIn(status_of(r), (400, 413, 431), r[:200])
        many = b"GET /calendar.ics HTTP/1.1\r\nHost: 127.0.0.1\r\n" + \
            b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 90) for i in range(120)) + b"\r\n"
        r = raw_exchange(self.port, many)
        self.assertIn(status_of(r), (400, 413, 431), r[:200])
        long_target = b"GET /calendar.ics?" + b"x" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        r = raw_exchange(self.port, long_target)
        self.assertIn(status_of(r), (400, 413, 414, 431), r[:200])
        self.still_serving()

    def test_request_bodies_are_refused(self):
        body = b"x" * (2 * 1024 * 1024)
        r = raw_exchange(self.port, b"POST /calendar.ics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n"
                         % len(body) + body)
        self.assertTrue(400 <= (status_of(r) or 0) < 500, r[:200])
        # a declared body far over any limit is refused without reading it
        r = raw_exchange(self.port, b"GET /calendar.ics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                    b"Content-Length: 1073741824\r\n\r\n")
        self.assertTrue(400 <= (status_of(r) or 0) < 500, r[:200])
        r = raw_exchange(self.port, b"POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                    b"Transfer-Encoding: chunked\r\n\r\n" + b"100000\r\n" + b"y" * 70000)
        self.assertTrue(400 <= (status_of(r) or 0) < 500, r[:200])
        self.still_serving()

    def test_transfer_codings_other_than_chunked_are_refused_and_close(self):
        # RFC 9112 §6.3: the body's length is unknown, so what follows must
        # not be read as a second request (request smuggling behind a proxy).
        second = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        for method, coding, version, status in ((b"GET", b"gzip", b"1.1", 400),
                                                (b"POST", b"gzip", b"1.1", 400),
                                                (b"POST", b"chunked, gzip", b"1.1", 400),
                                                (b"POST", b"gzip, chunked", b"1.1", 501),
                                                (b"POST", b"chunked", b"1.0", 400)):
            with self.subTest(coding=coding, version=version), \
                    socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                s.sendall(method + b" /subscribe HTTP/" + version + b"\r\nHost: 127.0.0.1\r\n"
                          b"Transfer-Encoding: " + coding + b"\r\n\r\n" + second)
                received = b""
                start = time.monotonic()
                while time.monotonic() - start < 10:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    received += chunk
                self.assertLess(time.monotonic() - start, 5, "the connection was not closed")
                self.assertEqual(status_of(received), status, received[:200])
                self.assertEqual(received.count(b"HTTP/1.1 "), 1, received[:400])
        self.still_serving()

    def test_path_traversal_is_404(self):
        for target in ("/events/..%2f..%2fetc%2fpasswd.ics", "/../casacal.toml", "/events/../casacal.toml",
                       "/calendar/..%2f..%2fcasacal.toml", "/events/%2e%2e%2fcasapero.ics",
                       "/casacal.toml", "/members.toml", "/events.d/casapero.toml", "/casacal.db",
                       "/calendar/../../../../etc/passwd"):
            with self.subTest(target=target):
                r = raw_exchange(self.port, b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                                 % target.encode())
                self.assertEqual(status_of(r), 404, r[:300])
                self.assertNotIn(b"[site]", r)
                self.assertNotIn(b"root:", r)
                self.assertNotIn(b"example.org", r)
        self.still_serving()

    def test_garbage_request_lines_are_400(self):
        for garbage in (b"HELLO\r\n\r\n", b"GET\r\n\r\n", b"GET /calendar.ics HTTP/1.1 extra\r\n\r\n",
                        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n",
                        b"GET /calendar.ics HTTP/1.1\r\nBad Header Without Colon\r\n\r\n"):
            with self.subTest(garbage=garbage[:20]):
                r = raw_exchange(self.port, garbage)
                self.assertEqual(status_of(r), 400, r[:200])
        self.still_serving()

    def test_a_bare_lf_is_refused_at_once(self):
        # RFC 9112 section 2.2 lets a server refuse a bare LF; Beast alone
        # would wait for a CRLF CRLF that never comes, until the header
        # deadline, and answer nothing.
        for req in (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\n",
                    b"GET /healthz HTTP/1.1\nHost: x\r\n\r\n",
                    b"GET /healthz HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n"):
            with self.subTest(req=req):
                started = time.monotonic()
                r = raw_exchange(self.port, req)
                self.assertEqual(status_of(r), 400, r[:200])
                self.assertLess(time.monotonic() - started, 5)
        self.still_serving()

    def test_http11_without_host_is_400(self):
        # RFC 9112 section 3.2: a server MUST respond 400 to an HTTP/1.1
        # request that lacks a Host header.
        r = raw_exchange(self.port, b"GET /calendar.ics HTTP/1.1\r\nConnection: close\r\n\r\n")
        self.assertEqual(status_of(r), 400, r[:200])

    def test_an_invalid_host_is_400(self):
        # RFC 9112 section 3.2: 400 to a Host field with an invalid value.
        for host in (b"a b", b"a/b", b"<script>", b"x:99999", b"[::1", b"x:8o", b"%zz"):
            with self.subTest(host=host):
                r = raw_exchange(self.port, b"GET /calendar.ics HTTP/1.1\r\nHost: " + host +
                                 b"\r\nConnection: close\r\n\r\n")
                self.assertEqual(status_of(r), 400, r[:200])
        for host in (b"", b"127.0.0.1", b"127.0.0.1:8080", b"[::1]:8080", b"agenda.casaco.example",
                     b"xn--caf-dma.example:443", b"a%41b"):
            with self.subTest(host=host):
                r = raw_exchange(self.port, b"GET /calendar.ics HTTP/1.1\r\nHost: " + host +
                                 b"\r\nConnection: close\r\n\r\n")
                self.assertEqual(status_of(r), 200, r[:200])
        self.still_serving()

    def test_an_absolute_form_target_with_an_invalid_host_is_400(self):
        # RFC 9112 section 3.2.2: the target's authority stands for Host;
        # RFC 9110 section 4.2.1: an empty host is invalid.
        for target in (b"http://x:abc/healthz", b"http:///healthz", b"http://u:p@x/healthz",
                       b"http://[::1/healthz", b"HTTP://a b/healthz"):
            with self.subTest(target=target):
                r = raw_exchange(self.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n"
                                 b"Connection: close\r\n\r\n")
                self.assertEqual(status_of(r), 400, r[:200])
        for target in (b"http://127.0.0.1:8080/healthz", b"HTTPS://agenda.casaco.example/healthz",
                       b"http://x?y", b"http://[::1]/healthz"):
            with self.subTest(target=target):
                r = raw_exchange(self.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n"
                                 b"Connection: close\r\n\r\n")
                self.assertEqual(status_of(r), 200, r[:200])
        self.still_serving()

    def test_unknown_method(self):
        # product.md: bad requests get a 4xx; 405 names the methods allowed
        # (methods are case-sensitive: `get` is not GET).
        for method in (b"BREW", b"get"):
            r = raw_exchange(self.port, method + b" /calendar.ics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            self.assertEqual(status_of(r), 405, r[:200])
            self.assertIn(b"\r\nAllow: GET, HEAD, OPTIONS\r\n", r)
        r = raw_exchange(self.port, b"DELETE /calendar.ics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        self.assertEqual(status_of(r), 405, r[:200])
        self.assertIn(b"\r\nAllow: GET, HEAD, OPTIONS\r\n", r)
        self.still_serving()

    def test_an_empty_line_between_requests_is_ignored(self):
        # RFC 9112 section 2.2: some clients send a CRLF after a request.
        req = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(req + b"\r\n" + req.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        self.assertEqual(data.count(b"HTTP/1.1 200"), 2, data[:500])

    def test_empty_lines_before_the_first_request_are_ignored(self):
        req = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        for lead in (b"\r\n", b"\r\n\r\n\n"):
            with self.subTest(lead=lead), socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                s.sendall(lead)
                time.sleep(0.2)  # the request line comes in a later segment
                s.sendall(req)
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
                self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])

    def test_a_header_section_of_8_kib_is_read_and_one_byte_more_refused(self):
        def request(size):
            head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "
            tail = b"\r\nConnection: close\r\n\r\n"
            return head + b"a" * (size - len(head) - len(tail)) + tail
        self.assertEqual(len(request(8192)), 8192)
        self.assertEqual(status_of(raw_exchange(self.port, request(8192))), 200)
        self.assertEqual(status_of(raw_exchange(self.port, request(8193))), 431)

    def test_expect_100_continue_is_answered_before_the_body(self):
        body = b"email=not-an-address&categories=apero"
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"POST /subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\n"
                      b"Content-Length: %d\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n" % len(body))
            interim = s.recv(65536)  # times out (a failure) if the server waits for the body
            self.assertEqual(interim, b"HTTP/1.1 100 Continue\r\n\r\n")
            s.sendall(body)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        self.assertEqual(status_of(data), 400, data[:300])

    def test_an_http_1_0_client_is_answered_in_1_1_and_may_keep_the_connection(self):
        req = b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(req)
            first = b""
            while not complete(first):
                first += s.recv(65536)
            self.assertTrue(first.startswith(b"HTTP/1.1 200"), first[:200])
            self.assertIn(b"\r\nConnection: keep-alive\r\n", first.split(b"\r\n\r\n")[0] + b"\r\n")
            s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")  # no keep-alive: closed after it
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])
        self.assertIn(b"\r\nConnection: close", data)

    def test_http_versions_past_1_1(self):
        # RFC 9112 section 2.3: a later 1.x is answered as 1.1; RFC 9110
        # section 15.6.6: another major version gets 505.
        for version, status in ((b"1.2", 200), (b"1.9", 200), (b"2.0", 505), (b"3.0", 505)):
            with self.subTest(version=version):
                r = raw_exchange(self.port, b"GET /healthz HTTP/" + version +
                                 b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                self.assertEqual(status_of(r), status, r[:200])
                self.assertTrue(r.startswith(b"HTTP/1.1 "), r[:100])
        self.assertEqual(status_of(raw_exchange(self.port, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")), 505)
        self.assertEqual(status_of(raw_exchange(self.port, b"GET / HTXP/1.1\r\nHost: a\r\n\r\n")), 400)

    def test_keep_alive_serves_several_requests(self):
        req = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(req + req + req.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        self.assertEqual(data.count(b"HTTP/1.1 200"), 3, data[:500])

    def test_z_slowloris_clients_are_dropped(self):
        # Runs last (alphabetical order); the clients started in setUpClass.
        for c in self.slow:
            c.join(timeout=HEADER_DEADLINE + SLACK + 30)
        for c, kind in zip(self.slow, ("stalled", "trickling")):
            with self.subTest(client=kind):
                self.assertIsNone(c.error)
                self.assertIsNotNone(c.closed_after, "still connected")
                self.assertLessEqual(c.closed_after, HEADER_DEADLINE + SLACK,
                                     f"{kind} client kept for {c.closed_after:.1f} s")
        self.still_serving()
        self.assertEqual(self.daemon.health()["status"], "ok")


if __name__ == "__main__":
    unittest.main()
