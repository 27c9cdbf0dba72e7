"""redis-ha: two libvirt VMs, a two-node Pacemaker cluster and a promotable Redis behind a VIP."""

import json
from datetime import UTC, datetime

import pulumi
import pulumi_libvirt as libvirt

from components import preflight
from components.base_image import BaseImage, BaseImageArgs
from components.cluster_network import ClusterNetwork, ClusterNetworkArgs
from components.fence_virtd import FenceVirtd, FenceVirtdArgs
from components.monitoring import file_sd, scrape_targets
from components.node_setup import NodeSetup, NodeSetupArgs
from components.node_vm import NodeVm, NodeVmArgs
from components.pacemaker_cluster import PacemakerCluster, PacemakerClusterArgs
from components.qnetd import Qnetd, QnetdArgs
from components.redis_ha import RedisHa, RedisHaArgs
from components.rolling import ask_cluster, previous_outputs, rejoin_requests, replacement_order
from components.settings import ConfigError, deployed_identity, load_settings, refuse_identity_change

PROJECT_PREFIX = f"{pulumi.get_project()}:"
configured = [key.removeprefix(PROJECT_PREFIX) for key in pulumi.runtime.config.CONFIG.get()
              if key.startswith(PROJECT_PREFIX)]
last_update = previous_outputs()
try:
    settings = load_settings(pulumi.Config().get, configured)
    refuse_identity_change(last_update, settings, configured)
    preflight.check(settings)
except ConfigError as error:
    # One line naming the key, before any resource exists (a RunError prints no traceback).
    raise pulumi.RunError(str(error)) from None
for warning in settings.warnings:
    pulumi.log.warn(warning)

provider = pulumi.ResourceOptions(provider=libvirt.Provider("libvirt", uri=settings.libvirt_uri))
network = ClusterNetwork("network", ClusterNetworkArgs(settings), provider)
image = BaseImage("image", BaseImageArgs(settings), provider)
fence_virtd = (FenceVirtd("fence", FenceVirtdArgs(settings, settings.hypervisor, network)).ready
               if settings.hypervisor is not None else None)
qnetd_bundle = (Qnetd("qnetd", QnetdArgs(settings, settings.quorum_device, network)).bundle
                if settings.quorum_device is not None else None)

# On a running stack, a change that replaces both VMs replaces one, brings it back into the
# cluster with its Redis in sync, and only then the other (components/rolling.py); a new
# stack creates both at once. A node out of the cluster is brought back.
state = ask_cluster(settings)
order = replacement_order(settings.nodes, state)
rejoins = rejoin_requests(settings.nodes, state, last_update.get("rejoinRequested") or {},
                          datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
vms: dict[str, NodeVm] = {}
setups: dict[str, NodeSetup] = {}
for node in order or settings.nodes:
    peer = next(other for other in settings.nodes if other != node)
    back_first = setups[peer.name].membership if order and peer.name in setups else None
    vms[node.name] = NodeVm(node.name, NodeVmArgs(settings, node, image, network.network_name,
                                                  after=back_first), provider)
    setups[node.name] = NodeSetup(node.name, NodeSetupArgs(settings, node, peer, vms[node.name], qnetd_bundle, network,
                                                               rejoins.get(node.name, "")))
first, second = settings.nodes
cluster = PacemakerCluster("cluster", PacemakerClusterArgs(
    settings, (vms[first.name], vms[second.name]), (setups[first.name], setups[second.name]), fence_virtd, network))
redis = RedisHa("redis", RedisHaArgs(settings, (vms[first.name], vms[second.name]), cluster.ready, network))

pulumi.export("port", redis.port)
pulumi.export("endpoint", redis.endpoint)
pulumi.export("redisUrl", redis.redis_url)
pulumi.export("tls", "on" if settings.tls else "off")
pulumi.export("caCertificate", redis.ca_certificate)
if settings.tls_client_auth != "none":
    pulumi.export("clientCertificate", redis.client_certificate)
    pulumi.export("clientKey", redis.client_key)
# Where Prometheus scrapes the exporters (monitoring exporters): per node and exporter, and as
# file_sd JSON labelled the way monitoring/alerts.yml expects.
pulumi.export("monitoring", "exporters" if settings.monitoring else "none")
pulumi.export("scrapeTargets", scrape_targets(settings))
pulumi.export("prometheusFileSd", json.dumps(file_sd(settings), indent=2))
# The VIP, the cluster's name, its nodes and where they run: the next preview refuses to change
# them. Recorded once the final check passed: a first up that failed (a network name taken, say)
# leaves no cluster to protect, and the value that fixes it must not be refused.
for key, value in deployed_identity(settings).items():
    pulumi.export(key, pulumi.Output.all(redis.serving, value).apply(lambda both: both[1]))
# When each node was last found out of the cluster and brought back (the next up compares).
pulumi.export("rejoinRequested", rejoins)
