"""The base image both nodes' disks are cloned from, uploaded once into the storage pool."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
import pulumi_libvirt as libvirt

from components.settings import Settings


@dataclass
class BaseImageArgs:
    settings: Settings
    """Validated configuration: baseImage (path or URL), storagePool, clusterName."""


class BaseImage(pulumi.ComponentResource):
    volume_id: pulumi.Output[str]

    def __init__(self, name: str, args: BaseImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("redis-ha:index:BaseImage", name, None, opts)
        settings = args.settings
        # Named after its source: another image is a second volume, created while the nodes'
        # disks still use the first, which goes once both nodes are replaced (one at a time).
        source_hash = hashlib.sha256(settings.base_image.encode()).hexdigest()[:12]
        volume = libvirt.Volume(
            f"{name}-volume",
            name=f"{settings.cluster_name}-base-{source_hash}.qcow2",
            pool=settings.storage_pool,
            source=settings.base_image,
            format="qcow2",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.volume_id = volume.id
        self.register_outputs({"volumeId": self.volume_id})
