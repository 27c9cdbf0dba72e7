"""TLS on real VMs: clients that trust the stack's CA read and write through the VIP; plain text
and clients that do not trust the CA get nowhere; the replica's link runs over TLS (there is no
plain-text port to run it over) and a capture of the replica's traffic on the cluster network
holds none of the values written."""

from __future__ import annotations

import dataclasses
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from components.redis_users import APPLICATION_USER
from components.tls import client_options, tls_material
from drill.benchmark import compare_tls
from drill.target import Target
from drill.writer import Writers, longest_gaps, lost
from tests.e2e.conftest import HEALTHY_TIMEOUT_S, Deployment

ETH_P_ALL = 0x0003


@pytest.fixture(autouse=True)
def tls_on(cluster: Deployment) -> None:
    if not cluster.settings.tls:
        pytest.skip("the stack runs with tls off")


@contextmanager
def captured(interfaces: list[str]) -> Iterator[list[bytes]]:
    """Every frame on ``interfaces`` (the lab's tap devices) while the block runs."""
    frames: list[bytes] = []
    stop = threading.Event()
    sockets = []
    for interface in interfaces:
        raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        raw.bind((interface, 0))
        raw.settimeout(0.2)
        sockets.append(raw)

    def read(raw: socket.socket) -> None:
        while not stop.is_set():
            try:
                frames.append(raw.recv(65535))
            except TimeoutError:
                continue

    readers = [threading.Thread(target=read, args=(raw,), daemon=True) for raw in sockets]
    for reader in readers:
        reader.start()
    try:
        yield frames
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=5)
        for raw in sockets:
            raw.close()


def test_a_client_trusting_the_stacks_ca_reads_and_writes_through_the_vip(target: Target) -> None:
    vip = target.redis()
    value = f"over-tls-{time.time()}"
    assert vip.set("e2e:tls", value) and vip.get("e2e:tls") == value
    assert vip.connection_pool.connection_class is redis.SSLConnection


def test_plain_text_and_a_client_that_does_not_trust_the_ca_are_refused(target: Target) -> None:
    settings = target.settings
    plain = redis.Redis(host=settings.vip, port=settings.redis_port, password=settings.redis_password,
                        socket_timeout=5, socket_connect_timeout=5)
    with pytest.raises(redis.exceptions.ConnectionError):
        plain.ping()
    stranger = client_options(dataclasses.replace(settings, cluster_name=f"{settings.cluster_name}-other"))
    untrusting = redis.Redis(host=settings.vip, port=settings.redis_port, password=settings.redis_password,
                             socket_timeout=5, socket_connect_timeout=5, **stranger)
    with pytest.raises(redis.exceptions.ConnectionError, match="certificate verify failed"):
        untrusting.ping()


def test_replication_crosses_the_network_encrypted(target: Target) -> None:
    master = target.master()
    replica = target.other(master)
    replication = target.redis(replica.ip).info("replication")
    assert replication["role"] == "slave" and replication["master_link_status"] == "up"
    # Each NIC of the replica's VM has a tap device on the hypervisor: the bond uses one of them.
    taps = [line.split()[0] for line in target.virsh("domiflist", target.settings.domain_name(replica)).splitlines()
            if line.split()]
    marker = f"replicated-in-clear-{time.time()}"
    vip = target.redis()
    with captured(taps) as frames:
        for number in range(200):
            vip.set(f"e2e:tls:capture:{number}", marker)
        deadline = time.monotonic() + 30
        while target.redis(replica.ip).get("e2e:tls:capture:199") != marker:
            assert time.monotonic() < deadline, "the replica never got the writes"
            time.sleep(0.2)
    traffic = b"".join(frames)
    port = target.settings.redis_port.to_bytes(2, "big")
    print(f"e2e: captured {len(frames)} frames ({len(traffic):,} bytes) on {replica.name}'s taps {taps} "
          f"while 200 writes replicated; marker in clear: {marker.encode() in traffic}")
    # The capture saw the replication stream (frames from the master's Redis port)...
    assert sum(1 for frame in frames if port in frame[34:38]) > 0
    # ...and none of it in clear.
    assert marker.encode() not in traffic


@pytest.mark.long
def test_a_rotation_reaches_both_servers_without_a_pause_in_writes(cluster: Deployment, target: Target) -> None:
    settings = cluster.settings

    def presented(host: str) -> bytes:
        context = ssl.create_default_context(cadata=tls_material(settings).ca_certificate)
        with socket.create_connection((host, settings.redis_port), timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname=host) as tls:
            return tls.getpeercert(binary_form=True) or b""

    before = {node.name: presented(node.ip) for node in settings.nodes}
    rotation = str(settings.tls_rotation + 1)
    cluster.reconfigure(tlsRotation=rotation)
    rotated = tls_material(cluster.settings)
    with Writers(2, settings.vip, settings.redis_port, target.login(APPLICATION_USER), "rotation", 0.01) as writers:
        result, changes = cluster.up("tls rotation")
    gaps = longest_gaps(writers.log.acknowledged)
    after = {node.name: presented(node.ip) for node in settings.nodes}
    print(f"e2e: tlsRotation {rotation}: {result.summary.resource_changes}, {changes}; writes acknowledged "
          f"{len(writers.log.acknowledged)}, failed {len(writers.log.failed)}; longest gaps "
          f"{[round(gap, 2) for gap in gaps]}s")
    assert changes == {f"{node.name}-redis-clients": "update" for node in settings.nodes}
    for node in settings.nodes:
        assert after[node.name] != before[node.name]
        assert after[node.name] == x509.load_pem_x509_certificate(
            rotated.nodes[node.name].certificate.encode()).public_bytes(serialization.Encoding.DER)
    assert len(writers.log.failed) == 0 and gaps[0] < 5
    assert lost(writers.log.keys("acknowledged"), target.redis()) == []


@pytest.mark.long
def test_what_tls_costs_through_the_vip(cluster: Deployment, target: Target) -> None:
    """The drill's TLS benchmark on the session's stack: redis-benchmark through the VIP with
    TLS, then with the stack's tls switched off through the program, then on again."""
    result = compare_tls(cluster.stack, target, 20000, HEALTHY_TIMEOUT_S)
    print(f"e2e: TLS benchmark through the VIP: {result}")
    ratios = result["tls_over_plain"]
    assert isinstance(ratios, dict) and sorted(ratios) == ["GET", "SET"] and all(ratio > 0 for ratio in ratios.values())
    cluster.__dict__.pop("settings", None)
    assert cluster.settings.tls
    Target(cluster.settings, target.ssh_key).wait_healthy(HEALTHY_TIMEOUT_S)
