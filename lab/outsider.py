"""A client host for exposure tests: a network namespace plugged into the cluster network's
bridge (layer 2), holding one address inside an allowed client network and one outside every
allowed network, and routed to the cluster network through the gateway (the lab namespace),
which also carries the guests' replies back over the same bridge. Nothing is routed beyond
the lab.

Usage: with Outsider(bridge, network, gateway) as outsider: outsider.redis_ping(host, port, password, source=...)
"""

from __future__ import annotations

import ipaddress
import subprocess
import time
from types import TracebackType

from lab.guests import NAMESPACE

OUTSIDER_NAMESPACE = f"{NAMESPACE}-out"
ALLOWED_NETWORK, ALLOWED_ADDRESS = "192.168.161.0/24", "192.168.161.2"
DENIED_NETWORK, DENIED_ADDRESS = "192.168.160.0/24", "192.168.160.2"
"""Neither in the cluster network nor in ALLOWED_NETWORK."""

# Runs inside the outsider namespace; the password arrives on stdin, never in argv.
PING = """
import socket, ssl, sys
host, port, source, user = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
password, _, ca = sys.stdin.read().partition("\\n")
try:
    with socket.create_connection((host, port), timeout=5, source_address=(source, 0)) as plain:
        s = ssl.create_default_context(cadata=ca).wrap_socket(plain, server_hostname=host) if ca else plain
        s.sendall(b"*3\\r\\n$4\\r\\nAUTH\\r\\n$%d\\r\\n%s\\r\\n$%d\\r\\n%s\\r\\n*1\\r\\n$4\\r\\nPING\\r\\n"
                  % (len(user), user.encode(), len(password), password.encode()))
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

# Runs inside the outsider namespace: the status line of GET /metrics, or "refused: ...".
HTTP_GET = """
import socket, sys
host, port, source = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    with socket.create_connection((host, port), timeout=5, source_address=(source, 0)) as s:
        s.sendall(b"GET /metrics HTTP/1.0\\r\\n\\r\\n")
        print(s.recv(256).decode(errors="replace").splitlines()[0])
except OSError as error:
    print(f"refused: {error}")
"""


def _in(namespace: str, *command: str) -> None:
    subprocess.run(["ip", "netns", "exec", namespace, *command], check=True, capture_output=True, text=True)


class Outsider:
    def __init__(self, bridge: str, cluster_network: ipaddress.IPv4Network, gateway: str) -> None:
        self._bridge = bridge
        self._cluster_network = str(cluster_network)
        self._gateway = gateway

    def __enter__(self) -> Outsider:
        try:
            self._plug_in()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _plug_in(self) -> None:
        subprocess.run(["ip", "netns", "add", OUTSIDER_NAMESPACE], check=True)
        _in(NAMESPACE, "ip", "link", "add", "rha-out0", "type", "veth", "peer", "name", "rha-out1")
        _in(NAMESPACE, "ip", "link", "set", "rha-out1", "netns", OUTSIDER_NAMESPACE)
        _in(NAMESPACE, "ip", "link", "set", "rha-out0", "master", self._bridge, "up")
        # Replies from the guests reach the lab namespace (their gateway), which sends them back
        # out of the bridge to the outsider; libvirt's rules let bridge-to-bridge traffic through.
        for network in (ALLOWED_NETWORK, DENIED_NETWORK):
            _in(NAMESPACE, "ip", "route", "add", network, "dev", self._bridge)
        _in(NAMESPACE, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        # A redirect ("the client is on your link") would make the guests resolve the client's
        # address themselves, which is not on their network.
        for interface in ("all", self._bridge):
            _in(NAMESPACE, "sysctl", "-q", "-w", f"net.ipv4.conf.{interface}.send_redirects=0")
        for command in (["ip", "link", "set", "lo", "up"],
                        ["ip", "address", "add", f"{ALLOWED_ADDRESS}/24", "dev", "rha-out1"],
                        ["ip", "address", "add", f"{DENIED_ADDRESS}/24", "dev", "rha-out1"],
                        ["ip", "link", "set", "rha-out1", "up"],
                        # Through the gateway, as a client on another network reaches the cluster.
                        ["sysctl", "-q", "-w", "net.ipv4.conf.all.accept_redirects=0"],
                        ["sysctl", "-q", "-w", "net.ipv4.conf.rha-out1.accept_redirects=0"],
                        ["ip", "route", "add", self._gateway, "dev", "rha-out1"],
                        ["ip", "route", "add", self._cluster_network, "via", self._gateway]):
            _in(OUTSIDER_NAMESPACE, *command)
        self._wait_forwarding()

    def _wait_forwarding(self) -> None:
        """libvirt's bridges run STP, so a new port listens and learns (2 s each) before it
        forwards; a client tried earlier would be refused by the bridge, not by a firewall."""
        deadline = time.monotonic() + 60
        while "state forwarding" not in subprocess.run(
                ["ip", "netns", "exec", NAMESPACE, "bridge", "link", "show", "dev", "rha-out0"],
                capture_output=True, text=True, check=True).stdout:
            if time.monotonic() > deadline:
                raise TimeoutError("the outsider's bridge port did not reach the forwarding state within 60s")
            time.sleep(0.5)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        # Deleting the namespace deletes the veth pair; the routes through the bridge go by hand.
        subprocess.run(["ip", "netns", "delete", OUTSIDER_NAMESPACE], check=False)
        for network in (ALLOWED_NETWORK, DENIED_NETWORK):
            subprocess.run(["ip", "netns", "exec", NAMESPACE, "ip", "route", "del", network], check=False,
                           capture_output=True)
        for setting in ("net.ipv4.ip_forward=0", "net.ipv4.conf.all.send_redirects=1",
                        f"net.ipv4.conf.{self._bridge}.send_redirects=1"):
            subprocess.run(["ip", "netns", "exec", NAMESPACE, "sysctl", "-q", "-w", setting], check=False)

    def redis_ping(self, host: str, port: int, user: str, password: str, source: str, ca_certificate: str = "") -> str:
        """The reply to AUTH user password + PING from `source` (over TLS, verifying the server
        against ``ca_certificate`` when given), or "refused: ..." when no connection was made."""
        return subprocess.run(
            ["ip", "netns", "exec", OUTSIDER_NAMESPACE, "python3", "-c", PING, host, str(port), source, user],
            input=f"{password}\n{ca_certificate}", capture_output=True, text=True, check=True, timeout=60).stdout.strip()

    def http_status(self, host: str, port: int, source: str) -> str:
        """The status line of GET /metrics from `source`, or "refused: ..." when no connection was made."""
        return subprocess.run(
            ["ip", "netns", "exec", OUTSIDER_NAMESPACE, "python3", "-c", HTTP_GET, host, str(port), source],
            capture_output=True, text=True, check=True, timeout=60).stdout.strip()
