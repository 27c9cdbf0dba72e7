"""The libvirt network both nodes' NICs attach to: created here, or an existing one by name."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_libvirt as libvirt

from components.libvirt_xml import render_no_dns_xslt
from components.settings import Settings


@dataclass
class ClusterNetworkArgs:
    settings: Settings
    """Validated configuration: networkCreate, networkName, networkCidr, networkMode."""


class ClusterNetwork(pulumi.ComponentResource):
    network_name: pulumi.Output[str]

    def __init__(self, name: str, args: ClusterNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("redis-ha:index:ClusterNetwork", name, None, opts)
        settings = args.settings
        if settings.network_create:
            isolated = settings.network_mode == "none"
            network = libvirt.Network(
                f"{name}-network",
                name=settings.network_name,
                mode=settings.network_mode,
                addresses=[str(settings.network)],
                autostart=True,
                # Static addresses only: DHCP would hand out addresses that could collide
                # with the VIP, and the bridge (gateway) address comes from `addresses`.
                dhcp=libvirt.NetworkDhcpArgs(enabled=False),
                dns=libvirt.NetworkDnsArgs(enabled=not isolated),
                # The provider cannot say "DNS off" by itself (see render_no_dns_xslt).
                xml=libvirt.NetworkXmlArgs(xslt=render_no_dns_xslt()) if isolated else None,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.network_name = network.name
        else:
            self.network_name = pulumi.Output.from_input(settings.network_name)
        self.register_outputs({"networkName": self.network_name})
