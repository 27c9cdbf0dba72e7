"""A client host for exposure tests: a network namespace behind the lab namespace, routed to the
cluster network through it, with one address inside a configured client network and one
outside every allowed network. All of it lives inside the lab; nothing is routed beyond it.

Usage: with Outsider() as outsider: outsider.redis_ping(host, port, password, source=...)
"""

from __future__ import annotations

import subprocess
from types import TracebackType

from lab.guests import NAMESPACE

OUTSIDER_NAMESPACE = f"{NAMESPACE}-out"
LINK_ADDRESS, OUTSIDER_LINK_ADDRESS = "192.168.160.1", "192.168.160.2"
ALLOWED_NETWORK, ALLOWED_ADDRESS = "192.168.161.0/24", "192.168.161.2"
DENIED_ADDRESS = OUTSIDER_LINK_ADDRESS
"""Not in the cluster network nor in ALLOWED_NETWORK."""

# Runs inside the outsider namespace; the password arrives on stdin, never in argv.
PING = """
import socket, sys
host, port, source = sys.argv[1], int(sys.argv[2]), sys.argv[3]
password = sys.stdin.read()
try:
    with socket.create_connection((host, port), timeout=5, source_address=(source, 0)) as s:
        s.sendall(b"*2\\r\\n$4\\r\\nAUTH\\r\\n$%d\\r\\n%s\\r\\n*1\\r\\n$4\\r\\nPING\\r\\n" % (len(password), password.encode()))
        reply = b""
        while reply.count(b"\\r\\n") < 2:
            chunk = s.recv(1024)
            if not chunk:
                break
            reply += chunk
    print(reply.decode(errors="replace").replace("\\r\\n", " ").strip())
except OSError as error:
    print(f"refused: {error}")
"""


def _ip(*args: str, namespace: str = NAMESPACE) -> None:
    subprocess.run(["ip", "netns", "exec", namespace, *args], check=True, capture_output=True, text=True)


class Outsider:
    def __enter__(self) -> Outsider:
        subprocess.run(["ip", "netns", "add", OUTSIDER_NAMESPACE], check=True)
        _ip("ip", "link", "add", "rha-out0", "type", "veth", "peer", "name", "rha-out1")
        _ip("ip", "link", "set", "rha-out1", "netns", OUTSIDER_NAMESPACE)
        _ip("ip", "address", "add", f"{LINK_ADDRESS}/24", "dev", "rha-out0")
        _ip("ip", "link", "set", "rha-out0", "up")
        _ip("ip", "route", "add", ALLOWED_NETWORK, "via", OUTSIDER_LINK_ADDRESS)
        _ip("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        for command in (["ip", "link", "set", "lo", "up"],
                        ["ip", "address", "add", f"{OUTSIDER_LINK_ADDRESS}/24", "dev", "rha-out1"],
                        ["ip", "address", "add", f"{ALLOWED_ADDRESS}/24", "dev", "rha-out1"],
                        ["ip", "link", "set", "rha-out1", "up"],
                        ["ip", "route", "add", "default", "via", LINK_ADDRESS]):
            _ip(*command, namespace=OUTSIDER_NAMESPACE)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        # Deleting the namespace deletes the veth pair, and with it the route through it.
        subprocess.run(["ip", "netns", "delete", OUTSIDER_NAMESPACE], check=False)
        subprocess.run(["ip", "netns", "exec", NAMESPACE, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0"], check=False)

    def redis_ping(self, host: str, port: int, password: str, source: str) -> str:
        """The reply to AUTH + PING from `source`, or "refused: ..." when no connection was made."""
        return subprocess.run(
            ["ip", "netns", "exec", OUTSIDER_NAMESPACE, "python3", "-c", PING, host, str(port), source],
            input=password, capture_output=True, text=True, check=True, timeout=60).stdout.strip()
