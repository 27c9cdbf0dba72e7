"""The cluster a drill runs against, and how to reach it: Redis on the VIP and on each node,
SSH to the nodes, libvirt for the VMs. Built from a Pulumi stack's configuration (the same
settings module the program validates it with) or from the kept lab cluster."""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from components.host_keys import known_hosts
from components.pcs_plan import REDIS_CLONE, VIP_RESOURCE
from components.redis_users import ADMIN_USER, redis_options
from components.settings import Node, Settings, load_settings
from components.tls import tls_material
from lab import guests
from lab.stack import LabStack

ROOT = Path(__file__).resolve().parent.parent


def _temp_file(prefix: str, text: str) -> Path:
    """A 0600 file holding ``text``, removed when this process exits."""
    handle, path = tempfile.mkstemp(prefix=prefix)
    atexit.register(Path(path).unlink, missing_ok=True)
    with os.fdopen(handle, "w") as file:
        file.write(text)
    return Path(path)


def redis_placements(status: ET.Element) -> list[tuple[str, str]]:
    """(role, node name) of each Redis instance crm_mon shows placed on a node."""
    return [(str(resource.get("role")), str(placed.get("name")))
            for clone in status.iter("clone") if clone.get("id") == REDIS_CLONE
            for resource in clone.iter("resource") if (placed := resource.find("node")) is not None]


class NotHealthy(TimeoutError):
    """The cluster did not become whole in time (Target.wait_healthy)."""


@dataclass
class Target:
    settings: Settings
    ssh_key: Path
    """Private key for `settings.ssh_user` on the nodes."""

    @classmethod
    def from_lab(cls) -> Target:
        """The lab's dev stack, as `make up` keeps it."""
        stack = LabStack("dev")
        if not stack.exists():
            raise SystemExit("drill: the lab's dev stack does not exist: run `make up` first")
        return cls(stack.settings(), guests.SSH_KEY)

    @classmethod
    def from_stack(cls, stack: str) -> Target:
        """A stack's configuration as `pulumi up` used it; the SSH key goes to a 0600 temp file."""
        shown = subprocess.run(["pulumi", "config", "--json", "--show-secrets", "--stack", stack],
                               capture_output=True, text=True, check=False)
        if shown.returncode != 0:
            raise SystemExit(f"drill: `pulumi config --stack {stack}` failed: {shown.stderr.strip()}")
        config = {key.split(":", 1)[1]: entry["value"] for key, entry in json.loads(shown.stdout).items()
                  if key.startswith("redis-ha:")}
        settings = load_settings(config.get)
        return cls(settings, _temp_file("redis-ha-drill-key-", settings.ssh_private_key.rstrip("\n") + "\n"))

    def node(self, name: str) -> Node:
        return next(node for node in self.settings.nodes if node.name == name)

    def other(self, node: Node) -> Node:
        return next(other for other in self.settings.nodes if other != node)

    @cached_property
    def known_hosts(self) -> Path:
        """The nodes' host keys as the program pins them."""
        return _temp_file("redis-ha-drill-known-hosts-", known_hosts(self.settings))

    def ssh(self, node: Node, command: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["ssh", "-i", str(self.ssh_key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
             "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
             f"{self.settings.ssh_user}@{node.ip}", command],
            capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            # What the node said: a CalledProcessError would show only the command line.
            raise RuntimeError(f"{command!r} on {node.name} exited {result.returncode}: "
                               f"{(result.stderr or result.stdout).strip()[-2000:]}")
        return result

    def virsh(self, *args: str) -> str:
        return subprocess.run(["virsh", "-q", "-c", self.settings.libvirt_uri, *args],
                              capture_output=True, text=True, check=True).stdout

    @cached_property
    def certificate_files(self) -> tuple[str, str] | None:
        """The application's certificate and key in 0600 temp files, when Redis asks clients for one."""
        if not self.settings.tls or self.settings.tls_client_auth == "none":
            return None
        application = tls_material(self.settings).application
        return (str(_temp_file("redis-ha-drill-cert-", application.certificate)),
                str(_temp_file("redis-ha-drill-key-", application.key)))

    def login(self, user: str = ADMIN_USER) -> dict[str, Any]:
        """redis-py's options to log in as ``user`` (app or admin) with this stack's TLS settings."""
        return redis_options(self.settings, user, self.certificate_files)

    @cached_property
    def cli_tls_arguments(self) -> list[str]:
        """The same for redis-cli and redis-benchmark."""
        if not self.settings.tls:
            return []
        ca = _temp_file("redis-ha-drill-ca-", tls_material(self.settings).ca_certificate)
        files = self.certificate_files
        return ["--tls", "--cacert", str(ca), *(["--cert", files[0], "--key", files[1]] if files else [])]

    def redis(self, host: str | None = None, timeout: float = 5, user: str = ADMIN_USER) -> redis.Redis:
        """A client of the VIP (or ``host``), as the admin user unless told otherwise: the drill
        asks for ROLE and INFO, which the application's user may not run."""
        return redis.Redis(host=host or self.settings.vip, port=self.settings.redis_port, socket_timeout=timeout,
                           socket_connect_timeout=timeout, decode_responses=True, retry=Retry(NoBackoff(), 0),
                           **self.login(user))

    def role(self, node: Node) -> str | None:
        """ROLE of the node's own Redis (master/slave), None when it does not answer."""
        try:
            return str(self.redis(node.ip, timeout=2).execute_command("ROLE")[0])  # type: ignore[no-untyped-call]
        except redis.exceptions.RedisError:
            return None

    def run_id(self, node: Node | None = None) -> str | None:
        """The run_id of the node's own Redis (of whatever answers on the VIP without a node);
        None when nothing answers."""
        try:
            return str(self.redis(node.ip if node else None, timeout=2).info("server")["run_id"])
        except redis.exceptions.RedisError:
            return None

    def master(self) -> Node:
        return next(node for node in self.settings.nodes if self.role(node) == "master")

    def clock_offset(self, node: Node) -> float:
        """The node's wall clock minus ours, in seconds, from Redis TIME (a round trip of
        milliseconds, where SSH would take most of a second on emulated guests)."""
        connection = self.redis(node.ip)
        before = time.time()
        seconds, microseconds = connection.time()
        after = time.time()
        return seconds + microseconds / 1e6 - (before + after) / 2

    def status(self) -> ET.Element | None:
        """crm_mon's XML from the first node that answers, or None when neither does in time."""
        for node in self.settings.nodes:
            # A node busy with a rejoin's resync on an emulated CPU can take over a minute to
            # answer: that is a cluster not whole yet, to ask again, not a failed wait.
            answer = self.answer(node, "sudo crm_mon --output-as=xml", timeout=60)
            if answer is not None:
                return ET.fromstring(answer)
        return None

    def health(self) -> str | None:
        """None when the cluster is whole (both nodes online, one Promoted and one Unpromoted
        Redis, the VIP on the Promoted one, the replica in sync); else what is missing."""
        status = self.status()
        if status is None:
            return "no node answers crm_mon"
        online = sorted(str(n.get("name")) for n in status.iter("node") if n.get("online") == "true")
        if online != sorted(node.name for node in self.settings.nodes):
            return f"nodes online: {online}"
        roles = dict(redis_placements(status))
        if sorted(roles) != ["Promoted", "Unpromoted"]:
            return f"redis roles: {roles}"
        vip = next((r for r in status.iter("resource") if r.get("id") == VIP_RESOURCE), None)
        vip_node = vip.find("node") if vip is not None else None
        if vip is None or vip.get("role") != "Started" or vip_node is None or vip_node.get("name") != roles["Promoted"]:
            return "vip not started on the Promoted node"
        failures = status.find("failures")
        if failures is not None and len(failures) > 0:
            return "failed actions recorded"
        try:
            replication = self.redis(self.node(roles["Promoted"]).ip).info("replication")
        except redis.exceptions.RedisError as error:
            return f"master Redis: {error}"
        if replication.get("connected_slaves") != 1 or "online" not in str(replication.get("slave0", {})):
            return f"replica not in sync: connected_slaves={replication.get('connected_slaves')}"
        return None

    def wait_healthy(self, timeout_s: float) -> float:
        """Seconds until health() is None; raises TimeoutError with the last reason."""
        started = time.monotonic()
        while (reason := self.health()) is not None:
            if time.monotonic() - started > timeout_s:
                raise NotHealthy(f"cluster not healthy after {timeout_s:.0f}s: {reason}")
            time.sleep(2)
        return time.monotonic() - started

    def answer(self, node: Node, command: str, timeout: float = 30) -> str | None:
        """The command's output, or None when the node did not run it in time (a booting
        node can accept the connection and then hang the login)."""
        try:
            result = self.ssh(node, command, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return None
        return result.stdout if result.returncode == 0 else None

    def wait_ssh(self, node: Node, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.answer(node, "true") is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no SSH to {node.name} within {timeout_s:.0f}s")
            time.sleep(3)

    def journal(self, node: Node, since_epoch: float) -> list[tuple[float, str, str]]:
        """(node wall time, identifier, message) of the cluster daemons' log lines since then."""
        answer = self.ssh(node, f"sudo journalctl -o json --no-pager --since @{since_epoch:.0f} "
                                "-t corosync -t pacemaker-controld -t pacemaker-fenced", timeout=120, check=False)
        lines = []
        for line in answer.stdout.splitlines():
            entry = json.loads(line)
            message = entry.get("MESSAGE")
            if isinstance(message, str):
                lines.append((int(entry["__REALTIME_TIMESTAMP"]) / 1e6, str(entry.get("SYSLOG_IDENTIFIER")), message))
        return lines
