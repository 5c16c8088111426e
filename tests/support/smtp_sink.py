"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, an OS-chosen port, one maildir.

Prints the port on the first line of stdout once it accepts connections, then serves until killed.
Usage: smtp_sink.py MAILDIR [PORT]   (PORT: reuse a port, to bring a stopped sink back)

Recipients at refused.example are refused for good (550), as an MTA refuses an unknown mailbox.
"""
import asyncio
import socket
import sys

from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP


REFUSED_DOMAIN = "@refused.example"


class Sink(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().endswith(REFUSED_DOMAIN):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"


async def main(maildir: str, port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    handler = Sink(maildir)
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(handler), sock=sock)
    print(sock.getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0))
