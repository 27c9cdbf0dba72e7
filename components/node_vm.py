"""One cluster node: a disk cloned from the base image, its cloud-init seed, a small volume with
its SSH host key, a data volume for Redis, and the domain with two NICs on the cluster network
(bonded inside the guest by the network-config)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_command as command
import pulumi_libvirt as libvirt

from components.base_image import BaseImage
from components.cloud_init import render_meta_data, render_network_config, render_user_data
from components.host_keys import host_key_of
from components.libvirt_xml import render_cmdlines, render_tcg_xslt
from components.remote_script import command_line
from components.settings import Node, Settings

GIB = 1024**3
DATA_DEVICE = "/dev/vdc"
"""The data volume inside the guest: the domain's third virtio disk."""


@dataclass
class NodeVmArgs:
    settings: Settings
    """Validated configuration (sizes, domain type, pool, boot options)."""
    node: Node
    """This node's name, bond address and the MACs of its two NICs."""
    base_image: BaseImage
    """The base image the node's disk is a copy-on-write clone of."""
    network_name: pulumi.Input[str]
    """The libvirt network both NICs attach to."""
    after: pulumi.Resource | None = None
    """What this node's volumes and domain wait for: on a running stack, the other node back in
    the cluster after its own replacement (components/rolling.py), so both never go at once."""


class NodeVm(pulumi.ComponentResource):
    domain_id: pulumi.Output[str]
    name: str
    ip: str

    def __init__(self, name: str, args: NodeVmArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("redis-ha:index:NodeVm", name, None, opts)
        settings, node = args.settings, args.node
        waits = pulumi.ResourceOptions(parent=self, depends_on=[args.after] if args.after is not None else None)
        # Libvirt names are unique: a replacement deletes the old volume or domain before it
        # creates the new one; the node's drain (NodeSetup's membership) runs before that.
        child = pulumi.ResourceOptions.merge(waits, pulumi.ResourceOptions(delete_before_replace=True))

        disk = libvirt.Volume(
            f"{name}-disk",
            name=f"{settings.domain_name(node)}.qcow2",
            pool=settings.storage_pool,
            base_volume_id=args.base_image.volume_id,
            size=settings.disk_gib * GIB,
            format="qcow2",
            opts=child,
        )
        seed = libvirt.CloudInitDisk(
            f"{name}-cloudinit",
            name=f"{settings.domain_name(node)}-seed.iso",
            pool=settings.storage_pool,
            user_data=render_user_data(settings, node),
            meta_data=render_meta_data(settings, node),
            network_config=render_network_config(settings, node),
            # The provider reads a seed back from the pool right after uploading it; once (CI,
            # stop 26), under the base image's upload, what it read was not the ISO yet
            # (`corrupted-image: EOF`).
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[args.base_image])),
        )
        # Written with virsh where `pulumi up` runs, the key on stdin: a pulumi-libvirt volume
        # would need the key in a file here, and its cloud-init seed is logged (README, Operating it).
        # Changing the key rewrites the volume in place; the domain keeps the same disk.
        host_key_volume = f"{settings.domain_name(node)}-hostkey.raw"
        where = (settings.libvirt_uri, settings.storage_pool, host_key_volume)
        host_key = command.local.Command(
            f"{name}-host-key",
            create=command_line("host_key_volume.sh", *where, sudo=False),
            delete=command_line("host_key_volume_remove.sh", *where, sudo=False),
            stdin=pulumi.Output.secret(host_key_of(settings, node).private_openssh),
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions.merge(waits, pulumi.ResourceOptions(additional_secret_outputs=["stdin"])),
        )
        # Redis's data live on a volume of their own that a VM replacement keeps; protected, a
        # change that would replace or delete it fails instead (protectData).
        data = libvirt.Volume(
            f"{name}-data",
            name=f"{settings.domain_name(node)}-data.qcow2",
            pool=settings.storage_pool,
            size=settings.data_disk_gib * GIB,
            format="qcow2",
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=settings.protect_data)),
        )
        direct_boot = bool(settings.kernel)
        domain = libvirt.Domain(
            f"{name}-domain",
            name=settings.domain_name(node),
            type=settings.domain_type,
            vcpu=settings.vcpus,
            memory=settings.memory_mib,
            # The root disk first: the kernel command line and the guest's boot script count on it;
            # the data volume third (DATA_DEVICE).
            disks=[libvirt.DomainDiskArgs(volume_id=disk.id),
                   libvirt.DomainDiskArgs(volume_id=host_key.stdout.apply(str.strip)),
                   libvirt.DomainDiskArgs(volume_id=data.id)],
            cloudinit=seed.id,
            network_interfaces=[
                libvirt.DomainNetworkInterfaceArgs(network_name=args.network_name, mac=mac)
                for mac in node.macs
            ],
            consoles=[libvirt.DomainConsoleArgs(type="pty", target_port="0", target_type="serial")],
            kernel=settings.kernel if direct_boot else None,
            initrd=settings.initrd or None,
            cmdlines=render_cmdlines(settings.kernel_cmdline) if direct_boot and settings.kernel_cmdline else None,
            xml=libvirt.DomainXmlArgs(xslt=render_tcg_xslt(settings.tcg_tb_cache_mib))
            if settings.domain_type == "qemu" and settings.tcg_tb_cache_mib else None,
            autostart=True,
            running=True,
            opts=child,
        )
        self.domain_id = domain.id
        self.name = node.name
        self.ip = node.ip
        self.register_outputs({"domainId": self.domain_id, "name": node.name, "ip": node.ip})
