"""The node scripts, each run in a sandboxed node (tests/unit/sandbox.py) against stand-in
commands: the first run does the real action with the right arguments, a second run changes
nothing and says `no change`, a failing command fails the script with a message that says what
to check, and a readiness check reports ready only when what it checks holds."""

from __future__ import annotations

import contextlib
import http.server
import json
import stat
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from components.cloud_init import render_user_data
from components.host_keys import node_host_key
from components.pcs_plan import OWNED_IDS, PROMOTION_ALERT_PATH, resource_plan, serialise
from components.redis_conf import render_redis_conf
from components.remote_script import SCRIPTS_DIR
from components.settings import Settings
from tests.unit.conftest import HACLUSTER_PASSWORD, REDIS_PASSWORD
from tests.unit.sandbox import Node, Ran


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    node = Node(tmp_path)
    yield node
    node.end()


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


# -- hacluster_password.sh --------------------------------------------------------------------

def test_hacluster_password_is_set_once_and_pcsd_started(node: Node) -> None:
    node.set("shadow", "hacluster:!:19000:0:99999:7:::\n")
    first = node.run("hacluster_password.sh", stdin=HACLUSTER_PASSWORD + "\n")
    assert first.returncode == 0, first.stderr
    assert first.report == ("changed: set hacluster password gave pcsd 600 s to start gave pcsd-ruby 600 s to start "
                            "enabled pcsd started pcsd")
    for unit in ("pcsd", "pcsd-ruby"):
        drop_in = node.seen(f"/etc/systemd/system/{unit}.service.d/redis-ha-start-timeout.conf")
        assert "\nTimeoutStartSec=600\n" in drop_in.read_text()
    assert ["systemctl", "daemon-reload"] in node.calls("systemctl")
    shadow_hash = (node.state / "shadow").read_text().split(":")[1]
    assert shadow_hash.startswith("$y$") and HACLUSTER_PASSWORD not in shadow_hash
    # The password went to chpasswd on stdin, never as an argument.
    assert node.calls("chpasswd") == [["chpasswd"]]
    assert not any(HACLUSTER_PASSWORD in "".join(call) for call in node.calls())

    second = node.run("hacluster_password.sh", stdin=HACLUSTER_PASSWORD + "\n")
    assert second.report == "no change: hacluster password set, pcsd running"
    assert len(node.calls("chpasswd")) == 1

    # Another password is a change again: the hash is compared, not just present.
    third = node.run("hacluster_password.sh", stdin="another-password-1\n")
    assert third.report == "changed: set hacluster password"


def test_hacluster_password_fails_when_chpasswd_does(node: Node) -> None:
    node.fail("chpasswd", "", "chpasswd: (user hacluster) pam_chauthtok() failed, error: Authentication token manipulation error")
    ran = node.run("hacluster_password.sh", stdin=HACLUSTER_PASSWORD + "\n")
    assert ran.returncode != 0
    assert "pam_chauthtok() failed" in ran.stderr
    assert not (node.state / "systemd" / "active" / "pcsd").exists()


# -- fence_key.sh ----------------------------------------------------------------------------

def test_fence_key_is_written_0600_once(node: Node) -> None:
    first = node.run("fence_key.sh", stdin="k" * 48)
    assert first.report == "changed: wrote /etc/cluster/fence_xvm.key", first.stderr
    key = node.upper("/etc/cluster/fence_xvm.key")
    assert key.read_text() == "k" * 48 and mode(key) == "0o600"
    assert node.run("fence_key.sh", stdin="k" * 48).report == "no change: /etc/cluster/fence_xvm.key holds the cluster's key"
    assert node.run("fence_key.sh", stdin="x" * 48).report == "changed: wrote /etc/cluster/fence_xvm.key"


def test_fence_key_refuses_an_empty_key(node: Node) -> None:
    ran = node.run("fence_key.sh", stdin="")
    assert ran.returncode == 1 and "no fence key on stdin" in ran.stderr
    assert not node.exists("/etc/cluster/fence_xvm.key")


# -- redis_config.sh -------------------------------------------------------------------------

REDIS_CONFIG = ("/etc/redis/redis.conf", "redis", "redis-server", "redis-server.service")

def test_redis_config_is_written_0640_for_redis_and_the_service_handed_to_pacemaker(node: Node,
                                                                                   settings: Settings) -> None:
    conf = render_redis_conf(settings, settings.nodes[0])
    for unit in ("redis-server.service",):
        node.set(f"systemd/units/{unit}")
        node.set(f"systemd/enabled/{unit}")
        node.set(f"systemd/active/{unit}")
    first = node.run("redis_config.sh", *REDIS_CONFIG, stdin=conf)
    assert first.report == ("changed: wrote /etc/redis/redis.conf allowed non-local bind disabled redis-server.service "
                            "stopped redis-server.service"), first.stderr
    written = node.upper("/etc/redis/redis.conf")
    assert written.read_text() == conf
    assert mode(written) == "0o640" and node.group("/etc/redis/redis.conf") == "redis" and written.owner() == "root"
    assert node.upper("/etc/sysctl.d/90-redis-ha.conf").read_text() == "net.ipv4.ip_nonlocal_bind = 1\n"
    assert node.calls("sysctl")[-1] == ["sysctl", "-q", "-w", "net.ipv4.ip_nonlocal_bind=1"]
    assert not (node.state / "systemd/enabled/redis-server.service").exists()

    second = node.run("redis_config.sh", *REDIS_CONFIG, stdin=conf)
    assert second.report == "no change: /etc/redis/redis.conf up to date, distribution service disabled"


def test_a_new_redis_password_under_a_running_server_says_how_it_takes_effect(node: Node, load: Callable[..., Settings]) -> None:
    node.set("running/redis-server")
    node.run("redis_config.sh", *REDIS_CONFIG, stdin=render_redis_conf(load(), load().nodes[0]))
    changed = load(redisPassword="another-long-redis-pw")
    ran = node.run("redis_config.sh", *REDIS_CONFIG, stdin=render_redis_conf(changed, changed.nodes[0]))
    assert "pcs resource restart redis-clone" in ran.stdout
    assert ran.report == "changed: wrote /etc/redis/redis.conf"


# -- firewall_cluster.sh / firewall_ports.sh --------------------------------------------------

def rich_rules(node: Node, layer: str = "permanent") -> list[str]:
    return sorted(json.loads((node.state / "firewalld.json").read_text())[layer]["public"]["rich"])


def services(node: Node, layer: str = "permanent") -> list[str]:
    return sorted(json.loads((node.state / "firewalld.json").read_text())[layer]["public"]["services"])


def test_cluster_firewall_opens_ssh_ha_and_fence_replies_from_the_hypervisor_only(node: Node) -> None:
    first = node.run("firewall_cluster.sh", "192.168.150.1")
    assert first.report == ("changed: enabled firewalld started firewalld opened ssh opened high-availability "
                            "opened 1229/tcp to 192.168.150.1"), first.stderr
    assert rich_rules(node) == ['rule family="ipv4" source address="192.168.150.1" port port="1229" protocol="tcp" accept']
    # Applied, not only saved, and without a reload (one can outlast firewall-cmd's D-Bus wait).
    assert rich_rules(node, "runtime") == rich_rules(node)
    assert services(node, "runtime") == services(node) == ["high-availability", "ssh"]
    assert not [call for call in node.calls("firewall-cmd") if "--reload" in call]
    second = node.run("firewall_cluster.sh", "192.168.150.1")
    assert second.report == "no change: firewalld running with ssh and high-availability and fence_xvm open"


def test_cluster_firewall_opens_in_the_running_firewall_what_only_the_saved_one_had(node: Node) -> None:
    node.run("firewall_cluster.sh", "192.168.150.1")
    # As a run stopped between its two changes would leave it.
    state = json.loads((node.state / "firewalld.json").read_text())
    state["runtime"]["public"] = {"services": ["ssh"], "ports": [], "rich": []}
    (node.state / "firewalld.json").write_text(json.dumps(state))
    again = node.run("firewall_cluster.sh", "192.168.150.1")
    assert again.report == "changed: opened high-availability opened 1229/tcp to 192.168.150.1", again.stderr
    assert services(node, "runtime") == ["high-availability", "ssh"] and rich_rules(node, "runtime") == rich_rules(node)


def test_redis_port_opens_to_exactly_the_listed_networks_and_closes_to_the_rest(node: Node) -> None:
    node.set("systemd/active/firewalld")
    first = node.run("firewall_ports.sh", "Redis", 6379, "192.168.150.0/24", "10.20.0.0/16")
    assert first.report.startswith("changed:") and first.returncode == 0, first.stderr
    assert rich_rules(node) == [
        'rule family="ipv4" source address="10.20.0.0/16" port port="6379" protocol="tcp" accept',
        'rule family="ipv4" source address="192.168.150.0/24" port port="6379" protocol="tcp" accept']
    assert rich_rules(node, "runtime") == rich_rules(node)
    assert node.run("firewall_ports.sh", "Redis", 6379, "192.168.150.0/24", "10.20.0.0/16").report == (
        "no change: Redis port 6379 open to 192.168.150.0/24 10.20.0.0/16 only")
    # A network no longer listed is closed.
    third = node.run("firewall_ports.sh", "Redis", 6379, "192.168.150.0/24")
    assert third.stdout.count("closed: ") == 1 and "10.20.0.0/16" in third.stdout
    assert rich_rules(node) == ['rule family="ipv4" source address="192.168.150.0/24" port port="6379" protocol="tcp" accept']
    assert rich_rules(node, "runtime") == rich_rules(node)
    assert not [call for call in node.calls("firewall-cmd") if "--reload" in call]


def test_exporter_ports_open_together_and_close_to_every_network_when_none_is_listed(node: Node) -> None:
    node.set("systemd/active/firewalld")
    node.run("firewall_ports.sh", "Redis", 6379, "192.168.150.0/24")
    first = node.run("firewall_ports.sh", "exporter", "9664,9121,9100", "10.9.0.0/16")
    assert first.returncode == 0, first.stderr
    assert [rule for rule in rich_rules(node) if "10.9.0.0/16" in rule] == [
        f'rule family="ipv4" source address="10.9.0.0/16" port port="{port}" protocol="tcp" accept'
        for port in (9100, 9121, 9664)]
    assert node.run("firewall_ports.sh", "exporter", "9664,9121,9100", "10.9.0.0/16").report == (
        "no change: exporter port 9664 9121 9100 open to 10.9.0.0/16 only")
    closed = node.run("firewall_ports.sh", "exporter", "9664,9121,9100")
    assert closed.stdout.count("closed: ") == 3, closed.stdout
    # Redis's rule is not the exporters' to close.
    assert rich_rules(node) == ['rule family="ipv4" source address="192.168.150.0/24" port port="6379" protocol="tcp" accept']
    assert node.run("firewall_ports.sh", "exporter", "9664,9121,9100").report == (
        "no change: exporter port 9664 9121 9100 open to no network")


def test_a_firewalld_reply_that_outlasts_the_dbus_wait_is_asked_again(node: Node) -> None:
    """The first two calls are carried out but their replies lost: the rule is added once, and
    the step reports it; five lost replies in a row fail the step with firewall-cmd's error."""
    node.set("systemd/active/firewalld")
    node.set("firewalld-no-reply", "xx")
    ran = node.run("firewall_ports.sh", "Redis", 6379, "192.168.150.0/24")
    assert ran.returncode == 0, ran.stderr
    rule = 'rule family="ipv4" source address="192.168.150.0/24" port port="6379" protocol="tcp" accept'
    assert ran.report == f"changed: opened: {rule}"
    assert rich_rules(node) == rich_rules(node, "runtime") == [rule]
    node.set("firewalld-no-reply", "xxxxx")
    failed = node.run("firewall_ports.sh", "Redis", 6379, "10.20.0.0/16")
    assert failed.returncode == 254 and "Did not receive a reply" in failed.stderr


def test_the_cluster_firewall_asks_firewalld_again_when_a_reply_is_lost(node: Node) -> None:
    """firewalld answers that it runs, then loses the replies to the first list and to the first
    service added twice each: the step opens what it opens with every reply, each once."""
    node.set("systemd/active/firewalld")
    node.set("firewalld-no-reply", ".xx.xx")
    ran = node.run("firewall_cluster.sh", "192.168.150.1")
    assert ran.returncode == 0, ran.stderr
    assert ran.report == "changed: enabled firewalld opened ssh opened high-availability opened 1229/tcp to 192.168.150.1"
    assert services(node) == services(node, "runtime") == ["high-availability", "ssh"]
    assert rich_rules(node) == rich_rules(node, "runtime") == [
        'rule family="ipv4" source address="192.168.150.1" port port="1229" protocol="tcp" accept']
    assert [call for call in node.calls("firewall-cmd") if call[1:] == ["--permanent", "--list-services"]] == [
        ["firewall-cmd", "--permanent", "--list-services"]] * 3
    node.set("firewalld-no-reply", ".xxxxx")
    failed = node.run("firewall_cluster.sh", "192.168.150.1")
    assert failed.returncode == 254 and "Did not receive a reply" in failed.stderr


def test_redis_firewall_fails_when_firewalld_is_down(node: Node) -> None:
    ran = node.run("firewall_ports.sh", "Redis", 6379, "192.168.150.0/24")
    assert ran.returncode != 0 and "FirewallD is not running" in ran.stderr


# -- cluster_properties.sh -------------------------------------------------------------------

def test_properties_are_set_only_when_they_differ(node: Node) -> None:
    wanted = ["stonith-enabled=true", "load-threshold=100000%", "priority-fencing-delay=10s"]
    first = node.run("cluster_properties.sh", *wanted)
    assert first.report == "changed: " + " ".join(wanted), first.stderr
    assert [call[1:] for call in node.calls("pcs")] == [["property", "set", pair] for pair in wanted]
    node.forget_calls()
    assert node.run("cluster_properties.sh", *wanted).report == "no change: cluster properties " + " ".join(wanted)
    assert node.calls("pcs") == []
    assert node.run("cluster_properties.sh", "load-threshold=250%").report == "changed: load-threshold=250%"


def test_properties_fail_when_pcs_does(node: Node) -> None:
    node.fail("pcs", "property set", "Error: unable to get cib")
    ran = node.run("cluster_properties.sh", "stonith-enabled=true")
    assert ran.returncode != 0 and "unable to get cib" in ran.stderr


# -- cib_apply.sh (and its --remove) -----------------------------------------------------------

def live_cib(node: Node) -> ET.Element:
    return ET.parse(node.state / "cib.xml").getroot()


def test_resources_are_pushed_once_and_then_left_alone(node: Node, settings: Settings) -> None:
    plan = serialise(resource_plan(settings))
    first = node.run("cib_apply.sh", *OWNED_IDS, stdin=plan)
    assert first.report == ("changed: pushed resources, constraints and alerts for vip redis fence-xvm "
                            "redis-promotion-score"), first.stderr
    cib = live_cib(node)
    assert [element.get("id") for element in cib.findall("configuration/resources/*")] == ["fence-xvm", "vip", "redis-clone"]
    redis = cib.find(".//primitive[@id='redis']")
    assert redis is not None and redis.get("type") == "redis"
    parameters = {nv.get("name"): nv.get("value") for nv in redis.find("instance_attributes")}  # type: ignore[union-attr]
    assert parameters["wait_last_known_master"] == "true"
    assert {element.tag for element in cib.findall("configuration/constraints/*")} == {"rsc_colocation", "rsc_order"}
    alert = cib.find("configuration/alerts/alert[@id='redis-promotion-score']")
    assert alert is not None and alert.get("path") == PROMOTION_ALERT_PATH
    assert {nv.get("name"): nv.get("value") for nv in alert.iter("nvpair")} == {"redis_resource": "redis"}
    # Built in a copy, then pushed as a difference against the live CIB.
    assert node.calls("pcs")[-1][1:3] == ["cluster", "cib-push"] and "diff-against=" in node.calls("pcs")[-1][-1]

    node.forget_calls()
    second = node.run("cib_apply.sh", *OWNED_IDS, stdin=plan)
    assert second.report == ("no change: resources, constraints and alerts for vip redis fence-xvm "
                             "redis-promotion-score as planned")
    assert not any(call[1:3] == ["cluster", "cib-push"] for call in node.calls("pcs"))
    # What exists is read from the CIB's XML, not asked of pcs (seconds of start-up per call).
    assert not any("config" in call for call in node.calls("pcs"))


def test_a_changed_plan_is_pushed(node: Node, load: Callable[..., Settings]) -> None:
    node.run("cib_apply.sh", *OWNED_IDS, stdin=serialise(resource_plan(load())))
    ran = node.run("cib_apply.sh", *OWNED_IDS,
                   stdin=serialise(resource_plan(load(redisPromotedMonitorIntervalSeconds="5"))))
    assert ran.report.startswith("changed: pushed")
    assert live_cib(node).find(".//op[@name='monitor'][@interval='5s']") is not None


def test_a_plan_pcs_refuses_fails_the_step_and_pushes_nothing(node: Node, settings: Settings) -> None:
    node.fail("pcs", "resource create vip", "Error: Agent 'ocf:heartbeat:IPaddr2' is not installed or does not provide "
                                            "valid metadata")
    ran = node.run("cib_apply.sh", *OWNED_IDS, stdin=serialise(resource_plan(settings)))
    assert ran.returncode != 0 and "is not installed" in ran.stderr
    assert not any(call[1:3] == ["cluster", "cib-push"] for call in node.calls("pcs"))


def test_cib_remove_deletes_the_resources_and_their_constraints(node: Node, settings: Settings) -> None:
    node.run("cib_apply.sh", *OWNED_IDS, stdin=serialise(resource_plan(settings)))
    ran = node.run("cib_apply.sh", "--remove", *OWNED_IDS)
    assert ran.report == ("changed: deleted vip deleted redis deleted fence-xvm deleted alert redis-promotion-score"), \
        ran.stderr
    cib = live_cib(node)
    assert cib.findall("configuration/resources/*") == [] and cib.findall("configuration/constraints/*") == []
    assert cib.findall("configuration/alerts/*") == []
    assert node.run("cib_apply.sh", "--remove", *OWNED_IDS).report == (
        "no change: none of vip redis fence-xvm redis-promotion-score exists")


def test_cib_remove_on_a_cluster_that_is_not_running_has_nothing_to_delete(node: Node, settings: Settings) -> None:
    node.run("cib_apply.sh", *OWNED_IDS, stdin=serialise(resource_plan(settings)))
    node.fail("pcs", " ", "Error: unable to get cib, is pacemaker running?")
    ran = node.run("cib_apply.sh", "--remove", *OWNED_IDS)
    assert ran.returncode == 0 and ran.report == "no change: none of vip redis fence-xvm redis-promotion-score exists"
    assert ran.stderr == ""


def test_an_alert_someone_else_made_is_left_alone(node: Node, settings: Settings) -> None:
    node.set("cib.xml", "<cib><configuration><crm_config/><nodes/><resources/><constraints/><alerts>"
                        "<alert id='operators' path='/usr/share/pacemaker/alerts/alert_file.sh.sample'/>"
                        "</alerts></configuration><status/></cib>")
    first = node.run("cib_apply.sh", *OWNED_IDS, stdin=serialise(resource_plan(settings)))
    assert first.report.startswith("changed: pushed"), first.stderr
    assert node.run("cib_apply.sh", *OWNED_IDS, stdin=serialise(resource_plan(settings))).report.startswith("no change")
    node.run("cib_apply.sh", "--remove", *OWNED_IDS)
    assert [alert.get("id") for alert in live_cib(node).findall("configuration/alerts/alert")] == ["operators"]


# -- promotion_alert.sh (the alert agent) and install_file.sh ----------------------------------

def promotion(node_name: str = "redis-1", **changes: str) -> dict[str, str]:
    """The environment Pacemaker gives an alert agent for a successful promotion on ``node_name``."""
    return {"CRM_alert_kind": "resource", "CRM_alert_task": "promote", "CRM_alert_rc": "0",
            "CRM_alert_rsc": "redis", "CRM_alert_node": node_name, "redis_resource": "redis", **changes}


def scores(node: Node) -> dict[str, str]:
    folder = node.state / "attrd"
    return {path.parent.name: path.read_text() for path in folder.glob("*/master-redis")} if folder.exists() else {}


@pytest.fixture
def switched_over(node: Node) -> Node:
    """Both instances running, the master just moved from redis-2 to redis-1: the scores the
    agent gave them when they started (redis-2 was the last known master then)."""
    node.set("members", "redis-1\nredis-2\n")
    node.set("attrd/redis-1/master-redis", "1")
    node.set("attrd/redis-2/master-redis", "1000")
    return node


def test_a_promotion_moves_the_higher_score_to_the_new_master_once(switched_over: Node) -> None:
    first = switched_over.run("promotion_alert.sh", env=promotion())
    assert first.report == "changed: master-redis redis-1 1 -> 1000 redis-2 1000 -> 1", first.stderr
    assert scores(switched_over) == {"redis-1": "1000", "redis-2": "1"}
    switched_over.forget_calls()
    again = switched_over.run("promotion_alert.sh", env=promotion(CRM_alert_rsc="redis:0"))
    assert again.report == "no change: master-redis already follows the promotion on redis-1"
    assert not any("--update" in call for call in switched_over.calls("crm_attribute"))


def test_a_node_without_a_score_gets_none(switched_over: Node) -> None:
    (switched_over.state / "attrd" / "redis-2" / "master-redis").unlink()
    assert switched_over.run("promotion_alert.sh", env=promotion()).report == "changed: master-redis redis-1 1 -> 1000"
    assert scores(switched_over) == {"redis-1": "1000"}


@pytest.mark.parametrize("event", [
    {"CRM_alert_task": "monitor"}, {"CRM_alert_rc": "1"}, {"CRM_alert_rsc": "vip"}, {"CRM_alert_kind": "node"},
    {"CRM_alert_rsc": "redis-other"},
])
def test_other_events_change_no_score(switched_over: Node, event: dict[str, str]) -> None:
    ran = switched_over.run("promotion_alert.sh", env=promotion(**event))
    assert ran.returncode == 0 and ran.stdout == "", ran.stderr
    assert scores(switched_over) == {"redis-1": "1", "redis-2": "1000"}


def test_the_alert_needs_the_resource_named(switched_over: Node) -> None:
    ran = switched_over.run("promotion_alert.sh", env=promotion(redis_resource=""))
    assert ran.returncode == 2 and "redis_resource" in ran.stderr
    assert scores(switched_over) == {"redis-1": "1", "redis-2": "1000"}


def test_install_file_writes_once_and_mends_a_changed_file(node: Node) -> None:
    target = "/usr/local/sbin/redis-ha-promotion-alert"
    agent = (SCRIPTS_DIR / "promotion_alert.sh").read_text()
    first = node.run("install_file.sh", target, "0755", stdin=agent)
    assert first.report == f"changed: wrote {target}", first.stderr
    assert node.upper(target).read_text() == agent and node.upper(target).stat().st_mode & 0o777 == 0o755
    assert node.run("install_file.sh", target, "0755", stdin=agent).report == f"no change: {target} in place"
    node.write(target, agent, mode=0o700)
    assert node.run("install_file.sh", target, "0755", stdin=agent).report == f"changed: wrote {target}"
    assert node.run("install_file.sh", target, "0755", stdin=agent + "# edited\n").report == f"changed: wrote {target}"


@pytest.mark.parametrize(("mode", "stdin", "message"), [
    ("rwx", "content", "MODE must be octal"), ("0755", "", "stdin is empty"),
])
def test_install_file_refuses_bad_input(node: Node, mode: str, stdin: str, message: str) -> None:
    ran = node.run("install_file.sh", "/usr/local/sbin/redis-ha-test", mode, stdin=stdin)
    assert ran.returncode == 2 and message in ran.stderr
    assert not node.exists("/usr/local/sbin/redis-ha-test")


# -- cluster_auth.sh -------------------------------------------------------------------------

def test_pcs_authenticates_to_both_nodes_once(node: Node) -> None:
    node.set("pcsd/password", HACLUSTER_PASSWORD)
    args = ("redis-1", "192.168.150.11", "redis-2", "192.168.150.12")
    first = node.run("cluster_auth.sh", *args, stdin=HACLUSTER_PASSWORD + "\n")
    assert first.report == "changed: authenticated pcs to redis-1 and redis-2", first.stderr
    assert node.calls("pcs")[-1][1:] == ["host", "auth", "redis-1", "addr=192.168.150.11", "redis-2",
                                          "addr=192.168.150.12", "-u", "hacluster"]
    assert node.run("cluster_auth.sh", *args, stdin=HACLUSTER_PASSWORD + "\n").report == (
        "no change: pcs already authenticated to redis-1 and redis-2")


def test_a_wrong_hacluster_password_fails_auth(node: Node) -> None:
    node.set("pcsd/password", HACLUSTER_PASSWORD)
    ran = node.run("cluster_auth.sh", "redis-1", "192.168.150.11", "redis-2", "192.168.150.12", stdin="wrong-password\n")
    assert ran.returncode != 0 and "Username and/or password is incorrect" in ran.stderr


# -- cluster_node_prepare.sh / cluster_setup.sh / cluster_destroy.sh --------------------------

SETUP = ("redis-ha", "redis-1", "192.168.150.11", "redis-2", "192.168.150.12", 1000, 1200, 60)


def test_a_placeholder_cluster_is_cleared_and_ours_is_left_alone(node: Node) -> None:
    node.write("/etc/corosync/corosync.conf", "totem {\n    cluster_name: debian\n}\n")
    node.set("systemd/active/corosync")
    first = node.run("cluster_node_prepare.sh", "redis-ha")
    assert first.report == "changed: removed the placeholder cluster configuration and stopped its services", first.stderr
    assert node.calls("pcs")[-1] == ["pcs", "cluster", "destroy"]
    assert node.run("cluster_node_prepare.sh", "redis-ha").report == (
        "no change: no cluster configuration and no cluster services running")
    node.run("cluster_setup.sh", *SETUP)
    node.forget_calls()
    assert node.run("cluster_node_prepare.sh", "redis-ha").report == "no change: node belongs to cluster redis-ha"
    assert node.calls("pcs") == []


def test_the_cluster_is_formed_started_and_then_left_alone(node: Node) -> None:
    first = node.run("cluster_setup.sh", *SETUP)
    assert first.report == "changed: created cluster redis-ha started cluster on redis-1 and redis-2", first.stderr
    conf = node.upper("/etc/corosync/corosync.conf").read_text()
    assert "cluster_name: redis-ha" in conf and "token: 1000" in conf and "consensus: 1200" in conf
    verbs = [call[1:3] for call in node.calls("pcs")]
    assert verbs == [["cluster", "setup"], ["cluster", "authkey"], ["cluster", "sync"], ["cluster", "start"]]
    assert "--corosync_conf" in node.calls("pcs")[0]
    node.forget_calls()
    assert node.run("cluster_setup.sh", *SETUP).report == "no change: cluster redis-ha formed by redis-1 and redis-2"
    assert node.calls("pcs") == []


def test_new_totem_timing_is_applied_in_place(node: Node) -> None:
    node.run("cluster_setup.sh", *SETUP)
    node.set("systemd/active/corosync")
    ran = node.run("cluster_setup.sh", *SETUP[:5], 3000, 3600, 60)
    assert ran.report == "changed: set totem token=3000 consensus=3600", ran.stderr
    assert [call[1:] for call in node.calls("pcs")][-2:] == [
        ["cluster", "config", "update", "totem", "token=3000", "consensus=3600"], ["cluster", "reload", "corosync"]]


def test_a_failed_hand_out_fails_setup_and_leaves_no_half_made_cluster(node: Node) -> None:
    node.fail("pcs", "cluster sync", "Error: redis-2: Connection timeout")
    ran = node.run("cluster_setup.sh", *SETUP)
    assert ran.returncode == 1
    assert "handing the corosync authkey and configuration to redis-1 and redis-2 failed" in ran.stderr
    # Gone, so the next run starts over instead of taking it for a formed cluster.
    assert not node.exists("/etc/corosync/corosync.conf")


def test_cluster_destroy_destroys_only_our_cluster(node: Node) -> None:
    assert node.run("cluster_destroy.sh", "redis-ha").report == "no change: cluster redis-ha is not configured here"
    node.run("cluster_setup.sh", *SETUP)
    ran = node.run("cluster_destroy.sh", "redis-ha")
    assert ran.report == "changed: destroyed cluster redis-ha" and node.calls("pcs")[-1][1:] == ["cluster", "destroy", "--all"]


# -- check_redis_ha.sh / wait_ready.sh (readiness) -------------------------------------------

ROLE_MASTER = "master\r\n1234\r\nredis-1\r\n6379\r\n1234\r\n"
REPLICATION_ONLINE = ("# Replication\r\nrole:master\r\nconnected_slaves:1\r\n"
                      "slave0:ip=192.168.150.11,port=6379,state=online,offset=1234,lag=0\r\n")


def test_ready_only_with_a_master_on_the_vip_and_an_online_replica(node: Node) -> None:
    node.set("redis/ROLE", ROLE_MASTER)
    node.set("redis/INFO", REPLICATION_ONLINE)
    ready = node.run("check_redis_ha.sh", "redis-cli", "192.168.150.10", 6379, 10, stdin=REDIS_PASSWORD + "\n")
    assert ready.returncode == 0, ready.stderr
    assert ready.report == ("ready: 192.168.150.10:6379 is master on redis-2; replica "
                            "ip=192.168.150.11,port=6379,state=online,offset=1234,lag=0")
    # The password reached redis-cli through its environment (REDISCLI_AUTH), not its arguments.
    assert set((node.state / "redis-auth").read_text().split()) == {REDIS_PASSWORD}
    assert not any(REDIS_PASSWORD in "".join(call) for call in node.calls())


@pytest.mark.parametrize(("role", "replication"), [
    ("slave\r\n", REPLICATION_ONLINE),
    (ROLE_MASTER, REPLICATION_ONLINE.replace("state=online", "state=wait_bgsave")),
    (ROLE_MASTER, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"),
])
def test_not_ready_is_an_error_that_says_what_was_seen(node: Node, role: str, replication: str) -> None:
    node.set("redis/ROLE", role)
    node.set("redis/INFO", replication)
    ran = node.run("check_redis_ha.sh", "redis-cli", "192.168.150.10", 6379, 1, stdin=REDIS_PASSWORD + "\n")
    assert ran.returncode == 1
    assert "not a master with an online replica after 1s (last: role=" in ran.stderr


def test_wait_ready_waits_for_cloud_init_and_reports_its_failure(node: Node) -> None:
    assert node.run("wait_ready.sh", 60).report == "ready: cloud-init done on redis-1"
    assert node.calls("cloud-init")[0][1:] == ["status", "--wait"]
    node.set("cloud-init", "1")
    failed = node.run("wait_ready.sh", 60)
    assert failed.returncode == 1 and "cloud-init failed on redis-1" in failed.stderr
    assert "Cloud-init failed in the stand-in" in failed.stderr


# -- fence_virtd_setup.sh / fence_virtd_remove.sh (the hypervisor) ---------------------------

FENCE_KEY = "f" * 48


def hypervisor(node: Node) -> None:
    node.set("virsh/redis-ha", "virbr7")
    node.write("/usr/lib/x86_64-linux-gnu/fence-virt/multicast.so", "")


def test_fence_virtd_listens_on_the_bridge_with_the_key_and_is_undone(node: Node) -> None:
    hypervisor(node)
    node.write("/etc/fence_virt.conf", "# the host's own\n")
    first = node.run("fence_virtd_setup.sh", "redis-ha", "qemu:///system", stdin=FENCE_KEY)
    assert first.returncode == 0, first.stderr
    assert first.report.startswith("changed: kept the previous /etc/fence_virt.conf as /etc/fence_virt.conf.redis-ha-orig "
                                   "wrote /etc/fence_virt.conf (interface virbr7) wrote /etc/cluster/fence_xvm.key "
                                   "started fence_virtd (pid ")
    conf = node.upper("/etc/fence_virt.conf").read_text()
    assert 'interface = "virbr7";' in conf and 'uri = "qemu:///system";' in conf
    assert 'module_path = "/usr/lib/x86_64-linux-gnu/fence-virt";' in conf
    key = node.upper("/etc/cluster/fence_xvm.key")
    assert key.read_text() == FENCE_KEY and mode(key) == "0o600"
    assert node.run("fence_virtd_setup.sh", "redis-ha", "qemu:///system", stdin=FENCE_KEY).report == (
        "no change: fence_virtd serving redis-ha (virbr7) with the cluster's key")

    removed = node.run("fence_virtd_remove.sh")
    assert removed.report == ("changed: stopped fence_virtd removed /etc/cluster/fence_xvm.key restored "
                              "/etc/fence_virt.conf"), removed.stderr
    assert node.seen("/etc/fence_virt.conf").read_text() == "# the host's own\n"
    assert node.run("fence_virtd_remove.sh").report == "no change: no fence_virtd set up by redis-ha"


def test_fence_virtd_setup_refuses_a_value_that_would_break_out_of_its_quotes(node: Node) -> None:
    hypervisor(node)
    ran = node.run("fence_virtd_setup.sh", "redis-ha", 'qemu:///system"; } listeners { x { y = "', stdin=FENCE_KEY)
    assert ran.returncode == 1 and "refusing to write" in ran.stderr
    assert not node.exists("/etc/fence_virt.conf")


def test_fence_virtd_setup_names_what_is_missing(node: Node) -> None:
    ran = node.run("fence_virtd_setup.sh", "redis-ha", "qemu:///system", stdin=FENCE_KEY)
    assert ran.returncode == 1 and "libvirt network redis-ha on qemu:///system has no bridge" in ran.stderr
    node.set("virsh/redis-ha", "virbr7")
    if not list(Path("/usr/lib").glob("*/fence-virt/multicast.so")):
        ran = node.run("fence_virtd_setup.sh", "redis-ha", "qemu:///system", stdin=FENCE_KEY)
        assert ran.returncode == 1 and "multicast.so) is not installed" in ran.stderr


# -- host_key_volume.sh / host_key_volume_remove.sh (where pulumi runs) ---------------------

HOST_KEY = node_host_key("stack's ssh private key", "redis-ha", "redis-1")
VOLUME = ("qemu:///system", "redis-ha-lab", "redis-ha-redis-1-hostkey.raw")


def test_the_host_key_volume_holds_the_key_alone_and_is_undone(node: Node) -> None:
    first = node.run("host_key_volume.sh", *VOLUME, stdin=HOST_KEY.private_openssh)
    assert first.returncode == 0, first.stderr
    path = node.state / "virsh/pools/redis-ha-lab/redis-ha-redis-1-hostkey.raw"
    # stdout is the volume's id alone: the domain's disk takes it.
    assert first.stdout == f"{path}\n"
    assert first.stderr.strip() == "changed: created volume redis-ha-redis-1-hostkey.raw in pool redis-ha-lab with the host key"
    assert path.read_bytes() == HOST_KEY.private_openssh.encode().ljust(65536, b"\0")
    assert not any(HOST_KEY.private_openssh.splitlines()[2] in "".join(call) for call in node.calls())

    again = node.run("host_key_volume.sh", *VOLUME, stdin=HOST_KEY.private_openssh)
    assert (again.stdout, again.stderr.strip()) == (first.stdout, "no change: volume redis-ha-redis-1-hostkey.raw in "
                                                                    "pool redis-ha-lab holds the host key")
    assert len([call for call in node.calls("virsh") if "vol-upload" in call]) == 1

    # Another key overwrites the whole volume: nothing of the old one is left behind it.
    other = node_host_key("another ssh private key", "redis-ha", "redis-1").private_openssh
    path.write_bytes(path.read_bytes()[:-1] + b"x")
    changed = node.run("host_key_volume.sh", *VOLUME, stdin=other)
    assert changed.stderr.strip() == "changed: wrote the host key into volume redis-ha-redis-1-hostkey.raw in pool redis-ha-lab"
    assert path.read_bytes() == other.encode().ljust(65536, b"\0")

    removed = node.run("host_key_volume_remove.sh", *VOLUME)
    assert removed.report == "changed: deleted volume redis-ha-redis-1-hostkey.raw in pool redis-ha-lab"
    assert not path.exists()
    assert node.run("host_key_volume_remove.sh", *VOLUME).report == (
        "no change: no volume redis-ha-redis-1-hostkey.raw in pool redis-ha-lab")


def test_the_host_key_volume_refuses_what_is_not_a_key(node: Node) -> None:
    ran = node.run("host_key_volume.sh", *VOLUME, stdin="")
    assert ran.returncode == 1 and "stdin is not an OpenSSH private key" in ran.stderr
    assert not node.calls("virsh")


# -- host_key_install.sh (a node's first boot) -----------------------------------------------

def test_the_node_installs_the_host_key_from_its_volume_and_presents_it_alone(node: Node) -> None:
    blank, volume = node.folder / "vdb", node.folder / "vdc"
    blank.write_bytes(bytes(65536))
    volume.write_bytes(HOST_KEY.private_openssh.encode().ljust(65536, b"\0"))
    # What openssh-server and cloud-init leave in an image.
    node.write("/etc/ssh/sshd_config.d/50-cloud-init.conf", "PasswordAuthentication no\n")
    node.write("/etc/ssh/ssh_host_rsa_key", "an image's key\n", 0o600)
    node.write("/etc/ssh/ssh_host_ed25519_key", "an image's key\n", 0o600)
    # This machine's own keys are in the node's /etc too (copy-on-write: they stay on the machine).
    others = sorted({"ssh_host_rsa_key", *(key.name for key in Path("/etc/ssh").glob("ssh_host_*")
                                           if not key.name.startswith("ssh_host_ed25519_key"))})
    first = node.run("host_key_install.sh", str(blank), str(volume))
    assert first.returncode == 0, first.stderr
    assert first.report == (f"changed: installed the host key {' '.join(f'removed {key}' for key in others)} "
                            "sshd presents /etc/ssh/ssh_host_ed25519_key alone")
    private = node.upper("/etc/ssh/ssh_host_ed25519_key")
    assert private.read_text() == HOST_KEY.private_openssh and mode(private) == "0o600"
    assert node.upper("/etc/ssh/ssh_host_ed25519_key.pub").read_text().split()[:2] == HOST_KEY.public.split()
    assert node.upper("/etc/ssh/sshd_config.d/10-redis-ha-host-key.conf").read_text() == (
        "HostKey /etc/ssh/ssh_host_ed25519_key\n")
    assert not node.exists("/etc/ssh/ssh_host_rsa_key")
    assert node.run("host_key_install.sh", str(blank), str(volume)).report == "no change: host key installed"


def test_the_seeds_bootcmd_line_runs_the_install_script(node: Node, settings: Settings) -> None:
    """The line as cloud-init runs it (a shell script), its device glob swapped for the test's."""
    line = yaml.safe_load(render_user_data(settings, settings.nodes[0]))["bootcmd"][0]
    volume = node.folder / "vdb"
    volume.write_bytes(HOST_KEY.private_openssh.encode().ljust(65536, b"\0"))
    node.write("/etc/ssh/sshd_config.d/50-cloud-init.conf", "PasswordAuthentication no\n")
    bootcmd = node.folder / "bootcmd"
    bootcmd.write_text(line.removesuffix("/dev/vd[b-z]") + str(volume) + "\n")
    ran = node.run_file(str(bootcmd))
    assert ran.returncode == 0, ran.stderr
    assert ran.report.startswith("changed: installed the host key")
    assert node.upper("/etc/ssh/ssh_host_ed25519_key").read_text() == HOST_KEY.private_openssh


def test_a_node_without_its_host_key_volume_fails_its_boot_script(node: Node) -> None:
    blank = node.folder / "vdb"
    blank.write_bytes(bytes(65536))
    ran = node.run("host_key_install.sh", str(blank))
    assert ran.returncode == 1 and "no host key volume among" in ran.stderr
    assert not node.exists("/etc/ssh/ssh_host_ed25519_key")


# -- qnetd_setup.sh / qnetd_remove.sh (the hypervisor) ---------------------------------------

def test_qnetd_serves_the_cluster_and_prints_the_same_bundle_every_run(node: Node) -> None:
    node.set("addresses", "192.168.150.1\n")
    first = node.run("qnetd_setup.sh", "redis-ha", "192.168.150.1")
    assert first.returncode == 0, first.stderr
    assert first.stderr.strip().splitlines()[-1] == (
        "changed: created qnetd's CA in /etc/corosync/qnetd/nssdb signed a client certificate for cluster redis-ha "
        "started corosync-qnetd on 192.168.150.1:5403")
    # stdout is only the bundle the nodes take: qnetd's CA and the cluster's certificate and key.
    assert first.stdout.startswith("-----BEGIN CERTIFICATE-----") and "-----BEGIN CLUSTER PKCS12-----" in first.stdout
    assert mode(node.upper("/etc/corosync/qnetd/redis-ha/redis-ha/cluster.p12")) == "0o600"
    second = node.run("qnetd_setup.sh", "redis-ha", "192.168.150.1")
    assert second.stderr.strip().splitlines()[-1] == "no change: corosync-qnetd serving cluster redis-ha on 192.168.150.1"
    assert second.stdout == first.stdout

    removed = node.run("qnetd_remove.sh", "redis-ha")
    assert removed.report == "changed: removed cluster redis-ha's client certificate stopped corosync-qnetd", removed.stderr
    assert node.run("qnetd_remove.sh", "redis-ha").report == (
        "no change: no qnetd set up by redis-ha for cluster redis-ha")


def test_qnetd_setup_refuses_an_address_that_is_not_the_hypervisors(node: Node) -> None:
    ran = node.run("qnetd_setup.sh", "redis-ha", "192.168.150.12")
    assert ran.returncode == 1
    assert "192.168.150.12 (quorumDeviceAddress) is not an address of this hypervisor" in ran.stderr


# -- qdevice_node.sh / qdevice_node_remove.sh ------------------------------------------------

def bundle(node: Node) -> str:
    node.set("addresses", "192.168.150.1\n")
    return node.run("qnetd_setup.sh", "redis-ha", "192.168.150.1").stdout


def test_the_node_imports_qnetd_certificates_and_the_vip_heuristic_once(node: Node) -> None:
    certificates = bundle(node)
    first = node.run("qdevice_node.sh", "192.168.150.10", "/usr/local/sbin/redis-ha-holds-vip", stdin=certificates)
    assert first.report == ("changed: wrote /usr/local/sbin/redis-ha-holds-vip imported qnetd's CA and the cluster "
                            "certificate into /etc/corosync/qdevice/net/nssdb"), first.stderr
    heuristic = node.upper("/usr/local/sbin/redis-ha-holds-vip")
    assert mode(heuristic) == "0o755" and "ip -o -4 addr show to 192.168.150.10/32" in heuristic.read_text()
    database = node.upper("/etc/corosync/qdevice/net/nssdb")
    assert (database / "QNet CA").exists() and (database / "Cluster Cert").exists()
    assert node.run("qdevice_node.sh", "192.168.150.10", "/usr/local/sbin/redis-ha-holds-vip",
                    stdin=certificates).report == "no change: qdevice certificates and heuristic for VIP 192.168.150.10 in place"

    node.set("systemd/active/corosync-qdevice")
    removed = node.run("qdevice_node_remove.sh", "/usr/local/sbin/redis-ha-holds-vip")
    assert removed.report == ("changed: stopped corosync-qdevice removed /etc/corosync/qdevice/net/nssdb removed "
                              "/usr/local/sbin/redis-ha-holds-vip"), removed.stderr
    assert node.run("qdevice_node_remove.sh", "/usr/local/sbin/redis-ha-holds-vip").report == (
        "no change: no quorum device client on this node")


def test_removing_the_client_clears_a_failed_corosync_qdevice_and_says_why(node: Node) -> None:
    node.set("systemd/failed/corosync-qdevice")
    node.set("journal/corosync-qdevice", "Can't read quorum.device.model cmap key\n")
    removed = node.run("qdevice_node_remove.sh", "/usr/local/sbin/redis-ha-holds-vip")
    assert removed.report == ("changed: cleared corosync-qdevice's failed state (its last lines: Can't read "
                              "quorum.device.model cmap key )"), removed.stderr
    assert ["systemctl", "reset-failed", "corosync-qdevice"] in node.calls("systemctl")
    assert node.run("qdevice_node_remove.sh", "/usr/local/sbin/redis-ha-holds-vip").report == (
        "no change: no quorum device client on this node")


def test_the_node_refuses_a_bundle_without_certificates(node: Node) -> None:
    ran = node.run("qdevice_node.sh", "192.168.150.10", "/usr/local/sbin/redis-ha-holds-vip", stdin="nothing\n")
    assert ran.returncode == 1 and "stdin holds no qnetd CA certificate" in ran.stderr


# -- quorum_device.sh / quorum_device_remove.sh ---------------------------------------------

VOTING = ("    Nodeid      Votes    Qdevice Name\n         1          1    A,V,NMW redis-1 (local)\n"
          "         2          1    A,V,NMW redis-2\n         0          1            Qdevice\n")


def test_corosync_conf_names_the_device_is_handed_out_and_counted(node: Node) -> None:
    node.run("cluster_setup.sh", *SETUP)
    node.set("quorumtool", VOTING)
    node.forget_calls()
    first = node.run("quorum_device.sh", "192.168.150.1", "/usr/local/sbin/redis-ha-holds-vip", 60)
    assert first.report == "changed: corosync.conf names quorum device 192.168.150.1 (ffsplit, VIP heuristic)", first.stderr
    conf = node.upper("/etc/corosync/corosync.conf").read_text()
    assert "host: 192.168.150.1" in conf and "two_node" not in conf
    assert [call[1:3] for call in node.calls("pcs")][-2:] == [["cluster", "sync"], ["cluster", "reload"]]
    assert node.run("quorum_device.sh", "192.168.150.1", "/usr/local/sbin/redis-ha-holds-vip", 60).report == (
        "no change: quorum device 192.168.150.1 counted by both nodes")

    removed = node.run("quorum_device_remove.sh", 60)
    assert removed.report.startswith("changed: corosync-qdevice stopped on every node"), removed.stderr
    assert "two_node: 1" in node.upper("/etc/corosync/corosync.conf").read_text()
    assert node.run("quorum_device_remove.sh", 60).report == "no change: corosync.conf names no quorum device"


def test_a_device_whose_vote_never_counts_fails_after_the_wait(node: Node) -> None:
    node.run("cluster_setup.sh", *SETUP)
    node.set("quorumtool", VOTING.replace("A,V,NMW redis-2", "NA,NV,NMW redis-2"))
    ran = node.run("quorum_device.sh", "192.168.150.1", "/usr/local/sbin/redis-ha-holds-vip", 1)
    assert ran.returncode == 1 and "the quorum device's vote is not counted on: redis-2" in ran.stderr


def test_a_running_device_is_not_moved_to_another_qnetd(node: Node) -> None:
    node.run("cluster_setup.sh", *SETUP)
    node.set("quorumtool", VOTING)
    node.run("quorum_device.sh", "192.168.150.1", "/usr/local/sbin/redis-ha-holds-vip", 60)
    ran = node.run("quorum_device.sh", "192.168.150.2", "/usr/local/sbin/redis-ha-holds-vip", 60)
    assert ran.returncode == 1 and "the running quorum device is 192.168.150.1" in ran.stderr
    # Only a copy was rendered: no hand-out, no reload, no start.
    node.forget_calls()
    node.run("quorum_device.sh", "192.168.150.1", "/usr/local/sbin/redis-ha-holds-vip", 60)
    assert not any(call[1] == "cluster" for call in node.calls("pcs"))


# -- cluster_boot.sh ------------------------------------------------------------------------

@pytest.mark.parametrize(("enabled", "start_at_boot", "quorum_device", "changes"), [
    # A fresh Debian install: corosync-qdevice enabled by its package. Its unit requires corosync,
    # so left enabled without a device it would start the cluster at boot.
    (["corosync-qdevice"], "false", "false", "disabled corosync-qdevice"),
    (["corosync-qdevice"], "false", "true", "disabled corosync-qdevice"),
    ([], "true", "false", "enabled corosync enabled pacemaker"),
    (["corosync-qdevice"], "true", "false", "enabled corosync enabled pacemaker disabled corosync-qdevice"),
    ([], "true", "true", "enabled corosync enabled pacemaker enabled corosync-qdevice"),
    (["corosync", "pacemaker"], "false", "true", "disabled corosync disabled pacemaker"),
])
def test_boot_enables_exactly_the_units_asked_for(node: Node, enabled: list[str], start_at_boot: str,
                                                  quorum_device: str, changes: str) -> None:
    for unit in enabled:
        node.set(f"systemd/enabled/{unit}")
    first = node.run("cluster_boot.sh", start_at_boot, quorum_device)
    assert first.report == f"changed: {changes} wrote {START_COMMAND}", first.stderr
    wanted = {unit for unit in ("corosync", "pacemaker") if start_at_boot == "true"}
    if start_at_boot == "true" and quorum_device == "true":
        wanted.add("corosync-qdevice")
    assert {path.name for path in (node.state / "systemd/enabled").iterdir()} == wanted
    assert node.run("cluster_boot.sh", start_at_boot, quorum_device).report == (
        f"no change: cluster units start at boot: {start_at_boot} (quorum device: {quorum_device}); "
        f"{START_COMMAND} in place")


START_COMMAND = "/usr/local/sbin/redis-ha-start-cluster"


def formed_and_stopped(node: Node) -> None:
    """Both nodes authenticated, the cluster formed, then everything lost (a power cut)."""
    node.set("pcsd/password", HACLUSTER_PASSWORD)
    node.run("cluster_auth.sh", "redis-1", "192.168.150.11", "redis-2", "192.168.150.12",
             stdin=HACLUSTER_PASSWORD + "\n")
    node.run("cluster_setup.sh", *SETUP)
    node.run("cluster_boot.sh", "false", "false")
    for unit in ("corosync", "pacemaker"):
        (node.state / "systemd/active" / unit).unlink()
    (node.state / "members").unlink()
    node.forget_calls()


def test_the_start_command_waits_for_every_pcsd_then_starts_both_nodes(node: Node) -> None:
    formed_and_stopped(node)
    node.set("pcsd/starting", "redis-2 3")
    ran = node.run_file(START_COMMAND, 120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.count("waiting for pcsd on: redis-2: Offline;") == 1, ran.stdout
    looks = [call for call in node.calls("pcs") if call[1:3] == ["status", "pcsd"]]
    starts = [call for call in node.calls("pcs") if call[1:3] == ["cluster", "start"]]
    assert len(looks) == 4 and len(starts) == 1
    assert node.calls("pcs").index(starts[0]) == len(node.calls("pcs")) - 1
    assert starts[0][3] == "--all" and starts[0][4].startswith("--wait=")
    assert 60 <= int(starts[0][4].removeprefix("--wait=")) <= 120
    assert (node.state / "members").read_text().split() == ["redis-1", "redis-2"]


def test_the_start_command_gives_up_naming_the_node_whose_pcsd_never_answered(node: Node) -> None:
    formed_and_stopped(node)
    node.set("pcsd/starting", "redis-2 1000")
    ran = node.run_file(START_COMMAND, 2)
    assert ran.returncode == 1
    assert ran.stderr.strip() == "error: pcsd still not answering after 2s on: redis-2: Offline;"
    assert not [call for call in node.calls("pcs") if call[1:3] == ["cluster", "start"]]
    assert not (node.state / "members").exists()


# -- install_packages.sh --------------------------------------------------------------------

DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n'


def test_installs_only_what_is_missing_from_the_mirror_it_is_given(node: Node) -> None:
    node.write("/etc/os-release", DEBIAN)
    node.set("apt/missing", "fence-virt\nredis-server\n")
    first = node.run("install_packages.sh", "http://192.168.150.1:8080/debian", "true", "redis", "none")
    assert first.report == "changed: installed fence-virt redis-server", first.stderr
    installs = [call for call in node.calls("apt-get") if "install" in call]
    assert installs[-1][-4:] == ["-y", "--no-install-recommends", "fence-virt", "redis-server"]
    # The mirror is the only source, trusted as the lab's unsigned repository.
    assert node.upper("/etc/apt/redis-ha-mirror.list").read_text() == (
        "deb [trusted=yes] http://192.168.150.1:8080/debian bookworm main\n")
    assert "Dir::Etc::sourceparts=-" in installs[-1]
    assert node.run("install_packages.sh", "http://192.168.150.1:8080/debian", "true", "redis", "none").report.startswith(
        "no change: all 17 packages already installed")


def test_a_package_apt_removes_to_make_room_is_named(node: Node) -> None:
    node.write("/etc/os-release", DEBIAN.replace("12 (bookworm)", "13 (trixie)").replace("bookworm", "trixie"))
    node.set("apt/missing", "firewalld\n")
    node.set("apt/conflicting", "cloud-init\n")
    ran = node.run("install_packages.sh", "", "false", "redis", "none")
    assert ran.report == "changed: installed firewalld; removed cloud-init, which conflicts with them", ran.stderr
    # Debian 13 needs only the fence agents' common files beside fence-virt.
    checked = {call[-1] for call in node.calls("dpkg-query")}
    assert "fence-agents-common" in checked and "fence-agents" not in checked


def test_an_install_whose_dpkg_died_is_finished_and_asked_once_more(node: Node) -> None:
    node.write("/etc/os-release", DEBIAN)
    node.set("apt/missing", "fence-virt\nredis-server\n")
    node.set("apt/crashes", "1")
    ran = node.run("install_packages.sh", "", "false", "redis", "none")
    assert ran.report == "changed: installed fence-virt redis-server", ran.stderr
    assert "dpkg-split returned error exit status 11" in ran.stderr and "asking apt once more" in ran.stderr
    assert node.calls("dpkg") == [["dpkg", "--configure", "-a"]]
    assert len([call for call in node.calls("apt-get") if "install" in call and "-s" not in call]) == 2
    # Twice in a row is not a passing fault: the step fails with apt's error and status.
    node.set("apt/missing", "pcs\n")
    node.set("apt/crashes", "2")
    failed = node.run("install_packages.sh", "", "false", "redis", "none")
    assert failed.returncode == 100 and "E: Sub-process /usr/bin/dpkg returned an error code (1)" in failed.stderr
    assert "changed:" not in failed.stdout


def test_names_every_package_the_source_lacks_before_installing_anything(node: Node) -> None:
    node.write("/etc/os-release", DEBIAN)
    node.set("apt/missing", "fence-virt\nredis-server\npcs\n")
    node.set("apt/unavailable", "fence-virt\npcs\n")
    ran = node.run("install_packages.sh", "", "false", "redis", "none")
    assert ran.returncode == 1
    assert "not available from the apt sources configured on the node for bookworm: pcs fence-virt;" in ran.stderr
    assert "packageMirror" in ran.stderr
    assert not any("install" in call for call in node.calls("apt-get"))


def test_refuses_a_distribution_it_does_not_know(node: Node) -> None:
    node.write("/etc/os-release", 'ID=alpine\n')
    ran = node.run("install_packages.sh", "", "false", "redis", "none")
    assert ran.returncode == 1 and "unsupported distribution 'alpine'" in ran.stderr


# -- monitoring.sh / monitoring_remove.sh --------------------------------------------------

EXPORTER_UNITS = ("ha_cluster_exporter", "prometheus-redis-exporter", "prometheus-node-exporter")
PASSWORD_FILE = "/etc/redis-ha/redis-exporter-password.json"


@contextlib.contextmanager
def stand_in_exporter(answer: Callable[[http.server.BaseHTTPRequestHandler], None]) -> Iterator[int]:
    """An exporter on loopback that answers every GET with ``answer``; its port."""
    class Exporter(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer(self)

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Exporter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def metrics(request: http.server.BaseHTTPRequestHandler) -> None:
    """/metrics, and 404 for any other path (an exporter without a landing page)."""
    request.send_response(200 if request.path == "/metrics" else 404)
    request.end_headers()
    request.wfile.write(b"up 1\n")


@pytest.fixture
def exporters() -> Iterator[list[int]]:
    """Three stand-in exporters on loopback answering /metrics; their ports."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(stand_in_exporter(metrics)) for _ in range(3)]


def run_monitoring(node: Node, ports: list[int], *tls: str, wait: int = 5) -> Ran:
    return node.run("monitoring.sh", "127.0.0.1", *ports, "rediss://127.0.0.1:6379", PASSWORD_FILE,
                    "on #0123 +info", "/usr/local/sbin/redis-ha-agent-cli", "/run/redis/redis.sock",
                    "/etc/redis/redis.conf", wait, *tls, stdin='{"rediss://127.0.0.1:6379": "s3cret"}\n')


def with_prometheus_user(node: Node) -> None:
    node.add_groups("prometheus")


def test_exporters_listen_on_the_address_given_read_the_password_from_a_file_and_start_once(
        node: Node, exporters: list[int]) -> None:
    with_prometheus_user(node)
    hacluster, redis, host = exporters
    first = run_monitoring(node, exporters, "/etc/redis-ha/tls/ca.crt")
    assert first.returncode == 0 and first.report.startswith("changed: "), first.stderr
    assert node.upper("/etc/sysconfig/prometheus-ha_cluster_exporter").read_text().endswith(
        f'ARGS="--web.listen-address=127.0.0.1:{hacluster}"\n')
    assert node.upper("/etc/default/prometheus-node-exporter").read_text().endswith(
        f'ARGS="--web.listen-address=127.0.0.1:{host}"\n')
    # The password only in the file (the exporter's user's group may read it), never in ARGS.
    assert node.upper("/etc/default/prometheus-redis-exporter").read_text().endswith(
        f'ARGS="-web.listen-address=127.0.0.1:{redis} -redis.addr=rediss://127.0.0.1:6379 -redis.user=monitor '
        f'-redis.password-file={PASSWORD_FILE} -config-command=- -tls-ca-cert-file=/etc/redis-ha/tls/ca.crt"\n')
    password = node.upper(PASSWORD_FILE)
    assert json.loads(password.read_text()) == {"rediss://127.0.0.1:6379": "s3cret"}
    assert mode(password) == "0o640" and node.group(PASSWORD_FILE) == "prometheus"
    assert {unit for call in node.calls("systemctl") if call[1] == "restart" for unit in call[2:]} == set(EXPORTER_UNITS)
    node.forget_calls()
    second = run_monitoring(node, exporters, "/etc/redis-ha/tls/ca.crt")
    assert second.report == (f"no change: exporters on 127.0.0.1:{hacluster} (hacluster), :{redis} (redis), "
                             f":{host} (node)"), second.stderr
    assert not [call for call in node.calls("systemctl") if call[1] in ("restart", "daemon-reload")]
    # A client certificate (tlsClientAuth): only the redis exporter changes, and joins the key's group.
    third = run_monitoring(node, exporters, "/etc/redis-ha/tls/ca.crt", "/etc/redis-ha/tls/server.crt",
                           "/etc/redis-ha/tls/server.key", "redis")
    assert [call[2:] for call in node.calls("systemctl") if call[1] == "restart"] == [["prometheus-redis-exporter"]]
    assert "SupplementaryGroups=redis" in node.upper(
        "/etc/systemd/system/prometheus-redis-exporter.service.d/redis-ha.conf").read_text(), third.stderr


def test_an_exporter_answering_with_an_error_counts_as_up(node: Node, exporters: list[int]) -> None:
    """Before the cluster is formed the hacluster exporter's tools fail, and it may say so with a 500."""
    with_prometheus_user(node)
    with stand_in_exporter(lambda request: request.send_error(500)) as failing:
        ran = run_monitoring(node, [failing, *exporters[1:]], wait=2)
    assert ran.returncode == 0, ran.stderr


def test_an_exporter_that_never_answers_is_named(node: Node, exporters: list[int]) -> None:
    with_prometheus_user(node)
    ran = run_monitoring(node, [exporters[0], 9, exporters[2]], wait=2)
    assert ran.returncode == 1
    assert "error: no exporter answers on http://127.0.0.1:9/ after 2s" in ran.stderr


def test_an_exporter_whose_scrape_outlasts_the_probe_is_up(node: Node, exporters: list[int]) -> None:
    """The node exporter's systemd collector can take a minute over a busy D-Bus: its landing
    page still answers at once, and that is what says the exporter listens."""
    def slow_scrape(request: http.server.BaseHTTPRequestHandler) -> None:
        if request.path == "/metrics":
            time.sleep(8)
        metrics(request)

    with_prometheus_user(node)
    with stand_in_exporter(slow_scrape) as slow:
        ran = run_monitoring(node, [*exporters[:2], slow], wait=2)
    assert ran.returncode == 0, ran.stderr


def test_removing_monitoring_purges_the_exporters_and_their_password(node: Node, exporters: list[int]) -> None:
    with_prometheus_user(node)
    run_monitoring(node, exporters)
    removed = node.run("monitoring_remove.sh", PASSWORD_FILE, "/usr/local/sbin/redis-ha-agent-cli",
                       "/run/redis/redis.sock", "/etc/redis/redis.conf")
    assert removed.report.startswith("changed: purged prometheus-hacluster-exporter prometheus-redis-exporter "
                                     "prometheus-node-exporter removed " + PASSWORD_FILE), removed.stderr
    assert not node.exists(PASSWORD_FILE)
    assert node.run("monitoring_remove.sh", PASSWORD_FILE, "/usr/local/sbin/redis-ha-agent-cli",
                    "/run/redis/redis.sock", "/etc/redis/redis.conf").report == "no change: no exporters on this node"


def test_installs_the_exporters_with_monitoring_and_refuses_them_on_rhel(node: Node) -> None:
    node.write("/etc/os-release", DEBIAN)
    node.set("apt/missing", "prometheus-redis-exporter\n")
    assert node.run("install_packages.sh", "", "false", "redis", "none").report.startswith("no change: ")
    ran = node.run("install_packages.sh", "", "false", "redis", "exporters")
    assert ran.report == "changed: installed prometheus-redis-exporter", ran.stderr
    node.write("/etc/os-release", 'ID="rocky"\nID_LIKE="rhel centos fedora"\n')
    refused = node.run("install_packages.sh", "", "false", "redis", "exporters")
    assert refused.returncode == 1
    assert "set monitoring to none" in refused.stderr and "prometheus-hacluster-exporter" in refused.stderr
