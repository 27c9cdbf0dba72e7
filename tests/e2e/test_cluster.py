"""The cluster `pulumi up` builds, checked on real VMs: shape, Redis through the VIP, failovers,
and a second `pulumi up` that changes nothing."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest
import redis

from components.cloud_init import NIC_NAMES
from components.redis_users import ADMIN_USER, APPLICATION_USER, redis_options
from components.settings import Node
from components.tls import client_options
from drill.__main__ import run_trial
from drill.faults import FAULTS
from drill.target import Target
from drill.writer import ACKNOWLEDGED, Writer, lost
from lab import guests
from monitoring.status import ClusterStatus, read, render
from tests.e2e.conftest import Deployment, MetricsWatch, scrape_targets


def crm_status(cluster: Deployment) -> ET.Element:
    return ET.fromstring(cluster.ssh(cluster.settings.nodes[0], "sudo crm_mon --output-as=xml"))


@pytest.mark.matrix
def test_cloud_init_configured_both_nodes_without_errors(cluster: Deployment) -> None:
    ready = [line for line in cluster.output if "-wait created" in line]
    assert len(ready) == 2 and all("ready: cloud-init done on" in line for line in ready), ready


@pytest.mark.matrix
def test_both_nodes_online(cluster: Deployment) -> None:
    nodes = {node.get("name"): node.get("online") for node in crm_status(cluster).iter("node") if node.get("online")}
    assert nodes == {"redis-1": "true", "redis-2": "true"}


@pytest.mark.matrix
def test_one_promoted_one_unpromoted_and_vip_on_the_promoted(cluster: Deployment) -> None:
    status = crm_status(cluster)
    clone = next(c for c in status.iter("clone") if c.get("id") == "redis-clone")
    roles = {str(r.find("node").get("name")): str(r.get("role")) for r in clone.iter("resource")}  # type: ignore[union-attr]
    assert sorted(roles.values()) == ["Promoted", "Unpromoted"], roles
    vip = next(r for r in status.iter("resource") if r.get("id") == "vip")
    assert vip.get("role") == "Started"
    assert roles[str(vip.find("node").get("name"))] == "Promoted"  # type: ignore[union-attr]


@pytest.mark.matrix
def test_constraints_as_specified(cluster: Deployment) -> None:
    constraints = cluster.ssh(cluster.settings.nodes[0], "sudo cibadmin --query --scope constraints")
    root = ET.fromstring(constraints)
    colocation = root.find("rsc_colocation")
    order = root.find("rsc_order")
    assert colocation is not None and order is not None, constraints
    assert (colocation.get("rsc"), colocation.get("with-rsc"), colocation.get("with-rsc-role"),
            colocation.get("score")) == ("vip", "redis-clone", "Promoted", "INFINITY")
    assert (order.get("first"), order.get("first-action"), order.get("then"), order.get("then-action")) == (
        "redis-clone", "promote", "vip", "start")


def test_corosync_two_node(cluster: Deployment) -> None:
    for node in cluster.settings.nodes:
        assert "quorum.two_node (u8) = 1" in cluster.ssh(node, "sudo corosync-cmapctl quorum.two_node")


def test_bond_is_active_backup_over_both_nics(cluster: Deployment) -> None:
    for node in cluster.settings.nodes:
        bond = cluster.ssh(node, "cat /proc/net/bonding/bond0")
        assert "Bonding Mode: fault-tolerance (active-backup)" in bond
        slaves = sorted(line.split(":", 1)[1].strip() for line in bond.splitlines() if line.startswith("Slave Interface"))
        assert slaves == ["nic0", "nic1"]


def client(cluster: Deployment, host: str | None = None, user: str | None = ADMIN_USER) -> redis.Redis:
    """A client of the VIP (or ``host``) logged in as ``user`` (None: not logged in)."""
    settings = cluster.settings
    login = redis_options(settings, user) if user else client_options(settings)
    return redis.Redis(host=host or settings.vip, port=settings.redis_port, socket_timeout=5, decode_responses=True,
                       **login)


def role(connection: redis.Redis) -> str:
    return str(connection.execute_command("ROLE")[0])  # type: ignore[no-untyped-call]


def node_with_role(cluster: Deployment, wanted: str) -> Node:
    """The node whose Redis answers ROLE with `wanted` (master or slave)."""
    return next(n for n in cluster.settings.nodes if role(client(cluster, n.ip)) == wanted)


@pytest.mark.matrix
def test_redis_requires_auth_on_the_vip(cluster: Deployment) -> None:
    with pytest.raises(redis.exceptions.AuthenticationError):
        client(cluster, user=None).set("e2e:noauth", "x")


@pytest.mark.matrix
def test_write_through_the_vip_reaches_the_replica(cluster: Deployment) -> None:
    assert role(client(cluster)) == "master"
    vip = client(cluster, user=APPLICATION_USER)
    value = f"written-{time.time()}"
    assert vip.set("e2e:key", value)
    assert vip.get("e2e:key") == value
    replica = client(cluster, node_with_role(cluster, "slave").ip)
    deadline = time.monotonic() + 30
    while replica.get("e2e:key") != value and time.monotonic() < deadline:
        time.sleep(0.2)
    assert replica.get("e2e:key") == value


@pytest.mark.long
def test_bond_failover_loses_no_acknowledged_write(cluster: Deployment) -> None:
    settings = cluster.settings
    master = node_with_role(cluster, "master")
    domain = settings.domain_name(master)

    def active_nic() -> str:
        bond = cluster.ssh(master, "cat /proc/net/bonding/bond0")
        return next(line.split(":", 1)[1].strip() for line in bond.splitlines() if line.startswith("Currently Active"))

    before = active_nic()
    mac = master.macs[NIC_NAMES.index(before)]
    with Writer(settings.vip, settings.redis_port, redis_options(settings), f"e2e:bond:{time.time()}") as writer:
        time.sleep(3)
        guests.virsh("domif-setlink", domain, mac, "down")
        try:
            deadline = time.monotonic() + 30
            while active_nic() == before and time.monotonic() < deadline:
                time.sleep(0.5)
            after = active_nic()
            time.sleep(3)
        finally:
            guests.virsh("domif-setlink", domain, mac, "up")
        time.sleep(3)
    missing = lost(writer.log.keys(ACKNOWLEDGED), client(cluster))
    print(f"e2e: bond failover on {master.name}: {before} -> {after}; writes acknowledged "
          f"{len(writer.log.acknowledged)}, failed {len(writer.log.failed)}, longest gap "
          f"{writer.log.longest_gap():.2f}s, acknowledged writes lost {len(missing)}")
    assert after != before
    assert len(writer.log.acknowledged) > 100
    assert missing == []


def roles_by_node(cluster: Deployment) -> dict[str, str]:
    clone = next(c for c in crm_status(cluster).iter("clone") if c.get("id") == "redis-clone")
    return {str(r.find("node").get("name")): str(r.get("role"))  # type: ignore[union-attr]
            for r in clone.iter("resource") if r.get("role") in ("Promoted", "Unpromoted")}


def promotion_scores(cluster: Deployment) -> dict[str, str]:
    """The redis agent's promotion score (master-redis) per node that has one."""
    status = ET.fromstring(cluster.ssh(cluster.settings.nodes[0], "sudo crm_mon --output-as=xml --include=attributes"))
    return {str(node.get("name")): str(attribute.get("value")) for node in status.iterfind("node_attributes/node")
            for attribute in node if attribute.get("name") == "master-redis"}


def promoted(status: ClusterStatus) -> list[str]:
    """The nodes whose Redis Pacemaker has promoted, as the hacluster exporter reports it."""
    return [node.name for node in status.nodes if node.promoted_by_pacemaker]


@pytest.mark.matrix
@pytest.mark.long
def test_redis_crash_on_the_master_loses_no_acknowledged_write(cluster: Deployment) -> None:
    settings = cluster.settings
    master = node_with_role(cluster, "master")
    before = read(scrape_targets(cluster))
    print(f"e2e: the exporters before the crash:\n{render(before)}")
    assert before.master == master.name
    assert promoted(before) == [master.name]
    with MetricsWatch(scrape_targets(cluster)) as metrics, \
            Writer(settings.vip, settings.redis_port, redis_options(settings), f"e2e:crash:{time.time()}") as writer:
        time.sleep(3)
        cluster.ssh(master, f"sudo pkill -9 -x {settings.server.process}")
        # Taken once pkill has returned: any write acknowledged later was served by a
        # recovered master, not by the one being killed while ssh was still connecting.
        crashed_at = time.monotonic()
        deadline = crashed_at + 600
        while time.monotonic() < deadline and not (writer.log.acknowledged and writer.log.acknowledged[-1] > crashed_at):
            time.sleep(0.5)
        time.sleep(3)
    missing = lost(writer.log.keys(ACKNOWLEDGED), client(cluster))
    recovered = role(client(cluster)) == "master"
    print(f"e2e: redis crash on {master.name}: writes acknowledged {len(writer.log.acknowledged)}, failed "
          f"{len(writer.log.failed)}, write gap {writer.log.longest_gap():.1f}s, acknowledged writes lost {len(missing)}")
    assert recovered
    assert missing == []
    assert writer.log.acknowledged[-1] > crashed_at, "no write succeeded after the crash"

    # The crashed instance is banned by migration-threshold until its failure is cleared:
    # clear it, as an operator would, and wait for the replica to be back.
    cluster.ssh(master, "sudo pcs resource cleanup redis")
    deadline = time.monotonic() + 600
    while sorted(roles_by_node(cluster).values()) != ["Promoted", "Unpromoted"] and time.monotonic() < deadline:
        time.sleep(3)
    assert sorted(roles_by_node(cluster).values()) == ["Promoted", "Unpromoted"]

    # The exporters showed it: the crashed master's Redis not master, Pacemaker promoting the other.
    views = [(when - crashed_at, status.master, promoted(status))
             for when, status in metrics.seen]
    print(f"e2e: the exporters through the crash (s after it, Redis master, Pacemaker's promoted): "
          f"{[view for index, view in enumerate(views) if index == 0 or view[1:] != views[index - 1][1:]]}")
    assert any(when > 0 and redis_master != master.name for when, redis_master, _ in views)
    other = next(node.name for node in settings.nodes if node != master)

    deadline = time.monotonic() + 300
    after = read(scrape_targets(cluster))
    while not (after.master == other and promoted(after) == [other]
               and after.nodes[settings.nodes.index(master)].master_link_up) and time.monotonic() < deadline:
        time.sleep(2)
        after = read(scrape_targets(cluster))
    print(f"e2e: the exporters once the crashed node is back:\n{render(after)}")
    assert after.master == other and promoted(after) == [other]
    assert after.nodes[settings.nodes.index(master)].master_link_up is True
    # The promotion alert gave the new master the higher score: the agent alone would have left
    # it the 1 it got as a replica, and a later move of the master back would bounce.
    scores = promotion_scores(cluster)
    print(f"e2e: promotion scores once the crashed node is back: {scores}")
    assert scores == {other: "1000", master.name: "1"}


@pytest.mark.matrix
@pytest.mark.long
def test_losing_the_masters_vm_loses_no_acknowledged_write(cluster: Deployment) -> None:
    """The master's VM destroyed under writes: the replica fences it and takes over; the VM is
    started again and rejoins as an operator would (drill fault master-vm-destroyed)."""
    target = Target(cluster.settings, guests.SSH_KEY)
    target.wait_healthy(1200)
    master = target.master()
    trial = run_trial(target, FAULTS["master-vm-destroyed"], 1, writers=2, interval_s=0.01)
    print(f"e2e: master VM {master.name} destroyed: master after {trial.master_after}, write gap "
          f"{trial.write_gap_s:.1f}s, acknowledged {trial.acknowledged}, lost {len(trial.lost)}, steps {trial.steps}")
    assert trial.master_after == target.other(master).name
    assert trial.lost == [] and trial.double_master_rounds == 0


@pytest.mark.matrix
def test_second_up_changes_nothing(cluster: Deployment) -> None:
    result, changes = cluster.up("second up")
    print(f"e2e: second up: {result.summary.resource_changes}")
    assert changes == {}
    assert set(result.summary.resource_changes or {}) == {"same"}
