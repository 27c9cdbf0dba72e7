"""redis-ha: two libvirt VMs, a two-node Pacemaker cluster and a promotable Redis behind a VIP."""

import pulumi
import pulumi_libvirt as libvirt

from components.base_image import BaseImage, BaseImageArgs
from components.cluster_network import ClusterNetwork, ClusterNetworkArgs
from components.node_vm import NodeVm, NodeVmArgs
from components.pacemaker_cluster import PacemakerCluster, PacemakerClusterArgs
from components.redis_ha import RedisHa, RedisHaArgs
from components.settings import load_settings

settings = load_settings(pulumi.Config().get)

provider = pulumi.ResourceOptions(provider=libvirt.Provider("libvirt", uri=settings.libvirt_uri))
network = ClusterNetwork("network", ClusterNetworkArgs(settings), provider)
image = BaseImage("image", BaseImageArgs(settings), provider)
vms = tuple(
    NodeVm(node.name, NodeVmArgs(settings, node, image.volume_id, network.network_name), provider)
    for node in settings.nodes
)
cluster = PacemakerCluster("cluster", PacemakerClusterArgs(settings, (vms[0], vms[1])))
redis = RedisHa("redis", RedisHaArgs(settings, cluster.installed, cluster.ready))

pulumi.export("vip", redis.vip)
pulumi.export("port", redis.port)
pulumi.export("endpoint", redis.endpoint)
pulumi.export("redisUrl", redis.redis_url)
pulumi.export("clusterName", settings.cluster_name)
pulumi.export("nodes", {node.name: node.ip for node in settings.nodes})
