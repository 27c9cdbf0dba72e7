"""A command on the hypervisor: here, where `pulumi up` runs, or over SSH for a qemu+ssh
libvirtUri, with the same SSH access libvirt uses (the user's agent, SSH_AUTH_SOCK)."""

from __future__ import annotations

import pulumi
import pulumi_command as command

from components.settings import Hypervisor


def hypervisor_command(name: str, hypervisor: Hypervisor, *, create: str, delete: str, stdin: pulumi.Input[str] | None,
                       opts: pulumi.ResourceOptions) -> command.local.Command | command.remote.Command:
    if hypervisor.ssh_host:
        connection = command.remote.ConnectionArgs(host=hypervisor.ssh_host, user=hypervisor.ssh_user,
                                                   port=hypervisor.ssh_port)
        return command.remote.Command(name, connection=connection, create=create, delete=delete, stdin=stdin,
                                      add_previous_output_in_env=False, opts=opts)
    # The previous run's output (qnetd's bundle holds a private key) stays out of the environment.
    return command.local.Command(name, create=create, delete=delete, stdin=stdin, add_previous_output_in_env=False,
                                 opts=opts)
