"""Every configuration key the program reads, parsed and validated in one place.

Pure: no Pulumi import. ``load_settings`` takes a getter (``pulumi.Config().get`` in the
program, a dict's ``get`` in tests) and either returns a complete, checked ``Settings`` or
raises ``ConfigError`` naming the key and the bad value, before any resource exists.
Secret values never appear in an error message.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import ipaddress
import json
import re
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

PROJECT = "redis-ha"

# Ports the nodes already use: Redis must not take them.
RESERVED_PORTS = {22: "sshd", 1229: "fence_virt (fence_xvm's replies)", 2224: "pcsd", 3121: "pacemaker-remote",
                  5403: "corosync-qnetd", 5404: "corosync", 5405: "corosync"}
# While no master is promoted, the redis agent points replicas at this host name (cloud_init.py
# resolves it to loopback); a node of that name, or localhost, would be taken for something else.
AGENT_PLACEHOLDER_MASTER = "no-such-master"
RESERVED_NODE_NAMES = ("localhost", AGENT_PLACEHOLDER_MASTER)
MIN_HACLUSTER_PASSWORD = 8
MIN_REDIS_PASSWORD = 12
MIN_FENCE_KEY = 32

_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_USERNAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_URL = re.compile(r"^(https?|ftp|file)://\S+$")
# driver[+transport]://[user@][host][:port]/path[?params]: nothing a configuration file the URI
# is written into (fence_virtd's) could take for syntax: no quotes, spaces, braces or semicolons.
_LIBVIRT_URI = re.compile(r"^[a-z][a-z0-9]*(\+[a-z0-9]+)?://([A-Za-z0-9._-]+@)?([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])?"
                          r"(:[0-9]{1,5})?/[A-Za-z0-9._/-]*(\?[A-Za-z0-9._~%/=&+,-]*)?$")
_LIBVIRT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


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
    bounds: tuple[int, int] | None = None
    """For an integer: the smallest and largest value that makes sense (inclusive)."""


# The single list of keys; Pulumi.yaml declares the same keys (a unit test keeps them in step).
KEYS: tuple[KeySpec, ...] = (
    KeySpec("libvirtUri", "string", "qemu:///system"),
    KeySpec("domainType", "string", "kvm"),
    KeySpec("baseImage", "string"),
    KeySpec("storagePool", "string", "default"),
    KeySpec("kernel", "string", ""),
    KeySpec("initrd", "string", ""),
    KeySpec("kernelCmdline", "string", ""),
    KeySpec("tcgTbCacheMib", "integer", 0, bounds=(0, 4096)),
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
    KeySpec("vcpus", "integer", 2, bounds=(1, 64)),
    KeySpec("memoryMib", "integer", 2048, bounds=(2048, 1048576)),
    KeySpec("diskGib", "integer", 10, bounds=(1, 16384)),
    KeySpec("dataDiskGib", "integer", 4, bounds=(1, 16384)),
    KeySpec("protectData", "boolean", True),
    KeySpec("sshUser", "string", "redisha"),
    KeySpec("sshPublicKey", "string"),
    KeySpec("sshPrivateKey", "string", secret=True),
    KeySpec("readyTimeoutSeconds", "integer", 900, bounds=(60, 86400)),
    KeySpec("haclusterPassword", "string", secret=True),
    KeySpec("redisPassword", "string", secret=True),
    KeySpec("redisPort", "integer", 6379, bounds=(1, 65535)),
    KeySpec("redisServer", "string", "redis"),
    KeySpec("tls", "string", "on"),
    KeySpec("tlsClientAuth", "string", "none"),
    KeySpec("tlsRotation", "integer", 0, bounds=(0, 1000000)),
    KeySpec("clusterName", "string", "redis-ha"),
    KeySpec("clientNetworks", "array", []),
    KeySpec("monitoring", "string", "exporters"),
    KeySpec("monitoringNetworks", "array", []),
    KeySpec("packageMirror", "string", ""),
    KeySpec("packageMirrorInsecure", "boolean", False),
    KeySpec("startClusterAtBoot", "boolean", False),
    KeySpec("fencing", "string", "xvm"),
    KeySpec("fenceKey", "string", "", secret=True),
    KeySpec("fenceVirtdAddress", "string", ""),
    KeySpec("priorityFencingDelaySeconds", "integer", 10, bounds=(0, 600)),
    KeySpec("quorumDevice", "string", "none"),
    KeySpec("quorumDeviceAddress", "string", ""),
    KeySpec("vipMonitorIntervalSeconds", "integer", 10, bounds=(1, 3600)),
    KeySpec("redisPromotedMonitorIntervalSeconds", "integer", 3, bounds=(1, 3600)),
    KeySpec("redisUnpromotedMonitorIntervalSeconds", "integer", 10, bounds=(1, 3600)),
    KeySpec("monitorTimeoutSeconds", "integer", 30, bounds=(5, 3600)),
    KeySpec("redisOperationTimeoutSeconds", "integer", 120, bounds=(30, 86400)),
    KeySpec("redisAgentPause", "string", "writes"),
    KeySpec("migrationThreshold", "integer", 1, bounds=(1, 1000000)),
    KeySpec("failureTimeoutSeconds", "integer", 60, bounds=(0, 86400)),
    KeySpec("resourceStickiness", "integer", 1, bounds=(0, 1000000)),
    KeySpec("corosyncTokenMs", "integer", 1000, bounds=(200, 120000)),
    KeySpec("corosyncConsensusMs", "integer", 0, bounds=(0, 240000)),
    KeySpec("clusterReadyTimeoutSeconds", "integer", 900, bounds=(60, 86400)),
    KeySpec("loadThresholdPercent", "integer", 100000, bounds=(1, 100000)),
)
KEYS_BY_NAME = {spec.name: spec for spec in KEYS}

DOMAIN_TYPES = ("kvm", "qemu")
NETWORK_MODES = ("nat", "route", "none")
FENCING_MODES = ("xvm", "none")
QUORUM_DEVICE_MODES = ("none", "hypervisor")
TLS_MODES = ("on", "off")
MONITORING_MODES = ("exporters", "none")
# How the redis agent's demote (and the notifications that repoint a replica) pause the server's
# clients: its own CLIENT PAUSE holds every command, or WRITE mode holds writes only.
AGENT_PAUSE_MODES = ("writes", "all")
# The Prometheus exporters on each node (monitoring exporters) and the ports they listen on:
# the ports their Debian packages default to.
EXPORTER_PORTS = {"hacluster": 9664, "redis": 9121, "node": 9100}
# Redis's tls-auth-clients for each tlsClientAuth.
TLS_CLIENT_AUTH = {"none": "no", "optional": "optional", "required": "yes"}


@dataclass(frozen=True)
class Node:
    """One cluster member: its name (also the Pacemaker node name) and bond address."""

    name: str
    ip: str
    macs: tuple[str, str]


@dataclass(frozen=True)
class Server:
    """The Redis-protocol server the nodes run, and where the distribution puts it (the same on
    Debian and RHEL-family for both)."""

    name: str
    """redis or valkey: also what install_packages.sh installs."""
    binary: str
    cli: str
    config: str
    user: str
    data_dir: str
    log_file: str
    unit: str
    """The distribution's service, which Pacemaker's agent replaces."""

    @property
    def process(self) -> str:
        return self.binary.rsplit("/", 1)[-1]

    @property
    def run_dir(self) -> str:
        return f"/run/{self.name}"

    @property
    def socket(self) -> str:
        """Where Pacemaker's agent has the server listen (its rundir and default socket_name)."""
        return f"{self.run_dir}/redis.sock"


SERVERS = {
    "redis": Server("redis", "/usr/bin/redis-server", "/usr/bin/redis-cli", "/etc/redis/redis.conf", "redis",
                    "/var/lib/redis", "/var/log/redis/redis-server.log", "redis-server.service"),
    "valkey": Server("valkey", "/usr/bin/valkey-server", "/usr/bin/valkey-cli", "/etc/valkey/valkey.conf", "valkey",
                     "/var/lib/valkey", "/var/log/valkey/valkey-server.log", "valkey-server.service"),
}


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
    data_disk_gib: int
    protect_data: bool
    ssh_user: str
    ssh_public_key: str
    ready_timeout_s: int
    redis_port: int
    server: Server
    tls: bool
    """Redis speaks TLS only (clients, replication); the agent keeps its local unix socket."""
    tls_client_auth: str
    """none, optional or required: whether Redis asks clients for a certificate of the stack's CA."""
    tls_rotation: int
    """Raised by one, new keys and certificates for the nodes and the application (the CA stays)."""
    agent_pause: str
    """writes or all: what the agent's CLIENT PAUSE holds (redisAgentPause)."""
    cluster_name: str
    client_networks: tuple[str, ...]
    monitoring: bool
    """monitoring exporters: the three exporters of EXPORTER_PORTS run on each node."""
    monitoring_networks: tuple[str, ...]
    """What may reach the exporters (monitoringNetworks; the cluster network when not set)."""
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
    warnings: tuple[str, ...] = ()
    """What the configuration allows but a user should hear about at preview."""
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


# Why a bound is where it is, where that is not obvious.
_BOUND_REASONS = {
    "migrationThreshold": "0 would never move a failed master's role to the replica: no failover",
    "memoryMib": "on Debian 13, pcsd and corosync alone take over 1 GiB; with less a node thrashes",
    "monitorTimeoutSeconds": "a resource agent's run takes seconds on a loaded node",
    "redisOperationTimeoutSeconds": "a replica's start waits for its first full sync",
    "readyTimeoutSeconds": "a new VM boots and runs cloud-init first",
    "clusterReadyTimeoutSeconds": "starting the cluster and promoting Redis take a while",
    "corosyncTokenMs": "below it corosync takes ordinary scheduling delays for a lost node",
}


def _integer(reader: _Reader, key: str) -> int:
    """An integer key, within its bounds."""
    value = int(reader.value(key))
    bounds = KEYS_BY_NAME[key].bounds
    if bounds is not None:
        low, high = bounds
        reason = f" ({_BOUND_REASONS[key]})" if key in _BOUND_REASONS else ""
        if value < low:
            raise ConfigError(key, f"must be at least {low}, got {value}{reason}")
        if value > high:
            raise ConfigError(key, f"must be at most {high}, got {value}")
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


def _libvirt_uri(reader: _Reader) -> str:
    uri = reader.required("libvirtUri")
    if not _LIBVIRT_URI.match(uri):
        raise ConfigError("libvirtUri", f"{uri!r} is not a libvirt URI like qemu:///system or "
                                        "qemu+ssh://user@host/system (no quotes, spaces, braces or semicolons)")
    return uri


def _libvirt_name(reader: _Reader, key: str) -> str:
    name = reader.required(key)
    if not _LIBVIRT_NAME.match(name):
        raise ConfigError(key, f"{name!r} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return name


def _networks(reader: _Reader, key: str, warnings: list[str], open_to_all: str) -> tuple[str, ...]:
    """A list of IPv4 networks in CIDR form; ``open_to_all`` is the warning for 0.0.0.0/0."""
    networks = reader.value(key)
    for cidr in networks:
        try:
            network = ipaddress.IPv4Network(cidr, strict=True)
        except ValueError as error:
            raise ConfigError(key, f"{cidr!r} is not an IPv4 network in CIDR form ({error})") from None
        if network.prefixlen == 0:
            warnings.append(f"{key} has {cidr}: {open_to_all}")
    return tuple(networks)


def _public_key(reader: _Reader) -> str:
    """sshPublicKey as one OpenSSH line whose base64 decodes to a key of the type it names."""
    line = reader.required("sshPublicKey").strip()
    fields = line.split()
    shown = f"{line[:40]!r}..."
    if len(fields) < 2 or not re.match(r"^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521))$", fields[0]):
        raise ConfigError("sshPublicKey", f"{shown} is not an OpenSSH public key line (type, base64, comment)")
    try:
        blob = base64.b64decode(fields[1], validate=True)
    except ValueError:
        raise ConfigError("sshPublicKey", f"{shown} has a key part that is not base64") from None
    (length,) = struct.unpack(">I", blob[:4]) if len(blob) >= 4 else (0,)
    if blob[4:4 + length].decode(errors="replace") != fields[0]:
        raise ConfigError("sshPublicKey", f"{shown} is not a {fields[0]} key (its key part is damaged or of another type)")
    return line


def _key_pair(public_line: str, private_key: str) -> None:
    """sshPublicKey must be the public half of sshPrivateKey (an OpenSSH or PEM private key
    carries its public key)."""
    unusable = ConfigError("sshPrivateKey", "is not an unencrypted OpenSSH or PEM Ed25519, ECDSA or RSA private key, "
                                            "which pulumi-command needs (value not shown)")
    try:
        load = serialization.load_ssh_private_key if "OPENSSH PRIVATE KEY" in private_key \
            else serialization.load_pem_private_key
        key = load(private_key.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise unusable from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise unusable
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    if public.split()[:2] != public_line.split()[:2]:
        raise ConfigError("sshPublicKey", f"{public_line[:40]!r}... is not the public half of sshPrivateKey "
                                          "(cloud-init would install a key Pulumi cannot log in with)")


def _distinct_names(nodes: tuple[Node, Node], cluster_name: str) -> None:
    """Node names the agent, corosync and libvirt can tell apart from everything else."""
    for node, other in (nodes, nodes[::-1]):
        if node.name in RESERVED_NODE_NAMES:
            raise ConfigError("nodeNames", f"{node.name!r} is reserved ({', '.join(RESERVED_NODE_NAMES)} resolve to "
                                           "loopback on the nodes)")
        if node.name == cluster_name:
            raise ConfigError("nodeNames", f"{node.name!r} is also the clusterName")
        if node.name == f"{cluster_name}-{other.name}":
            raise ConfigError("nodeNames", f"{node.name!r} is the libvirt domain name of node {other.name!r}")


def _known(configured: Iterable[str]) -> None:
    """Refuses a key of the project's namespace that the program does not read (a typo would
    otherwise be ignored, and its default silently used)."""
    for name in sorted(configured):
        if name not in KEYS_BY_NAME:
            close = difflib.get_close_matches(name, KEYS_BY_NAME, n=1, cutoff=0.6)
            hint = f": did you mean {close[0]}?" if close else ": see the configuration reference in README.md"
            raise ConfigError(name, f"is not a key of this program{hint}")


def load_settings(get: Callable[[str], str | None], configured: Iterable[str] = ()) -> Settings:
    """Read every key through ``get`` and validate it; raise ``ConfigError`` on the first problem.
    ``configured``: the names of every key the stack sets in the project's namespace."""
    _known(configured)
    reader = _Reader(get)
    warnings: list[str] = []
    libvirt_uri = _libvirt_uri(reader)
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
    _distinct_names(nodes, cluster_name)
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

    client_networks = _networks(reader, "clientNetworks", warnings, "Redis is open to every address that can route "
                                "to the VIP and the nodes, guarded by its password alone")
    monitoring = _choice(reader, "monitoring", MONITORING_MODES) == "exporters"
    monitoring_networks = _networks(reader, "monitoringNetworks", warnings, "the exporters' metrics are open to "
                                    "every address that can route to the nodes")

    redis_port = _integer(reader, "redisPort")
    if redis_port in RESERVED_PORTS:
        raise ConfigError("redisPort", f"{redis_port} is used by {RESERVED_PORTS[redis_port]} on the nodes")
    exporters_on = {port: name for name, port in EXPORTER_PORTS.items()}
    if monitoring and redis_port in exporters_on:
        raise ConfigError("redisPort", f"{redis_port} is the {exporters_on[redis_port]} exporter's port "
                                       "(monitoring exporters); choose another port or set monitoring to none")

    ssh_user = str(reader.value("sshUser"))
    if not _USERNAME.match(ssh_user) or ssh_user in ("root", "hacluster", "redis"):
        raise ConfigError("sshUser", f"{ssh_user!r} must be a plain login name other than root, hacluster or redis")
    ssh_public_key = _public_key(reader)

    package_mirror = str(reader.value("packageMirror")).strip()
    if package_mirror and not _URL.match(package_mirror):
        raise ConfigError("packageMirror", f"{package_mirror!r} is not an http(s), ftp or file URL")

    kernel, initrd = str(reader.value("kernel")), str(reader.value("initrd"))
    if initrd and not kernel:
        raise ConfigError("initrd", "is set but kernel is not; direct kernel boot needs both")

    token = _integer(reader, "corosyncTokenMs")
    consensus = reader.value("corosyncConsensusMs")
    consensus = int(consensus) or int(token * 1.2)
    if consensus < token * 1.2:
        raise ConfigError("corosyncConsensusMs", f"must be at least 1.2 x corosyncTokenMs ({int(token * 1.2)}), got {consensus}")

    promoted_interval = _integer(reader, "redisPromotedMonitorIntervalSeconds")
    unpromoted_interval = _integer(reader, "redisUnpromotedMonitorIntervalSeconds")
    if promoted_interval == unpromoted_interval:
        # Pacemaker tells two monitor operations of one resource apart by their interval.
        raise ConfigError("redisUnpromotedMonitorIntervalSeconds",
                          f"must differ from redisPromotedMonitorIntervalSeconds (both {promoted_interval})")

    tls = _choice(reader, "tls", TLS_MODES) == "on"
    tls_client_auth = _choice(reader, "tlsClientAuth", tuple(TLS_CLIENT_AUTH))
    if tls_client_auth != "none" and not tls:
        raise ConfigError("tlsClientAuth", f"{tls_client_auth} asks clients for a certificate over TLS; tls is off")

    private_key, hacluster_password, redis_password = _secrets(reader)
    _key_pair(ssh_public_key, private_key)
    fencing, hypervisor, fence_key = _fencing(reader, network, gateway)
    quorum_device = _quorum_device(reader, gateway, {nodes[0].ip: f"the address of {nodes[0].name}",
                                                     nodes[1].ip: f"the address of {nodes[1].name}",
                                                     vip: "the VIP"})

    if fencing == "none":
        warnings.append("fencing is none: STONITH is off, so a cut between the two nodes can leave both promoting "
                        "Redis and raising the VIP (two masters); set redis-ha:fencing to xvm")
    return Settings(
        libvirt_uri=libvirt_uri,
        domain_type=_choice(reader, "domainType", DOMAIN_TYPES),
        base_image=_base_image(reader),
        storage_pool=_libvirt_name(reader, "storagePool"),
        kernel=kernel,
        initrd=initrd,
        kernel_cmdline=str(reader.value("kernelCmdline")),
        tcg_tb_cache_mib=_integer(reader, "tcgTbCacheMib"),
        network_create=network_create,
        network_name=_libvirt_name(reader, "networkName"),
        network=network,
        network_mode=_choice(reader, "networkMode", NETWORK_MODES),
        gateway=gateway,
        nameservers=tuple(nameservers),
        nodes=nodes,
        vip=vip,
        vcpus=_integer(reader, "vcpus"),
        memory_mib=_integer(reader, "memoryMib"),
        disk_gib=_integer(reader, "diskGib"),
        data_disk_gib=_integer(reader, "dataDiskGib"),
        protect_data=bool(reader.value("protectData")),
        ssh_user=ssh_user,
        ssh_public_key=ssh_public_key,
        ready_timeout_s=_integer(reader, "readyTimeoutSeconds"),
        redis_port=redis_port,
        server=SERVERS[_choice(reader, "redisServer", tuple(SERVERS))],
        tls=tls,
        tls_client_auth=tls_client_auth,
        agent_pause=_choice(reader, "redisAgentPause", AGENT_PAUSE_MODES),
        tls_rotation=_integer(reader, "tlsRotation"),
        cluster_name=cluster_name,
        client_networks=client_networks,
        monitoring=monitoring,
        monitoring_networks=monitoring_networks or (str(network),),
        package_mirror=package_mirror,
        package_mirror_insecure=bool(reader.value("packageMirrorInsecure")),
        start_cluster_at_boot=bool(reader.value("startClusterAtBoot")),
        fencing=fencing,
        hypervisor=hypervisor,
        priority_fencing_delay_s=_integer(reader, "priorityFencingDelaySeconds"),
        quorum_device=quorum_device,
        vip_monitor_interval_s=_integer(reader, "vipMonitorIntervalSeconds"),
        redis_promoted_monitor_interval_s=promoted_interval,
        redis_unpromoted_monitor_interval_s=unpromoted_interval,
        monitor_timeout_s=_integer(reader, "monitorTimeoutSeconds"),
        redis_operation_timeout_s=_integer(reader, "redisOperationTimeoutSeconds"),
        migration_threshold=_integer(reader, "migrationThreshold"),
        failure_timeout_s=_integer(reader, "failureTimeoutSeconds"),
        resource_stickiness=_integer(reader, "resourceStickiness"),
        corosync_token_ms=token,
        corosync_consensus_ms=consensus,
        cluster_ready_timeout_s=_integer(reader, "clusterReadyTimeoutSeconds"),
        load_threshold_percent=_integer(reader, "loadThresholdPercent"),
        ssh_private_key=private_key,
        hacluster_password=hacluster_password,
        redis_password=redis_password,
        fence_key=fence_key,
        warnings=tuple(warnings),
    )


_MIGRATE = ("To change it, create a second stack with the new value, bring the data over (REPLICAOF the "
            "old VIP from the new master until it is in sync), move the clients, then `pulumi destroy` this one; "
            "or set the old value back.")


def deployed_identity(settings: Settings) -> dict[str, Any]:
    """What a running cluster cannot change in place, as the stack exports it: the next preview
    compares the configuration with it (refuse_identity_change)."""
    return {"clusterName": settings.cluster_name,
            "nodes": {node.name: node.ip for node in settings.nodes},
            "vip": settings.vip,
            "redisServer": settings.server.name,
            "libvirt": {"libvirtUri": settings.libvirt_uri, "storagePool": settings.storage_pool,
                        "networkName": settings.network_name, "networkMode": settings.network_mode,
                        "networkCreate": settings.network_create}}


def refuse_identity_change(previous: Mapping[str, Any], settings: Settings, configured: Iterable[str] = ()) -> None:
    """Raises ConfigError naming the key when the configuration would change what the running
    cluster is (the stack's outputs from its last update, ``previous``; empty for a new stack):
    Pulumi would carry it out by replacing both nodes at once, or the cluster would not survive it.
    Also a default that would change what the clients of a stack made before it must speak (tls).
    ``configured``: the keys the stack sets (for nodeIps against networkCidr, and tls)."""
    wanted = deployed_identity(settings)
    if previous.get("clusterName") not in (None, wanted["clusterName"]):
        raise ConfigError("clusterName", f"the running cluster is {previous['clusterName']!r}: renaming it renames its "
                                         f"domains, volumes and corosync cluster. {_MIGRATE}")
    before = previous.get("nodes")
    if before is not None and before != wanted["nodes"]:
        if sorted(before) != sorted(wanted["nodes"]):
            raise ConfigError("nodeNames", f"the running cluster's nodes are {sorted(before)}: Pacemaker, corosync and "
                                           f"libvirt know them by name. {_MIGRATE}")
        key = "nodeIps" if "nodeIps" in configured else "networkCidr"
        raise ConfigError(key, f"the running cluster's node addresses are {before}: corosync's links and the "
                               f"nodes' bonds use them. {_MIGRATE}")
    for key in ("vip", "redisServer"):
        if previous.get(key) not in (None, wanted[key]):
            raise ConfigError(key, f"the running cluster's {key} is {previous[key]!r}. {_MIGRATE}")
    for key, was in (previous.get("libvirt") or {}).items():
        if key in wanted["libvirt"] and was != wanted["libvirt"][key]:
            raise ConfigError(key, f"the running cluster's VMs, volumes and network are at {key} {was!r}. {_MIGRATE}")
    if previous.get("clusterName") is not None and "tls" not in previous and "tls" not in configured:
        raise ConfigError("tls", "this stack was made before TLS and its clients speak plain text, which the default "
                                 "(on) would end. Set tls to off to keep plain text, or to on to switch: clients then "
                                 "need the rediss:// URL and the caCertificate output (README, \"TLS\")")
