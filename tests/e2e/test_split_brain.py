"""Fencing on real VMs: a fence request power-cycles the VM, and a cut between the two nodes
ends with the replica fenced, never with two masters, and without losing an acknowledged write.

Runs last (the module name sorts after the others): both tests reboot a node.
"""

from __future__ import annotations

import time

import pytest

from drill.faults import boot_id, cut, heal, wait_for_reboot
from drill.roles import RoleWatch
from drill.target import Target
from drill.writer import ACKNOWLEDGED, Writer, lost
from lab import guests
from lab.cluster import Cluster

FENCE_TIMEOUT_S = 900
HEALTHY_TIMEOUT_S = 1200


@pytest.fixture
def target(cluster: Cluster) -> Target:
    target = Target(cluster.settings, guests.SSH_KEY)
    target.wait_healthy(HEALTHY_TIMEOUT_S)
    return target


def rejoin(target: Target, node_name: str) -> float:
    """Starts the cluster on a node that came back from fencing (nodes do not start it at boot)
    and returns how long the cluster took to be whole again."""
    target.ssh(target.node(node_name), "sudo pcs cluster start --wait=600", timeout=700)
    return target.wait_healthy(HEALTHY_TIMEOUT_S)


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


def test_partition_fences_the_replica_and_never_gives_two_masters(target: Target) -> None:
    settings = target.settings
    master = target.master()
    replica = target.other(master)
    before = {node.name: boot_id(target, node) for node in settings.nodes}
    with RoleWatch(settings.nodes, target.role) as watch, \
            Writer(settings.vip, settings.redis_port, settings.redis_password, f"e2e:cut:{time.time()}") as writer:
        time.sleep(3)
        cut(target, replica, master)
        cut(target, master, replica)
        fenced = wait_for_reboot(target, before, FENCE_TIMEOUT_S)
        time.sleep(3)
    print(f"e2e: partition: {fenced.name} fenced; {watch.rounds.summary()}; writes acknowledged "
          f"{len(writer.log.acknowledged)}, failed {len(writer.log.failed)}, longest gap "
          f"{writer.log.longest_gap():.2f}s")
    assert fenced == replica, "the master's node was fenced"
    assert boot_id(target, master) == before[master.name]
    assert len(watch.rounds.rounds) > 100
    assert watch.rounds.double_masters() == []
    assert target.role(master) == "master"
    # The VIP leads to the surviving master's own server.
    assert target.redis().info("server")["run_id"] == target.redis(master.ip).info("server")["run_id"]

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
