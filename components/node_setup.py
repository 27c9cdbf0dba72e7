"""Everything that runs on one node to make it a cluster member, over SSH: packages, firewall,
credentials, Redis's configuration, and the node's membership, a step run on the other node that
drains this node before its VM is deleted and brings a replaced VM back into the cluster."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.monitoring import PASSWORD_FILE, redis_address, redis_exporter_password_file
from components.node_vm import DATA_DEVICE, NodeVm
from components.pcs_plan import PROMOTION_ALERT_PATH, REDIS_RESOURCE
from components.redis_conf import render_redis_conf
from components.redis_users import ADMIN_USER, AGENT_CLI, CLI, admin_password, monitor_acl
from components.remote_script import script_text
from components.settings import EXPORTER_PORTS, Node, Settings
from components.steps import run_script
from components.tls import CA_FILE, CERT_FILE, KEY_FILE, TLS_DIR, node_bundle

# corosync-qdevice's heuristic: passes on the node that holds the VIP (qdevice_node.sh writes it).
HOLDS_VIP_HEURISTIC = "/usr/local/sbin/redis-ha-holds-vip"
# Where these steps lived before they were gathered per node (stacks made then keep them).
EARLIER_PARENTS = {"cluster": "redis-ha:index:PacemakerCluster", "redis": "redis-ha:index:RedisHa"}


@dataclass
class NodeSetupArgs:
    settings: Settings
    """Validated configuration: package source, secrets, firewall, Redis, timeouts."""
    node: Node
    """The node the steps run on."""
    peer: Node
    """The other node, which runs this node's membership step."""
    vm: NodeVm
    """This node's VM: a replaced VM is a new machine, and every step runs again on it."""
    qnetd_bundle: pulumi.Output[str] | None
    """With a quorum device: qnetd's CA and the cluster's client certificate (secret)."""
    whole_cluster: pulumi.Resource
    """What only goes with the whole cluster (its network): when it goes too (`pulumi destroy`),
    the undo steps are skipped (components/steps.py, run_script); the drain's node may even be
    gone first."""
    rejoin_requested: str = ""
    """When the program last found the node out of the cluster (components/rolling.py), "" if
    never: a new value runs the membership step again, which brings the node back."""


class NodeSetup(pulumi.ComponentResource):
    prepared: pulumi.Resource
    """The step after which the node can join the cluster (packages, firewall, credentials)."""
    membership: pulumi.Resource
    """The step after which a replaced node is back in the cluster with its Redis in sync."""

    def __init__(self, name: str, args: NodeSetupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("redis-ha:index:NodeSetup", name, None, opts)
        settings, node, peer = args.settings, args.node, args.peer
        server = settings.server

        def step(role: str, script: str, arguments: list[str | int], after: list[pulumi.Resource], *,
                 was: str | None = None, stdin: pulumi.Input[str] | None = None,
                 undo: tuple[str, list[str | int]] | None = None) -> pulumi.Resource:
            """A step on this node; ``was`` names where it lived before, as "cluster:wait"."""
            aliases = []
            if was is not None:
                earlier_parent, _, earlier_role = was.partition(":")
                aliases.append(pulumi.Alias(name=f"{earlier_parent}-{node.name}-{earlier_role}",
                                            parent=pulumi.create_urn(earlier_parent, EARLIER_PARENTS[earlier_parent])))
            return run_script(f"{name}-{role}", settings, node, script, arguments, parent=self, depends_on=after,
                              stdin=stdin, undo=undo, triggers=[args.vm.domain_id], aliases=aliases,
                              whole_cluster=args.whole_cluster)

        wait = step("wait", "wait_ready.sh", [settings.ready_timeout_s], [args.vm],
                    was="cluster:wait")
        install = step("install", "install_packages.sh",
                       [settings.package_mirror, str(settings.package_mirror_insecure).lower(), server.name,
                        "exporters" if settings.monitoring else "none"], [wait],
                       was="cluster:install")
        firewall = step("firewall", "firewall_cluster.sh",
                        [settings.hypervisor.address] if settings.hypervisor else [], [install],
                        was="cluster:firewall")
        credentials = step("hacluster", "hacluster_password.sh", [], [firewall],
                           stdin=pulumi.Output.secret(settings.hacluster_password + "\n"),
                           was="cluster:hacluster")
        if settings.hypervisor:
            credentials = step("fence-key", "fence_key.sh", [], [credentials],
                               stdin=pulumi.Output.secret(settings.fence_key),
                               was="cluster:fence-key")
        prepared = [step("prepare", "cluster_node_prepare.sh", [settings.cluster_name], [credentials],
                         was="cluster:prepare")]
        if args.qnetd_bundle is not None:
            prepared.append(step("qdevice", "qdevice_node.sh", [settings.vip, HOLDS_VIP_HEURISTIC], [install],
                                 stdin=args.qnetd_bundle, undo=("qdevice_node_remove.sh", [HOLDS_VIP_HEURISTIC]),
                                 was="cluster:qdevice"))
        # The alert agent the CIB names (components/pcs_plan.py): there on both nodes before the cluster forms.
        step("promotion-alert", "install_file.sh", [PROMOTION_ALERT_PATH, "0755"], [wait],
             stdin=script_text("promotion_alert.sh"))
        # The certificates redis.conf names, and the clients the agent and the steps below reach Redis with.
        clients = step("redis-clients", "redis_clients.sh",
                       ["on" if settings.tls else "off", server.user, server.cli, ADMIN_USER, TLS_DIR, CLI, AGENT_CLI,
                        server.socket, server.config, settings.agent_pause],
                       [install], stdin=pulumi.Output.secret(node_bundle(settings, node) if settings.tls else ""))
        redis_config = step("redis-config", "redis_config.sh", [server.config, server.user, server.process, server.unit],
                            [clients], stdin=pulumi.Output.secret(render_redis_conf(settings, node)),
                            was="redis:config")
        # firewalld runs (and answers) once the cluster's firewall step is done.
        redis_firewall = step("redis-firewall", "firewall_ports.sh",
                              ["Redis", settings.redis_port, str(settings.network), *settings.client_networks], [firewall],
                              was="redis:firewall")

        if settings.monitoring:
            # The exporters configured (install_packages.sh installed them) and opened to
            # monitoringNetworks only; both go with their undo when monitoring is none.
            ports = ",".join(str(port) for port in EXPORTER_PORTS.values())
            # After the Redis port's: firewalld answers one client at a time, and two at once on a
            # loaded node made a call wait past firewall-cmd's D-Bus timeout.
            step("monitoring-firewall", "firewall_ports.sh", ["exporter", ports, *settings.monitoring_networks],
                 [redis_firewall], undo=("firewall_ports.sh", ["exporter", ports]))
            tls_files: list[str | int] = []
            if settings.tls:
                tls_files.append(CA_FILE)
                if settings.tls_client_auth != "none":
                    tls_files += [CERT_FILE, KEY_FILE, server.user]
            server_access: list[str | int] = [AGENT_CLI, server.socket, server.config]
            step("monitoring", "monitoring.sh",
                 [node.ip, EXPORTER_PORTS["hacluster"], EXPORTER_PORTS["redis"], EXPORTER_PORTS["node"],
                  redis_address(settings, node), PASSWORD_FILE, monitor_acl(settings), *server_access,
                  settings.ready_timeout_s, *tls_files], [redis_config],
                 stdin=pulumi.Output.secret(redis_exporter_password_file(settings, node)),
                 undo=("monitoring_remove.sh", [PASSWORD_FILE, *server_access]))

        # After redis_config.sh stopped the distribution's server, which the package started.
        data = step("data-volume", "data_volume.sh", [DATA_DEVICE, server.data_dir, server.user], [redis_config])

        # On the other node: before this node's VM is deleted, its delete drains this node
        # (standby: a planned switchover when this node's Redis is master, then its cluster
        # services stop); once a replaced VM is provisioned, its create brings the node back
        # and waits for its Redis to resync. Before the cluster is formed it does nothing.
        redis_args: list[str | int] = [REDIS_RESOURCE, CLI, settings.redis_port, settings.cluster_ready_timeout_s]
        membership = run_script(
            f"{name}-membership", settings, peer, "node_rejoin.sh",
            [settings.cluster_name, node.name, node.ip, *redis_args,
             *([args.rejoin_requested] if args.rejoin_requested else [])], parent=self,
            depends_on=[*prepared, data, redis_firewall],
            stdin=pulumi.Output.secret(f"{settings.hacluster_password}\n{admin_password(settings)}\n"),
            triggers=[args.vm.domain_id],
            undo=("node_drain.sh", [settings.cluster_name, node.name, peer.ip, *redis_args]),
            whole_cluster=args.whole_cluster,
        )

        self.prepared = prepared[0]
        self.membership = membership
        self.register_outputs({"membership": membership.stdout})
