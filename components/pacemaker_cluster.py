"""The two-node Pacemaker/Corosync cluster on the prepared nodes, built step by step over SSH:
the cluster-wide steps (each node's own are in NodeSetup)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.node_setup import HOLDS_VIP_HEURISTIC, NodeSetup
from components.node_vm import NodeVm
from components.pcs_plan import cluster_properties
from components.settings import Settings
from components.steps import run_script


@dataclass
class PacemakerClusterArgs:
    settings: Settings
    """Validated configuration: cluster name, secrets, timing, boot policy."""
    vms: tuple[NodeVm, NodeVm]
    """The two node VMs, in node order; the first one runs the cluster-wide pcs commands."""
    nodes: tuple[NodeSetup, NodeSetup]
    """Each node's own steps, in node order: done (and, on a running stack, the node back in the
    cluster) before the cluster-wide steps."""
    fence_virtd: pulumi.Resource | None
    """With fencing xvm: the step after which fence_virtd serves the cluster network."""
    whole_cluster: pulumi.Resource
    """The cluster's network: when it goes too (`pulumi destroy`), no step is undone on the nodes."""


class PacemakerCluster(pulumi.ComponentResource):
    ready: pulumi.Resource
    """The last step: the cluster is formed, started and its properties set."""

    def __init__(self, name: str, args: PacemakerClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("redis-ha:index:PacemakerCluster", name, None, opts)
        settings = args.settings
        hacluster_password = pulumi.Output.secret(settings.hacluster_password + "\n")
        first, second = settings.nodes

        # Every node authenticates to both, so each holds pcsd tokens for both: any pcs command
        # that goes through pcsd (`pcs cluster start --all` after an outage) works from either.
        # A replaced node's pcsd is new: both authenticate again.
        auths = [run_script(f"{name}-{node.name}-auth", settings, node, "cluster_auth.sh",
                            [first.name, first.ip, second.name, second.ip],
                            parent=self, depends_on=list(args.nodes), whole_cluster=args.whole_cluster,
                            stdin=hacluster_password,
                            triggers=[vm.domain_id for vm in args.vms])
                 for node in settings.nodes]
        setup = run_script(
            f"{name}-setup", settings, first, "cluster_setup.sh",
            [settings.cluster_name, first.name, first.ip, second.name, second.ip,
             settings.corosync_token_ms, settings.corosync_consensus_ms, settings.cluster_ready_timeout_s],
            parent=self, depends_on=auths, whole_cluster=args.whole_cluster, undo=("cluster_destroy.sh", [settings.cluster_name]),
        )
        formed: pulumi.Resource = setup
        if settings.quorum_device is not None:
            # The certificates are on both nodes (their NodeSetup) before corosync.conf names the
            # device, so corosync-qdevice never starts without them.
            formed = run_script(
                f"{name}-quorum-device", settings, first, "quorum_device.sh",
                [settings.quorum_device.hypervisor.address, HOLDS_VIP_HEURISTIC, settings.cluster_ready_timeout_s],
                parent=self, depends_on=[setup], whole_cluster=args.whole_cluster,
                undo=("quorum_device_remove.sh", [settings.cluster_ready_timeout_s]))
        boot = [
            run_script(f"{name}-{node.name}-boot", settings, node, "cluster_boot.sh",
                       [str(settings.start_cluster_at_boot).lower(), str(settings.quorum_device is not None).lower()],
                       parent=self, depends_on=[formed], whole_cluster=args.whole_cluster,
                       triggers=[vm.domain_id])
            for node, vm in zip(settings.nodes, args.vms, strict=True)
        ]
        # Properties turn STONITH on: fence_virtd must answer by then.
        properties = run_script(f"{name}-properties", settings, first, "cluster_properties.sh",
                                cluster_properties(settings), parent=self, whole_cluster=args.whole_cluster,
                                depends_on=[*boot, *([args.fence_virtd] if args.fence_virtd else [])])

        self.ready = properties
        self.register_outputs({"clusterName": settings.cluster_name, "setupStdout": setup.stdout,
                               "propertiesStdout": properties.stdout})
