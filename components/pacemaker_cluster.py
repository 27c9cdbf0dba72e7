"""The two-node Pacemaker/Corosync cluster on the node VMs, built step by step over SSH."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.node_vm import NodeVm
from components.pcs_plan import cluster_properties
from components.settings import Settings
from components.steps import run_script

# corosync-qdevice's heuristic: passes on the node that holds the VIP (qdevice_node.sh writes it).
HOLDS_VIP_HEURISTIC = "/usr/local/sbin/redis-ha-holds-vip"


@dataclass
class PacemakerClusterArgs:
    settings: Settings
    """Validated configuration: cluster name, secrets, timing, package mirror, boot policy."""
    vms: tuple[NodeVm, NodeVm]
    """The two node VMs, in node order; the first one runs the cluster-wide pcs commands."""
    fence_virtd: pulumi.Resource | None
    """With fencing xvm: the step after which fence_virtd serves the cluster network."""
    qnetd_bundle: pulumi.Output[str] | None
    """With a quorum device: qnetd's CA and the cluster's client certificate (secret)."""


class PacemakerCluster(pulumi.ComponentResource):
    ready: pulumi.Resource
    """The last step: the cluster is formed, started and its properties set."""
    installed: tuple[pulumi.Resource, pulumi.Resource]
    """Per node: the cluster and Redis packages are installed."""
    firewalls: tuple[pulumi.Resource, pulumi.Resource]
    """Per node: firewalld runs, the cluster's services open."""

    def __init__(self, name: str, args: PacemakerClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("redis-ha:index:PacemakerCluster", name, None, opts)
        settings = args.settings
        hacluster_password = pulumi.Output.secret(settings.hacluster_password + "\n")
        first, second = settings.nodes
        fence_key = pulumi.Output.secret(settings.fence_key)

        per_node_ready = []
        installed = []
        firewalls = []
        qdevice_clients = []
        for node, vm in zip(settings.nodes, args.vms, strict=True):
            prefix = f"{name}-{node.name}"
            # A replaced VM is a new machine: every step re-runs on it.
            vm_trigger = [vm.domain_id]
            wait = run_script(f"{prefix}-wait", settings, node, "wait_ready.sh", [settings.ready_timeout_s],
                              parent=self, depends_on=[vm], triggers=vm_trigger)
            install = run_script(f"{prefix}-install", settings, node, "install_packages.sh",
                                 [settings.package_mirror, str(settings.package_mirror_insecure).lower(),
                                  settings.server.name],
                                 parent=self, depends_on=[wait], triggers=vm_trigger)
            firewall = run_script(f"{prefix}-firewall", settings, node, "firewall_cluster.sh",
                                  [settings.hypervisor.address] if settings.hypervisor else [],
                                  parent=self, depends_on=[install], triggers=vm_trigger)
            hacluster = run_script(f"{prefix}-hacluster", settings, node, "hacluster_password.sh",
                                   parent=self, depends_on=[firewall], stdin=hacluster_password,
                                   triggers=vm_trigger)
            credentials = hacluster
            if settings.hypervisor:
                credentials = run_script(f"{prefix}-fence-key", settings, node, "fence_key.sh", parent=self,
                                         depends_on=[hacluster], stdin=fence_key, triggers=vm_trigger)
            prepare = run_script(f"{prefix}-prepare", settings, node, "cluster_node_prepare.sh",
                                 [settings.cluster_name], parent=self, depends_on=[credentials], triggers=vm_trigger)
            installed.append(install)
            firewalls.append(firewall)
            per_node_ready.append(prepare)
            if args.qnetd_bundle is not None:
                qdevice_clients.append(run_script(
                    f"{prefix}-qdevice", settings, node, "qdevice_node.sh", [settings.vip, HOLDS_VIP_HEURISTIC],
                    parent=self, depends_on=[install], stdin=args.qnetd_bundle, triggers=vm_trigger,
                    undo=("qdevice_node_remove.sh", [HOLDS_VIP_HEURISTIC])))

        # Every node authenticates to both, so each holds pcsd tokens for both: any pcs command
        # that goes through pcsd (`pcs cluster start --all` after an outage) works from either.
        auths = [run_script(f"{name}-{node.name}-auth", settings, node, "cluster_auth.sh",
                            [first.name, first.ip, second.name, second.ip],
                            parent=self, depends_on=per_node_ready, stdin=hacluster_password)
                 for node in settings.nodes]
        setup = run_script(
            f"{name}-setup", settings, first, "cluster_setup.sh",
            [settings.cluster_name, first.name, first.ip, second.name, second.ip,
             settings.corosync_token_ms, settings.corosync_consensus_ms, settings.cluster_ready_timeout_s],
            parent=self, depends_on=auths, undo=("cluster_destroy.sh", [settings.cluster_name]),
        )
        formed: pulumi.Resource = setup
        if settings.quorum_device is not None:
            # The certificates are on both nodes before corosync.conf names the device, so
            # corosync-qdevice never starts without them.
            formed = run_script(
                f"{name}-quorum-device", settings, first, "quorum_device.sh",
                [settings.quorum_device.hypervisor.address, HOLDS_VIP_HEURISTIC, settings.cluster_ready_timeout_s],
                parent=self, depends_on=[setup, *qdevice_clients],
                undo=("quorum_device_remove.sh", [settings.cluster_ready_timeout_s]))
        boot = [
            run_script(f"{name}-{node.name}-boot", settings, node, "cluster_boot.sh",
                       [str(settings.start_cluster_at_boot).lower(), str(settings.quorum_device is not None).lower()],
                       parent=self, depends_on=[formed])
            for node in settings.nodes
        ]
        # Properties turn STONITH on: fence_virtd must answer by then.
        properties = run_script(f"{name}-properties", settings, first, "cluster_properties.sh",
                                cluster_properties(settings), parent=self,
                                depends_on=[*boot, *([args.fence_virtd] if args.fence_virtd else [])])

        self.ready = properties
        self.installed = (installed[0], installed[1])
        self.firewalls = (firewalls[0], firewalls[1])
        self.register_outputs({"clusterName": settings.cluster_name, "setupStdout": setup.stdout,
                               "propertiesStdout": properties.stdout})
