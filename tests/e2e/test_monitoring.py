"""The exporters (monitoring exporters, the default) on real VMs: each answers the cluster network
on its node's address only and nobody else, what they report matches the cluster, and `make
status` shows it. The Redis crash test in test_cluster.py watches the same metrics through a
failover (MetricsWatch)."""

from __future__ import annotations

import re
import shlex
import subprocess
import time

import pytest

from components.redis_users import APPLICATION_USER
from components.settings import EXPORTER_PORTS
from components.tls import tls_material
from drill.target import Target
from lab import guests
from lab.outsider import ALLOWED_ADDRESS, DENIED_ADDRESS, Outsider
from monitoring.status import read, render, scrape
from tests.e2e.conftest import Deployment, scrape_targets


def test_every_exporter_answers_the_cluster_network_on_its_nodes_address_and_no_other_network(
        cluster: Deployment) -> None:
    settings = cluster.settings
    targets = scrape_targets(cluster)
    assert targets == {node.name: {exporter: f"{node.ip}:{port}" for exporter, port in EXPORTER_PORTS.items()}
                       for node in settings.nodes}
    for node in settings.nodes:
        for exporter, target in targets[node.name].items():
            # From the lab's side of the cluster network (its gateway). Room for a node that has
            # just rejoined (after the VM-loss test a scrape took longer than 10 s).
            assert scrape(target, timeout=60), f"{exporter} on {node.name} answered with no samples"
        listening = cluster.ssh(node, "sudo ss -ltnH")
        for port in EXPORTER_PORTS.values():
            addresses = re.findall(rf"\s(\S+):{port}\s", listening)
            assert addresses == [node.ip], f"port {port} on {node.name} listens on {addresses}"
    with Outsider(guests.bridge(settings), settings.network, settings.gateway) as outsider:
        # The outsider reaches the nodes (Redis answers its client network)... The first packets
        # through a new bridge port and routes can go unanswered: ask until Redis answers.
        ca = tls_material(settings).ca_certificate if settings.tls else ""
        deadline = time.monotonic() + 60
        while (pong := outsider.redis_ping(settings.nodes[0].ip, settings.redis_port, APPLICATION_USER,
                                           settings.redis_password, ALLOWED_ADDRESS, ca)) != "+OK +PONG" \
                and time.monotonic() < deadline:
            time.sleep(2)
        assert pong == "+OK +PONG"
        # ...but no exporter: neither network is in monitoringNetworks.
        replies = {f"{source} -> {target}": outsider.http_status(host, int(port), source)
                   for exporters in targets.values() for target in exporters.values()
                   for host, port in [target.split(":")] for source in (ALLOWED_ADDRESS, DENIED_ADDRESS)}
    print(f"e2e: exporters from outside monitoringNetworks: {replies}")
    assert all(reply.startswith("refused") for reply in replies.values()), replies


def test_the_metrics_show_one_promoted_redis_two_online_nodes_quorum_and_the_replicas_link(
        cluster: Deployment, target: Target) -> None:
    master = target.master()
    status = read(scrape_targets(cluster))
    print(f"e2e: status from the exporters:\n{render(status)}")
    assert [(node.name, node.pacemaker) for node in status.nodes] == [
        (node.name, "online") for node in cluster.settings.nodes]
    assert all(all(node.answered.values()) for node in status.nodes)
    assert status.master == master.name
    assert [node.name for node in status.nodes if node.promoted_by_pacemaker] == [master.name]
    assert [node.name for node in status.nodes if node.holds_vip] == [master.name]
    assert status.quorate is True and status.stonith_enabled is True
    assert status.fence_devices and set(status.fence_devices.values()) == {"active"}
    replica = next(node for node in status.nodes if node.name != master.name)
    assert replica.redis == "slave" and replica.master_link_up is True


def test_make_status_prints_each_nodes_role(cluster: Deployment, target: Target) -> None:
    master, replica = target.master(), target.other(target.master())
    started = time.monotonic()
    shown = subprocess.run(["make", "--no-print-directory", "status", "STATUS_STACK=e2e"], capture_output=True,
                           text=True, check=False, timeout=300)
    print(f"e2e: make status ({time.monotonic() - started:.1f}s):\n{shown.stdout}{shown.stderr}")
    assert shown.returncode == 0, shown.stderr
    names = {node.name for node in cluster.settings.nodes}
    rows = {line.split()[0]: line.split() for line in shown.stdout.splitlines() if line.split()[:1] in ([name] for name in names)}
    assert rows[master.name][1:5] == ["online", "master", "yes", "VIP"]
    assert rows[replica.name][1:4] == ["online", "slave", "no"]
    assert f"master: {master.name}" in shown.stdout


EXPORTER_UNITS = {"hacluster": "ha_cluster_exporter", "redis": "prometheus-redis-exporter",
                  "node": "prometheus-node-exporter"}
# A unit's main process: CPU seconds so far (its own and its reaped children's: crm_mon and the
# other tools the hacluster exporter runs) and resident memory in KiB.
COST = r"""for unit in "$@"; do
  pid="$(systemctl show -p MainPID --value "$unit")"
  read -r -a stat < "/proc/$pid/stat"
  rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")"
  echo "$unit $(( (stat[13] + stat[14] + stat[15] + stat[16]) )) $(getconf CLK_TCK) $rss"
done"""


@pytest.mark.long
def test_what_the_exporters_cost_on_a_node_scraped_every_15s(cluster: Deployment) -> None:
    """Not a target, a figure: each exporter's CPU and memory on the first node over a minute
    of scrapes every 15 s (Prometheus' default interval); without scrapes they only wait."""
    node = cluster.settings.nodes[0]
    targets = scrape_targets(cluster)[node.name]

    def cost() -> dict[str, tuple[float, int]]:
        said = cluster.ssh(node, f"sudo bash -c {shlex.quote(COST)} cost {' '.join(EXPORTER_UNITS.values())}")
        return {unit: (int(ticks) / int(per_second), int(rss_kib))
                for unit, ticks, per_second, rss_kib in (line.split() for line in said.splitlines())}

    before, started = cost(), time.monotonic()
    for _ in range(4):
        for target in targets.values():
            scrape(target)
        time.sleep(15)
    after, elapsed = cost(), time.monotonic() - started
    figures = {exporter: f"{100 * (after[unit][0] - before[unit][0]) / elapsed:.2f}% of a core, "
                         f"{after[unit][1] / 1024:.1f} MiB resident"
               for exporter, unit in EXPORTER_UNITS.items()}
    print(f"e2e: exporters on {node.name}, scraped every 15 s for {elapsed:.0f}s: {figures}")
    assert all(rss > 0 for _, rss in after.values())


# On a node: how many exporter packages are installed, whether the password file is there, how
# many firewall rules open the exporters' ports.
LEFT_ON_NODE = ("dpkg-query -W -f='${Package} ${Status}\\n' prometheus-hacluster-exporter prometheus-redis-exporter "
                "prometheus-node-exporter 2>/dev/null | grep -c 'ok installed' || true; "
                "sudo test -e /etc/redis-ha/redis-exporter-password.json && echo password-file || echo no-password-file; "
                "sudo firewall-cmd --list-rich-rules | grep -cE 'port=\"(9100|9121|9664)\"' || true")


def switch_monitoring(cluster: Deployment, target: Target, value: str, expected: str) -> dict[str, tuple[list[str], bool]]:
    """`pulumi up` with monitoring ``value``: each node's exporter steps ``expected`` (create or
    delete), nothing replaced. Returns what each node has then: LEFT_ON_NODE's answer, and
    whether its server has the monitor user."""
    steps = {f"{node.name}-{role}" for node in cluster.settings.nodes for role in ("monitoring", "monitoring-firewall")}
    cluster.reconfigure(monitoring=value)
    _, changes = cluster.up(f"monitoring {value}")
    left = {node.name: (cluster.ssh(node, LEFT_ON_NODE).split(), "monitor" in target.redis(node.ip).acl_users())
            for node in cluster.settings.nodes}
    print(f"e2e: monitoring {value}: {changes}; on the nodes (packages, password file, firewall rules; monitor "
          f"user): {left}")
    assert {name: change for name, change in changes.items() if name in steps} == dict.fromkeys(steps, expected)
    assert "replace" not in changes.values()
    return left


@pytest.mark.long
def test_monitoring_switched_off_purges_the_exporters_and_on_again_brings_them_back(
        cluster: Deployment, target: Target) -> None:
    """`pulumi up` with monitoring none, then exporters: only the exporters' steps run (and the
    steps their settings feed), the packages, ports, password file and the monitor user go and
    come back, and Redis keeps its master throughout."""
    settings = cluster.settings
    master = target.master()
    targets = scrape_targets(cluster)
    try:
        off = switch_monitoring(cluster, target, "none", "delete")
        assert off == dict.fromkeys((node.name for node in settings.nodes), (["0", "no-password-file", "0"], False))
        assert all(not any(node.answered.values()) for node in read(targets).nodes)
        assert target.master() == master
        assert cluster.stack.outputs()["scrapeTargets"] == {}
    finally:
        on = switch_monitoring(cluster, target, "exporters", "create")
    rules = str(len(settings.monitoring_networks) * 3)
    assert on == dict.fromkeys((node.name for node in settings.nodes), (["3", "password-file", rules], True))
    status = read(scrape_targets(cluster))
    assert status.master == master.name and all(all(node.answered.values()) for node in status.nodes)
