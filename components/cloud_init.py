"""Cloud-init documents for one node (pure: rendered with pyyaml, unit-tested without Pulumi)."""

from __future__ import annotations

import yaml

from components.remote_script import command_line
from components.settings import AGENT_PLACEHOLDER_MASTER, Node, Settings

BOND = "bond0"
NIC_NAMES = ("nic0", "nic1")


def _dump(document: dict[str, object]) -> str:
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


# While no master is promoted, the redis agent points replicas at AGENT_PLACEHOLDER_MASTER.
# Redis resolves its master's name in its main thread: a name that goes to DNS stalls the
# whole server (and the agent's notify/promote calls) for the resolver's timeout, 20 s and more
# per attempt where the DNS server does not answer. On a loopback address nothing listens on,
# each attempt is refused at once.
PLACEHOLDER_ADDRESS = "127.0.0.2"


def render_hosts(settings: Settings) -> str:
    """/etc/hosts with both node names on their bond addresses: the redis agent replicates to
    `<node name>` and corosync must not resolve the local name to a loopback address."""
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback",
             f"{PLACEHOLDER_ADDRESS} {AGENT_PLACEHOLDER_MASTER}"]
    lines += [f"{node.ip} {node.name}" for node in settings.nodes]
    return "\n".join(lines) + "\n"


def render_user_data(settings: Settings, node: Node) -> str:
    """Holds no secret: pulumi-libvirt logs a seed's user data (the host key comes on its own
    volume, see node_vm.py)."""
    document: dict[str, object] = {
        # bootcmd runs before cloud-init's ssh module and before sshd starts; a glob outside the
        # quoted script lists the virtio disks after the root disk.
        "bootcmd": [f"{command_line('host_key_install.sh', sudo=False)} /dev/vd[b-z]"],
        "hostname": node.name,
        "preserve_hostname": False,
        # Our /etc/hosts is authoritative; cloud-init's would map the hostname to 127.0.1.1.
        "manage_etc_hosts": False,
        "write_files": [{"path": "/etc/hosts", "owner": "root:root", "permissions": "0644",
                         "content": render_hosts(settings)}],
        "users": [{
            "name": settings.ssh_user,
            "shell": "/bin/bash",
            "sudo": "ALL=(ALL) NOPASSWD:ALL",
            "lock_passwd": True,
            "ssh_authorized_keys": [settings.ssh_public_key],
        }],
        "ssh_pwauth": False,
        "disable_root": True,
        # The host key bootcmd installed stays, and no other is made (cloud-init makes a type only
        # when its file is missing; [] fails its schema).
        "ssh_deletekeys": False,
        "ssh_genkeytypes": ["ed25519"],
    }
    return "#cloud-config\n" + _dump(document)


def render_meta_data(settings: Settings, node: Node) -> str:
    # A stable instance-id: a new one would make cloud-init treat a reboot as a first boot.
    return _dump({"instance-id": f"{settings.cluster_name}-{node.name}", "local-hostname": node.name})


def render_network_config(settings: Settings, node: Node) -> str:
    """Network-config v2: both NICs matched by MAC, bonded active-backup, static address on the bond."""
    ethernets = {
        name: {"match": {"macaddress": mac}, "set-name": name, "dhcp4": False, "dhcp6": False}
        for name, mac in zip(NIC_NAMES, node.macs, strict=True)
    }
    bond = {
        "interfaces": list(NIC_NAMES),
        "addresses": [f"{node.ip}/{settings.prefix_length}"],
        "routes": [{"to": "default", "via": settings.gateway}],
        "nameservers": {"addresses": list(settings.nameservers)},
        "parameters": {"mode": "active-backup", "primary": NIC_NAMES[0], "mii-monitor-interval": 100},
    }
    return _dump({"version": 2, "ethernets": ethernets, "bonds": {BOND: bond}})
