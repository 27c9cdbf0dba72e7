"""Every validation rule refuses bad input with a message naming the key (one case per rule)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from components.settings import ConfigError, Hypervisor, Settings, derive_mac, hypervisor_of
from tests.unit.conftest import OTHER_PUBLIC_KEY, SECRET_VALUES


def test_defaults_are_derived_from_the_network(settings: Settings) -> None:
    assert settings.gateway == "192.168.150.1"
    assert settings.vip == "192.168.150.10"
    assert [(n.name, n.ip) for n in settings.nodes] == [("redis-1", "192.168.150.11"), ("redis-2", "192.168.150.12")]
    assert settings.nameservers == ("192.168.150.1",)
    assert (settings.corosync_token_ms, settings.corosync_consensus_ms) == (1000, 1200)
    assert settings.domain_type == "kvm"
    assert settings.fencing == "xvm"
    assert settings.priority_fencing_delay_s == 10
    assert settings.start_cluster_at_boot is False
    assert settings.quorum_device is None


def test_quorum_device_on_the_hypervisor_listens_on_the_gateway_unless_told(load: Callable[..., Settings]) -> None:
    here = load(quorumDevice="hypervisor").quorum_device
    assert here is not None
    assert here.hypervisor == Hypervisor("qemu:///system", "192.168.150.1")
    remote = load(quorumDevice="hypervisor", quorumDeviceAddress="10.20.0.5",
                  libvirtUri="qemu+ssh://ops@hv1.example.net:2222/system").quorum_device
    assert remote is not None
    assert remote.hypervisor == Hypervisor("qemu:///system", "10.20.0.5", "hv1.example.net", "ops", 2222)


def test_small_network_uses_first_hosts(load: Callable[..., Settings]) -> None:
    settings = load(networkCidr="10.9.8.0/29")
    assert (settings.gateway, settings.vip, settings.nodes[0].ip, settings.nodes[1].ip) == (
        "10.9.8.1", "10.9.8.2", "10.9.8.3", "10.9.8.4")


def test_macs_are_deterministic_unicast_and_distinct(load: Callable[..., Settings]) -> None:
    first, second = load(), load()
    macs = [mac for node in first.nodes for mac in node.macs]
    assert macs == [mac for node in second.nodes for mac in node.macs]
    assert len(set(macs)) == 4
    assert all(int(mac[:2], 16) & 1 == 0 for mac in macs)
    assert macs[0] == derive_mac("redis-ha", "redis-1", 0)


def test_explicit_values_are_kept(load: Callable[..., Settings]) -> None:
    settings = load(nodeNames=json.dumps(["alpha", "beta"]), nodeIps=json.dumps(["192.168.150.21", "192.168.150.22"]),
                    vip="192.168.150.20", redisPort="6380", clientNetworks=json.dumps(["10.0.0.0/8"]),
                    startClusterAtBoot="true", domainType="qemu")
    assert [n.name for n in settings.nodes] == ["alpha", "beta"]
    assert settings.vip == "192.168.150.20"
    assert settings.redis_port == 6380
    assert settings.client_networks == ("10.0.0.0/8",)
    assert settings.start_cluster_at_boot is True
    assert settings.domain_type == "qemu"


def test_secrets_are_not_in_repr(settings: Settings) -> None:
    text = repr(settings)
    assert not any(secret in text for secret in SECRET_VALUES)


# (overrides, key named in the message, fragment of the message)
BAD = [
    ({"domainType": "xen"}, "domainType", "one of kvm, qemu"),
    ({"baseImage": None}, "baseImage", "required"),
    ({"baseImage": "/nonexistent/image.qcow2"}, "baseImage", "does not exist"),
    ({"baseImage": "http://"}, "baseImage", "not a valid URL"),
    ({"networkCidr": "192.168.150.1/24"}, "networkCidr", "not an IPv4 network"),
    ({"networkCidr": "192.168.150.0/30"}, "networkCidr", "too small"),
    ({"networkMode": "bridge"}, "networkMode", "one of nat, route, none"),
    ({"gateway": "10.0.0.1"}, "gateway", "outside networkCidr"),
    ({"gateway": "192.168.150.254"}, "gateway", "bridge"),
    ({"nodeNames": json.dumps(["a", "b", "c"])}, "nodeNames", "exactly two"),
    ({"nodeNames": json.dumps(["Node_1", "b"])}, "nodeNames", "not a valid hostname"),
    ({"nodeNames": json.dumps(["same", "same"])}, "nodeNames", "must differ"),
    ({"nodeNames": "redis-1,redis-2"}, "nodeNames", "list of strings"),
    ({"nodeIps": json.dumps(["192.168.150.11"])}, "nodeIps", "exactly two"),
    ({"nodeIps": json.dumps(["192.168.150.11", "10.1.1.1"])}, "nodeIps", "outside networkCidr"),
    ({"nodeIps": json.dumps(["192.168.150.11", "192.168.150.11"])}, "nodeIps", "must differ"),
    ({"nodeIps": json.dumps(["192.168.150.0", "192.168.150.12"])}, "nodeIps", "network address"),
    ({"nodeIps": json.dumps(["192.168.150.255", "192.168.150.12"])}, "nodeIps", "broadcast address"),
    ({"nodeIps": json.dumps(["192.168.150.1", "192.168.150.12"])}, "nodeIps", "gateway"),
    ({"nodeIps": json.dumps(["192.168.150.11", "not-an-ip"])}, "nodeIps", "not an IPv4 address"),
    ({"vip": "192.168.150.1"}, "vip", "gateway"),
    ({"vip": "192.168.150.11"}, "vip", "node address"),
    ({"vip": "192.168.151.10"}, "vip", "outside networkCidr"),
    ({"vip": "192.168.150.255"}, "vip", "broadcast"),
    ({"nicMacs": json.dumps(["52:54:00:00:00:01"] * 3)}, "nicMacs", "four MACs"),
    ({"nicMacs": json.dumps(["52:54:00:00:00:01", "52:54:00:00:00:02", "52:54:00:00:00:03", "zz:54:00:00:00:04"])},
     "nicMacs", "not a MAC"),
    ({"nicMacs": json.dumps(["01:00:5e:00:00:01", "52:54:00:00:00:02", "52:54:00:00:00:03", "52:54:00:00:00:04"])},
     "nicMacs", "multicast"),
    ({"nicMacs": json.dumps(["52:54:00:00:00:01", "52:54:00:00:00:01", "52:54:00:00:00:03", "52:54:00:00:00:04"])},
     "nicMacs", "must all differ"),
    ({"nameservers": json.dumps(["dns.example"])}, "nameservers", "not an IPv4 address"),
    ({"clientNetworks": json.dumps(["10.0.0.0/33"])}, "clientNetworks", "not an IPv4 network"),
    ({"clientNetworks": json.dumps(["10.1.2.3/8"])}, "clientNetworks", "has host bits set"),
    ({"monitoringNetworks": json.dumps(["10.1.2.3/8"])}, "monitoringNetworks", "has host bits set"),
    ({"monitoring": "prometheus"}, "monitoring", "exporters"),
    ({"redisPort": "9121"}, "redisPort", "the redis exporter's port (monitoring exporters)"),
    ({"libvirtUri": 'qemu:///system"; } listeners { x { y = "'}, "libvirtUri", "not a libvirt URI"),
    ({"libvirtUri": "qemu:///system; reboot"}, "libvirtUri", "not a libvirt URI"),
    ({"libvirtUri": "/var/run/libvirt/libvirt-sock"}, "libvirtUri", "not a libvirt URI"),
    ({"networkName": "lab net"}, "networkName", "must be 1-64 letters"),
    ({"networkName": "net$(id)"}, "networkName", "must be 1-64 letters"),
    ({"networkName": "net\nname"}, "networkName", "must be 1-64 letters"),
    ({"storagePool": "'default'"}, "storagePool", "must be 1-64 letters"),
    ({"nodeNames": json.dumps(["localhost", "b"])}, "nodeNames", "reserved"),
    ({"nodeNames": json.dumps(["a", "no-such-master"])}, "nodeNames", "reserved"),
    ({"nodeNames": json.dumps(["redis-ha", "b"])}, "nodeNames", "also the clusterName"),
    ({"nodeNames": json.dumps(["redis-ha-b", "b"])}, "nodeNames", "libvirt domain name of node 'b'"),
    ({"sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBlQi41iB2U3xmRubr6CozICqqFORn3ogS5mhhCjp/LA!"},
     "sshPublicKey", "not base64"),
    ({"sshPublicKey": "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIBlQi41iB2U3xmRubr6CozICqqFORn3ogS5mhhCjp/LA x"},
     "sshPublicKey", "is not a ssh-rsa key"),
    ({"sshPublicKey": OTHER_PUBLIC_KEY}, "sshPublicKey", "not the public half of sshPrivateKey"),
    ({"vipp": "192.168.150.10"}, "vipp", "did you mean vip?"),
    ({"redisPasword": "long-enough-password"}, "redisPasword", "did you mean redisPassword?"),
    ({"flavour": "large"}, "flavour", "not a key of this program"),
    ({"migrationThreshold": "0"}, "migrationThreshold", "never move a failed master's role"),
    ({"vcpus": "512"}, "vcpus", "at most 64"),
    ({"memoryMib": "4194304"}, "memoryMib", "at most 1048576"),
    ({"diskGib": "100000"}, "diskGib", "at most 16384"),
    ({"readyTimeoutSeconds": "30"}, "readyTimeoutSeconds", "at least 60"),
    ({"readyTimeoutSeconds": "999999"}, "readyTimeoutSeconds", "at most 86400"),
    ({"monitorTimeoutSeconds": "2"}, "monitorTimeoutSeconds", "at least 5"),
    ({"redisOperationTimeoutSeconds": "10"}, "redisOperationTimeoutSeconds", "at least 30"),
    ({"corosyncTokenMs": "50"}, "corosyncTokenMs", "at least 200"),
    ({"corosyncTokenMs": "600000"}, "corosyncTokenMs", "at most 120000"),
    ({"priorityFencingDelaySeconds": "3600"}, "priorityFencingDelaySeconds", "at most 600"),
    ({"clusterReadyTimeoutSeconds": "10"}, "clusterReadyTimeoutSeconds", "at least 60"),
    ({"redisPort": "70000"}, "redisPort", "at most 65535"),
    ({"redisPort": "0"}, "redisPort", "at least 1"),
    ({"redisPort": "2224"}, "redisPort", "pcsd"),
    ({"redisPort": "22"}, "redisPort", "sshd"),
    ({"redisPort": "1229"}, "redisPort", "fence_virt"),
    ({"redisPort": "5403"}, "redisPort", "corosync-qnetd"),
    ({"redisPort": "5405"}, "redisPort", "corosync"),
    ({"redisPort": "six"}, "redisPort", "must be an integer"),
    ({"clusterName": ""}, "clusterName", "must be 1-32"),
    ({"clusterName": "x" * 33}, "clusterName", "must be 1-32"),
    ({"sshUser": "root"}, "sshUser", "other than root"),
    ({"sshPublicKey": "not a key"}, "sshPublicKey", "not an OpenSSH public key"),
    ({"sshPrivateKey": None}, "sshPrivateKey", "required"),
    ({"sshPrivateKey": "hunter2-plain"}, "sshPrivateKey", "does not look like"),
    ({"sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n"},
     "sshPrivateKey", "not an unencrypted OpenSSH or PEM"),
    ({"haclusterPassword": None}, "haclusterPassword", "required"),
    ({"haclusterPassword": "short"}, "haclusterPassword", "at least 8"),
    ({"haclusterPassword": "two\nlines-long-enough"}, "haclusterPassword", "single line"),
    ({"redisPassword": None}, "redisPassword", "required"),
    ({"redisPassword": "short-pw"}, "redisPassword", "at least 12"),
    ({"redisPassword": "has a space in it"}, "redisPassword", "whitespace"),
    ({"packageMirror": "mirror.local/debian"}, "packageMirror", "not an http"),
    ({"packageMirrorInsecure": "yes"}, "packageMirrorInsecure", "true or false"),
    ({"fencing": "sbd"}, "fencing", "one of xvm, none"),
    ({"fenceKey": None}, "fenceKey", "required"),
    ({"fenceKey": "short-key"}, "fenceKey", "at least 32"),
    ({"fenceKey": "x" * 20 + "\n" + "y" * 20}, "fenceKey", "single line"),
    ({"libvirtUri": "qemu+tcp://hv1/system"}, "fencing", "is neither"),
    ({"priorityFencingDelaySeconds": "-1"}, "priorityFencingDelaySeconds", "at least 0"),
    ({"fenceVirtdAddress": "10.1.1.1"}, "fenceVirtdAddress", "outside networkCidr"),
    ({"fenceVirtdAddress": "hv1"}, "fenceVirtdAddress", "not an IPv4 address"),
    ({"initrd": "/boot/initrd.img"}, "initrd", "needs both"),
    ({"vcpus": "0"}, "vcpus", "at least 1"),
    ({"memoryMib": "256"}, "memoryMib", "at least 2048"),
    ({"memoryMib": "1024"}, "memoryMib", "pcsd and corosync alone take over 1 GiB"),
    ({"diskGib": "-1"}, "diskGib", "at least 1"),
    ({"tcgTbCacheMib": "-5"}, "tcgTbCacheMib", "at least 0"),
    ({"vipMonitorIntervalSeconds": "0"}, "vipMonitorIntervalSeconds", "at least 1"),
    ({"redisPromotedMonitorIntervalSeconds": "-3"}, "redisPromotedMonitorIntervalSeconds", "at least 1"),
    ({"redisUnpromotedMonitorIntervalSeconds": "3"}, "redisUnpromotedMonitorIntervalSeconds", "must differ"),
    ({"monitorTimeoutSeconds": "0"}, "monitorTimeoutSeconds", "at least 5"),
    ({"redisOperationTimeoutSeconds": "0"}, "redisOperationTimeoutSeconds", "at least 30"),
    ({"migrationThreshold": "-1"}, "migrationThreshold", "at least 1"),
    ({"failureTimeoutSeconds": "-1"}, "failureTimeoutSeconds", "at least 0"),
    ({"resourceStickiness": "-1"}, "resourceStickiness", "at least 0"),
    ({"corosyncTokenMs": "0"}, "corosyncTokenMs", "at least 200"),
    ({"loadThresholdPercent": "0"}, "loadThresholdPercent", "at least 1"),
    ({"corosyncConsensusMs": "1000"}, "corosyncConsensusMs", "at least 1.2"),
    ({"readyTimeoutSeconds": "0"}, "readyTimeoutSeconds", "at least 60"),
    ({"clusterReadyTimeoutSeconds": "0"}, "clusterReadyTimeoutSeconds", "at least 60"),
    ({"networkCreate": "maybe"}, "networkCreate", "true or false"),
    ({"quorumDevice": "qnetd.example.net"}, "quorumDevice", "one of none, hypervisor"),
    ({"quorumDevice": "hypervisor", "quorumDeviceAddress": "hv1"}, "quorumDeviceAddress", "not an IPv4 address"),
    ({"quorumDevice": "hypervisor", "quorumDeviceAddress": "192.168.150.12"}, "quorumDeviceAddress",
     "the address of redis-2"),
    ({"quorumDevice": "hypervisor", "quorumDeviceAddress": "192.168.150.10"}, "quorumDeviceAddress", "the VIP"),
    ({"quorumDevice": "hypervisor", "fencing": "none", "libvirtUri": "qemu+tcp://hv1/system"}, "quorumDevice",
     "is neither"),
]


@pytest.mark.parametrize(("overrides", "key", "fragment"), BAD, ids=[f"{case[1]}-{i}" for i, case in enumerate(BAD)])
def test_bad_value_is_refused_naming_the_key(load: Callable[..., Settings], overrides: dict[str, str | None],
                                             key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load(**overrides)
    message = str(raised.value)
    assert message.startswith(f"redis-ha:{key}: "), message
    assert fragment in message, message
    assert not any(secret in message for secret in SECRET_VALUES)
    for value in overrides.values():
        if value and key in ("haclusterPassword", "redisPassword", "sshPrivateKey"):
            assert value not in message, "a secret value was echoed in the error"


def test_redis_open_to_everyone_is_allowed_but_warned_about(load: Callable[..., Settings]) -> None:
    assert load().warnings == ()
    settings = load(clientNetworks=json.dumps(["0.0.0.0/0"]))
    assert settings.client_networks == ("0.0.0.0/0",)
    assert len(settings.warnings) == 1 and "open to every address" in settings.warnings[0]


def test_exporters_default_to_the_cluster_network_and_leave_their_ports_free_without_monitoring(
        load: Callable[..., Settings]) -> None:
    settings = load()
    assert settings.monitoring and settings.monitoring_networks == ("192.168.150.0/24",)
    assert load(monitoringNetworks=json.dumps(["10.9.0.0/16"])).monitoring_networks == ("10.9.0.0/16",)
    assert load(monitoring="none", redisPort="9121").redis_port == 9121
    open_to_all = load(monitoringNetworks=json.dumps(["0.0.0.0/0"]))
    assert len(open_to_all.warnings) == 1 and open_to_all.warnings[0].startswith("monitoringNetworks has 0.0.0.0/0")


def test_gateway_may_differ_on_an_existing_network(load: Callable[..., Settings]) -> None:
    assert load(networkCreate="false", gateway="192.168.150.254").gateway == "192.168.150.254"


@pytest.mark.parametrize(("uri", "expected"), [
    ("qemu:///system", Hypervisor("qemu:///system", "10.0.0.1")),
    ("qemu+ssh://hv1.example.net/system", Hypervisor("qemu:///system", "10.0.0.1", "hv1.example.net", "root", 22)),
    ("qemu+ssh://ops@10.0.0.5:2222/system?keyfile=/k",
     Hypervisor("qemu:///system", "10.0.0.1", "10.0.0.5", "ops", 2222)),
    ("qemu+tcp://hv1/system", None),
])
def test_fence_virtd_goes_where_libvirt_is(uri: str, expected: Hypervisor | None) -> None:
    assert hypervisor_of(uri, "10.0.0.1") == expected


def test_fencing_none_needs_no_key(load: Callable[..., Settings]) -> None:
    settings = load(fencing="none", fenceKey=None, libvirtUri="qemu+tcp://hv1/system")
    assert (settings.fencing, settings.hypervisor, settings.fence_key) == ("none", None, "")


def test_fence_virtd_address_defaults_to_the_gateway(load: Callable[..., Settings]) -> None:
    assert load().hypervisor == Hypervisor("qemu:///system", "192.168.150.1")
    assert load(fenceVirtdAddress="192.168.150.254").hypervisor == Hypervisor("qemu:///system", "192.168.150.254")
