"""Fencing on real VMs: a fence request power-cycles the VM, and a cut between the two nodes
ends with the replica fenced, never with two masters, and without losing an acknowledged write.

These tests reboot a node. The last one switches the quorum device on (`pulumi up` with a changed
configuration) for a partition under it, and off again.
"""

from __future__ import annotations

import re
import time

import pytest

from components.redis_users import redis_options
from components.settings import Node
from drill.faults import boot_id, cut, heal, wait_for_reboot
from drill.roles import RoleWatch
from drill.target import Target
from drill.writer import ACKNOWLEDGED, Writer, lost
from lab import guests
from tests.e2e.conftest import HEALTHY_TIMEOUT_S, Deployment

FENCE_TIMEOUT_S = 900


def rejoin(target: Target, node_name: str) -> float:
    """Starts the cluster on a node that came back from fencing (nodes do not start it at boot)
    and returns how long the cluster took to be whole again."""
    target.ssh(target.node(node_name), "sudo pcs cluster start --wait=600", timeout=700)
    return target.wait_healthy(HEALTHY_TIMEOUT_S)


@pytest.mark.long
def test_pcs_stonith_fence_power_cycles_the_vm(target: Target) -> None:
    master = target.master()
    replica = target.other(master)
    before = {node.name: boot_id(target, node) for node in target.settings.nodes}
    started = time.monotonic()
    target.ssh(master, f"sudo pcs stonith fence {replica.name}", timeout=600)
    fenced = wait_for_reboot(target, before, FENCE_TIMEOUT_S)
    print(f"e2e: pcs stonith fence {replica.name}: back over SSH with a new boot id after "
          f"{time.monotonic() - started:.0f}s")
    assert fenced == replica
    assert boot_id(target, master) == before[master.name]
    print(f"e2e: {replica.name} rejoined, cluster whole after {rejoin(target, replica.name):.0f}s")


@pytest.mark.long
def test_partition_fences_the_replica_and_never_gives_two_masters(target: Target) -> None:
    partition_fences_the_replica(target, "partition")


def partition_fences_the_replica(target: Target, label: str) -> Node:
    """Cuts the two nodes apart while writing through the VIP and checks the outcome: the
    replica fenced, never two masters, the VIP on the surviving master, no acknowledged write
    lost, the replica back with the master's data. Returns the master."""
    settings = target.settings
    master = target.master()
    replica = target.other(master)
    before = {node.name: boot_id(target, node) for node in settings.nodes}
    with RoleWatch(settings.nodes, target.role) as watch, \
            Writer(settings.vip, settings.redis_port, redis_options(settings), f"e2e:cut:{time.time()}") as writer:
        time.sleep(3)
        cut(target, replica, master)
        cut(target, master, replica)
        fenced = wait_for_reboot(target, before, FENCE_TIMEOUT_S)
        time.sleep(3)
    print(f"e2e: {label}: {fenced.name} fenced; {watch.rounds.summary()}; writes acknowledged "
          f"{len(writer.log.acknowledged)}, failed {len(writer.log.failed)}, longest gap "
          f"{writer.log.longest_gap():.2f}s")
    assert fenced == replica, "the master's node was fenced"
    assert boot_id(target, master) == before[master.name]
    assert len(watch.rounds.rounds) > 100
    assert watch.rounds.double_masters() == []
    assert target.role(master) == "master"
    # The VIP leads to the surviving master's own server.
    assert target.run_id() == target.run_id(master) is not None

    heal(target, master, replica)
    print(f"e2e: {replica.name} rejoined, cluster whole after {rejoin(target, replica.name):.0f}s")
    vip = target.redis()
    assert lost(writer.log.keys(ACKNOWLEDGED), vip) == []
    # The returned node is a replica holding the master's data.
    marker = f"e2e:after-cut:{time.time()}"
    vip.set(marker, "1")
    replica_redis = target.redis(replica.ip)
    deadline = time.monotonic() + 60
    while replica_redis.get(marker) != "1" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert target.role(replica) == "slave"
    assert replica_redis.get(marker) == "1"
    assert replica_redis.dbsize() == vip.dbsize()
    return master


def quorum(target: Target, node: Node) -> dict[str, str]:
    """`corosync-quorumtool -s` on the node: its "Key: value" lines, plus "Members": each member
    line's qdevice state and name."""
    status = target.ssh(node, "sudo corosync-quorumtool -s", timeout=120, check=False).stdout
    fields = {key.strip(): value.strip() for key, _, value in
              (line.partition(":") for line in status.splitlines() if ":" in line)}
    members = [line.split() for line in status.splitlines() if line.strip()[:1].isdigit() and len(line.split()) >= 3]
    fields["Members"] = " ".join(",".join(parts[2:]) for parts in members)
    return fields


def qdevice_journal(target: Target, node: Node) -> str:
    """corosync-qdevice's unit state and its journal since boot on the node, for a failure's message."""
    return target.ssh(node, "systemctl status --no-pager corosync-qdevice; "
                      "sudo journalctl -b --no-pager -o short-monotonic -u corosync-qdevice | tail -n 60",
                      check=False).stdout


def reported(cluster: Deployment, since: int, name: str) -> list[str]:
    """What the engine printed for one resource since output line ``since``: its script's report
    lines ("changed: ..." / "no change: ...")."""
    return [line for line in cluster.output[since:]
            if f" {name} " in line and ("changed:" in line or "no change:" in line)]


@pytest.mark.long
def test_quorum_device_switched_on_decides_a_split_for_the_master_and_off_again(cluster: Deployment) -> None:
    """`pulumi up` with quorumDevice hypervisor on the running cluster (the engine runs only what
    that changes), a second `pulumi up` that changes nothing, a partition under the device, and
    `pulumi up` without it again."""
    target = Target(cluster.settings, guests.SSH_KEY)
    device_steps = {"qnetd-daemon", "cluster-quorum-device", "redis-1-qdevice", "redis-2-qdevice"}
    boot_steps = {"cluster-redis-1-boot": "update", "cluster-redis-2-boot": "update"}
    try:
        cluster.reconfigure(quorumDevice="hypervisor")
        since = len(cluster.output)
        _, changes = cluster.up("quorum device on")
        # Only the device's steps (and its component) are created, and the boot steps (which now
        # cover corosync-qdevice) updated.
        assert changes == {"qnetd": "create", **dict.fromkeys(device_steps, "create"), **boot_steps}
        for name in device_steps:
            assert any("changed:" in line for line in reported(cluster, since, name)), name
        target.wait_healthy(HEALTHY_TIMEOUT_S)
        for node in target.settings.nodes:
            status = quorum(target, node)
            print(f"e2e: quorum on {node.name}: {status}")
            assert status["Quorate"] == "Yes"
            assert status["Expected votes"] == "3" and status["Total votes"] == "3"
            assert "Qdevice" in status["Flags"] and "2Node" not in status["Flags"]
        qnetd = guests.run("corosync-qnetd-tool", "-l", "-c", cluster.settings.cluster_name).stdout
        print(f"e2e: qnetd: {qnetd}")
        # Both nodes connected over TLS and counted; the heuristic passes on the VIP's node only.
        assert len(re.findall(r"Vote:.*\(ACK\)", qnetd)) == 2
        master = target.master()
        heuristics = dict(re.findall(r"Node ID (\d+):.*?Heuristics:\s+(\w+)", qnetd, re.S))
        # pcs numbers the nodes in the order the program lists them.
        assert heuristics == {str(number): "Pass" if node == master else "Fail"
                              for number, node in enumerate(target.settings.nodes, start=1)}
        assert target.ssh(master, "/usr/local/sbin/redis-ha-holds-vip", check=False).returncode == 0
        assert target.ssh(target.other(master), "/usr/local/sbin/redis-ha-holds-vip", check=False).returncode == 1

        _, again = cluster.up("quorum device on, second up")
        assert again == {}

        partition_fences_the_replica(target, "partition with quorum device")
        # The fenced node, back in the cluster, counts the device's vote again too.
        for node in target.settings.nodes:
            status = quorum(target, node)
            print(f"e2e: quorum on {node.name} after the partition: {status}")
            assert status["Quorate"] == "Yes" and "Qdevice" in status["Flags"], qdevice_journal(target, node)
            assert status["Total votes"] == "3", qdevice_journal(target, node)
    finally:
        cluster.reconfigure(quorumDevice="none")
        since = len(cluster.output)
        _, changes = cluster.up("quorum device off")
    assert changes == {"qnetd": "delete", **dict.fromkeys(device_steps, "delete"), **boot_steps}
    for name in device_steps:
        assert any("changed:" in line for line in reported(cluster, since, name)), name
    for node in cluster.settings.nodes:
        status = quorum(target, node)
        assert "2Node" in status["Flags"] and "Qdevice" not in status["Flags"]
        assert status["Quorate"] == "Yes"
        state = target.ssh(node, "systemctl is-active corosync-qdevice", check=False).stdout.strip()
        assert state == "inactive", qdevice_journal(target, node)
    assert guests.run("corosync-qnetd-tool", "-s", check=False).returncode != 0
    target.wait_healthy(HEALTHY_TIMEOUT_S)
