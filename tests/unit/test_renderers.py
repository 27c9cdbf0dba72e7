"""Pure renderers: cloud-init, redis.conf, the pcs plan, the domain XSLT and command lines."""

from __future__ import annotations

import hashlib
import re
import shlex
import subprocess
from collections.abc import Callable

import pytest
import yaml
from lxml import etree

from components.cloud_init import render_hosts, render_meta_data, render_network_config, render_user_data
from components.libvirt_xml import render_cmdlines, render_no_dns_xslt, render_tcg_xslt
from components.pcs_plan import cluster_properties, constraint_commands, redis_command, resource_plan, serialise, vip_command
from components.redis_conf import render_redis_conf
from components.redis_users import admin_password, replication_password
from components.remote_script import SCRIPTS_DIR, command_line, script_hash, script_text
from components.settings import Settings
from tests.unit.conftest import PUBLIC_KEY, REDIS_PASSWORD


def test_network_config_bonds_both_nics_by_mac(settings: Settings) -> None:
    node = settings.nodes[0]
    config = yaml.safe_load(render_network_config(settings, node))
    assert config["version"] == 2
    matched = {eth["match"]["macaddress"]: name for name, eth in config["ethernets"].items()}
    assert set(matched) == set(node.macs)
    bond = config["bonds"]["bond0"]
    assert sorted(bond["interfaces"]) == sorted(matched.values())
    assert bond["parameters"]["mode"] == "active-backup"
    assert bond["parameters"]["mii-monitor-interval"] > 0
    assert bond["addresses"] == ["192.168.150.11/24"]
    assert bond["routes"] == [{"to": "default", "via": "192.168.150.1"}]
    assert all(eth["dhcp4"] is False for eth in config["ethernets"].values())


def test_user_data_sets_hostname_hosts_and_login(settings: Settings) -> None:
    node = settings.nodes[1]
    text = render_user_data(settings, node)
    assert text.startswith("#cloud-config\n")
    data = yaml.safe_load(text)
    assert data["hostname"] == "redis-2"
    assert data["manage_etc_hosts"] is False
    hosts = data["write_files"][0]
    assert hosts["path"] == "/etc/hosts"
    assert "192.168.150.11 redis-1\n" in hosts["content"]
    assert "192.168.150.12 redis-2\n" in hosts["content"]
    assert data["users"][0]["ssh_authorized_keys"] == [PUBLIC_KEY]
    assert data["ssh_pwauth"] is False


def test_hosts_never_maps_a_node_name_to_loopback(settings: Settings) -> None:
    for line in render_hosts(settings).splitlines():
        address, *names = line.split()
        if address.startswith("127.") or address == "::1":
            assert not {"redis-1", "redis-2"} & set(names)


def test_agent_placeholder_master_resolves_locally_where_redis_does_not_listen(settings: Settings) -> None:
    entries = {name: line.split()[0] for line in render_hosts(settings).splitlines() for name in line.split()[1:]}
    address = entries["no-such-master"]
    assert address.startswith("127.")
    # Redis binds 127.0.0.1: a replica pointed there would replicate from itself.
    assert address not in ("127.0.0.1", settings.vip, *(node.ip for node in settings.nodes))
    assert "bind 127.0.0.1 " in render_redis_conf(settings, settings.nodes[0])


def test_meta_data_instance_id_is_stable(settings: Settings) -> None:
    node = settings.nodes[0]
    assert yaml.safe_load(render_meta_data(settings, node)) == {"instance-id": "redis-ha-redis-1", "local-hostname": "redis-1"}


def test_redis_conf_binds_node_and_vip_and_persists_every_write(settings: Settings) -> None:
    conf = render_redis_conf(settings, settings.nodes[0])
    lines = conf.splitlines()
    assert "bind 127.0.0.1 192.168.150.11 192.168.150.10" in lines
    # The application's password only as a hash; the agent's (admin) and the replica's in full.
    assert not any(REDIS_PASSWORD in line for line in lines)
    assert f"user app on #{hashlib.sha256(REDIS_PASSWORD.encode()).hexdigest()} ~* &* +@all -@admin -@dangerous" in lines
    assert "user default off resetpass -@all" in lines
    assert f"requirepass {admin_password(settings)}" in lines
    assert f"user admin on #{hashlib.sha256(admin_password(settings).encode()).hexdigest()} ~* &* +@all" in lines
    assert "masteruser replication" in lines and f"masterauth {replication_password(settings)}" in lines
    assert f"user replication on #{hashlib.sha256(replication_password(settings).encode()).hexdigest()} " \
           "+psync +replconf +ping" in lines
    assert "appendonly yes" in lines
    assert "appendfsync always" in lines
    assert "tls-port 6379" in lines and "port 0" in lines
    assert not any(line.startswith(("replicaof", "slaveof")) for line in lines)


def test_vip_command(settings: Settings) -> None:
    assert vip_command(settings)[:8] == ["resource", "create", "vip", "ocf:heartbeat:IPaddr2",
                                         "ip=192.168.150.10", "cidr_netmask=24", "nic=bond0", "op"]
    assert "interval=10s" in vip_command(settings)
    # Every operation has a timeout of its own: Pacemaker's 20 s default timed out under load.
    text = " ".join(vip_command(settings))
    assert "op start timeout=30s" in text and "op stop timeout=30s" in text


def test_redis_command_is_promotable_with_notify_and_both_monitors(load: Callable[..., Settings]) -> None:
    settings = load(redisPromotedMonitorIntervalSeconds="3", redisUnpromotedMonitorIntervalSeconds="4",
                    migrationThreshold="2")
    command = redis_command(settings)
    assert command[:4] == ["resource", "create", "redis", "ocf:heartbeat:redis"]
    assert command[-2:] == ["promotable", "notify=true"]
    text = " ".join(command)
    assert "op monitor interval=3s role=Promoted" in text
    assert "op monitor interval=4s role=Unpromoted" in text
    assert "migration-threshold=2" in text
    assert "config=/etc/redis/redis.conf" in text
    # Without it a replica that missed writes is promoted when both instances failed.
    assert "wait_last_known_master=true" in command


def test_constraints_keep_vip_on_master_after_promotion() -> None:
    assert constraint_commands() == [
        ["constraint", "colocation", "add", "vip", "with", "Promoted", "redis-clone", "INFINITY"],
        ["constraint", "order", "promote", "redis-clone", "then", "start", "vip"],
    ]


def test_plan_serialises_one_command_per_line(settings: Settings) -> None:
    plan = resource_plan(settings)
    text = serialise(plan)
    assert [line.split("\t") for line in text.splitlines()] == plan


def test_serialise_refuses_tabs() -> None:
    try:
        serialise([["resource", "create", "x\ty"]])
    except ValueError as error:
        assert "tab" in str(error)
    else:
        raise AssertionError("a tab inside an argument was accepted")


def test_stonith_disabled_only_in_fencing_mode_none(load: Callable[..., Settings]) -> None:
    assert cluster_properties(load(fencing="none")) == ["stonith-enabled=false", "load-threshold=100000%"]
    assert cluster_properties(load(priorityFencingDelaySeconds="7")) == [
        "stonith-enabled=true", "load-threshold=100000%", "priority-fencing-delay=7s"]


def test_fence_device_maps_node_names_to_domains_and_redis_gets_a_priority(
        load: Callable[..., Settings]) -> None:
    plan = resource_plan(load(clusterName="prod"))
    assert plan[0] == ["stonith", "create", "fence-xvm", "fence_xvm",
                       "pcmk_host_map=redis-1:prod-redis-1;redis-2:prod-redis-2",
                       "key_file=/etc/cluster/fence_xvm.key", "op", "monitor", "interval=60s", "timeout=30s",
                       "op", "start", "timeout=30s"]
    assert "priority=10" in redis_command(load())
    unfenced = resource_plan(load(fencing="none"))
    assert not [command for command in unfenced if command[0] == "stonith"]
    assert "priority=10" not in redis_command(load(fencing="none"))


def test_load_threshold_property_from_its_key(load: Callable[..., Settings]) -> None:
    assert "load-threshold=250%" in cluster_properties(load(loadThresholdPercent="250"))
    assert "load-threshold=100000%" in cluster_properties(load())


def transformed(xslt: str, xml: str) -> etree._Element:
    """What libvirt's provider does with an xml.xslt: apply it to the XML it generated."""
    return etree.XSLT(etree.fromstring(xslt.encode()))(etree.fromstring(xml.encode())).getroot()


@pytest.mark.parametrize("features", ["<features><acpi/></features>", ""])
def test_tcg_xslt_caps_the_translation_cache_and_keeps_the_rest(features: str) -> None:
    domain = transformed(render_tcg_xslt(256), f"<domain type='qemu'><name>n</name>{features}<devices/></domain>")
    assert domain.findtext("features/tcg/tb-cache") == "256"
    assert domain.find("features/tcg/tb-cache").get("unit") == "MiB"  # type: ignore[union-attr]
    assert domain.findtext("name") == "n" and domain.find("devices") is not None
    assert (domain.find("features/acpi") is not None) == bool(features)


@pytest.mark.parametrize("dns", ["", "<dns enable='yes'><forwarder addr='1.1.1.1'/></dns>"])
def test_no_dns_xslt_switches_dns_off_whatever_the_provider_wrote(dns: str) -> None:
    network = transformed(render_no_dns_xslt(),
                          f"<network><name>n</name>{dns}<ip address='192.168.150.1' prefix='24'/></network>")
    assert [element.get("enable") for element in network.findall("dns")] == ["no"]
    assert network.find("dns/forwarder") is None
    assert network.find("ip").get("address") == "192.168.150.1"  # type: ignore[union-attr]


def test_command_line_round_trips_arguments_through_a_shell() -> None:
    awkward = ["it's", "a b", '$(touch /tmp/pwned)', ""]
    line = command_line("cluster_properties.sh", *awkward)
    argv = shlex.split(line)
    assert argv[:3] == ["sudo", "bash", "-c"]
    assert argv[3] == script_text("cluster_properties.sh")
    assert argv[4:] == ["cluster_properties.sh", *awkward]
    # Without sudo, a real shell hands the arguments over unchanged.
    echoed = subprocess.run(["bash", "-c", line.removeprefix("sudo ").replace(
        shlex.quote(script_text("cluster_properties.sh")), shlex.quote('printf "%s|" "$0" "$@"'), 1)],
        capture_output=True, text=True, check=True).stdout
    assert echoed == "cluster_properties.sh|" + "".join(f"{arg}|" for arg in awkward)


def test_script_hash_follows_content() -> None:
    assert script_hash("wait_ready.sh") != script_hash("install_packages.sh")
    assert len(script_hash("wait_ready.sh")) == 64


def test_a_script_reaches_the_node_with_its_libraries_inlined_and_sources_nothing() -> None:
    """The node has no scripts folder: a library a script sources travels inside its text, and
    an edit of the library changes the hash of every script that uses it."""
    library = (SCRIPTS_DIR / "lib" / "firewall.sh").read_text()
    for script in ("firewall_cluster.sh", "firewall_ports.sh"):
        assert 'source "$(dirname "$0")/lib/firewall.sh"' in (SCRIPTS_DIR / script).read_text()
        assert library.rstrip("\n") in script_text(script)
    shipped = {script.name: script_text(script.name) for script in SCRIPTS_DIR.glob("*.sh")}
    assert not [name for name, text in shipped.items() if re.search(r"^\s*(source|\.) .*dirname", text, re.MULTILINE)]


@pytest.mark.parametrize(("cmdline", "expected"), [
    # The lab's: one map of key=value arguments, then the keyless ones.
    ("root=/dev/vda rw console=ttyS0", [{"console": "ttyS0", "root": "/dev/vda"}, {"_": "rw"}]),
    ("quiet", [{"_": "quiet"}]),
    # A repeated key starts a new map; values keep their own "=".
    ("console=tty0 console=ttyS0 opt=a=b", [{"console": "tty0"}, {"console": "ttyS0", "opt": "a=b"}]),
])
def test_cmdlines_are_in_the_form_pulumi_libvirt_reads_back(cmdline: str, expected: list[dict[str, str]]) -> None:
    rendered = render_cmdlines(cmdline)
    assert rendered == expected
    # Written back the provider's way (each map's arguments, sorted), it is the same command line.
    written = sorted(value if key == "_" else f"{key}={value}" for entry in rendered for key, value in entry.items())
    assert sorted(" ".join(written).split()) == sorted(cmdline.split())
