"""Fencing mode xvm, hypervisor side: fence_virtd listening on the cluster network's bridge with
the cluster's key, set up on this machine or, for a qemu+ssh libvirtUri, on the hypervisor over
SSH. `pulumi destroy` stops it and puts back what it replaced."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.hypervisor_command import hypervisor_command
from components.remote_script import command_line
from components.settings import Hypervisor, Settings


@dataclass
class FenceVirtdArgs:
    settings: Settings
    """Validated configuration: networkName, the hypervisor (from libvirtUri), the secret fenceKey."""
    hypervisor: Hypervisor
    """Where fence_virtd runs."""
    network: pulumi.Resource
    """The cluster network: fence_virtd listens on its bridge, so it must exist first."""


class FenceVirtd(pulumi.ComponentResource):
    ready: pulumi.Resource
    """The step after which fence_virtd answers fence_xvm requests on the cluster network."""

    def __init__(self, name: str, args: FenceVirtdArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("redis-ha:index:FenceVirtd", name, None, opts)
        hypervisor = args.hypervisor
        create = command_line("fence_virtd_setup.sh", args.settings.network_name, hypervisor.libvirt_uri, sudo=False)
        delete = command_line("fence_virtd_remove.sh", sudo=False)
        # An edited script or a new key changes the inputs and re-runs `create` in place:
        # replacing would run the old resource's delete, stopping the daemon just started.
        key = pulumi.Output.secret(args.settings.fence_key)
        child = pulumi.ResourceOptions(parent=self, depends_on=[args.network], additional_secret_outputs=["stdin"])
        daemon = hypervisor_command(f"{name}-daemon", hypervisor, create=create, delete=delete, stdin=key, opts=child)
        self.ready = daemon
        self.register_outputs({"stdout": daemon.stdout})
