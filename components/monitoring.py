"""What monitoring exporters puts on the nodes and tells Prometheus (pure).

Three of the distribution's Prometheus exporters per node, each listening on the node's own
address only: prometheus-hacluster-exporter (Pacemaker, corosync, fencing, quorum; as root, it
runs crm_mon and corosync-quorumtool), prometheus-redis-exporter (as its own ACL user, whose
password it reads from a file only it and root can read) and prometheus-node-exporter. The
stack exports where they are, as scrape targets and as Prometheus file_sd JSON whose labels
monitoring/alerts.yml expects (cluster, cluster_node, exporter).
"""

from __future__ import annotations

import json
from typing import Any

from components.redis_users import MONITOR_USER, monitor_password
from components.settings import EXPORTER_PORTS, Node, Settings

PASSWORD_FILE = "/etc/redis-ha/redis-exporter-password.json"


def redis_address(settings: Settings, node: Node) -> str:
    """The URL prometheus-redis-exporter reaches the node's server at: the node's address, which
    the server's certificate names."""
    return f"{'rediss' if settings.tls else 'redis'}://{node.ip}:{settings.redis_port}"


def redis_exporter_password_file(settings: Settings, node: Node) -> str:
    """prometheus-redis-exporter's -redis.password-file: a JSON object from address to password.
    Debian 12's exporter (1.45) looks the address up as given, Debian 13's (1.69) with the user
    name in it (rediss://monitor@host:port): both are there."""
    address = redis_address(settings, node)
    with_user = address.replace("://", f"://{MONITOR_USER}@", 1)
    return json.dumps({address: monitor_password(settings), with_user: monitor_password(settings)}) + "\n"


def scrape_targets(settings: Settings) -> dict[str, dict[str, str]]:
    """Per node, per exporter: host:port."""
    if not settings.monitoring:
        return {}
    return {node.name: {exporter: f"{node.ip}:{port}" for exporter, port in EXPORTER_PORTS.items()}
            for node in settings.nodes}


def file_sd(settings: Settings) -> list[dict[str, Any]]:
    """Prometheus file_sd_configs content: one group per node and exporter."""
    return [{"targets": [target], "labels": {"cluster": settings.cluster_name, "cluster_node": node, "exporter": exporter}}
            for node, exporters in scrape_targets(settings).items() for exporter, target in exporters.items()]
