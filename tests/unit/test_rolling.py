"""Replacing VMs one node at a time: the order the program derives from the running cluster, how
it wires the second VM behind the first node's return, and the scripts that take a node out of
the cluster and bring it back (run in a sandboxed node against stand-in commands)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pulumi
import pytest

from components.host_keys import node_host_key
from components.redis_users import admin_password
from components.rolling import ClusterState, parse_cluster_master, rejoin_requests, replacement_order
from components.settings import ConfigError, Settings, deployed_identity, refuse_identity_change
from tests.program_recorder import ROOT, Program, resolved, run_program, secret
from tests.unit.conftest import HACLUSTER_PASSWORD, PRIVATE_KEY, REDIS_PASSWORD
from tests.unit.sandbox import Node

VM_PARTS = ("disk", "cloudinit", "data", "domain")


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    node = Node(tmp_path)
    yield node
    node.end()


def program_when(config: dict[str, str], monkeypatch: pytest.MonkeyPatch, cluster_says: str) -> Program:
    monkeypatch.chdir(ROOT)
    return run_program(config, monkeypatch, cluster_says=cluster_says)


# -- the order (pure) --------------------------------------------------------------------------

@pytest.mark.parametrize(("says", "state"), [
    ("master redis-2\n", ClusterState(answered=True, master="redis-2")),
    ("no master\n", ClusterState(answered=True, master=None)),
    ("no node (redis-1: No route to host; redis-2: No route to host)\n",
     ClusterState(answered=False, master=None, unanswered="redis-1: No route to host; redis-2: No route to host")),
    ("", ClusterState(answered=False, master=None)),
    ("master redis-2\nout redis-1\n", ClusterState(answered=True, master="redis-2", out=("redis-1",))),
    ("no master\nout redis-1\nout redis-2\n", ClusterState(answered=True, master=None, out=("redis-1", "redis-2"))),
])
def test_what_the_nodes_said_is_read(says: str, state: ClusterState) -> None:
    assert parse_cluster_master(says) == state


def test_a_node_out_of_the_cluster_is_asked_back_once(settings: Settings) -> None:
    out = ClusterState(True, "redis-2", out=("redis-1",))
    assert rejoin_requests(settings.nodes, out, {}, "T2") == {"redis-1": "T2"}
    # The next up finds it back: the request stays as exported, so nothing changes.
    assert rejoin_requests(settings.nodes, ClusterState(True, "redis-2"), {"redis-1": "T2"}, "T3") == {"redis-1": "T2"}
    # Out again later: a new request.
    assert rejoin_requests(settings.nodes, out, {"redis-1": "T2"}, "T4") == {"redis-1": "T4"}
    assert rejoin_requests(settings.nodes, ClusterState(False, None), {}, "T5") == {}


def test_the_replica_is_replaced_first_and_a_new_stack_has_no_order(settings: Settings) -> None:
    first, second = settings.nodes
    assert replacement_order(settings.nodes, ClusterState(True, "redis-1")) == (second, first)
    assert replacement_order(settings.nodes, ClusterState(True, "redis-2")) == (first, second)
    assert replacement_order(settings.nodes, ClusterState(True, None)) == (first, second)
    assert replacement_order(settings.nodes, ClusterState(False, None)) is None


# -- the program's wiring (Pulumi mocks) ----------------------------------------------------------

def test_a_new_stack_creates_both_vms_at_once(config: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    program = program_when(config, monkeypatch, "no node")
    for part in VM_PARTS:
        assert not program.depends(f"redis-2-{part}", "redis-1-membership")
        assert not program.depends(f"redis-1-{part}", "redis-2-membership")


def test_data_volumes_are_protected_unless_protect_data_is_off(config: dict[str, str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    assert program_when(config, monkeypatch, "no node").protected == {"redis-1-data", "redis-2-data"}
    assert program_when({**config, "protectData": "false"}, monkeypatch, "no node").protected == set()


def test_the_data_volume_is_mounted_before_the_node_joins(program_config: Program) -> None:
    data_step = program_config.resources["redis-1-data-volume"].inputs["create"]
    assert "data_volume.sh" in data_step and data_step.endswith(" /dev/vdc /var/lib/redis redis")
    assert program_config.depends("redis-1-data-volume", "redis-1-redis-config")
    assert program_config.depends("redis-1-membership", "redis-1-data-volume")


@pytest.mark.parametrize(("says", "replica", "master"), [
    ("master redis-1", "redis-2", "redis-1"),
    ("master redis-2", "redis-1", "redis-2"),
    ("no master", "redis-1", "redis-2"),
])
def test_on_a_running_stack_the_masters_vm_waits_for_the_replica_back_in_sync(
        config: dict[str, str], monkeypatch: pytest.MonkeyPatch, says: str, replica: str, master: str) -> None:
    program = program_when(config, monkeypatch, says)
    for part in VM_PARTS:
        assert program.depends(f"{master}-{part}", f"{replica}-membership"), part
        assert not program.depends(f"{replica}-{part}", f"{master}-membership"), part
    # ...which comes after the replica's VM, its provisioning and its Redis configuration.
    for earlier in (f"{replica}-domain", f"{replica}-install", f"{replica}-redis-config"):
        assert program.depends(f"{replica}-membership", earlier)


def test_the_nodes_are_asked_with_the_key_on_stdin_and_their_pinned_host_keys(
        config: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    program = program_when(config, monkeypatch, "no node")
    [ask] = [call for call in program.calls if call.token == "command:local:run"]
    assert ask.args["stdin"] == PRIVATE_KEY and ask.args["logging"] == "none"
    assert ask.args["command"].startswith("bash -c '#!/usr/bin/env bash") and PRIVATE_KEY not in ask.args["command"]
    for name in ("redis-1", "redis-2"):
        assert node_host_key(PRIVATE_KEY, "redis-ha", name).public in ask.args["command"]


def test_each_nodes_membership_runs_on_the_other_node_and_drains_before_its_vm_goes(
        program_config: Program, settings: Settings) -> None:
    commands = program_config.of_type("command:remote:Command")
    for name, peer_ip in (("redis-1", "192.168.150.12"), ("redis-2", "192.168.150.11")):
        membership = commands[f"{name}-membership"].inputs
        assert secret(membership["connection"])["host"] == peer_ip
        assert "node_rejoin.sh" in membership["create"] and "node_drain.sh" in membership["delete"]
        # A replaced VM replaces the membership: its drain (the delete) runs first.
        assert membership["triggers"] == [f"{name}-domain-id"]
        assert secret(membership["stdin"]) == f"{HACLUSTER_PASSWORD}\n{admin_password(settings)}\n"
        # pulumi destroy takes the whole cluster: no drain (its peer may be gone already).
        assert program_config.deleted_with[f"{name}-membership"] == "network"
        assert program_config.depends("redis-resources", f"{name}-membership")
        # Both nodes authenticate again and the boot settings are applied again on a new VM.
        assert f"{name}-domain-id" in commands[f"cluster-{name}-boot"].inputs["triggers"]
        for auth in ("cluster-redis-1-auth", "cluster-redis-2-auth"):
            assert f"{name}-domain-id" in commands[auth].inputs["triggers"]
    for vm_part in program_config.resources.values():
        if vm_part.name.endswith(VM_PARTS):
            # Libvirt names are unique: the old one goes before the new one comes.
            assert vm_part.name in program_config.delete_before_replace, vm_part.name


def test_a_node_found_out_of_the_cluster_has_its_membership_run_again(
        config: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    earlier = {"rejoinRequested": {"redis-2": "2026-11-01T10:00:00Z"}}
    back = run_program(config, monkeypatch, "master redis-1", earlier)
    memberships = {name: back.resources[f"{name}-membership"].inputs["create"] for name in ("redis-1", "redis-2")}
    assert memberships["redis-2"].endswith(" 2026-11-01T10:00:00Z") and memberships["redis-1"].endswith(" 900")
    assert back.exports["rejoinRequested"] == earlier["rejoinRequested"]

    out = run_program(config, monkeypatch, "master redis-1\nout redis-2\n", earlier)
    create = out.resources["redis-2-membership"].inputs["create"]
    when = out.exports["rejoinRequested"]["redis-2"]
    assert when > "2026-11-01T10:00:00Z" and create.endswith(f" {when}")
    # A new command, same triggers: an update that runs the rejoin, not a replacement (drain).
    assert out.resources["redis-2-membership"].inputs["triggers"] == back.resources["redis-2-membership"].inputs["triggers"]
    assert out.resources["redis-1-membership"].inputs["create"] == memberships["redis-1"]


@pytest.fixture
def program_config(config: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Program:
    return program_when(config, monkeypatch, "master redis-1")


# -- cluster_master.sh ----------------------------------------------------------------------------

def master_args(settings: Settings) -> list[str]:
    first, second = settings.nodes
    return ["redisha", settings.vip,
            first.name, first.ip, node_host_key(PRIVATE_KEY, "redis-ha", first.name).public,
            second.name, second.ip, node_host_key(PRIVATE_KEY, "redis-ha", second.name).public]


def answer(node: Node, settings: Settings, index: int, holds_vip: bool, members: str = "") -> None:
    """What the node answers: its addresses, then what crm_node -l lists there ("" where
    Pacemaker does not run)."""
    machine = settings.nodes[index]
    vip = f"3: bond0    inet {settings.vip}/24 scope global secondary bond0\n" if holds_vip else ""
    node.set(f"ssh/{machine.ip}",
             f"3: bond0    inet {machine.ip}/24 brd 192.168.150.255 scope global bond0\n{vip}# members\n{members}")
    node.set(f"ssh/{machine.ip}.key", node_host_key(PRIVATE_KEY, "redis-ha", machine.name).public)


def test_the_node_holding_the_vip_is_the_master(node: Node, settings: Settings) -> None:
    node.set("ssh/.keep")
    assert node.run("cluster_master.sh", *master_args(settings), stdin=PRIVATE_KEY).report == (
        "no node (redis-1: ssh: connect to host 192.168.150.11 port 22: No route to host; "
        "redis-2: ssh: connect to host 192.168.150.12 port 22: No route to host)")
    answer(node, settings, 0, holds_vip=False)
    assert node.run("cluster_master.sh", *master_args(settings), stdin=PRIVATE_KEY).report == "no master"
    answer(node, settings, 1, holds_vip=True)
    # Pulumi's config hands the key over without its final newline, which ssh needs.
    ran = node.run("cluster_master.sh", *master_args(settings), stdin=PRIVATE_KEY.rstrip("\n"))
    assert ran.report == "master redis-2", ran.stderr
    # The key reached ssh in a file only its owner reads.
    assert (node.state / "ssh" / "identity").read_text() == "600\n" + PRIVATE_KEY


def test_a_node_a_member_does_not_see_is_out(node: Node, settings: Settings) -> None:
    answer(node, settings, 1, holds_vip=True, members="1 redis-1 lost\n2 redis-2 member\n")
    assert node.run("cluster_master.sh", *master_args(settings), stdin=PRIVATE_KEY).stdout == "master redis-2\nout redis-1\n"
    # Both in: nobody out. The whole cluster stopped (no member anywhere): nobody out either.
    answer(node, settings, 0, holds_vip=False, members="1 redis-1 member\n2 redis-2 member\n")
    assert node.run("cluster_master.sh", *master_args(settings), stdin=PRIVATE_KEY).stdout == "master redis-2\n"
    answer(node, settings, 0, holds_vip=False)
    answer(node, settings, 1, holds_vip=False)
    assert node.run("cluster_master.sh", *master_args(settings), stdin=PRIVATE_KEY).stdout == "no master\n"


def test_a_node_with_another_host_key_is_not_believed(node: Node, settings: Settings) -> None:
    answer(node, settings, 1, holds_vip=True)
    node.set(f"ssh/{settings.nodes[1].ip}.key", node_host_key(PRIVATE_KEY, "other", "redis-2").public)
    assert node.run("cluster_master.sh", *master_args(settings), stdin=PRIVATE_KEY).report.endswith(
        "redis-2: Host key verification failed.)")


# -- node_rejoin.sh / node_drain.sh -----------------------------------------------------------------

CONF = ("totem {\n    cluster_name: redis-ha\n}\nnodelist {\n    node {\n        ring0_addr: 192.168.150.11\n"
        "        name: redis-1\n    }\n    node {\n        ring0_addr: 192.168.150.12\n        name: redis-2\n    }\n}\n")
REJOIN = ("redis-ha", "redis-2", "192.168.150.12", "redis", "redis-cli", 6379, 5)
DRAIN = ("redis-ha", "redis-2", "192.168.150.11", "redis", "redis-cli", 6379, 5)
PASSWORDS = f"{HACLUSTER_PASSWORD}\n{REDIS_PASSWORD}\n"
REPLICA_IN_SYNC = "# Replication\r\nrole:slave\r\nmaster_host:192.168.150.11\r\nmaster_link_status:up\r\n" \
                  "master_sync_in_progress:0\r\n"
MASTER = "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n"


def formed_cluster(node: Node, members: str = "redis-1\nredis-2\n", redis: bool = True) -> None:
    """This node (redis-1) in cluster redis-ha; `members` run their cluster services."""
    node.write("/etc/corosync/corosync.conf", CONF)
    node.set("members", members)
    node.set("pcsd/password", HACLUSTER_PASSWORD)
    node.set("pcsd/known-hosts", "redis-1\nredis-2\n")
    if redis:
        node.set("cib.xml", "<cib><configuration><nodes/><resources><clone id='redis-clone'><primitive id='redis' "
                            "class='ocf' provider='heartbeat' type='redis'/></clone></resources><constraints/>"
                            "</configuration><status/></cib>")


def test_before_the_cluster_is_formed_a_rejoin_does_nothing(node: Node) -> None:
    ran = node.run("node_rejoin.sh", *REJOIN, stdin=PASSWORDS)
    assert ran.report == "no change: cluster redis-ha is not formed here yet (the first up forms it with redis-2)"
    assert node.calls("pcs") == []


def test_a_member_without_redis_in_the_cluster_yet_is_left_alone(node: Node) -> None:
    formed_cluster(node, redis=False)
    ran = node.run("node_rejoin.sh", *REJOIN, stdin=PASSWORDS)
    assert ran.report == "no change: redis-2 is a member of cluster redis-ha; Redis is not in the cluster yet", ran.stderr


def test_a_replaced_node_is_authenticated_handed_the_cluster_started_and_waited_for(node: Node) -> None:
    formed_cluster(node)
    node.set("redis/INFO", MASTER)
    assert node.run("node_drain.sh", *DRAIN, stdin=PASSWORDS).returncode == 0
    # redis-2's VM is replaced: a new machine, whose pcsd this node has no token for.
    node.set("pcsd/known-hosts", "redis-1\n")
    node.set("redis/INFO", REPLICA_IN_SYNC)
    node.forget_calls()
    ran = node.run("node_rejoin.sh", *REJOIN, stdin=PASSWORDS)
    assert ran.report == ("changed: authenticated pcs to redis-2 handed redis-2 the cluster's authkey and corosync.conf "
                          "and started it took redis-2 out of standby; its Redis replicates from 192.168.150.11"), ran.stderr
    verbs = [call[1:4] for call in node.calls("pcs") if call[1] in ("host", "cluster", "node")]
    assert verbs == [["host", "auth", "redis-2"], ["cluster", "authkey", "corosync"], ["cluster", "sync", "--request-timeout=5"],
                     ["cluster", "start", "redis-2"], ["node", "unstandby", "redis-2"]]
    assert ["pcs", "cluster", "authkey", "corosync", "/etc/corosync/authkey", "--request-timeout=5"] in node.calls("pcs")
    assert not any(HACLUSTER_PASSWORD in "".join(call) or REDIS_PASSWORD in "".join(call) for call in node.calls())
    node.forget_calls()
    again = node.run("node_rejoin.sh", *REJOIN, stdin=PASSWORDS)
    assert again.report == "no change: redis-2 is a member of cluster redis-ha; its Redis replicates from 192.168.150.11"


def test_a_vm_started_again_is_waited_for_and_brought_back(node: Node) -> None:
    formed_cluster(node, members="redis-1\n")
    node.set("redis/INFO", REPLICA_IN_SYNC)
    # Its pcsd answers only from the fourth look on, as while the VM boots.
    node.set("pcsd/starting", "redis-2 3")
    ran = node.run("node_rejoin.sh", *REJOIN, "2026-11-27T12:00:00Z", stdin=PASSWORDS)
    assert ran.report == ("changed: authenticated pcs to redis-2 handed redis-2 the cluster's authkey and corosync.conf "
                          "and started it; its Redis replicates from 192.168.150.11 "
                          "(found out of the cluster at 2026-11-27T12:00:00Z)"), ran.stderr
    assert [call[1:3] for call in node.calls("pcs") if call[1] == "host"] == [["host", "auth"]] * 2
    assert (node.state / "members").read_text() == "redis-1\nredis-2\n"


def test_a_node_whose_pcsd_never_answers_fails_saying_so(node: Node) -> None:
    formed_cluster(node, members="redis-1\n")
    node.set("pcsd/starting", "redis-2 1000")
    ran = node.run("node_rejoin.sh", *REJOIN, stdin=PASSWORDS)
    assert ran.returncode == 1
    assert "error: pcsd on redis-2 does not let this node in after 5s: Error: Unable to communicate with redis-2" in ran.stderr
    assert not any(call[1] == "cluster" for call in node.calls("pcs"))


def test_a_rejoin_whose_redis_never_syncs_fails_saying_what_it_saw(node: Node) -> None:
    formed_cluster(node)
    node.set("redis/INFO", REPLICA_IN_SYNC.replace("master_sync_in_progress:0", "master_sync_in_progress:1"))
    ran = node.run("node_rejoin.sh", *REJOIN, stdin=PASSWORDS)
    assert ran.returncode == 1
    assert "redis-2's Redis does not replicate from a master after 5s (last: role:slave " in ran.stderr
    assert "master_sync_in_progress:1" in ran.stderr


def test_a_drain_puts_the_node_in_standby_and_stops_it(node: Node) -> None:
    formed_cluster(node)
    node.set("redis/INFO", REPLICA_IN_SYNC)
    node.set("vip-node", "redis-1")
    ran = node.run("node_drain.sh", *DRAIN, stdin=PASSWORDS)
    assert ran.report == ("changed: redis-2 in standby (its resources moved here; the VIP is on redis-1) "
                          "and its cluster services stopped"), ran.stderr
    assert [call[1:4] for call in node.calls("pcs") if call[1] != "resource"] == [
        ["node", "standby", "redis-2"], ["cluster", "stop", "redis-2"]]
    assert node.run("node_drain.sh", *DRAIN, stdin=PASSWORDS).report == "no change: redis-2 is not running in cluster redis-ha"


@pytest.mark.parametrize("replication", [
    REPLICA_IN_SYNC.replace("master_link_status:up", "master_link_status:down"),
    REPLICA_IN_SYNC.replace("master_sync_in_progress:0", "master_sync_in_progress:1"),
    None,
])
def test_a_drain_that_would_stop_redis_is_refused(node: Node, replication: str | None) -> None:
    formed_cluster(node)
    if replication is not None:
        node.set("redis/INFO", replication)
    ran = node.run("node_drain.sh", *DRAIN, stdin=PASSWORDS)
    assert ran.returncode == 1
    assert "error: draining redis-2 would stop Redis: the Redis here is neither master nor an in-sync replica" in ran.stderr
    assert not any(call[1] in ("node", "cluster") for call in node.calls("pcs"))


def test_after_destroy_removed_the_cluster_a_drain_does_nothing(node: Node) -> None:
    assert node.run("node_drain.sh", *DRAIN, stdin=PASSWORDS).report == "no change: cluster redis-ha is not configured here"
    assert node.calls("pcs") == []


def test_without_redis_in_the_cluster_a_drain_checks_no_redis(node: Node) -> None:
    formed_cluster(node, redis=False)
    ran = node.run("node_drain.sh", *DRAIN, stdin=PASSWORDS)
    assert ran.report.startswith("changed: redis-2 in standby"), ran.stderr
    assert node.calls("redis-cli") == []


# -- data_volume.sh ---------------------------------------------------------------------------------

# A folder this machine has no copy of (a lab host may have its own /var/lib/redis).
DATA = ("/run/vdc", "/var/lib/redis-ha-data", "redis")


def data_node(node: Node, signature: str | None = None) -> None:
    node.write("/run/vdc", "")
    node.add_user("redis", "/var/lib/redis")
    node.write("/etc/fstab", "UUID=1234 / ext4 defaults 0 1\n")
    if signature is not None:
        node.set("blkid/vdc", signature)


def test_a_blank_data_volume_is_formatted_mounted_and_handed_to_redis_once(node: Node) -> None:
    data_node(node)
    ran = node.run("data_volume.sh", *DATA)
    assert ran.report == ("changed: formatted /run/vdc mounted by label at boot mounted at /var/lib/redis-ha-data "
                          "owned by redis"), ran.stderr
    assert node.upper("/etc/fstab").read_text() == (
        "UUID=1234 / ext4 defaults 0 1\nLABEL=redis-ha-data /var/lib/redis-ha-data ext4 defaults,nofail 0 2\n")
    assert node.run("data_volume.sh", *DATA).report == "no change: data volume mounted at /var/lib/redis-ha-data"
    assert len(node.calls("mkfs.ext4")) == 1


def test_a_replaced_node_mounts_its_volume_without_formatting_it(node: Node) -> None:
    data_node(node, "redis-ha-data ext4")
    ran = node.run("data_volume.sh", *DATA)
    assert ran.report == "changed: mounted by label at boot mounted at /var/lib/redis-ha-data owned by redis", ran.stderr
    assert node.calls("mkfs.ext4") == []


def test_a_disk_holding_something_else_is_never_formatted(node: Node) -> None:
    data_node(node, "backups xfs")
    ran = node.run("data_volume.sh", *DATA)
    assert ran.returncode == 1
    assert 'error: /run/vdc is not blank and not a redis-ha data volume (/run/vdc: LABEL="backups" TYPE="xfs")' in ran.stderr
    assert node.calls("mkfs.ext4") == []


# -- what a running cluster cannot change (settings.refuse_identity_change) ---------------------------

def test_a_new_stack_or_an_unchanged_identity_passes(settings: Settings) -> None:
    refuse_identity_change({}, settings)
    refuse_identity_change(json.loads(json.dumps({**deployed_identity(settings), "tls": "on"})), settings)


@pytest.mark.parametrize(("key", "overrides", "configured"), [
    ("clusterName", {"clusterName": "redis-ha-b"}, ()),
    ("nodeNames", {"nodeNames": '["redis-a", "redis-b"]'}, ()),
    ("networkCidr", {"networkCidr": "192.168.151.0/24"}, ()),
    ("nodeIps", {"nodeIps": '["192.168.150.21", "192.168.150.22"]'}, ("nodeIps",)),
    ("vip", {"vip": "192.168.150.20"}, ()),
    ("redisServer", {"redisServer": "valkey"}, ()),
    ("libvirtUri", {"libvirtUri": "qemu+ssh://root@hv2.example.net/system"}, ()),
    ("storagePool", {"storagePool": "fast"}, ()),
    ("networkName", {"networkName": "other"}, ()),
    ("networkMode", {"networkMode": "route"}, ()),
])
def test_a_change_of_what_the_cluster_is_is_refused_naming_its_key(
        settings: Settings, load: Callable[..., Settings], key: str, overrides: dict[str, str],
        configured: tuple[str, ...]) -> None:
    running = deployed_identity(settings)
    with pytest.raises(ConfigError, match=rf"^redis-ha:{key}: the running cluster.*create a second stack"):
        refuse_identity_change(running, load(**overrides), configured)


def test_the_program_refuses_before_any_resource(config: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                 settings: Settings) -> None:
    monkeypatch.chdir(ROOT)
    running = {**deployed_identity(settings), "clusterName": "redis-ha-old"}
    with pytest.raises(pulumi.RunError, match=r"^redis-ha:clusterName: the running cluster is 'redis-ha-old'"):
        run_program(config, monkeypatch, previous_outputs=running)


def test_the_program_exports_what_the_next_preview_compares(config: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                                            settings: Settings) -> None:
    exports = program_when(config, monkeypatch, "no node").exports
    # Known only through the final check: a first up that fails before it records none of it.
    for key in deployed_identity(settings):
        depends_on = asyncio.new_event_loop().run_until_complete(exports[key].resources())
        assert "redis-check" in {resource._name for resource in depends_on}, key
    assert {key: resolved(exports[key])[0] for key in deployed_identity(settings)} == {
        "clusterName": "redis-ha", "nodes": {"redis-1": "192.168.150.11", "redis-2": "192.168.150.12"},
        "vip": "192.168.150.10", "redisServer": "redis",
        "libvirt": {"libvirtUri": "qemu:///system", "storagePool": "default", "networkName": "redis-ha",
                    "networkMode": "nat", "networkCreate": True}}
