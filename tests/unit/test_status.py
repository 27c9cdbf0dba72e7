"""monitoring/status.py: the exporters' text read back into one screen."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from monitoring.status import parse, read, render


def resources(agent: str, clone: str, node: str, resource: str, role: str) -> str:
    """A line of ha_cluster_pacemaker_resources for an active resource, as the exporter prints it."""
    return (f'ha_cluster_pacemaker_resources{{agent="{agent}",clone="{clone}",group="",managed="true",node="{node}",'
            f'resource="{resource}",role="{role}",status="active"}} 1\n')


HACLUSTER = "".join([
    "# HELP ha_cluster_pacemaker_nodes The nodes in the cluster\n# TYPE ha_cluster_pacemaker_nodes gauge\n",
    *(f'ha_cluster_pacemaker_nodes{{node="{node}",status="{status}",type="member"}} {value}\n'
      for node, status, value in (("redis-1", "online", 1), ("redis-1", "standby", 0), ("redis-1", "dc", 1),
                                  ("redis-2", "online", 1), ("redis-2", "standby", 0))),
    resources("ocf::heartbeat:redis", "redis-clone", "redis-1", "redis", "promoted"),
    resources("ocf::heartbeat:redis", "redis-clone", "redis-2", "redis", "unpromoted"),
    resources("ocf::heartbeat:IPaddr2", "", "redis-1", "vip", "started"),
    resources("stonith:fence_xvm", "", "redis-2", "fence-redis-1", "started"),
    'ha_cluster_pacemaker_fail_count{node="redis-2",resource="redis"} 1\n',
    'ha_cluster_pacemaker_fail_count{node="redis-1",resource="redis"} 0\n',
    "ha_cluster_pacemaker_stonith_enabled 1\nha_cluster_corosync_quorate 1\n",
])
REDIS = {
    "redis-1": 'redis_up 1\nredis_instance_info{redis_version="7.0.15",role="master"} 1\nredis_master_repl_offset 4242\n',
    "redis-2": 'redis_up 1\nredis_instance_info{redis_version="7.0.15",role="slave"} 1\nredis_master_repl_offset 4242\n'
               'redis_master_link_up{master_host="192.168.150.11",master_port="6379"} 1\n',
}


def test_parse_reads_labels_values_and_escapes() -> None:
    samples = parse('# HELP x y\nx{a="1",b="say \\"hi\\""} 2.5\nplain 3 1700000000\n')
    assert [(sample.name, sample.labels, sample.value) for sample in samples] == [
        ("x", {"a": "1", "b": 'say "hi"'}, 2.5), ("plain", {}, 3.0)]


@pytest.fixture
def exporters() -> Iterator[dict[str, dict[str, str]]]:
    """Stand-in exporters on loopback: both nodes' hacluster and redis exporters, and a node
    exporter of redis-2's that does not answer."""
    servers = []
    targets: dict[str, dict[str, str]] = {}
    for node in ("redis-1", "redis-2"):
        for exporter, text in (("hacluster", HACLUSTER), ("redis", REDIS[node])):
            body = text.encode()

            class Metrics(http.server.BaseHTTPRequestHandler):
                metrics = body

                def do_GET(self) -> None:
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(self.metrics)

                def log_message(self, *_: object) -> None:
                    pass

            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
            targets.setdefault(node, {})[exporter] = f"127.0.0.1:{server.server_address[1]}"
    targets["redis-2"]["node"] = "127.0.0.1:9"
    yield targets
    for server in servers:
        server.shutdown()


def test_one_screen_shows_roles_the_vip_failcounts_and_who_did_not_answer(exporters: dict[str, dict[str, str]]) -> None:
    status = read(exporters)
    assert status.master == "redis-1" and status.quorate and status.stonith_enabled
    first, second = status.nodes
    assert (first.pacemaker, first.redis, first.promoted_by_pacemaker, first.holds_vip) == ("online", "master", True, True)
    assert (second.redis, second.promoted_by_pacemaker, second.holds_vip, second.master_link_up) == (
        "slave", False, False, True)
    assert second.failcounts == {"redis": 1} and first.failcounts == {}
    assert status.fence_devices == {"fence-redis-1": "active"}
    screen = render(status).splitlines()
    assert screen[0].split() == ["node", "pacemaker", "redis", "promoted", "vip", "repl", "offset", "master", "link",
                                 "failcounts", "exporters"]
    assert screen[1].split() == ["redis-1", "online", "master", "yes", "VIP", "4242", "-", "all", "answered"]
    assert screen[2].split() == ["redis-2", "online", "slave", "no", "4242", "up", "redis=1", "NOT", "ANSWERING:", "node"]
    assert screen[-1] == "quorate: yes; stonith-enabled: yes; fencing: fence-redis-1 active; master: redis-1"


def test_nothing_answering_shows_unknown_and_no_master() -> None:
    status = read({"redis-1": {"hacluster": "127.0.0.1:9", "redis": "127.0.0.1:9"}})
    assert (status.nodes[0].pacemaker, status.nodes[0].redis, status.quorate, status.master) == (
        "unknown", "unknown", None, None)
    assert render(status).endswith("master: NONE OR SEVERAL")
