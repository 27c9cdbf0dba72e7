"""TLS: the stack's CA and certificates (derived, verified by a real TLS handshake and by
openssl), redis.conf with TLS, the node's files and redis-ha-cli (redis_clients.sh in a sandboxed
node), the settings and the program's outputs."""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pulumi
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from components.pcs_plan import redis_command
from components.redis_conf import render_redis_conf
from components.redis_users import ADMIN_USER, AGENT_CLI, CLI, admin_password, redis_options, replication_password
from components.settings import ConfigError, Settings, deployed_identity, load_settings, refuse_identity_change
from components.tls import TLS_DIR, client_options, node_bundle, tls_material
from tests.program_recorder import ROOT, resolved, run_program, secret
from tests.unit.sandbox import Node


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    node = Node(tmp_path)
    yield node
    node.end()


def handshake(settings: Settings, server_name: str, server: str, folder: Path, client_certificate: bool = False) -> str:
    """A TLS handshake over a socket pair (no network): the server presents ``server``'s
    certificate, the client checks it against the stack's CA and ``server_name`` as redis-py
    does (the key files in ``folder``). Returns the client certificate's subject the server saw
    ("" without one)."""
    material = tls_material(settings)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    chain = folder / f"tls-{server}.pem"
    chain.write_text(material.nodes[server].key + material.nodes[server].certificate)
    server_side.load_cert_chain(chain)
    server_side.load_verify_locations(cadata=material.ca_certificate)
    server_side.verify_mode = ssl.CERT_OPTIONAL
    client_side = ssl.create_default_context(cadata=material.ca_certificate)
    if client_certificate:
        application = folder / "tls-application.pem"
        application.write_text(material.application.key + material.application.certificate)
        client_side.load_cert_chain(application)
    ours, theirs = socket.socketpair()
    seen: list[str] = []

    def serve() -> None:
        try:
            with server_side.wrap_socket(theirs, server_side=True) as tls:
                peer = tls.getpeercert()
                subject = {str(pair[0][0]): str(pair[0][1]) for pair in peer["subject"]} if peer else {}
                seen.append(subject.get("commonName", ""))
        except (ssl.SSLError, OSError):
            seen.append("")

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with client_side.wrap_socket(ours, server_hostname=server_name):
            pass
    finally:
        thread.join(timeout=10)
    return seen[0]


def test_clients_verify_each_node_and_the_vip_against_the_ca(settings: Settings, tmp_path: Path) -> None:
    for node in settings.nodes:
        for name in (node.ip, settings.vip, node.name):
            assert handshake(settings, name, node.name, tmp_path) == ""
    # The application's certificate is one the servers accept.
    assert handshake(settings, settings.vip, "redis-1", tmp_path, client_certificate=True) == "application"


def test_a_name_the_certificate_does_not_cover_is_refused(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="IP address mismatch"):
        handshake(settings, settings.nodes[1].ip, "redis-1", tmp_path)


def test_another_stacks_ca_is_not_trusted(settings: Settings) -> None:
    other = dataclasses.replace(settings, cluster_name="other")
    material = tls_material(settings)
    foreign = tls_material(other)
    assert foreign.ca_certificate != material.ca_certificate
    ca = x509.load_pem_x509_certificate(material.ca_certificate.encode())
    with pytest.raises(ValueError):
        x509.load_pem_x509_certificate(foreign.nodes["redis-1"].certificate.encode()).verify_directly_issued_by(ca)


def test_the_material_is_the_same_on_every_run_and_openssl_agrees(settings: Settings, tmp_path: Path) -> None:
    first = tls_material(settings)
    tls_material.cache_clear()
    again = tls_material(settings)
    assert first == again and first is not again
    (tmp_path / "ca.pem").write_text(first.ca_certificate)
    for name, own in first.nodes.items():
        (tmp_path / f"{name}.pem").write_text(own.certificate)
        verified = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "ca.pem"), "-purpose", "sslserver",
                                   str(tmp_path / f"{name}.pem")], capture_output=True, text=True, check=False)
        assert verified.returncode == 0, verified.stderr
        certificate = x509.load_pem_x509_certificate(own.certificate.encode())
        usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        key = serialization.load_pem_private_key(own.key.encode(), password=None)
        assert key.public_key() == certificate.public_key()
        node = next(node for node in settings.nodes if node.name == name)
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert names.get_values_for_type(x509.IPAddress) == [ipaddress.IPv4Address(node.ip),
                                                             ipaddress.IPv4Address(settings.vip)]


def test_the_node_bundle_is_key_certificate_ca(settings: Settings) -> None:
    material = tls_material(settings)
    node = settings.nodes[1]
    assert node_bundle(settings, node) == (material.nodes[node.name].key + material.nodes[node.name].certificate
                                           + material.ca_certificate)


def test_redis_listens_with_tls_only_and_replicates_over_it(settings: Settings) -> None:
    conf = render_redis_conf(settings, settings.nodes[0]).splitlines()
    assert "port 0" in conf and f"tls-port {settings.redis_port}" in conf
    assert "tls-replication yes" in conf and "tls-auth-clients no" in conf
    assert f"tls-ca-cert-file {TLS_DIR}/ca.crt" in conf
    required = dataclasses.replace(settings, tls_client_auth="required")
    assert "tls-auth-clients yes" in render_redis_conf(required, settings.nodes[0]).splitlines()
    plain = render_redis_conf(dataclasses.replace(settings, tls=False), settings.nodes[0]).splitlines()
    assert f"port {settings.redis_port}" in plain and not any(line.startswith("tls-") for line in plain)


def test_client_options_verify_the_server(settings: Settings) -> None:
    options = client_options(settings, ("/c", "/k"))
    assert options["ssl"] and options["ssl_cert_reqs"] == "required" and options["ssl_check_hostname"]
    assert options["ssl_ca_data"] == tls_material(settings).ca_certificate
    assert (options["ssl_certfile"], options["ssl_keyfile"]) == ("/c", "/k")
    assert client_options(dataclasses.replace(settings, tls=False)) == {}


# -- settings ----------------------------------------------------------------------------------------

def test_tls_is_on_by_default_and_client_auth_needs_it(config: dict[str, str]) -> None:
    settings = load_settings(config.get)
    assert settings.tls and settings.tls_client_auth == "none"
    with pytest.raises(ConfigError, match=r"^redis-ha:tls: must be one of on, off; got 'yes'"):
        load_settings({**config, "tls": "yes"}.get)
    with pytest.raises(ConfigError, match=r"^redis-ha:tlsClientAuth: must be one of none, optional, required"):
        load_settings({**config, "tlsClientAuth": "always"}.get)
    with pytest.raises(ConfigError, match=r"^redis-ha:tlsClientAuth: required asks clients for a certificate over "
                                          r"TLS; tls is off"):
        load_settings({**config, "tls": "off", "tlsClientAuth": "required"}.get)


def test_a_stack_made_before_tls_must_choose(settings: Settings) -> None:
    before_tls = deployed_identity(settings)
    with pytest.raises(ConfigError, match=r"^redis-ha:tls: this stack was made before TLS"):
        refuse_identity_change(before_tls, settings, [])
    refuse_identity_change(before_tls, settings, ["tls"])
    refuse_identity_change({**before_tls, "tls": "on"}, settings, [])
    refuse_identity_change({}, settings, [])


# -- redis_clients.sh --------------------------------------------------------------------------------

SOCKET = "/run/redis/redis.sock"
CLIENTS = ("redis", "redis-cli", "admin", TLS_DIR, CLI, AGENT_CLI, SOCKET, "/etc/redis/redis.conf", "writes")


def test_the_node_gets_its_files_and_clients_that_log_in_as_admin(node: Node, settings: Settings) -> None:
    bundle = node_bundle(settings, settings.nodes[0])
    ran = node.run("redis_clients.sh", "on", *CLIENTS, stdin=bundle)
    assert ran.report == (f"changed: created {TLS_DIR} wrote {TLS_DIR}/server.key wrote {TLS_DIR}/server.crt "
                          f"wrote {TLS_DIR}/ca.crt wrote {CLI} wrote {AGENT_CLI}"), ran.stderr
    material = tls_material(settings)
    assert node.upper(f"{TLS_DIR}/server.key").read_text() == material.nodes["redis-1"].key
    assert node.upper(f"{TLS_DIR}/server.crt").read_text() == material.nodes["redis-1"].certificate
    assert node.upper(f"{TLS_DIR}/ca.crt").read_text() == material.ca_certificate
    assert oct(node.upper(f"{TLS_DIR}/server.key").stat().st_mode & 0o777) == "0o640"
    redis_gid = next(int(line.split(":")[2]) for line in node.seen("/etc/group").read_text().splitlines()
                     if line.startswith("redis:"))
    assert node.upper(f"{TLS_DIR}/server.key").stat().st_gid == redis_gid
    assert (f"exec redis-cli --user admin --tls --cacert {TLS_DIR}/ca.crt --cert {TLS_DIR}/server.crt "
            f"--key {TLS_DIR}/server.key \"$@\"") in node.upper(CLI).read_text()
    # The agent reaches its server over the unix socket: no TLS there.
    assert '\nexec redis-cli --user admin "$@"' in node.upper(AGENT_CLI).read_text()
    assert node.run("redis_clients.sh", "on", *CLIENTS, stdin=bundle).report == (
        f"no change: tls on; {CLI} and {AGENT_CLI} in place")
    # The stand-in redis-cli answers through the wrapper, arguments passed on.
    node.set("redis/ROLE", "master\n")
    assert node.run_file(CLI, "-h", "192.168.150.10", "ROLE").stdout.startswith("master")
    assert (node.state / "redis-arguments").read_text().startswith(f"--user admin --tls --cacert {TLS_DIR}/ca.crt ")

    off = node.run("redis_clients.sh", "off", *CLIENTS)
    assert off.report == f"changed: removed {TLS_DIR} wrote {CLI}"
    assert not node.exists(f"{TLS_DIR}/server.key")
    assert 'exec redis-cli --user admin "$@"' in node.upper(CLI).read_text()


def last_call(node: Node) -> str:
    """The arguments the stand-in redis-cli got last."""
    return (node.state / "redis-arguments").read_text().splitlines()[-1]


def test_the_agents_client_pause_holds_writes_only_unless_told_all(node: Node) -> None:
    node.run("redis_clients.sh", "off", *CLIENTS)
    for command, sent in ((["CLIENT", "PAUSE", "2000"], "CLIENT PAUSE 2000 WRITE"),
                          (["client", "pause", "2000"], "client pause 2000 WRITE"),
                          (["CLIENT", "KILL", "type", "normal"], "CLIENT KILL type normal"),
                          (["info"], "info")):
        node.run_file(AGENT_CLI, "-s", SOCKET, *command)
        assert last_call(node) == f"--user admin -s {SOCKET} {sent}"
    # The network client the steps and operators use passes a pause on as asked.
    node.run_file(CLI, "CLIENT", "PAUSE", "2000")
    assert last_call(node) == "--user admin CLIENT PAUSE 2000"

    ran = node.run("redis_clients.sh", "off", *CLIENTS[:-1], "all")
    assert ran.report == f"changed: wrote {AGENT_CLI}", ran.stderr
    node.run_file(AGENT_CLI, "-s", SOCKET, "CLIENT", "PAUSE", "2000")
    assert last_call(node) == f"--user admin -s {SOCKET} CLIENT PAUSE 2000"

    ran = node.run("redis_clients.sh", "off", *CLIENTS[:-1], "some")
    assert ran.returncode == 2 and "PAUSE must be writes or all, not 'some'" in ran.stderr


def test_rotated_certificates_reach_the_running_server_without_a_restart(node: Node, settings: Settings) -> None:
    node.run("redis_clients.sh", "on", *CLIENTS, stdin=node_bundle(settings, settings.nodes[0]))
    # The server runs: its socket is there, and redis.conf names the admin password.
    node.write("/run/make-socket.sh", f"mkdir -p {SOCKET.rsplit('/', 1)[0]}\n"
                                      f"python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"{SOCKET}\")'\n")
    assert node.run_file("/run/make-socket.sh").returncode == 0
    node.write("/etc/redis/redis.conf", render_redis_conf(settings, settings.nodes[0]))
    node.set("redis/CONFIG", "OK\n")
    (node.state / "redis-arguments").unlink(missing_ok=True)
    rotated = dataclasses.replace(settings, tls_rotation=1)
    ran = node.run("redis_clients.sh", "on", *CLIENTS, stdin=node_bundle(rotated, settings.nodes[0]))
    assert ran.report == (f"changed: wrote {TLS_DIR}/server.key wrote {TLS_DIR}/server.crt "
                          "reloaded by the running server"), ran.stderr
    assert (node.state / "redis-arguments").read_text() == (
        f"--user admin -s {SOCKET} CONFIG SET tls-cert-file {TLS_DIR}/server.crt tls-key-file {TLS_DIR}/server.key "
        f"tls-ca-cert-file {TLS_DIR}/ca.crt\n")
    assert (node.state / "redis-auth").read_text().splitlines()[-1] == admin_password(settings)
    # A server that does not take them fails the step.
    node.set("redis/CONFIG", "ERR Unable to update TLS configuration\n")
    ran = node.run("redis_clients.sh", "on", *CLIENTS, stdin=node_bundle(settings, settings.nodes[0]))
    assert ran.returncode == 1
    assert "error: the running server did not load the new certificates: ERR Unable to update" in ran.stderr


def test_a_rotation_changes_the_nodes_and_the_applications_keys_not_the_ca(settings: Settings, tmp_path: Path) -> None:
    before, after = tls_material(settings), tls_material(dataclasses.replace(settings, tls_rotation=1))
    assert after.ca_certificate == before.ca_certificate
    for name in before.nodes:
        assert after.nodes[name].key != before.nodes[name].key
        assert after.nodes[name].certificate != before.nodes[name].certificate
    assert after.application.key != before.application.key
    assert handshake(dataclasses.replace(settings, tls_rotation=1), settings.vip, "redis-2", tmp_path) == ""


def test_a_bundle_without_its_three_parts_is_refused(node: Node, settings: Settings) -> None:
    material = tls_material(settings)
    ran = node.run("redis_clients.sh", "on", *CLIENTS, stdin=material.ca_certificate)
    assert ran.returncode == 2 and "stdin must hold a key, a certificate and the CA certificate" in ran.stderr
    wrong = material.ca_certificate * 3
    ran = node.run("redis_clients.sh", "on", *CLIENTS, stdin=wrong)
    assert ran.returncode == 2 and "the first block on stdin is not a private key" in ran.stderr
    assert not node.exists(f"{TLS_DIR}/server.key")


# -- the program ---------------------------------------------------------------------------------------

def test_the_program_installs_the_files_before_redis_conf_and_exports_the_ca(
        config: dict[str, str], monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.chdir(ROOT)
    program = run_program(config, monkeypatch)
    tls_step = program.resources["redis-1-redis-clients"].inputs
    assert tls_step["create"].endswith(f" on redis /usr/bin/redis-cli admin {TLS_DIR} {CLI} {AGENT_CLI} {SOCKET} "
                                       "/etc/redis/redis.conf writes")
    assert secret(tls_step["stdin"]) == node_bundle(settings, settings.nodes[0])
    assert "stdin" in program.secret_outputs["redis-1-redis-clients"]
    assert program.depends("redis-1-redis-config", "redis-1-redis-clients")
    assert f" {CLI} " in program.resources["redis-check"].inputs["create"]
    assert f" {CLI} " in program.resources["redis-2-membership"].inputs["create"]
    exports = program.exports
    assert exports["tls"] == "on"
    assert resolved(exports["caCertificate"]) == (tls_material(settings).ca_certificate, False)
    url, is_secret = resolved(exports["redisUrl"])
    assert url.startswith("rediss://app:") and is_secret
    assert "clientKey" not in exports

    required = run_program({**config, "tlsClientAuth": "required"}, monkeypatch).exports
    assert resolved(required["clientCertificate"]) == (tls_material(settings).application.certificate, False)
    assert resolved(required["clientKey"]) == (tls_material(settings).application.key, True)

    plain = run_program({**config, "tls": "off"}, monkeypatch)
    assert plain.resources["redis-1-redis-clients"].inputs["create"].endswith(
        f" off redis /usr/bin/redis-cli admin {TLS_DIR} {CLI} {AGENT_CLI} {SOCKET} /etc/redis/redis.conf writes")
    assert resolved(plain.exports["redisUrl"])[0].startswith("redis://app:")
    assert resolved(plain.exports["caCertificate"]) == ("", False)


def test_a_stack_made_before_tls_is_refused_before_any_resource(
        config: dict[str, str], monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.chdir(ROOT)
    with pytest.raises(pulumi.RunError, match=r"^redis-ha:tls: this stack was made before TLS"):
        run_program(config, monkeypatch, previous_outputs=deployed_identity(settings))


def test_clients_log_in_as_a_user_of_their_role(settings: Settings) -> None:
    app = redis_options(settings, certificate_files=("/c", "/k"))
    assert (app["username"], app["password"]) == ("app", settings.redis_password)
    assert app["ssl_certfile"] == "/c"
    admin = redis_options(dataclasses.replace(settings, tls=False), ADMIN_USER)
    assert admin == {"username": "admin", "password": admin_password(settings)}
    assert admin_password(settings) != replication_password(settings) != settings.redis_password
    assert admin_password(dataclasses.replace(settings, cluster_name="other")) != admin_password(settings)
    # The agent logs in as admin through its own client.
    assert f"client_bin={AGENT_CLI}" in redis_command(settings)
