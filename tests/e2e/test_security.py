"""Secrets and exposure on real VMs: no secret in a process list during provisioning, in a
world-readable file or in the journal; Redis reachable only from allowed networks and only
with AUTH; corosync traffic encrypted."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest
import redis

from components.host_keys import host_key_of
from components.redis_users import APPLICATION_USER, admin_password, monitor_password, replication_password
from components.tls import client_options, tls_material
from lab import guests
from lab.outsider import ALLOWED_ADDRESS, DENIED_ADDRESS, Outsider
from tests.e2e.conftest import PS_SAMPLES, Deployment


def host_key_lines(cluster: Deployment) -> list[str]:
    """The nodes' private host keys: their base64 lines after the first, which is the same for
    every such key."""
    settings = cluster.settings
    return [line for node in settings.nodes for line in host_key_of(settings, node).private_openssh.splitlines()[2:-1]]


def tls_key_lines(cluster: Deployment) -> list[str]:
    """The nodes' TLS private keys: the base64 lines that hold the private scalar."""
    settings = cluster.settings
    if not settings.tls:
        return []
    return [line for own in tls_material(settings).nodes.values() for line in own.key.splitlines()[1:3]]


def secret_values(cluster: Deployment) -> list[str]:
    """The secrets that reach the nodes."""
    settings = cluster.settings
    return [settings.hacluster_password, settings.redis_password, settings.fence_key, *host_key_lines(cluster),
            *tls_key_lines(cluster), admin_password(settings), replication_password(settings),
            monitor_password(settings)]


def secrets_of(cluster: Deployment) -> str:
    """The secrets that reach the nodes, one per line (grep -F -f pattern file)."""
    return "\n".join(secret_values(cluster)) + "\n"


def is_provider_debug_log(event: str) -> bool:
    """A debug diagnostic, which is how the engine passes on a provider's log lines: shown only
    with `pulumi up --debug`, kept in `--event-log` files and Automation API event streams, not
    sent to Pulumi Cloud (its backend drops debug diagnostics)."""
    diagnostic = json.loads(event).get("diagnostic_event") or {}
    return diagnostic.get("severity") == "debug"


def found_in(text: str, values: list[str]) -> list[str]:
    """Which of ``values`` (shortened) ``text`` holds, in plain text or base64-encoded."""
    return [value[:4] + "..." for value in values if value in text or base64.b64encode(value.encode()).decode() in text]


def test_no_secret_in_the_state_the_engine_output_or_its_events(cluster: Deployment) -> None:
    """`pulumi stack export`, everything `pulumi up` printed and every engine event, the
    providers' debug log included (`pulumi up --debug` shows it, event logs keep it): no secret
    in plain text, nor base64-encoded. pulumi-libvirt logs a cloud-init seed's whole user data
    there, which is why the host keys travel on their own volumes."""
    # The SSH private key after its first line, which is the same for every key of its type.
    secrets = [*secret_values(cluster), *cluster.settings.ssh_private_key.splitlines()[2:-1]]
    debug = [event for event in cluster.events if is_provider_debug_log(event)]
    searched = {"stack export": json.dumps(cluster.stack.export()), "engine output": "\n".join(cluster.output),
                "engine events": "\n".join(event for event in cluster.events if not is_provider_debug_log(event)),
                "providers' debug log": "\n".join(debug)}
    found = {where: found_in(text, secrets) for where, text in searched.items()}
    print(f"e2e: searched {', '.join(f'{where} ({len(text):,} characters)' for where, text in searched.items())} "
          f"({len(debug)} debug lines) for {len(secrets)} secrets and their base64: {found}")
    assert len(cluster.events) > 100 and len(cluster.output) > 100
    # The search works: the stack holds the secrets, encrypted, and the debug log holds the seeds.
    assert '"secure"' in searched["stack export"] or "ciphertext" in searched["stack export"]
    assert "cloudInit" in searched["providers' debug log"]
    assert found == {where: [] for where in searched}


def test_nodes_present_only_the_host_key_the_program_pins(cluster: Deployment) -> None:
    settings = cluster.settings
    for node in settings.nodes:
        scanned = subprocess.run(["ssh-keyscan", "-T", "20", node.ip], capture_output=True, text=True, timeout=120)
        presented = sorted(" ".join(line.split()[1:3]) for line in scanned.stdout.splitlines()
                           if not line.startswith("#"))
        pinned = host_key_of(settings, node).public
        print(f"e2e: {node.name} presents {presented}")
        assert presented == [pinned]


@pytest.mark.long
def test_no_secret_in_any_process_list_during_provisioning(cluster: Deployment) -> None:
    for node in cluster.settings.nodes:
        samples = int(cluster.ssh(node, f"sudo grep -c . {PS_SAMPLES}").strip())
        # The sampler saw provisioning: pcs ran during the first run, so its command lines are there.
        saw_pcs = cluster.ssh(node, f"sudo grep -c -F 'pcs ' {PS_SAMPLES} || true").strip()
        leaked = cluster.ssh(node, f"sudo grep -c -F -f /dev/stdin {PS_SAMPLES} || true",
                                    stdin=secrets_of(cluster)).strip()
        print(f"e2e: {node.name}: {samples} process-list lines sampled, {saw_pcs} with pcs, {leaked} with a secret")
        assert int(saw_pcs) > 0
        assert leaked == "0"


def test_no_secret_in_world_readable_files_or_the_journal(cluster: Deployment) -> None:
    search = ("umask 077; patterns=$(mktemp); cat > \"$patterns\"; "
              "find /etc /home /root /run /tmp /var -xdev -type f -perm -o=r -print0 2>/dev/null"
              " | xargs -0 grep -l -F -f \"$patterns\" 2>/dev/null; "
              "echo journal: $(journalctl --no-pager | grep -c -F -f \"$patterns\"); "
              "echo redis.conf: $(grep -c -F -f \"$patterns\" /etc/redis/redis.conf) $(stat -c %a /etc/redis/redis.conf); "
              "rm -f \"$patterns\"")
    for node in cluster.settings.nodes:
        found = cluster.ssh(node, f"sudo bash -c '{search}'", stdin=secrets_of(cluster)).strip().splitlines()
        print(f"e2e: {node.name}: {found}")
        # The search works: it finds the Redis password where it must be, in the 0640 redis.conf.
        assert found[-1] == "redis.conf: 2 640"
        assert found[:-1] == ["journal: 0"]


def test_redis_only_from_allowed_networks(cluster: Deployment) -> None:
    settings = cluster.settings
    replies = {}
    with Outsider(guests.bridge(settings), settings.network, settings.gateway) as outsider:
        for host in (settings.vip, *(node.ip for node in settings.nodes)):
            replies[host] = tuple(outsider.redis_ping(host, settings.redis_port, APPLICATION_USER,
                                                      settings.redis_password, source,
                                                      tls_material(settings).ca_certificate if settings.tls else "")
                                  for source in (ALLOWED_ADDRESS, DENIED_ADDRESS))
    print(f"e2e: from {ALLOWED_ADDRESS} (allowed) / {DENIED_ADDRESS} (not allowed): {replies}")
    for allowed, denied in replies.values():
        assert allowed == "+OK +PONG"
        assert denied.startswith("refused")


@pytest.mark.parametrize("index", [0, 1])
def test_redis_refuses_clients_without_auth_on_each_node(cluster: Deployment, index: int) -> None:
    node = cluster.settings.nodes[index]
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=node.ip, port=cluster.settings.redis_port, socket_timeout=5,
                    **client_options(cluster.settings)).get("e2e:noauth")


def test_corosync_traffic_is_encrypted(cluster: Deployment) -> None:
    for node in cluster.settings.nodes:
        crypto = cluster.ssh(node, "sudo corosync-cmapctl -g totem.crypto_cipher; sudo corosync-cmapctl -g totem.crypto_hash")
        assert "totem.crypto_cipher (str) = aes256" in crypto
        assert "totem.crypto_hash (str) = sha256" in crypto
