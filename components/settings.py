"""Every configuration key the program reads, parsed and validated in one place.

Pure: no Pulumi import. ``load_settings`` takes a getter (``pulumi.Config().get`` in the
program, a dict's ``get`` in tests) and either returns a complete, checked ``Settings`` or
raises ``ConfigError`` naming the key and the bad value, before any resource exists.
Secret values never appear in an error message.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT = "redis-ha"

# Ports the cluster stack itself listens on (pcsd, corosync knet): Redis must not take them.
RESERVED_PORTS = {2224: "pcsd", 3121: "pacemaker-remote", 5403: "corosync-qnetd",
                  5404: "corosync", 5405: "corosync"}
MIN_HACLUSTER_PASSWORD = 8
MIN_REDIS_PASSWORD = 12
MIN_FENCE_KEY = 32

_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_USERNAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_URL = re.compile(r"^(https?|ftp|file)://\S+$")


class ConfigError(ValueError):
    """A configuration value the program refuses; the message names the key."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = f"{PROJECT}:{key}"
        super().__init__(f"{self.key}: {problem}")


@dataclass(frozen=True)
class KeySpec:
    """One configuration key: how it is parsed and what it defaults to."""

    name: str
    kind: str  # string | integer | boolean | array
    default: Any = None
    """None: required (the engine refuses a stack without it). For a key derived from others,
    the empty value ("", [] or 0), which the program reads as "derive it"."""
    secret: bool = False


# The single list of keys; Pulumi.yaml declares the same keys (a unit test keeps them in step).
KEYS: tuple[KeySpec, ...] = (
    KeySpec("libvirtUri", "string", "qemu:///system"),
    KeySpec("domainType", "string", "kvm"),
    KeySpec("baseImage", "string"),
    KeySpec("storagePool", "string", "default"),
    KeySpec("kernel", "string", ""),
    KeySpec("initrd", "string", ""),
    KeySpec("kernelCmdline", "string", ""),
    KeySpec("tcgTbCacheMib", "integer", 0),
    KeySpec("networkCreate", "boolean", True),
    KeySpec("networkName", "string", "redis-ha"),
    KeySpec("networkCidr", "string", "192.168.150.0/24"),
    KeySpec("networkMode", "string", "nat"),
    KeySpec("gateway", "string", ""),
    KeySpec("nameservers", "array", []),
    KeySpec("nodeNames", "array", ["redis-1", "redis-2"]),
    KeySpec("nodeIps", "array", []),
    KeySpec("vip", "string", ""),
    KeySpec("nicMacs", "array", []),
    KeySpec("vcpus", "integer", 2),
    KeySpec("memoryMib", "integer", 2048),
    KeySpec("diskGib", "integer", 10),
    KeySpec("sshUser", "string", "redisha"),
    KeySpec("sshPublicKey", "string"),
    KeySpec("sshPrivateKey", "string", secret=True),
    KeySpec("readyTimeoutSeconds", "integer", 900),
    KeySpec("haclusterPassword", "string", secret=True),
    KeySpec("redisPassword", "string", secret=True),
    KeySpec("redisPort", "integer", 6379),
    KeySpec("clusterName", "string", "redis-ha"),
    KeySpec("clientNetworks", "array", []),
    KeySpec("packageMirror", "string", ""),
    KeySpec("packageMirrorInsecure", "boolean", False),
    KeySpec("startClusterAtBoot", "boolean", False),
    KeySpec("fencing", "string", "xvm"),
    KeySpec("fenceKey", "string", "", secret=True),
    KeySpec("fenceVirtdAddress", "string", ""),
    KeySpec("priorityFencingDelaySeconds", "integer", 10),
    KeySpec("quorumDevice", "string", "none"),
    KeySpec("quorumDeviceAddress", "string", ""),
    KeySpec("vipMonitorIntervalSeconds", "integer", 10),
    KeySpec("redisPromotedMonitorIntervalSeconds", "integer", 3),
    KeySpec("redisUnpromotedMonitorIntervalSeconds", "integer", 10),
    KeySpec("monitorTimeoutSeconds", "integer", 30),
    KeySpec("redisOperationTimeoutSeconds", "integer", 120),
    KeySpec("migrationThreshold", "integer", 1),
    KeySpec("failureTimeoutSeconds", "integer", 60),
    KeySpec("resourceStickiness", "integer", 1),
    KeySpec("corosyncTokenMs", "integer", 1000),
    KeySpec("corosyncConsensusMs", "integer", 0),
    KeySpec("clusterReadyTimeoutSeconds", "integer", 900),
    KeySpec("loadThresholdPercent", "integer", 400),
)
KEYS_BY_NAME = {spec.name: spec for spec in KEYS}

DOMAIN_TYPES = ("kvm", "qemu")
NETWORK_MODES = ("nat", "route", "none")
FENCING_MODES = ("xvm", "none")
QUORUM_DEVICE_MODES = ("none", "hypervisor")


@dataclass(frozen=True)
class Node:
    """One cluster member: its name (also the Pacemaker node name) and bond address."""

    name: str
    ip: str
    macs: tuple[str, str]


@dataclass(frozen=True)
class Settings:
    """The validated configuration; secrets are kept out of ``repr``."""

    libvirt_uri: str
    domain_type: str
    base_image: str
    storage_pool: str
    kernel: str
    initrd: str
    kernel_cmdline: str
    tcg_tb_cache_mib: int
    network_create: bool
    network_name: str
    network: ipaddress.IPv4Network
    network_mode: str
    gateway: str
    nameservers: tuple[str, ...]
    nodes: tuple[Node, Node]
    vip: str
    vcpus: int
    memory_mib: int
    disk_gib: int
    ssh_user: str
    ssh_public_key: str
    ready_timeout_s: int
    redis_port: int
    cluster_name: str
    client_networks: tuple[str, ...]
    package_mirror: str
    package_mirror_insecure: bool
    start_cluster_at_boot: bool
    fencing: str
    hypervisor: Hypervisor | None
    """With fencing xvm: where fence_virtd runs."""
    priority_fencing_delay_s: int
    quorum_device: QuorumDevice | None
    """With quorumDevice hypervisor: where corosync-qnetd runs and where the nodes reach it."""
    vip_monitor_interval_s: int
    redis_promoted_monitor_interval_s: int
    redis_unpromoted_monitor_interval_s: int
    monitor_timeout_s: int
    redis_operation_timeout_s: int
    migration_threshold: int
    failure_timeout_s: int
    resource_stickiness: int
    corosync_token_ms: int
    corosync_consensus_ms: int
    cluster_ready_timeout_s: int
    load_threshold_percent: int
    ssh_private_key: str = field(repr=False, default="")
    hacluster_password: str = field(repr=False, default="")
    redis_password: str = field(repr=False, default="")
    fence_key: str = field(repr=False, default="")

    @property
    def prefix_length(self) -> int:
        return self.network.prefixlen

    def domain_name(self, node: Node) -> str:
        """The node's libvirt domain, also the stem of its volumes: one name per cluster and node."""
        return f"{self.cluster_name}-{node.name}"


def _shown(spec: KeySpec, value: object) -> str:
    return "(secret)" if spec.secret else repr(value)


def _parse(spec: KeySpec, raw: str) -> Any:
    """Turn the string Pulumi stores into the key's declared type."""
    if spec.kind == "string":
        return raw
    if spec.kind == "integer":
        try:
            return int(raw.strip())
        except ValueError:
            raise ConfigError(spec.name, f"must be an integer, got {_shown(spec, raw)}") from None
    if spec.kind == "boolean":
        lowered = raw.strip().lower()
        if lowered not in ("true", "false"):
            raise ConfigError(spec.name, f"must be true or false, got {_shown(spec, raw)}")
        return lowered == "true"
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ConfigError(spec.name, f"must be a list of strings, got {_shown(spec, raw)}") from None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(spec.name, f"must be a list of strings, got {_shown(spec, raw)}")
    return value


class _Reader:
    def __init__(self, get: Callable[[str], str | None]) -> None:
        self._get = get

    def value(self, name: str) -> Any:
        spec = KEYS_BY_NAME[name]
        raw = self._get(name)
        if raw is None or (raw == "" and spec.kind != "string"):
            return spec.default
        return _parse(spec, raw)

    def required(self, name: str) -> str:
        value = self.value(name)
        if value is None or str(value).strip() == "":
            raise ConfigError(name, "is required but not set"
                              + (" (set it with `pulumi config set --secret`)"
                                 if KEYS_BY_NAME[name].secret else ""))
        return str(value)


def _address(key: str, raw: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(raw)
    except ValueError:
        raise ConfigError(key, f"{raw!r} is not an IPv4 address") from None


def _usable_in(key: str, address: ipaddress.IPv4Address, network: ipaddress.IPv4Network) -> None:
    if address not in network:
        raise ConfigError(key, f"{address} is outside networkCidr {network}")
    if address == network.network_address:
        raise ConfigError(key, f"{address} is the network address of {network}")
    if address == network.broadcast_address:
        raise ConfigError(key, f"{address} is the broadcast address of {network}")


def _positive(reader: _Reader, key: str, minimum: int = 1) -> int:
    value = int(reader.value(key))
    if value < minimum:
        raise ConfigError(key, f"must be at least {minimum}, got {value}")
    return value


def derive_mac(cluster_name: str, node_name: str, nic: int) -> str:
    """A stable, locally administered-looking MAC in QEMU's 52:54:00 range."""
    digest = hashlib.sha256(f"{cluster_name}/{node_name}/nic{nic}".encode()).digest()
    return "52:54:00:" + ":".join(f"{byte:02x}" for byte in digest[:3])


def _default_addresses(network: ipaddress.IPv4Network) -> tuple[str, str, str, str]:
    """Gateway, VIP and the two node addresses: .1, .10, .11, .12 where the network is large
    enough, otherwise the first four usable hosts."""
    hosts = list(network.hosts()) if network.num_addresses <= 16 else None
    if hosts is not None:
        return str(hosts[0]), str(hosts[1]), str(hosts[2]), str(hosts[3])
    base = network.network_address
    return str(base + 1), str(base + 10), str(base + 11), str(base + 12)


def _network(reader: _Reader) -> ipaddress.IPv4Network:
    raw = reader.required("networkCidr")
    try:
        network = ipaddress.IPv4Network(raw, strict=True)
    except ValueError as error:
        raise ConfigError("networkCidr", f"{raw!r} is not an IPv4 network in CIDR form ({error})") from None
    if network.prefixlen > 29:
        raise ConfigError("networkCidr", f"{raw!r} is too small: a gateway, a VIP and two nodes need /29 or larger")
    return network


def _nodes(reader: _Reader, network: ipaddress.IPv4Network, cluster_name: str,
           default_ips: tuple[str, str]) -> tuple[Node, Node]:
    names = reader.value("nodeNames")
    if len(names) != 2:
        raise ConfigError("nodeNames", f"exactly two nodes are supported, got {len(names)}: {names!r}")
    for name in names:
        if not _HOSTNAME.match(name):
            raise ConfigError("nodeNames", f"{name!r} is not a valid hostname (lowercase letters, digits, '-', at most 63)")
    if names[0] == names[1]:
        raise ConfigError("nodeNames", f"node names must differ, got {names!r}")

    ips = reader.value("nodeIps") or list(default_ips)
    if len(ips) != 2:
        raise ConfigError("nodeIps", f"exactly two addresses are needed, got {len(ips)}: {ips!r}")
    for ip in ips:
        _usable_in("nodeIps", _address("nodeIps", ip), network)
    if ips[0] == ips[1]:
        raise ConfigError("nodeIps", f"node addresses must differ, got {ips!r}")

    macs = reader.value("nicMacs") or [derive_mac(cluster_name, name, nic) for name in names for nic in (0, 1)]
    if len(macs) != 4:
        raise ConfigError("nicMacs", f"four MACs are needed (two NICs per node), got {len(macs)}: {macs!r}")
    macs = [mac.lower() for mac in macs]
    for mac in macs:
        if not _MAC.match(mac):
            raise ConfigError("nicMacs", f"{mac!r} is not a MAC address like 52:54:00:12:34:56")
        if int(mac[:2], 16) & 1:
            raise ConfigError("nicMacs", f"{mac!r} is a multicast address; a NIC needs a unicast MAC")
    if len(set(macs)) != 4:
        raise ConfigError("nicMacs", f"MACs must all differ, got {macs!r}")
    return (Node(names[0], ips[0], (macs[0], macs[1])), Node(names[1], ips[1], (macs[2], macs[3])))


def _base_image(reader: _Reader) -> str:
    image = reader.required("baseImage")
    if "://" in image:
        if not _URL.match(image):
            raise ConfigError("baseImage", f"{image!r} is not a valid URL")
        return image
    if not Path(image).is_file():
        raise ConfigError("baseImage", f"{image!r} does not exist or is not a file on this machine")
    return image


def _choice(reader: _Reader, key: str, choices: tuple[str, ...]) -> str:
    value = str(reader.value(key))
    if value not in choices:
        raise ConfigError(key, f"must be one of {', '.join(choices)}; got {value!r}")
    return value


def _secrets(reader: _Reader) -> tuple[str, str, str]:
    private_key = reader.required("sshPrivateKey")
    if "PRIVATE KEY-----" not in private_key:
        raise ConfigError("sshPrivateKey", "does not look like a PEM/OpenSSH private key (value not shown)")
    hacluster = reader.required("haclusterPassword")
    if len(hacluster) < MIN_HACLUSTER_PASSWORD:
        raise ConfigError("haclusterPassword", f"must be at least {MIN_HACLUSTER_PASSWORD} characters (value not shown)")
    if any(ch in hacluster for ch in "\r\n"):
        raise ConfigError("haclusterPassword", "must be a single line (value not shown)")
    redis = reader.required("redisPassword")
    if len(redis) < MIN_REDIS_PASSWORD:
        raise ConfigError("redisPassword", f"must be at least {MIN_REDIS_PASSWORD} characters (value not shown)")
    if re.search(r"[\s\"'\\]", redis):
        raise ConfigError("redisPassword", "must not contain whitespace, quotes or backslashes (value not shown)")
    return private_key, hacluster, redis


@dataclass(frozen=True)
class Hypervisor:
    """Where fence_virtd is set up: this machine (``ssh_host`` empty) or, for a qemu+ssh
    libvirtUri, the hypervisor reached over SSH with the user's own SSH agent."""

    libvirt_uri: str
    """The libvirt URI as seen on the hypervisor itself."""
    address: str
    """The hypervisor's address on the cluster network: fence_virtd's replies come from it."""
    ssh_host: str = ""
    ssh_user: str = ""
    ssh_port: int = 22


def hypervisor_of(uri: str, address: str) -> Hypervisor | None:
    """None for a URI that fence_virtd cannot be set up through (e.g. qemu+tcp)."""
    if re.match(r"^[a-z]+:///", uri):
        return Hypervisor(uri, address)
    remote = re.match(r"^(?P<driver>[a-z]+)\+ssh://((?P<user>[^@/]+)@)?(?P<host>[^:/?]+)(:(?P<port>\d+))?"
                      r"(?P<path>/[a-z]*)(\?.*)?$", uri)
    if remote is None:
        return None
    return Hypervisor(f"{remote['driver']}://{remote['path']}", address, remote["host"], remote["user"] or "root",
                      int(remote["port"] or 22))


@dataclass(frozen=True)
class QuorumDevice:
    """corosync-qnetd on the hypervisor: the third vote that decides which side of a split keeps
    quorum."""

    hypervisor: Hypervisor
    """Where qnetd is set up; its ``address`` is where the nodes reach qnetd."""


def _quorum_device(reader: _Reader, gateway: str, taken: dict[str, str]) -> QuorumDevice | None:
    if _choice(reader, "quorumDevice", QUORUM_DEVICE_MODES) == "none":
        return None
    address = reader.value("quorumDeviceAddress") or gateway
    _address("quorumDeviceAddress", address)
    if address in taken:
        raise ConfigError("quorumDeviceAddress", f"{address} is {taken[address]}: qnetd must run outside the cluster")
    uri = str(reader.value("libvirtUri"))
    hypervisor = hypervisor_of(uri, address)
    if hypervisor is None:
        raise ConfigError("quorumDevice", f"hypervisor sets up corosync-qnetd through this machine or qemu+ssh; "
                                          f"libvirtUri {uri!r} is neither")
    return QuorumDevice(hypervisor)


def _fencing(reader: _Reader, network: ipaddress.IPv4Network, gateway: str) -> tuple[str, Hypervisor | None, str]:
    """The fencing mode and, for xvm, the hypervisor side and the key it shares with the nodes."""
    fencing = _choice(reader, "fencing", FENCING_MODES)
    if fencing == "none":
        return fencing, None, ""
    uri = str(reader.value("libvirtUri"))
    address = reader.value("fenceVirtdAddress") or gateway
    _usable_in("fenceVirtdAddress", _address("fenceVirtdAddress", address), network)
    hypervisor = hypervisor_of(uri, address)
    if hypervisor is None:
        raise ConfigError("fencing", f"xvm sets up fence_virtd on the hypervisor, through this machine or "
                                     f"qemu+ssh; libvirtUri {uri!r} is neither")
    key = reader.required("fenceKey")
    if len(key) < MIN_FENCE_KEY:
        raise ConfigError("fenceKey", f"must be at least {MIN_FENCE_KEY} characters (value not shown)")
    if any(ch in key for ch in "\r\n"):
        raise ConfigError("fenceKey", "must be a single line (value not shown)")
    return fencing, hypervisor, key


def load_settings(get: Callable[[str], str | None]) -> Settings:
    """Read every key through ``get`` and validate it; raise ``ConfigError`` on the first problem."""
    reader = _Reader(get)
    cluster_name = str(reader.value("clusterName"))
    if not _CLUSTER_NAME.match(cluster_name):
        raise ConfigError("clusterName",
                          f"{cluster_name!r} must be 1-32 letters, digits, '-' or '_', starting with a letter or digit")

    network = _network(reader)
    default_gateway, default_vip, *default_ips = _default_addresses(network)
    gateway = reader.value("gateway") or default_gateway
    _usable_in("gateway", _address("gateway", gateway), network)
    network_create = bool(reader.value("networkCreate"))
    if network_create and gateway != default_gateway:
        raise ConfigError("gateway", f"{gateway}: a network created here puts its bridge (the gateway) on {default_gateway}")

    nodes = _nodes(reader, network, cluster_name, (default_ips[0], default_ips[1]))
    if gateway in (nodes[0].ip, nodes[1].ip):
        raise ConfigError("nodeIps", f"{gateway} is the gateway address")

    vip = reader.value("vip") or default_vip
    _usable_in("vip", _address("vip", vip), network)
    if vip == gateway:
        raise ConfigError("vip", f"{vip} is the gateway address")
    if vip in (nodes[0].ip, nodes[1].ip):
        raise ConfigError("vip", f"{vip} is also a node address")

    nameservers = reader.value("nameservers") or [gateway]
    for server in nameservers:
        _address("nameservers", server)

    client_networks = reader.value("clientNetworks")
    for cidr in client_networks:
        try:
            ipaddress.IPv4Network(cidr, strict=False)
        except ValueError:
            raise ConfigError("clientNetworks", f"{cidr!r} is not an IPv4 network in CIDR form") from None

    redis_port = int(reader.value("redisPort"))
    if not 1 <= redis_port <= 65535:
        raise ConfigError("redisPort", f"must be between 1 and 65535, got {redis_port}")
    if redis_port in RESERVED_PORTS:
        raise ConfigError("redisPort", f"{redis_port} is used by {RESERVED_PORTS[redis_port]}")

    ssh_user = str(reader.value("sshUser"))
    if not _USERNAME.match(ssh_user) or ssh_user in ("root", "hacluster", "redis"):
        raise ConfigError("sshUser", f"{ssh_user!r} must be a plain login name other than root, hacluster or redis")
    ssh_public_key = reader.required("sshPublicKey").strip()
    if not re.match(r"^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+( .*)?$", ssh_public_key):
        raise ConfigError("sshPublicKey", f"{ssh_public_key[:40]!r}... is not an OpenSSH public key line")

    package_mirror = str(reader.value("packageMirror")).strip()
    if package_mirror and not _URL.match(package_mirror):
        raise ConfigError("packageMirror", f"{package_mirror!r} is not an http(s), ftp or file URL")

    kernel, initrd = str(reader.value("kernel")), str(reader.value("initrd"))
    if initrd and not kernel:
        raise ConfigError("initrd", "is set but kernel is not; direct kernel boot needs both")

    token = _positive(reader, "corosyncTokenMs")
    consensus = reader.value("corosyncConsensusMs")
    consensus = int(consensus) or int(token * 1.2)
    if consensus < token * 1.2:
        raise ConfigError("corosyncConsensusMs", f"must be at least 1.2 x corosyncTokenMs ({int(token * 1.2)}), got {consensus}")

    promoted_interval = _positive(reader, "redisPromotedMonitorIntervalSeconds")
    unpromoted_interval = _positive(reader, "redisUnpromotedMonitorIntervalSeconds")
    if promoted_interval == unpromoted_interval:
        # Pacemaker tells two monitor operations of one resource apart by their interval.
        raise ConfigError("redisUnpromotedMonitorIntervalSeconds",
                          f"must differ from redisPromotedMonitorIntervalSeconds (both {promoted_interval})")

    private_key, hacluster_password, redis_password = _secrets(reader)
    fencing, hypervisor, fence_key = _fencing(reader, network, gateway)
    quorum_device = _quorum_device(reader, gateway, {nodes[0].ip: f"the address of {nodes[0].name}",
                                                     nodes[1].ip: f"the address of {nodes[1].name}",
                                                     vip: "the VIP"})

    return Settings(
        libvirt_uri=reader.required("libvirtUri"),
        domain_type=_choice(reader, "domainType", DOMAIN_TYPES),
        base_image=_base_image(reader),
        storage_pool=reader.required("storagePool"),
        kernel=kernel,
        initrd=initrd,
        kernel_cmdline=str(reader.value("kernelCmdline")),
        tcg_tb_cache_mib=_positive(reader, "tcgTbCacheMib", minimum=0),
        network_create=network_create,
        network_name=reader.required("networkName"),
        network=network,
        network_mode=_choice(reader, "networkMode", NETWORK_MODES),
        gateway=gateway,
        nameservers=tuple(nameservers),
        nodes=nodes,
        vip=vip,
        vcpus=_positive(reader, "vcpus"),
        memory_mib=_positive(reader, "memoryMib", minimum=512),
        disk_gib=_positive(reader, "diskGib"),
        ssh_user=ssh_user,
        ssh_public_key=ssh_public_key,
        ready_timeout_s=_positive(reader, "readyTimeoutSeconds"),
        redis_port=redis_port,
        cluster_name=cluster_name,
        client_networks=tuple(client_networks),
        package_mirror=package_mirror,
        package_mirror_insecure=bool(reader.value("packageMirrorInsecure")),
        start_cluster_at_boot=bool(reader.value("startClusterAtBoot")),
        fencing=fencing,
        hypervisor=hypervisor,
        priority_fencing_delay_s=_positive(reader, "priorityFencingDelaySeconds", minimum=0),
        quorum_device=quorum_device,
        vip_monitor_interval_s=_positive(reader, "vipMonitorIntervalSeconds"),
        redis_promoted_monitor_interval_s=promoted_interval,
        redis_unpromoted_monitor_interval_s=unpromoted_interval,
        monitor_timeout_s=_positive(reader, "monitorTimeoutSeconds"),
        redis_operation_timeout_s=_positive(reader, "redisOperationTimeoutSeconds"),
        migration_threshold=_positive(reader, "migrationThreshold", minimum=0),
        failure_timeout_s=_positive(reader, "failureTimeoutSeconds", minimum=0),
        resource_stickiness=_positive(reader, "resourceStickiness", minimum=0),
        corosync_token_ms=token,
        corosync_consensus_ms=consensus,
        cluster_ready_timeout_s=_positive(reader, "clusterReadyTimeoutSeconds"),
        load_threshold_percent=_positive(reader, "loadThresholdPercent"),
        ssh_private_key=private_key,
        hacluster_password=hacluster_password,
        redis_password=redis_password,
        fence_key=fence_key,
    )
