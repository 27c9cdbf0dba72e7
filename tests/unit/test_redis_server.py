"""The rendered redis.conf in real servers: Debian's redis-server, unpacked by `make test-unit`
(tools/redis_binaries.sh), run as a master and a replica on loopback with the nodes' own
certificates and users. What the e2e suite checks through the VIP, here in seconds: TLS only,
the users' rights, the default user off, the replica's link over TLS as the replication user,
and the agent's way in (the unix socket, as admin, with the password it reads from
requirepass)."""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from components.redis_conf import render_redis_conf
from components.redis_users import ADMIN_USER, APPLICATION_USER, REPLICATION_USER, admin_password
from components.settings import Settings
from components.tls import CA_FILE, CERT_FILE, KEY_FILE, TLS_DIR, tls_material
from tests.program_recorder import ROOT

BINARIES = ROOT / ".tools" / "redis" / "usr" / "bin"
LIBRARIES = ROOT / ".tools" / "redis" / "usr" / "lib" / "x86_64-linux-gnu"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    folder: Path
    port: int
    process: subprocess.Popen[bytes]

    def cli(self, *command: str, user: str | None = ADMIN_USER, password: str = "", tls: bool = True,
            unix_socket: bool = False) -> str:
        """redis-cli as the steps (tls) or the agent (unix socket) run it: the password in
        REDISCLI_AUTH. Its output and errors, stripped."""
        options = ["--user", user] if user else []
        if unix_socket:
            options += ["-s", str(self.folder / "redis.sock")]
        else:
            options += ["-p", str(self.port)]
            if tls:
                options += ["--tls", "--cacert", str(self.folder / "ca.crt"), "--cert", str(self.folder / "server.crt"),
                            "--key", str(self.folder / "server.key")]
        env = {"LD_LIBRARY_PATH": str(LIBRARIES), "PATH": os.environ["PATH"], "REDISCLI_AUTH": password}
        ran = subprocess.run([str(BINARIES / "redis-cli"), *options, *command], env=env, capture_output=True,
                             text=True, timeout=30, check=False)
        return (ran.stdout + ran.stderr).strip()


def start(settings: Settings, index: int, folder: Path, master_port: int | None = None) -> Server:
    """Node ``index``'s redis.conf as rendered, but on loopback, a free port and this folder."""
    node = settings.nodes[index]
    folder.mkdir()
    material = tls_material(settings)
    (folder / "server.key").write_text(material.nodes[node.name].key)
    (folder / "server.crt").write_text(material.nodes[node.name].certificate)
    (folder / "ca.crt").write_text(material.ca_certificate)
    port = free_port()
    conf = render_redis_conf(settings, node)
    for rendered, here in ((f"bind 127.0.0.1 {node.ip} {settings.vip}", "bind 127.0.0.1"),
                           (f"tls-port {settings.redis_port}", f"tls-port {port}"),
                           (CA_FILE, str(folder / "ca.crt")), (CERT_FILE, str(folder / "server.crt")),
                           (KEY_FILE, str(folder / "server.key")),
                           (f"dir {settings.server.data_dir}", f"dir {folder}"),
                           (f"logfile {settings.server.log_file}", f"logfile {folder / 'log'}")):
        assert rendered in conf, rendered
        conf = conf.replace(rendered, here)
    assert TLS_DIR not in conf
    # As Pacemaker's agent does: REPLICAOF comes from it, not from the file.
    if master_port is not None:
        conf += f"replicaof 127.0.0.1 {master_port}\n"
    (folder / "redis.conf").write_text(conf)
    process = subprocess.Popen([str(BINARIES / "redis-server"), str(folder / "redis.conf"),
                                "--unixsocket", str(folder / "redis.sock"), "--daemonize", "no"],
                               env={"LD_LIBRARY_PATH": str(LIBRARIES)}, stdout=subprocess.DEVNULL)
    server = Server(folder, port, process)
    deadline = time.monotonic() + 60
    while server.cli("PING", password=admin_password(settings), unix_socket=True) != "PONG":
        assert process.poll() is None, (folder / "log").read_text()[-2000:]
        assert time.monotonic() < deadline, (folder / "log").read_text()[-2000:]
        time.sleep(0.1)
    return server


@pytest.fixture
def pair(settings: Settings, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    if not (BINARIES / "redis-server").exists():
        pytest.skip("no redis-server unpacked: `make test-unit` runs tools/redis_binaries.sh first")
    master = start(settings, 0, tmp_path / "master")
    try:
        replica = start(settings, 1, tmp_path / "replica", master.port)
        try:
            yield master, replica
        finally:
            replica.process.terminate()
            replica.process.wait(timeout=10)
    finally:
        master.process.terminate()
        master.process.wait(timeout=10)


def test_only_tls_and_only_the_users_each_with_its_rights(pair: tuple[Server, Server], settings: Settings) -> None:
    master, _ = pair
    admin, app = admin_password(settings), settings.redis_password
    assert master.cli("SET", "key", "value", user=APPLICATION_USER, password=app) == "OK"
    assert master.cli("GET", "key", user=APPLICATION_USER, password=app) == "value"
    for command in (("CONFIG", "GET", "maxmemory"), ("FLUSHALL",), ("REPLICAOF", "NO", "ONE"), ("ACL", "LIST")):
        assert master.cli(*command, user=APPLICATION_USER, password=app).startswith("NOPERM"), command
    assert master.cli("CONFIG", "GET", "port", password=admin) == "port\n0"
    # The default user is off, even with the password requirepass names.
    assert "NOAUTH" in master.cli("PING", user=None, password=admin)
    assert "WRONGPASS" in master.cli("PING", user=APPLICATION_USER, password=admin)
    assert "WRONGPASS" in master.cli("PING", user=REPLICATION_USER, password=app)
    # No plain text on the network.
    assert "PONG" not in master.cli("PING", password=admin, tls=False)
    # The agent: the unix socket, as admin, with the password it finds in redis.conf.
    required = re.search(r"^requirepass (\S+)$", (master.folder / "redis.conf").read_text(), re.M)
    assert required is not None and required[1] == admin
    assert master.cli("ROLE", password=required[1], unix_socket=True).splitlines()[0] == "master"


def test_the_replica_links_over_tls_as_the_replication_user(pair: tuple[Server, Server], settings: Settings) -> None:
    master, replica = pair
    admin = admin_password(settings)
    master.cli("SET", "replicated", "yes", user=APPLICATION_USER, password=settings.redis_password)
    deadline = time.monotonic() + 60
    while "master_link_status:up" not in replica.cli("INFO", "replication", password=admin):
        assert time.monotonic() < deadline, replica.cli("INFO", "replication", password=admin)
        time.sleep(0.2)
    assert replica.cli("GET", "replicated", user=APPLICATION_USER, password=settings.redis_password) == "yes"
    replicas = [line for line in master.cli("CLIENT", "LIST", password=admin).splitlines() if " flags=S " in line]
    assert len(replicas) == 1 and f" user={REPLICATION_USER} " in replicas[0]


def test_the_server_loads_new_certificates_when_told_the_same_paths(pair: tuple[Server, Server],
                                                                    settings: Settings) -> None:
    """What redis_clients.sh relies on for tlsRotation: no restart."""
    master, _ = pair
    rotated = tls_material(dataclasses.replace(settings, tls_rotation=1)).nodes[settings.nodes[0].name]

    def presented() -> str:
        context = ssl.create_default_context(cadata=tls_material(settings).ca_certificate)
        context.check_hostname = False
        with socket.create_connection(("127.0.0.1", master.port), timeout=5) as raw, context.wrap_socket(raw) as tls:
            return (tls.getpeercert(binary_form=True) or b"").hex()

    before = presented()
    (master.folder / "server.key").write_text(rotated.key)
    (master.folder / "server.crt").write_text(rotated.certificate)
    assert presented() == before
    assert master.cli("CONFIG", "SET", "tls-cert-file", str(master.folder / "server.crt"), "tls-key-file",
                      str(master.folder / "server.key"), password=admin_password(settings), unix_socket=True) == "OK"
    after = presented()
    assert after != before
    assert after == x509.load_pem_x509_certificate(rotated.certificate.encode()).public_bytes(
        serialization.Encoding.DER).hex()


def test_a_write_pause_holds_writes_but_not_the_agents_info(pair: tuple[Server, Server], settings: Settings) -> None:
    """Why redisAgentPause writes saves the agent 2 s per demote: its INFO after the pause."""
    master, _ = pair
    admin = admin_password(settings)

    def agent_info_seconds() -> float:
        started = time.monotonic()
        assert "role:master" in master.cli("INFO", "replication", password=admin, unix_socket=True)
        return time.monotonic() - started

    assert master.cli("CLIENT", "PAUSE", "2000", password=admin, unix_socket=True) == "OK"
    assert agent_info_seconds() > 1.5
    time.sleep(0.5)
    assert master.cli("CLIENT", "PAUSE", "2000", "WRITE", password=admin, unix_socket=True) == "OK"
    assert agent_info_seconds() < 1.0
    started = time.monotonic()
    assert master.cli("SET", "during-pause", "1", user=APPLICATION_USER, password=settings.redis_password) == "OK"
    assert time.monotonic() - started > 1.0
