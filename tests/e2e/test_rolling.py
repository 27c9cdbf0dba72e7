"""Day-2 changes through the real engine. A change that replaces both VMs: the preview shows the
replica's VM replaced before the master's (in CI), and the rolling change itself under writes
through the VIP (`make test-long`: its own target, it takes longer than CI allows): one node
at a time, the write gap only the switchover's, no acknowledged write lost, a second up that
changes nothing. And a VM stopped by hand (also `make test-long`): `pulumi refresh` shows
it, the next up starts it and brings the node back without replacing anything."""

from __future__ import annotations

import json
import time

import pytest

from components.redis_users import APPLICATION_USER
from drill.target import Target
from drill.writer import Writers, longest_gaps, lost
from tests.e2e.conftest import HEALTHY_TIMEOUT_S, Deployment

REPLACED = ("delete-replaced", "replace", "create-replacement")


def replacement_order(events: list[str], resources: tuple[str, ...]) -> list[str]:
    """The resources among ``resources`` in the order the engine began replacing them."""
    seen: list[str] = []
    for line in events:
        pre = json.loads(line).get("resource_pre_event")
        if not pre:
            continue
        name = pre["metadata"]["urn"].rsplit("::", 1)[-1]
        if name in resources and pre["metadata"]["op"] in REPLACED and name not in seen:
            seen.append(name)
    return seen


@pytest.mark.long
def test_a_preview_of_a_memory_change_replaces_the_replica_first(cluster: Deployment, target: Target) -> None:
    master = target.master()
    replica = target.other(master)
    memory = cluster.config["memoryMib"]
    cluster.reconfigure(memoryMib=str(int(memory) + 256))
    try:
        start = len(cluster.events)
        _, changes = cluster.preview("preview of a memory change")
    finally:
        cluster.reconfigure(memoryMib=memory)
    domains = (f"{replica.name}-domain", f"{master.name}-domain")
    order = replacement_order(cluster.events[start:], domains)
    print(f"e2e: memory change preview: master {master.name}; domains replaced in the order {order}; "
          f"membership steps {[changes.get(f'{node.name}-membership') for node in (replica, master)]}")
    assert order == list(domains)
    # Each node's drain (the membership's delete) comes with its VM's replacement.
    assert changes[f"{replica.name}-membership"] in REPLACED and changes[f"{master.name}-membership"] in REPLACED


@pytest.mark.long
def test_a_vm_stopped_by_hand_shows_as_drift_and_the_next_up_brings_it_back_without_a_replacement(
        cluster: Deployment, target: Target) -> None:
    settings = cluster.settings
    master = target.master()
    replica = target.other(master)
    domain = settings.domain_name(replica)
    # As an operator would stop it: a clean shutdown, Pacemaker leaves the cluster on the way.
    target.ssh(replica, "sudo systemctl poweroff --no-block", timeout=60, check=False)
    deadline = time.monotonic() + 600
    while target.virsh("domstate", domain).strip() != "shut off":
        assert time.monotonic() < deadline, f"{domain} still {target.virsh('domstate', domain).strip()}"
        time.sleep(3)
    try:
        refreshed, drift = cluster.refresh("refresh after a VM was stopped")
        print(f"e2e: refresh after {replica.name}'s VM was stopped: {refreshed.summary.resource_changes}; "
              f"drift {drift}")
        assert list(drift) == [f"{replica.name}-domain"] and "running" in drift[f"{replica.name}-domain"]

        began = time.monotonic()
        with Writers(2, settings.vip, settings.redis_port, target.login(APPLICATION_USER), "restarted",
                     0.01) as writers:
            result, changes = cluster.up("up after a VM was stopped")
            target.wait_healthy(HEALTHY_TIMEOUT_S)
        took = time.monotonic() - began
    finally:
        # Whatever failed, the tests after this one get the node back, as an operator would.
        if target.virsh("domstate", domain).strip() != "running":
            target.virsh("start", domain)
            target.wait_ssh(replica, HEALTHY_TIMEOUT_S)
            target.ssh(replica, "sudo pcs cluster start --wait=600", timeout=700)
            # The state still says the VM is off: the next up would start it again.
            cluster.refresh("refresh after the stopped VM was started by hand")
    log = writers.log
    gaps = longest_gaps(log.acknowledged)
    missing = lost(log.keys("acknowledged"), target.redis())
    print(f"e2e: up after {replica.name}'s VM was stopped: {result.summary.resource_changes}, {changes}; whole again "
          f"after {took:.0f}s; writes acknowledged {len(log.acknowledged)}, failed {len(log.failed)}; longest gaps "
          f"{[round(gap, 2) for gap in gaps]}s; lost {len(missing)}")
    # The VM is started and the node brought back: nothing replaced, the master left alone.
    assert changes == {f"{replica.name}-domain": "update", f"{replica.name}-membership": "update"}
    assert missing == []
    assert gaps[0] < 5, gaps
    assert target.master() == master

    again, again_changes = cluster.up("second up after the stopped VM came back")
    print(f"e2e: second up after the stopped VM came back: {again.summary.resource_changes}")
    assert again_changes == {}


@pytest.mark.long
def test_a_memory_change_replaces_one_node_at_a_time_under_writes(cluster: Deployment, target: Target) -> None:
    master = target.master()
    replica = target.other(master)
    settings = cluster.settings
    cluster.reconfigure(memoryMib=str(int(cluster.config["memoryMib"]) + 256))
    start = len(cluster.events)
    began = time.monotonic()
    with Writers(2, settings.vip, settings.redis_port, target.login(APPLICATION_USER), "rolling", 0.01) as writers:
        result, changes = cluster.up("rolling memory change")
    took = time.monotonic() - began
    log = writers.log
    domains = (f"{replica.name}-domain", f"{master.name}-domain")
    order = replacement_order(cluster.events[start:], domains)
    gaps = longest_gaps(log.acknowledged)
    missing = lost(log.keys("acknowledged"), target.redis())
    new_master = target.master()
    print(f"e2e: rolling memory change: {result.summary.resource_changes} in {took:.0f}s; domains replaced in "
          f"the order {order}; writes acknowledged {len(log.acknowledged)}, failed {len(log.failed)}, unknown "
          f"{len(log.unknown)}; longest gaps {[round(gap, 2) for gap in gaps]}s; lost {len(missing)}; "
          f"master before {master.name}, after {new_master.name}")
    assert order == list(domains)
    assert changes[f"{replica.name}-domain"] in REPLACED and changes[f"{master.name}-domain"] in REPLACED
    assert missing == []
    # Writes pause once, for the switchover that drains the master's node; the replica's
    # replacement and both resyncs go unnoticed by clients of the VIP.
    assert gaps[1] < 5, gaps
    assert new_master == replica
    target.wait_healthy(HEALTHY_TIMEOUT_S)
    for node in settings.nodes:
        info = dict(line.split(":", 1) for line in target.virsh("dominfo", settings.domain_name(node)).splitlines()
                    if ":" in line)
        assert info["Max memory"].split() == [str(int(cluster.config["memoryMib"]) * 1024), "KiB"]

    again, again_changes = cluster.up("second up after the rolling change")
    print(f"e2e: second up after the rolling change: {again.summary.resource_changes}")
    assert again_changes == {}
