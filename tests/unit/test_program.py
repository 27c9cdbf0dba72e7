"""The whole program under Pulumi mocks: what it registers, in which order, and where secrets go."""

from __future__ import annotations

import hashlib
import itertools
import json
import runpy
import shlex
from collections.abc import Iterator

import pulumi
import pytest
import yaml

from components.host_keys import node_host_key
from components.libvirt_xml import render_no_dns_xslt
from components.pcs_plan import OWNED_IDS
from components.redis_users import admin_password, monitor_password, replication_password
from components.settings import Settings
from components.tls import tls_material
from tests.program_recorder import ROOT, Program, RecordingMocks, resolved, run_program, secret
from tests.unit.conftest import FENCE_KEY, HACLUSTER_PASSWORD, PRIVATE_KEY, REDIS_PASSWORD, SECRET_VALUES


@pytest.fixture
def program(config: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Program]:
    monkeypatch.chdir(ROOT)
    yield run_program(config, monkeypatch)


def test_two_domains_with_two_nics_each_on_one_network(program: Program) -> None:
    domains = program.of_type("libvirt:index/domain:Domain")
    assert sorted(domains) == ["redis-1-domain", "redis-2-domain"]
    macs = []
    for args in domains.values():
        nics = args.inputs["networkInterfaces"]
        assert len(nics) == 2
        assert {nic["networkName"] for nic in nics} == {"redis-ha"}
        macs += [nic["mac"] for nic in nics]
        assert args.inputs["type"] == "kvm"
    assert len(set(macs)) == 4
    networks = program.of_type("libvirt:index/network:Network")
    assert [args.inputs["addresses"] for args in networks.values()] == [["192.168.150.0/24"]]
    # A NAT network keeps libvirt's DNS on the gateway, the nodes' default nameserver.
    assert [args.inputs.get("xml") for args in networks.values()] == [None]


def test_an_isolated_network_has_no_dns(config: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    program = run_program({**config, "networkMode": "none"}, monkeypatch)
    network = program.resources["network-network"].inputs
    assert network["mode"] == "none" and network["xml"]["xslt"] == render_no_dns_xslt()


def test_cloud_init_bonds_the_domain_nics_by_mac(program: Program) -> None:
    domains = program.of_type("libvirt:index/domain:Domain")
    for node in ("redis-1", "redis-2"):
        seed = program.resources[f"{node}-cloudinit"].inputs
        network = yaml.safe_load(seed["networkConfig"])
        matched = {eth["match"]["macaddress"] for eth in network["ethernets"].values()}
        assert matched == {nic["mac"] for nic in domains[f"{node}-domain"].inputs["networkInterfaces"]}
        assert set(network["bonds"]["bond0"]["interfaces"]) == set(network["ethernets"])
        assert program.depends(f"{node}-domain", f"{node}-cloudinit")
        assert program.depends(f"{node}-domain", f"{node}-disk")
        assert program.depends(f"{node}-cloudinit", "image-volume")


def test_steps_are_ordered_through_dependencies(program: Program) -> None:
    chain = ["redis-1-install", "cluster-redis-2-auth", "cluster-setup", "redis-resources", "redis-check"]
    for earlier, later in itertools.pairwise(chain):
        assert program.depends(later, earlier), f"{later} does not wait for {earlier}"
    for node in ("redis-1", "redis-2"):
        assert program.depends(f"{node}-wait", f"{node}-domain")
        # Each node authenticates to both once both run pcsd with the password set.
        for auth in ("cluster-redis-1-auth", "cluster-redis-2-auth"):
            assert program.depends(auth, f"{node}-hacluster")
            assert program.depends(auth, f"{node}-prepare")
        assert program.depends("cluster-setup", f"cluster-{node}-auth")
        assert program.depends("redis-resources", f"{node}-redis-config")
        assert program.depends("redis-resources", f"{node}-redis-firewall")
        # firewalld runs (and answers) before the Redis port's rules are made.
        assert program.depends(f"{node}-redis-firewall", f"{node}-firewall")
        assert program.depends(f"cluster-{node}-boot", "cluster-setup")
        # The CIB names the promotion alert's agent only once it is on both nodes.
        assert program.depends("redis-resources", f"{node}-promotion-alert")
    assert not program.depends("cluster-setup", "redis-resources")


def test_the_promotion_alert_agent_is_installed_on_both_nodes_and_named_in_the_plan(program: Program) -> None:
    plan = program.resources["redis-resources"].inputs["stdin"]
    alert = next(line.split("\t") for line in plan.splitlines() if line.startswith("alert\t"))
    path = next(word.split("=", 1)[1] for word in alert if word.startswith("path="))
    agent = (ROOT / "scripts" / "promotion_alert.sh").read_text()
    for node in ("redis-1", "redis-2"):
        step = program.resources[f"{node}-promotion-alert"].inputs
        assert step["stdin"] == agent
        assert shlex.split(step["create"])[-2:] == [path, "0755"]


@pytest.mark.parametrize(("step", "earlier"), [
    ("wait", "cluster:wait"), ("install", "cluster:install"), ("firewall", "cluster:firewall"),
    ("hacluster", "cluster:hacluster"), ("fence-key", "cluster:fence-key"), ("prepare", "cluster:prepare"),
    ("redis-config", "redis:config"), ("redis-firewall", "redis:firewall"),
])
def test_a_nodes_steps_keep_the_identity_they_had_before_they_were_gathered_per_node(
        program: Program, step: str, earlier: str) -> None:
    # Without it, a stack made before would replace (re-run) these steps on its next up.
    parent, _, role = earlier.partition(":")
    parent_type = {"cluster": "PacemakerCluster", "redis": "RedisHa"}[parent]
    for node in ("redis-1", "redis-2"):
        assert program.aliases[f"{node}-{step}"] == [
            (f"{parent}-{node}-{role}", f"urn:pulumi:unit::redis-ha::redis-ha:index:{parent_type}::{parent}")]


def test_fence_virtd_runs_on_the_hypervisor_before_stonith_is_enabled(program: Program) -> None:
    daemon = program.of_type("command:local:Command")["fence-daemon"].inputs
    assert daemon["create"].startswith("bash -c '#!/usr/bin/env bash") and "fence_virtd_setup.sh" in daemon["create"]
    assert "fence_virtd_remove.sh" in daemon["delete"]
    assert program.depends("fence-daemon", "network-network")
    assert program.depends("cluster-properties", "fence-daemon")
    for node in ("redis-1", "redis-2"):
        assert program.depends("cluster-properties", f"{node}-fence-key")
        assert "192.168.150.1" in program.resources[f"{node}-firewall"].inputs["create"]


def test_fence_virtd_is_set_up_over_ssh_on_a_remote_hypervisor(config: dict[str, str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    program = run_program({**config, "libvirtUri": "qemu+ssh://ops@hv1.example.net/system"}, monkeypatch)
    # Only the host keys are written from here: virsh reaches the hypervisor's pool through the URI.
    local = program.of_type("command:local:Command")
    assert sorted(local) == ["redis-1-host-key", "redis-2-host-key"]
    assert all("qemu+ssh://ops@hv1.example.net/system" in args.inputs["create"] for args in local.values())
    daemon = program.of_type("command:remote:Command")["fence-daemon"].inputs
    connection = secret(daemon["connection"])
    assert (connection["host"], connection["user"], connection["port"]) == ("hv1.example.net", "ops", 22)
    assert "privateKey" not in connection
    assert "qemu:///system" in daemon["create"]


def test_pulumi_destroy_undoes_nothing_on_the_nodes_but_everything_on_the_hypervisor(
        config: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    program = run_program({**config, "libvirtUri": "qemu+ssh://ops@hv1.example.net/system",
                           "quorumDevice": "hypervisor"}, monkeypatch)
    commands = program.of_type("command:remote:Command")
    on_nodes = {name for name, args in commands.items()
                if secret(args.inputs["connection"])["host"] in ("192.168.150.11", "192.168.150.12")}
    undone_on_nodes = {name for name in on_nodes if commands[name].inputs.get("delete")}
    # Every kind of undo a node has: the cluster, its resources, quorum device, exporters, drain.
    assert {"cluster-setup", "cluster-quorum-device", "redis-resources", "redis-1-qdevice",
            "redis-1-monitoring", "redis-1-membership"} <= undone_on_nodes
    # The VMs go with the network: a node that no longer answers must not hold the destroy.
    assert {name: program.deleted_with.get(name) for name in on_nodes} == dict.fromkeys(on_nodes, "network")
    # fence_virtd and qnetd outlive the stack's VMs on the hypervisor: their undo always runs.
    on_hypervisor = set(commands) - on_nodes
    assert on_hypervisor == {"fence-daemon", "qnetd-daemon"}
    assert not on_hypervisor & set(program.deleted_with)
    assert all(commands[name].inputs["delete"] for name in on_hypervisor)


def test_fencing_none_creates_nothing_for_fencing_and_warns(config: dict[str, str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    warnings: list[str] = []
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: warnings.append(message))
    program = run_program({**config, "fencing": "none"}, monkeypatch)
    assert sorted(program.of_type("command:local:Command")) == ["redis-1-host-key", "redis-2-host-key"]
    assert not [name for name in program.resources if "fence" in name]
    assert len(warnings) == 1 and "two masters" in warnings[0]


def test_quorum_device_hands_qnetd_certificates_to_both_nodes_before_naming_it(
        config: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    program = run_program({**config, "quorumDevice": "hypervisor"}, monkeypatch)
    qnetd = program.of_type("command:local:Command")["qnetd-daemon"]
    assert "qnetd_setup.sh" in qnetd.inputs["create"] and "192.168.150.1" in qnetd.inputs["create"]
    assert "qnetd_remove.sh" in qnetd.inputs["delete"]
    # Its stdout holds the cluster's private key.
    assert "stdout" in program.secret_outputs["qnetd-daemon"]
    assert resolved(program.namespace["qnetd_bundle"]) == ("stdout of qnetd-daemon", True)
    assert program.depends("qnetd-daemon", "network-network")
    commands = program.of_type("command:remote:Command")
    for node in ("redis-1", "redis-2"):
        client = commands[f"{node}-qdevice"]
        assert secret(client.inputs["stdin"]) == "stdout of qnetd-daemon"
        assert "qdevice_node_remove.sh" in client.inputs["delete"]
        assert program.depends(f"{node}-qdevice", "qnetd-daemon")
        assert program.depends("cluster-quorum-device", f"{node}-qdevice")
        assert program.depends(f"cluster-{node}-boot", "cluster-quorum-device")
        assert commands[f"cluster-{node}-boot"].inputs["create"].endswith(" false true")
    quorum = commands["cluster-quorum-device"]
    assert program.depends("cluster-quorum-device", "cluster-setup")
    assert "192.168.150.1 /usr/local/sbin/redis-ha-holds-vip" in quorum.inputs["create"]
    assert "quorum_device_remove.sh" in quorum.inputs["delete"]


def test_without_a_quorum_device_nothing_is_set_up_for_one(program: Program) -> None:
    assert not [name for name in program.resources if "qnetd" in name or "qdevice" in name or "quorum" in name]
    commands = program.of_type("command:remote:Command")
    assert commands["cluster-redis-1-boot"].inputs["create"].endswith(" false false")


def test_every_remote_command_runs_a_script_with_a_hash_or_an_undo(program: Program) -> None:
    commands = program.of_type("command:remote:Command")
    # Per node: wait, install, firewall, hacluster, fence key, prepare, promotion alert, tls, redis
    # config, redis firewall, monitoring firewall, monitoring, data volume, membership, auth, boot
    # (16 x 2); once: setup, properties, resources, check.
    assert len(commands) == 36
    for name, args in commands.items():
        assert args.inputs["create"].startswith("sudo bash -c '#!/usr/bin/env bash"), name
        assert args.inputs.get("delete") or args.inputs.get("triggers"), f"{name} neither undoes nor re-runs on edit"
    assert "cluster_destroy.sh" in commands["cluster-setup"].inputs["delete"]
    assert commands["redis-resources"].inputs["delete"].endswith(" cib_apply.sh --remove " + " ".join(OWNED_IDS))


def test_secrets_appear_only_on_stdin_and_in_the_ssh_key(program: Program, settings: Settings) -> None:
    # Besides the configured secrets, what the program derives from the SSH key.
    derived = [admin_password(settings), replication_password(settings), monitor_password(settings),
               *(own.key.splitlines()[1] for own in tls_material(settings).nodes.values())]
    for name, args in program.resources.items():
        for key, value in args.inputs.items():
            if key in ("stdin", "connection"):
                continue
            text = json.dumps(value, default=str)
            assert not any(secret in text for secret in (*SECRET_VALUES, *derived)), f"secret in {name}.{key}"
    commands = program.of_type("command:remote:Command")
    assert secret(commands["cluster-redis-1-auth"].inputs["stdin"]) == HACLUSTER_PASSWORD + "\n"
    assert secret(commands["redis-2-hacluster"].inputs["stdin"]) == HACLUSTER_PASSWORD + "\n"
    assert f"requirepass {admin_password(settings)}" in secret(commands["redis-1-redis-config"].inputs["stdin"])
    assert secret(commands["redis-check"].inputs["stdin"]) == admin_password(settings) + "\n"
    assert secret(commands["redis-1-fence-key"].inputs["stdin"]) == FENCE_KEY
    assert secret(program.resources["fence-daemon"].inputs["stdin"]) == FENCE_KEY
    for args in commands.values():
        # The whole connection becomes secret because it carries the private key.
        assert secret(args.inputs["connection"])["privateKey"] == PRIVATE_KEY



def test_exporters_listen_on_each_node_open_to_the_cluster_network_and_are_listed_for_prometheus(
        program: Program, settings: Settings) -> None:
    commands = program.of_type("command:remote:Command")
    for node in settings.nodes:
        exporters = commands[f"{node.name}-monitoring"].inputs
        assert exporters["create"].endswith(
            f"{node.ip} 9664 9121 9100 rediss://{node.ip}:6379 /etc/redis-ha/redis-exporter-password.json "
            f"'on #{hashlib.sha256(monitor_password(settings).encode()).hexdigest()} +info +ping +slowlog|get "
            "+slowlog|len +latency|latest +latency|histogram +client|setname +client|info' "
            "/usr/local/sbin/redis-ha-agent-cli /run/redis/redis.sock /etc/redis/redis.conf 900 "
            "/etc/redis-ha/tls/ca.crt")
        assert json.loads(secret(exporters["stdin"])) == {f"rediss://{node.ip}:6379": monitor_password(settings),
                                                          f"rediss://monitor@{node.ip}:6379": monitor_password(settings)}
        assert "monitoring_remove.sh" in exporters["delete"]
        assert program.depends(f"{node.name}-monitoring", f"{node.name}-redis-config")
        firewall = commands[f"{node.name}-monitoring-firewall"].inputs
        assert firewall["create"].endswith(" exporter 9664,9121,9100 192.168.150.0/24")
        assert firewall["delete"].endswith(" exporter 9664,9121,9100")
        assert program.depends(f"{node.name}-monitoring-firewall", f"{node.name}-redis-firewall")
        assert commands[f"{node.name}-install"].inputs["create"].endswith(" redis exporters")
    redis_conf = secret(commands["redis-1-redis-config"].inputs["stdin"])
    assert "\nuser monitor on #" in redis_conf
    targets = program.exports["scrapeTargets"]
    assert targets == {"redis-1": {"hacluster": "192.168.150.11:9664", "redis": "192.168.150.11:9121",
                                   "node": "192.168.150.11:9100"},
                       "redis-2": {"hacluster": "192.168.150.12:9664", "redis": "192.168.150.12:9121",
                                   "node": "192.168.150.12:9100"}}
    groups = json.loads(program.exports["prometheusFileSd"])
    assert len(groups) == 6
    assert {"targets": ["192.168.150.12:9121"],
            "labels": {"cluster": "redis-ha", "cluster_node": "redis-2", "exporter": "redis"}} in groups


def test_monitoring_none_installs_and_opens_nothing_for_it(config: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    program = run_program({**config, "monitoring": "none"}, monkeypatch)
    commands = program.of_type("command:remote:Command")
    assert not [name for name in commands if "monitoring" in name]
    assert commands["redis-1-install"].inputs["create"].endswith(" redis none")
    assert "user monitor" not in secret(commands["redis-1-redis-config"].inputs["stdin"])
    assert program.exports["scrapeTargets"] == {}


def test_outputs_exist_and_the_url_is_secret(program: Program) -> None:
    redis = program.namespace["redis"]
    assert resolved(redis.vip) == ("192.168.150.10", False)
    assert resolved(redis.port) == (6379, False)
    assert resolved(redis.endpoint) == ("192.168.150.10:6379", False)
    url, secret = resolved(redis.redis_url)
    assert secret
    assert url == f"rediss://app:{REDIS_PASSWORD}@192.168.150.10:6379/0"


def test_bad_config_fails_before_any_resource(config: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    # A RunError: the engine prints its message as one line, without a Python traceback.
    with pytest.raises(pulumi.RunError, match=r"^redis-ha:vip: 192.168.150.1 is the gateway address$"):
        run_program({**config, "vip": "192.168.150.1"}, monkeypatch)
    # run_program raised before returning, so inspect through a fresh recorder instead.
    recorder = Program()
    pulumi.runtime.set_mocks(RecordingMocks(recorder), project="redis-ha", stack="unit", preview=False)
    with pytest.raises(pulumi.RunError):
        runpy.run_path(str(ROOT / "__main__.py"))
    assert recorder.resources == {}


def test_each_node_gets_the_host_key_its_connections_pin(program: Program) -> None:
    commands = program.of_type("command:remote:Command")
    public_keys = {}
    for node, ip in (("redis-1", "192.168.150.11"), ("redis-2", "192.168.150.12")):
        host_key = node_host_key(PRIVATE_KEY, "redis-ha", node)
        volume = program.resources[f"{node}-host-key"].inputs
        assert secret(volume["stdin"]) == host_key.private_openssh
        assert "host_key_volume.sh" in volume["create"] and f"redis-ha-{node}-hostkey.raw" in volume["create"]
        assert "host_key_volume_remove.sh" in volume["delete"] and "qemu:///system" in volume["delete"]
        disks = program.resources[f"{node}-domain"].inputs["disks"]
        assert [disk["volumeId"] for disk in disks] == [f"{node}-disk-id", f"stdout of {node}-host-key",
                                                        f"{node}-data-id"]
        # The seed holds no key: the first boot installs the one on the volume, and no other.
        user_data = program.resources[f"{node}-cloudinit"].inputs["userData"]
        assert not [line for line in host_key.private_openssh.splitlines()[1:-1] if line in user_data]
        assert "userData" not in program.secret_outputs[f"{node}-cloudinit"]
        document = yaml.safe_load(user_data)
        assert "host_key_install.sh" in document["bootcmd"][0] and document["bootcmd"][0].endswith(" /dev/vd[b-z]")
        assert document["ssh_deletekeys"] is False and document["ssh_genkeytypes"] == ["ed25519"]
        assert "ssh_keys" not in document
        public_keys[node] = host_key.public
        pinned = {secret(args.inputs["connection"])["hostKey"] for args in commands.values()
                  if secret(args.inputs["connection"])["host"] == ip}
        assert pinned == {host_key.public}
        # A new node has readyTimeoutSeconds (900) to answer SSH: a dial attempt costs about 3 s.
        assert {secret(args.inputs["connection"])["dialErrorLimit"] for args in commands.values()
                if secret(args.inputs["connection"])["host"] == ip} == {300}
    assert public_keys["redis-1"] != public_keys["redis-2"]
