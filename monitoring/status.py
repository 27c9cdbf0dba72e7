"""One screen on a redis-ha cluster, read from its exporters (monitoring exporters): the nodes
as Pacemaker sees them, each Redis's role, replication offset and link, where the VIP is,
failcounts, fencing and quorum.

Usage: pulumi stack output --json | python -m monitoring.status     (make status on the lab)
The exporters answer only monitoringNetworks (default: the cluster network): run it from there.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from dataclasses import dataclass, field
from typing import Any

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
PROMOTED_ROLES = ("promoted", "master")
# ha_cluster_pacemaker_nodes' statuses a node can be in at once, the one shown first.
NODE_STATES = ("unclean", "shutdown", "standby_onfail", "standby", "maintenance", "pending", "online")


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def parse(text: str) -> list[Sample]:
    """Prometheus' text exposition format: every sample line (comments and HELP/TYPE skipped)."""
    samples = []
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:
            continue
        name, labels, value = match.groups()
        samples.append(Sample(name, {key: raw.replace('\\"', '"').replace("\\\\", "\\")
                                     for key, raw in _LABEL.findall(labels or "")}, float(value)))
    return samples


def scrape(target: str, timeout: float = 30) -> list[Sample]:
    """The samples of http://TARGET/metrics (raises OSError when the exporter does not answer).
    The hacluster exporter runs crm_mon, cibadmin and the corosync tools on every scrape: on a
    loaded or slow node that takes longer than Prometheus' default 10 s."""
    with urllib.request.urlopen(f"http://{target}/metrics", timeout=timeout) as reply:
        return parse(reply.read().decode())


def values(samples: list[Sample], name: str, **labels: str) -> list[Sample]:
    """The samples of ``name`` whose labels include ``labels`` (a value may be a|b alternatives)."""
    return [sample for sample in samples if sample.name == name
            and all(sample.labels.get(key) in wanted.split("|") for key, wanted in labels.items())]


@dataclass
class NodeStatus:
    name: str
    answered: dict[str, bool] = field(default_factory=dict)
    """Per exporter: whether it answered."""
    pacemaker: str = "unknown"
    """online, standby, offline... as any node's hacluster exporter sees this node."""
    redis: str = "unknown"
    """master, slave or down: what this node's Redis says (redis exporter)."""
    promoted_by_pacemaker: bool = False
    holds_vip: bool = False
    repl_offset: int | None = None
    master_link_up: bool | None = None
    failcounts: dict[str, int] = field(default_factory=dict)


@dataclass
class ClusterStatus:
    nodes: list[NodeStatus]
    quorate: bool | None = None
    stonith_enabled: bool | None = None
    fence_devices: dict[str, str] = field(default_factory=dict)
    """Per STONITH resource: its status (active, failed...)."""

    @property
    def master(self) -> str | None:
        masters = [node.name for node in self.nodes if node.redis == "master"]
        return masters[0] if len(masters) == 1 else None


def read(targets: dict[str, dict[str, str]]) -> ClusterStatus:
    """Scrapes every exporter of ``targets`` (the stack's scrapeTargets output) and puts the
    views together; an exporter that does not answer leaves its part unknown."""
    scraped: dict[str, dict[str, list[Sample]]] = {}
    for name, exporters in targets.items():
        scraped[name] = {}
        for exporter, target in exporters.items():
            try:
                scraped[name][exporter] = scrape(target)
            except OSError:
                continue
    nodes = {name: NodeStatus(name, {exporter: exporter in scraped[name] for exporter in exporters})
             for name, exporters in targets.items()}
    status = ClusterStatus(list(nodes.values()))
    # Both hacluster exporters describe the whole cluster: the first that answered speaks for it.
    cluster_view = next((views["hacluster"] for views in scraped.values() if "hacluster" in views), [])
    for name, node in nodes.items():
        about = [sample for sample in cluster_view if sample.labels.get("node") == name]
        states = {sample.labels.get("status") for sample in values(about, "ha_cluster_pacemaker_nodes") if sample.value == 1}
        if cluster_view:
            node.pacemaker = next((state for state in NODE_STATES if state in states), "offline")
        for sample in values(about, "ha_cluster_pacemaker_resources", status="active"):
            if sample.value == 1 and sample.labels.get("resource") == "redis":
                node.promoted_by_pacemaker |= sample.labels.get("role") in PROMOTED_ROLES
            node.holds_vip |= sample.value == 1 and sample.labels.get("resource") == "vip"
        node.failcounts = {sample.labels.get("resource", "?"): int(sample.value)
                           for sample in values(about, "ha_cluster_pacemaker_fail_count") if sample.value > 0}
    for sample in values(cluster_view, "ha_cluster_pacemaker_resources"):
        if sample.labels.get("agent", "").startswith("stonith:") and sample.value == 1:
            status.fence_devices[sample.labels.get("resource", "?")] = sample.labels.get("status", "?")
    quorate = values(cluster_view, "ha_cluster_corosync_quorate")
    status.quorate = bool(quorate[0].value) if quorate else None
    stonith = values(cluster_view, "ha_cluster_pacemaker_stonith_enabled")
    status.stonith_enabled = bool(stonith[0].value) if stonith else None
    for name, node in nodes.items():
        redis = scraped[name].get("redis")
        if redis is None:
            continue
        up = values(redis, "redis_up")
        if not up or up[0].value != 1:
            node.redis = "down"
            continue
        role = [sample.labels.get("role", "?") for sample in values(redis, "redis_instance_info")]
        node.redis = role[0] if role else "unknown"
        offset = values(redis, "redis_master_repl_offset")
        node.repl_offset = int(offset[0].value) if offset else None
        link = values(redis, "redis_master_link_up")
        node.master_link_up = bool(link[0].value) if link and node.redis == "slave" else None
    return status


def render(status: ClusterStatus) -> str:
    def shown(value: bool | None, yes: str = "yes", no: str = "NO") -> str:
        return "unknown" if value is None else (yes if value else no)

    rows = [("node", "pacemaker", "redis", "promoted", "vip", "repl offset", "master link", "failcounts", "exporters")]
    for node in status.nodes:
        silent = [name for name, answered in node.answered.items() if not answered]
        rows.append((node.name, node.pacemaker, node.redis, shown(node.promoted_by_pacemaker, "yes", "no"),
                     "VIP" if node.holds_vip else "", "" if node.repl_offset is None else str(node.repl_offset),
                     "" if node.master_link_up is None else shown(node.master_link_up, "up", "DOWN"),
                     " ".join(f"{resource}={count}" for resource, count in sorted(node.failcounts.items())) or "-",
                     "all answered" if not silent else f"NOT ANSWERING: {' '.join(silent)}"))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    fencing = ", ".join(f"{name} {state}" for name, state in sorted(status.fence_devices.items())) or "no device"
    lines += ["", f"quorate: {shown(status.quorate)}; stonith-enabled: {shown(status.stonith_enabled)}; "
                  f"fencing: {fencing}; master: {status.master or 'NONE OR SEVERAL'}"]
    return "\n".join(lines)


def main() -> None:
    outputs: dict[str, Any] = json.load(sys.stdin)
    if outputs.get("monitoring") == "none" or not outputs.get("scrapeTargets"):
        sys.exit("this stack has no exporters (monitoring none): run `sudo pcs status --full` on a node instead")
    print(render(read(outputs["scrapeTargets"])))


if __name__ == "__main__":
    main()
