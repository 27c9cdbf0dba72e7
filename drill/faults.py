"""The faults a drill injects, each with the way back to a whole cluster. A fault returns the
node it hit and when it struck (wall clock: ours, or the node's for faults run over SSH, whose
login alone takes seconds on emulated guests); its recovery brings the cluster back as an
operator would."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass

from components.cloud_init import NIC_NAMES
from components.pcs_plan import REDIS_CLONE, REDIS_RESOURCE
from components.settings import Node
from drill.target import Target, redis_placements

# Documented in the README as the planned switchover: pcs 0.11 removes the location constraint
# it creates once the master role has moved.
SWITCHOVER = "sudo pcs resource move {clone} {node} --promoted --wait=600"
FENCE_TIMEOUT_S = 900
BOOT_ID = "cat /proc/sys/kernel/random/boot_id"
"""Changes with every boot: how a fenced (power-cycled) node is told apart."""


@dataclass(frozen=True)
class Hit:
    node: Node
    wall_time: float
    on_node_clock: bool
    """True when wall_time was read on the node (convert it with the node's clock offset)."""
    note: str = ""
    """What the fault saw on its way that the trial should report."""


def _on_node(target: Target, node: Node, command: str, timeout: float = 120) -> Hit:
    """Runs a command over SSH and takes the node's clock just before it."""
    stamped = target.ssh(node, f"date +%s.%N; {command}", timeout=timeout).stdout
    return Hit(node, float(stamped.split()[0]), on_node_clock=True)


def _local(node: Node, action: Callable[[], object]) -> Hit:
    struck = time.time()
    action()
    return Hit(node, struck, on_node_clock=False)


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable[[Target, Node, Node], Hit]
    """(target, master, replica) -> the node hit and when."""
    recover: Callable[[Target, Node], str | None]
    """(target, node hit) -> what the recovery had to do beyond the routine, for the trial's note."""
    writes_stop: bool
    """Whether writes are expected to pause (the drill then waits for them to resume)."""


KILL_REDIS = "sudo pkill -9 -x {process}"
CRASH_SPACING_S = 5.0
"""Between the two crashes of a double fault: less than a failover takes, so no instance has
been promoted (or restarted) in between."""
REPLICA_OUTAGE_S = 60.0
"""How long the master writes alone before it is lost too (a replica lost for hours, scaled down)."""
START_ALL = "sudo redis-ha-start-cluster"
"""The README's one command that brings the cluster back after a full outage, from either node
(waits for both pcsd, then `pcs cluster start --all`, waiting up to 900 s)."""
REFUSE_S = 30.0
"""How long the stale node, alone, is watched not serving."""


def _kill_redis(target: Target, master: Node, _replica: Node) -> Hit:
    return _on_node(target, master, KILL_REDIS.format(process=target.settings.server.process))


def _crash_both(target: Target, first: Node, second: Node) -> tuple[Hit, Hit]:
    """kill -9 of Redis on ``first``, then CRASH_SPACING_S later on ``second``."""
    started = time.monotonic()
    kill = KILL_REDIS.format(process=target.settings.server.process)
    first_hit = _on_node(target, first, kill)
    time.sleep(max(0.0, CRASH_SPACING_S - (time.monotonic() - started)))
    return first_hit, _on_node(target, second, kill)


def _replica_then_master_crash(target: Target, master: Node, replica: Node) -> Hit:
    # Writes stop with the master's crash: the replica's came first and went unnoticed by writers.
    return _crash_both(target, replica, master)[1]


def _master_then_replica_crash(target: Target, master: Node, replica: Node) -> Hit:
    return _crash_both(target, master, replica)[0]


def _new_master_crash(target: Target, master: Node, replica: Node) -> Hit:
    """The master crashes, the replica takes over, and the new master crashes too while the old one
    is still banned (migration-threshold) and not back."""
    kill = KILL_REDIS.format(process=target.settings.server.process)
    hit = _on_node(target, master, kill)
    deadline = time.monotonic() + 900
    while target.role(replica) != "master" or target.run_id() != target.run_id(replica):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{replica.name} did not take over from {master.name} within 900s")
        time.sleep(0.5)
    _on_node(target, replica, kill)
    return hit


def _cleanup_redis(target: Target, node: Node) -> None:
    # migration-threshold bans the crashed instance from its node until its failure is cleared.
    target.ssh(node, f"sudo pcs resource cleanup {REDIS_RESOURCE}")


def _destroy(target: Target, node: Node) -> Hit:
    return _local(node, lambda: target.virsh("destroy", target.settings.domain_name(node)))


def _start_vm(target: Target, node: Node) -> None:
    # With fencing, the survivor's fence (a reboot) may have started the destroyed VM already.
    if target.virsh("domstate", target.settings.domain_name(node)).strip() != "running":
        target.virsh("start", target.settings.domain_name(node))
    target.wait_ssh(node, 900)


FAILED_START_WAIT_S = 900
"""How long a rejoined node's Redis is watched for having started, or failed to, there."""


def redis_runs_on(status: ET.Element, node: Node) -> bool:
    """Whether crm_mon shows Redis Promoted or Unpromoted on ``node``."""
    return any(role in ("Promoted", "Unpromoted") and placed == node.name for role, placed in redis_placements(status))


def failed_start(status: ET.Element, node: Node) -> str | None:
    """Why Redis's start on ``node`` failed, while crm_mon records that failure; None otherwise."""
    for failure in status.iter("failure"):
        resource = str(failure.get("op_key")).rsplit("_", 2)[0]
        if failure.get("node") == node.name and failure.get("task") == "start" and resource == REDIS_RESOURCE:
            return f"{failure.get('status')}: {failure.get('exitreason') or failure.get('exitstatus')}"
    return None


def start_cluster(target: Target, node: Node) -> str:
    """The node's cluster services started; then, once its Redis runs or has failed to start, that
    failure cleared as an operator would. The recipe's stock settings never retry a failed start
    (start-failure-is-fatal, no failure-timeout): without the cleanup a drill of them would wait
    out HEALTHY_TIMEOUT_S on a cluster left without its replica (2026-12-07, three trials of four)."""
    # Nodes do not start the cluster at boot by default (startClusterAtBoot: an operator looks first).
    target.ssh(node, "sudo pcs cluster start --wait=600", timeout=700)
    deadline = time.monotonic() + FAILED_START_WAIT_S
    while time.monotonic() < deadline:
        status = target.status()
        if status is not None:
            if redis_runs_on(status, node):
                return ""
            reason = failed_start(status, node)
            if reason is not None:
                _cleanup_redis(target, node)
                return f"Redis failed to start on the rejoined {node.name} ({reason}): the drill ran pcs resource cleanup"
        time.sleep(2)
    return ""


def _restart_vm(target: Target, node: Node) -> str:
    _start_vm(target, node)
    return start_cluster(target, node)


def _switchover(target: Target, master: Node, replica: Node) -> Hit:
    return _on_node(target, master, SWITCHOVER.format(clone=REDIS_CLONE, node=replica.name), timeout=700)


def _active_nic(target: Target, node: Node) -> str:
    bond = target.ssh(node, "cat /proc/net/bonding/bond0").stdout
    return next(line.split(":", 1)[1].strip() for line in bond.splitlines() if line.startswith("Currently Active"))


def _bond_link_down(target: Target, master: Node, _replica: Node) -> Hit:
    active = _active_nic(target, master)
    hit = _local(master, lambda: target.virsh("domif-setlink", target.settings.domain_name(master),
                                              master.macs[NIC_NAMES.index(active)], "down"))
    deadline = time.monotonic() + 60
    while _active_nic(target, master) == active:
        if time.monotonic() > deadline:
            raise TimeoutError(f"bond on {master.name} did not leave {active} within 60s")
        time.sleep(0.5)
    return hit


def _bond_links_up(target: Target, node: Node) -> None:
    for mac in node.macs:
        target.virsh("domif-setlink", target.settings.domain_name(node), mac, "up")


def boot_id(target: Target, node: Node) -> str:
    return target.ssh(node, BOOT_ID, timeout=60).stdout.strip()


def cut(target: Target, node: Node, peer: Node) -> Hit:
    """Drops everything between ``node`` and ``peer`` inside ``node`` (both stay up and keep
    answering everyone else: clients, the hypervisor, this drill)."""
    return _on_node(target, node, f"sudo iptables -I INPUT -s {peer.ip} -j DROP && "
                                  f"sudo iptables -I OUTPUT -d {peer.ip} -j DROP")


def heal(target: Target, node: Node, peer: Node) -> None:
    target.ssh(node, f"while sudo iptables -D INPUT -s {peer.ip} -j DROP 2>/dev/null; do :; done; "
                     f"while sudo iptables -D OUTPUT -d {peer.ip} -j DROP 2>/dev/null; do :; done")


def wait_for_reboot(target: Target, boot_ids: dict[str, str], timeout_s: float) -> Node:
    """The first node found answering SSH with a new boot id."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for node in target.settings.nodes:
            answer = target.answer(node, BOOT_ID)
            if answer is not None and answer.strip() != boot_ids[node.name]:
                return node
        time.sleep(1)
    raise TimeoutError(f"no node was fenced within {timeout_s:.0f}s")


def _partition(target: Target, master: Node, replica: Node) -> Hit:
    """Cuts the nodes apart on both sides (so the cut outlives the reboot of either one) and
    returns once a node has been fenced and is back: that node is the one hit."""
    boot_ids = {node.name: boot_id(target, node) for node in target.settings.nodes}
    struck = cut(target, replica, master)
    cut(target, master, replica)
    fenced = wait_for_reboot(target, boot_ids, FENCE_TIMEOUT_S)
    return Hit(fenced, struck.wall_time, struck.on_node_clock)


def _power_cut(back_first: str) -> Callable[[Target, Node, Node], Hit]:
    """Both VMs lost within a second (replica, then master), started again one after the other
    (``back_first`` is "master" or "replica"), and the cluster started with the README's one
    command from the node that came back first."""

    def inject(target: Target, master: Node, replica: Node) -> Hit:
        hit = _local(master, lambda: (target.virsh("destroy", target.settings.domain_name(replica)),
                                      target.virsh("destroy", target.settings.domain_name(master))))
        order = (master, replica) if back_first == "master" else (replica, master)
        for node in order:
            _start_vm(target, node)
        target.ssh(order[0], START_ALL, timeout=1000)
        return hit

    return inject


def _stale_node_refuses(target: Target, stale: Node) -> str:
    """Starts the cluster on the stale node alone and watches that nothing serves: no master on it
    and no VIP. Returns what was seen, for the trial's note."""
    target.ssh(stale, "sudo pcs cluster start", timeout=600)
    served = []
    deadline = time.monotonic() + REFUSE_S
    while time.monotonic() < deadline:
        if target.role(stale) == "master":
            served.append(f"{stale.name} master")
        if target.run_id() is not None:
            served.append("VIP answered")
        time.sleep(1)
    if served:
        return f"STALE NODE SERVED: {sorted(set(served))}"
    return f"{stale.name} alone refused to serve for {REFUSE_S:.0f}s"


def wait_fenced(target: Target, survivor: Node, lost: Node, timeout_s: float) -> None:
    """Until the survivor's cluster has fenced ``lost``: offline and no longer unclean."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        answer = target.ssh(survivor, "sudo crm_mon --output-as=xml", timeout=60, check=False)
        if answer.returncode == 0:
            state = next((node for node in ET.fromstring(answer.stdout).iter("node")
                          if node.get("name") == lost.name and node.get("type") == "member"), None)
            if state is not None and state.get("online") == "false" and state.get("unclean") == "false":
                return
        time.sleep(1)
    raise TimeoutError(f"{survivor.name} did not fence {lost.name} within {timeout_s:.0f}s")


def _replica_outage_then_master_lost(target: Target, master: Node, replica: Node) -> Hit:
    """The replica's VM is lost and the master goes on alone once it has fenced it; the replica's
    VM is started again, out of the cluster (fence_xvm's reboot of a domain that is already off
    leaves it off: the operator or the hypervisor starts it); REPLICA_OUTAGE_S of writes later
    the master's VM is lost too. The stale replica's cluster is started first and must not serve;
    then the master's VM comes back and the README's one command, run on the former replica,
    brings the cluster back."""
    _destroy(target, replica)
    wait_fenced(target, master, replica, FENCE_TIMEOUT_S)
    _start_vm(target, replica)
    time.sleep(REPLICA_OUTAGE_S)
    hit = _destroy(target, master)
    refused = _stale_node_refuses(target, replica)
    _start_vm(target, master)
    target.ssh(replica, START_ALL, timeout=1000)
    return Hit(hit.node, hit.wall_time, hit.on_node_clock, note=refused)


def _rejoin(target: Target, fenced: Node) -> str:
    # The fenced node rebooted without its rules; the survivor still drops its traffic.
    heal(target, target.other(fenced), fenced)
    return start_cluster(target, fenced)


FAULTS = {fault.name: fault for fault in (
    Fault("redis-crash", _kill_redis, _cleanup_redis, writes_stop=True),
    Fault("master-vm-destroyed", lambda target, master, _replica: _destroy(target, master), _restart_vm,
          writes_stop=True),
    Fault("switchover", _switchover, lambda _target, _node: None, writes_stop=True),
    Fault("replica-vm-destroyed", lambda target, _master, replica: _destroy(target, replica), _restart_vm,
          writes_stop=False),
    Fault("bond-link-down", _bond_link_down, _bond_links_up, writes_stop=False),
    Fault("partition", _partition, _rejoin, writes_stop=False),
    # Double faults and full outages: the promoted instance must hold every acknowledged write.
    Fault("replica-then-master-crash", _replica_then_master_crash, _cleanup_redis, writes_stop=True),
    Fault("master-then-replica-crash", _master_then_replica_crash, _cleanup_redis, writes_stop=True),
    Fault("new-master-crash", _new_master_crash, _cleanup_redis, writes_stop=True),
    Fault("power-cut-master-back-first", _power_cut("master"), lambda _target, _node: None, writes_stop=True),
    Fault("power-cut-replica-back-first", _power_cut("replica"), lambda _target, _node: None, writes_stop=True),
    Fault("replica-outage-then-master-lost", _replica_outage_then_master_lost, lambda _target, _node: None,
          writes_stop=True),
)}
