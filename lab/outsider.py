"""A client host for exposure tests: a network namespace plugged into the cluster network's
bridge (layer 2), holding one address inside an allowed client network and one outside every
allowed network. The guests answer both through their default route, the lab namespace, which
hands the replies back over the same bridge. Nothing is routed beyond the lab.

Usage: with Outsider(bridge) as outsider: outsider.redis_ping(host, port, password, source=...)
"""

from __future__ import annotations

import ipaddress
import subprocess
from types import TracebackType

from lab.guests import NAMESPACE

OUTSIDER_NAMESPACE = f"{NAMESPACE}-out"
ALLOWED_NETWORK, ALLOWED_ADDRESS = "192.168.161.0/24", "192.168.161.2"
DENIED_NETWORK, DENIED_ADDRESS = "192.168.160.0/24", "192.168.160.2"
"""Neither in the cluster network nor in ALLOWED_NETWORK."""

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


def _in(namespace: str, *command: str) -> None:
    subprocess.run(["ip", "netns", "exec", namespace, *command], check=True, capture_output=True, text=True)


class Outsider:
    def __init__(self, bridge: str, cluster_network: ipaddress.IPv4Network) -> None:
        self._bridge = bridge
        self._cluster_network = str(cluster_network)

    def __enter__(self) -> Outsider:
        subprocess.run(["ip", "netns", "add", OUTSIDER_NAMESPACE], check=True)
        _in(NAMESPACE, "ip", "link", "add", "rha-out0", "type", "veth", "peer", "name", "rha-out1")
        _in(NAMESPACE, "ip", "link", "set", "rha-out1", "netns", OUTSIDER_NAMESPACE)
        _in(NAMESPACE, "ip", "link", "set", "rha-out0", "master", self._bridge, "up")
        # Replies from the guests reach the lab namespace (their gateway), which sends them back
        # out of the bridge to the outsider; libvirt's rules let bridge-to-bridge traffic through.
        for network in (ALLOWED_NETWORK, DENIED_NETWORK):
            _in(NAMESPACE, "ip", "route", "add", network, "dev", self._bridge)
        _in(NAMESPACE, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        for command in (["ip", "link", "set", "lo", "up"],
                        ["ip", "address", "add", f"{ALLOWED_ADDRESS}/24", "dev", "rha-out1"],
                        ["ip", "address", "add", f"{DENIED_ADDRESS}/24", "dev", "rha-out1"],
                        ["ip", "link", "set", "rha-out1", "up"],
                        ["ip", "route", "add", self._cluster_network, "dev", "rha-out1"]):
            _in(OUTSIDER_NAMESPACE, *command)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        # Deleting the namespace deletes the veth pair; the routes through the bridge go by hand.
        subprocess.run(["ip", "netns", "delete", OUTSIDER_NAMESPACE], check=False)
        for network in (ALLOWED_NETWORK, DENIED_NETWORK):
            subprocess.run(["ip", "netns", "exec", NAMESPACE, "ip", "route", "del", network], check=False,
                           capture_output=True)
        subprocess.run(["ip", "netns", "exec", NAMESPACE, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0"], check=False)

    def redis_ping(self, host: str, port: int, password: str, source: str) -> str:
        """The reply to AUTH + PING from `source`, or "refused: ..." when no connection was made."""
        return subprocess.run(
            ["ip", "netns", "exec", OUTSIDER_NAMESPACE, "python3", "-c", PING, host, str(port), source],
            input=password, capture_output=True, text=True, check=True, timeout=60).stdout.strip()
