"""Redis on both nodes under Pacemaker: config, firewall, the VIP, the promotable clone, the
constraints that keep the VIP on the master, and a final check through the VIP."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pulumi

from components.node_vm import NodeVm
from components.pcs_plan import OWNED_RESOURCES, resource_plan, serialise
from components.redis_conf import render_redis_conf
from components.settings import Settings
from components.steps import run_script


@dataclass
class RedisHaArgs:
    settings: Settings
    """Validated configuration: VIP, Redis port and password, monitor timing, client networks."""
    vms: tuple[NodeVm, NodeVm]
    """The two node VMs, in node order: a replaced VM is a new machine, and its steps run again."""
    installed: tuple[pulumi.Resource, pulumi.Resource]
    """Per node: the step after which redis-server and firewalld are installed."""
    firewalls: tuple[pulumi.Resource, pulumi.Resource]
    """Per node: the step after which firewalld runs (the Redis port's rules come after)."""
    cluster_ready: pulumi.Resource
    """The step after which the cluster is formed and its properties set."""


class RedisHa(pulumi.ComponentResource):
    vip: pulumi.Output[str]
    port: pulumi.Output[int]
    endpoint: pulumi.Output[str]
    redis_url: pulumi.Output[str]

    def __init__(self, name: str, args: RedisHaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("redis-ha:index:RedisHa", name, None, opts)
        settings = args.settings
        first = settings.nodes[0]
        allowed = [str(settings.network), *settings.client_networks]

        configured = []
        for node, vm, installed, firewalld in zip(settings.nodes, args.vms, args.installed, args.firewalls, strict=True):
            prefix = f"{name}-{node.name}"
            config = run_script(
                f"{prefix}-config", settings, node, "redis_config.sh",
                [settings.server.config, settings.server.user, settings.server.process, settings.server.unit],
                parent=self, depends_on=[installed],
                stdin=pulumi.Output.secret(render_redis_conf(settings, node)), triggers=[vm.domain_id],
            )
            firewall = run_script(f"{prefix}-firewall", settings, node, "firewall_redis.sh",
                                  [settings.redis_port, *allowed], parent=self, depends_on=[firewalld],
                                  triggers=[vm.domain_id])
            configured += [config, firewall]

        resources = run_script(
            f"{name}-resources", settings, first, "cib_apply.sh", list(OWNED_RESOURCES),
            parent=self, depends_on=[args.cluster_ready, *configured],
            stdin=serialise(resource_plan(settings)),
            undo=("cib_remove.sh", list(OWNED_RESOURCES)),
        )
        password = pulumi.Output.secret(settings.redis_password + "\n")
        check = run_script(
            f"{name}-check", settings, first, "check_redis_ha.sh",
            [settings.server.cli, settings.vip, settings.redis_port, settings.cluster_ready_timeout_s],
            parent=self, depends_on=[resources], stdin=password,
            # Re-check whenever the resources were re-applied or a VM was replaced: `pulumi up`
            # succeeds only with a cluster that serves.
            triggers=[resources.stdout, *(vm.domain_id for vm in args.vms)],
        )

        self.vip = pulumi.Output.from_input(settings.vip)
        self.port = pulumi.Output.from_input(settings.redis_port)
        self.endpoint = pulumi.Output.from_input(f"{settings.vip}:{settings.redis_port}")
        self.redis_url = pulumi.Output.secret(
            f"redis://:{quote(settings.redis_password, safe='')}@{settings.vip}:{settings.redis_port}/0")
        self.register_outputs({"vip": self.vip, "port": self.port, "endpoint": self.endpoint,
                               "redisUrl": self.redis_url, "check": check.stdout})
