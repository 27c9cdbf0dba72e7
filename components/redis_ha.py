"""Redis under Pacemaker: the VIP, the promotable clone, the constraints that keep the VIP on the
master (each node's redis.conf and firewall are NodeSetup's), and a final check through the VIP."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pulumi

from components.node_vm import NodeVm
from components.pcs_plan import OWNED_IDS, resource_plan, serialise
from components.redis_users import APPLICATION_USER, CLI, admin_password
from components.settings import Settings
from components.steps import run_script
from components.tls import tls_material


@dataclass
class RedisHaArgs:
    settings: Settings
    """Validated configuration: VIP, Redis port and password, monitor timing."""
    vms: tuple[NodeVm, NodeVm]
    """The two node VMs, in node order: after a VM is replaced, the check runs again."""
    cluster_ready: pulumi.Resource
    """The step after which the cluster is formed, its properties set, and both nodes' Redis
    configured (NodeSetup)."""
    whole_cluster: pulumi.Resource
    """The cluster's network: when it goes too (`pulumi destroy`), the resources are not removed
    from the CIB first."""


class RedisHa(pulumi.ComponentResource):
    vip: pulumi.Output[str]
    port: pulumi.Output[int]
    endpoint: pulumi.Output[str]
    redis_url: pulumi.Output[str]
    serving: pulumi.Output[str]
    """The final check's report: known once the VIP served as master with an online replica."""
    ca_certificate: pulumi.Output[str]
    """PEM of the stack's CA ("" with tls off): what clients verify the server with."""
    client_certificate: pulumi.Output[str]
    """The applications' client certificate with tlsClientAuth optional or required, else ""."""
    client_key: pulumi.Output[str]
    """Its private key (secret)."""

    def __init__(self, name: str, args: RedisHaArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("redis-ha:index:RedisHa", name, None, opts)
        settings = args.settings
        first = settings.nodes[0]

        resources = run_script(
            f"{name}-resources", settings, first, "cib_apply.sh", list(OWNED_IDS),
            parent=self, depends_on=[args.cluster_ready], whole_cluster=args.whole_cluster,
            stdin=serialise(resource_plan(settings)),
            undo=("cib_apply.sh", ["--remove", *OWNED_IDS]),
        )
        password = pulumi.Output.secret(admin_password(settings) + "\n")
        check = run_script(
            f"{name}-check", settings, first, "check_redis_ha.sh",
            [CLI, settings.vip, settings.redis_port, settings.cluster_ready_timeout_s],
            parent=self, depends_on=[resources], whole_cluster=args.whole_cluster, stdin=password,
            # Re-check whenever the resources were re-applied or a VM was replaced: `pulumi up`
            # succeeds only with a cluster that serves.
            triggers=[resources.stdout, *(vm.domain_id for vm in args.vms)],
        )

        self.vip = pulumi.Output.from_input(settings.vip)
        self.port = pulumi.Output.from_input(settings.redis_port)
        self.endpoint = pulumi.Output.from_input(f"{settings.vip}:{settings.redis_port}")
        scheme = "rediss" if settings.tls else "redis"
        self.serving = check.stdout
        self.redis_url = pulumi.Output.secret(
            f"{scheme}://{APPLICATION_USER}:{quote(settings.redis_password, safe='')}@{settings.vip}:{settings.redis_port}/0")
        material = tls_material(settings) if settings.tls else None
        self.ca_certificate = pulumi.Output.from_input(material.ca_certificate if material else "")
        client = material.application if material and settings.tls_client_auth != "none" else None
        self.client_certificate = pulumi.Output.from_input(client.certificate if client else "")
        self.client_key = pulumi.Output.secret(client.key if client else "")
        self.register_outputs({"vip": self.vip, "port": self.port, "endpoint": self.endpoint,
                               "redisUrl": self.redis_url, "caCertificate": self.ca_certificate,
                               "clientCertificate": self.client_certificate, "clientKey": self.client_key,
                               "check": check.stdout})
