#!/usr/bin/python3
"""A scriptable SMTP server for the notify tests (aiosmtpd from Debian).

usage: smtp_sink.py PORT FOLDER [--auth-echo]    (PORT 0: any free port)

With --auth-echo it offers AUTH PLAIN and LOGIN on the plain connection and
refuses every login with a 535 quoting, in base64, what the client sent.

The sender's local part mail550* gets 550 to MAIL FROM. The recipient's
local part chooses the behaviour:
  rcpt451*  -> 451 to RCPT TO          rcpt550*  -> 550 to RCPT TO
  rcptstall* -> never answers RCPT TO
  data451*  -> 451 after the data      data554*  -> 554 after the data
  slow*     -> waits 0.5 s before accepting the data
  stall*    -> never answers the data (nor anything after it on that connection)
anything else is accepted. Accepted messages are written as FOLDER/NNNN.eml
(the bytes received, after dot-unstuffing) with FOLDER/NNNN.rcpt holding the
envelope recipients. FOLDER/connections holds the number of connections
accepted so far, FOLDER/ready appears once the port is listening, holding
its number.
"""

import asyncio
import base64
import pathlib
import sys

from aiosmtpd.smtp import SMTP


class Recorder:
    def __init__(self, folder):
        self.folder = folder
        self.accepted = 0
        self.connections = 0

    async def handle_AUTH(self, server, session, envelope, args):
        mechanism, quoted = args[0].upper(), args[1:]
        if mechanism == "PLAIN" and not quoted:
            quoted = [await server.challenge_auth("", encode_to_b64=False)]
        elif mechanism == "LOGIN":
            quoted = [await server.challenge_auth(prompt) for prompt in ("Username:", "Password:")]
        quoted = [q if isinstance(q, str) else base64.b64encode(q).decode() for q in quoted]
        return "535 5.7.8 Authentication failed for " + " ".join(quoted)

    def connected(self):
        self.connections += 1
        (self.folder / "connections").write_text(str(self.connections))

    async def handle_MAIL(self, server, smtp_state, envelope, address, mail_options):
        if address.split("@", 1)[0].startswith("mail550"):
            return "550 5.7.1 Sender refused"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, smtp_state, envelope, address, rcpt_options):
        local = address.split("@", 1)[0]
        if local.startswith("rcpt451"):
            return "451 4.3.0 Mailbox busy, try later"
        if local.startswith("rcpt550"):
            return "550 5.1.1 No such user here"
        if local.startswith("rcptstall"):
            await asyncio.sleep(3600)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, smtp_state, envelope):
        local = envelope.rcpt_tos[0].split("@", 1)[0]
        if local.startswith("data451"):
            return "451 4.3.0 Queue full, try later"
        if local.startswith("data554"):
            return "554 5.7.1 Message refused"
        if local.startswith("slow"):
            await asyncio.sleep(0.5)
        if local.startswith("stall"):
            await asyncio.sleep(3600)
        self.accepted += 1
        stem = self.folder / f"{self.accepted:04d}"
        stem.with_suffix(".rcpt").write_text("\n".join(envelope.rcpt_tos))
        stem.with_suffix(".eml").write_bytes(envelope.original_content)
        return f"250 2.0.0 Ok: queued as Q{self.accepted:04d}"


class CountingSMTP(SMTP):
    def connection_made(self, transport):
        self.event_handler.connected()
        super().connection_made(transport)


async def main():
    port = int(sys.argv[1])
    folder = pathlib.Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    recorder = Recorder(folder)
    auth_echo = sys.argv[3:] == ["--auth-echo"]
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: CountingSMTP(recorder, hostname="sink.test", auth_require_tls=not auth_echo),
        "127.0.0.1", port)
    ready = folder / "ready.tmp"
    ready.write_text(str(server.sockets[0].getsockname()[1]))
    ready.rename(folder / "ready")
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
