"""redis-ha: two libvirt VMs, a two-node Pacemaker cluster and a promotable Redis behind a VIP."""

import pulumi
import pulumi_libvirt as libvirt

from components import preflight
from components.base_image import BaseImage, BaseImageArgs
from components.cluster_network import ClusterNetwork, ClusterNetworkArgs
from components.fence_virtd import FenceVirtd, FenceVirtdArgs
from components.node_vm import NodeVm, NodeVmArgs
from components.pacemaker_cluster import PacemakerCluster, PacemakerClusterArgs
from components.qnetd import Qnetd, QnetdArgs
from components.redis_ha import RedisHa, RedisHaArgs
from components.settings import ConfigError, load_settings

PROJECT_PREFIX = f"{pulumi.get_project()}:"
try:
    settings = load_settings(pulumi.Config().get, [key.removeprefix(PROJECT_PREFIX) for key in
                                                   pulumi.runtime.config.CONFIG.get() if key.startswith(PROJECT_PREFIX)])
    preflight.check(settings)
except ConfigError as error:
    # One line naming the key, before any resource exists (a RunError prints no traceback).
    raise pulumi.RunError(str(error)) from None
for warning in settings.warnings:
    pulumi.log.warn(warning)

provider = pulumi.ResourceOptions(provider=libvirt.Provider("libvirt", uri=settings.libvirt_uri))
network = ClusterNetwork("network", ClusterNetworkArgs(settings), provider)
image = BaseImage("image", BaseImageArgs(settings), provider)
first, second = settings.nodes
vms = (NodeVm(first.name, NodeVmArgs(settings, first, image.volume_id, network.network_name), provider),
       NodeVm(second.name, NodeVmArgs(settings, second, image.volume_id, network.network_name), provider))
fence_virtd = (FenceVirtd("fence", FenceVirtdArgs(settings, settings.hypervisor, network)).ready
               if settings.hypervisor is not None else None)
qnetd_bundle = (Qnetd("qnetd", QnetdArgs(settings, settings.quorum_device, network)).bundle
                if settings.quorum_device is not None else None)
cluster = PacemakerCluster("cluster", PacemakerClusterArgs(settings, vms, fence_virtd, qnetd_bundle))
redis = RedisHa("redis", RedisHaArgs(settings, vms, cluster.installed, cluster.firewalls, cluster.ready))

pulumi.export("vip", redis.vip)
pulumi.export("port", redis.port)
pulumi.export("endpoint", redis.endpoint)
pulumi.export("redisUrl", redis.redis_url)
pulumi.export("clusterName", settings.cluster_name)
pulumi.export("nodes", {node.name: node.ip for node in settings.nodes})
