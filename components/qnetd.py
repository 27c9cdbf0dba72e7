"""Quorum device, server side: corosync-qnetd on the hypervisor (this machine or, for a qemu+ssh
libvirtUri, over SSH) with a client certificate for this cluster. `pulumi destroy` removes the
certificate, and stops qnetd if this program started it and no other redis-ha cluster uses it."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.hypervisor_command import hypervisor_command
from components.remote_script import command_line
from components.settings import QuorumDevice, Settings


@dataclass
class QnetdArgs:
    settings: Settings
    """Validated configuration: the cluster name (the client certificate's subject)."""
    quorum_device: QuorumDevice
    """Where qnetd runs and the address it listens on."""
    network: pulumi.Resource
    """The cluster network: in the default setup qnetd listens on its bridge, so it must exist first."""


class Qnetd(pulumi.ComponentResource):
    bundle: pulumi.Output[str]
    """Secret: qnetd's CA certificate and the cluster's client certificate with its key, for the nodes."""

    def __init__(self, name: str, args: QnetdArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("redis-ha:index:Qnetd", name, None, opts)
        hypervisor = args.quorum_device.hypervisor
        cluster = args.settings.cluster_name
        daemon = hypervisor_command(
            f"{name}-daemon", hypervisor,
            create=command_line("qnetd_setup.sh", cluster, hypervisor.address, sudo=False),
            delete=command_line("qnetd_remove.sh", cluster, sudo=False),
            stdin=None,
            # stdout carries the cluster's private key.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.network], additional_secret_outputs=["stdout"]),
        )
        self.bundle = pulumi.Output.secret(daemon.stdout)
        self.register_outputs({"address": hypervisor.address, "stderr": daemon.stderr})
