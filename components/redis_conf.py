"""redis.conf (or valkey.conf) for one node (pure). The text holds the admin and replication
passwords: treat it as a secret."""

from __future__ import annotations

from components.redis_users import REPLICATION_USER, acl_lines, admin_password, replication_password
from components.settings import TLS_CLIENT_AUTH, Node, Settings
from components.tls import CA_FILE, CERT_FILE, KEY_FILE


def render_redis_conf(settings: Settings, node: Node) -> str:
    lines = [
        "# Managed by redis-ha (Pulumi): edits are overwritten on the next `pulumi up`.",
        "# Pacemaker's ocf:heartbeat:redis agent starts this server as a replica and promotes",
        "# one node; there is deliberately no replicaof line.",
        # The node address for the peer's replication, the VIP for clients, loopback for
        # local tools. The VIP is bound before it exists thanks to ip_nonlocal_bind.
        f"bind 127.0.0.1 {node.ip} {settings.vip}",
        "protected-mode yes",
        *(_tls_lines(settings) if settings.tls else [f"port {settings.redis_port}"]),
        # The ACL users (components/redis_users.py); the default user is off.
        *acl_lines(settings),
        # Not a password anyone logs in with (the default user it would set is off): Pacemaker's
        # agent reads it from this file and hands it to its client, redis-ha-agent-cli, which
        # logs in as the admin user.
        f"requirepass {admin_password(settings)}",
        # The replica's login to the master (the agent sets only REPLICAOF).
        f"masteruser {REPLICATION_USER}",
        f"masterauth {replication_password(settings)}",
        f"dir {settings.server.data_dir}",
        # Every acknowledged write is on disk before the reply: a master that Pacemaker
        # restarts in place reloads all of it instead of an older RDB snapshot, so it can
        # never be promoted with (and resync the replica from) stale data.
        "appendonly yes",
        "appendfsync always",
        'save ""',
        # A replica must never accept writes that the master would not see.
        "replica-read-only yes",
        "replica-serve-stale-data yes",
        "tcp-keepalive 60",
        "timeout 0",
        "loglevel notice",
        f"logfile {settings.server.log_file}",
    ]
    return "\n".join(lines) + "\n"


def _tls_lines(settings: Settings) -> list[str]:
    return [
        # No plain-text port at all: the agent talks to the server over the unix socket it
        # starts it with, everything on the network speaks TLS.
        "port 0",
        f"tls-port {settings.redis_port}",
        f"tls-cert-file {CERT_FILE}",
        f"tls-key-file {KEY_FILE}",
        f"tls-ca-cert-file {CA_FILE}",
        f"tls-auth-clients {TLS_CLIENT_AUTH[settings.tls_client_auth]}",
        # The replica's link to the master, with the node's certificate as its client certificate.
        "tls-replication yes",
        'tls-protocols "TLSv1.2 TLSv1.3"',
    ]
