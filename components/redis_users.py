"""Redis's ACL users (pure): one per role instead of one shared password.

- ``app``: the applications' user, the only one the VIP URL carries (its password is
  ``redisPassword``): every data command, none of the administrative or dangerous ones
  (CONFIG, FLUSHALL, REPLICAOF, DEBUG, SHUTDOWN, KEYS...).
- ``replication``: what a replica logs in to its master with (``masteruser``): PSYNC,
  REPLCONF and PING only.
- ``admin``: Pacemaker's redis agent, the program's steps and operators: everything.
- ``monitor``: with monitoring exporters, prometheus-redis-exporter: INFO, PING, SLOWLOG and
  LATENCY reads, CLIENT SETNAME; not CONFIG, whose GET * would hand it requirepass and
  masterauth (the exporter runs with -config-command - so it does not ask).
- ``default``: off, so that a client without a user name gets nowhere.

The admin, replication and monitor passwords are derived, like the host keys and the TLS material, from
the stack's SSH private key (whose holder is root on the nodes anyway): nothing new to configure
or store. redis.conf names the application's password only as a SHA-256 hash.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from components.settings import Settings
from components.tls import client_options

APPLICATION_USER = "app"
REPLICATION_USER = "replication"
ADMIN_USER = "admin"
MONITOR_USER = "monitor"

# The server's CLI as the admin user (scripts/redis_clients.sh writes both): over the network with
# the node's TLS settings, for the steps and operators; over the unix socket, for the agent.
CLI = "/usr/local/sbin/redis-ha-cli"
AGENT_CLI = "/usr/local/sbin/redis-ha-agent-cli"

APPLICATION_RULES = "~* &* +@all -@admin -@dangerous"
REPLICATION_RULES = "+psync +replconf +ping"
ADMIN_RULES = "~* &* +@all"
MONITOR_RULES = ("+info +ping +slowlog|get +slowlog|len +latency|latest +latency|histogram "
                 "+client|setname +client|info")


def derived_password(settings: Settings, user: str) -> str:
    return hmac.new(settings.ssh_private_key.encode(), f"redis-ha redis-user/{settings.cluster_name}/{user}".encode(),
                    hashlib.sha256).hexdigest()


def admin_password(settings: Settings) -> str:
    return derived_password(settings, ADMIN_USER)


def replication_password(settings: Settings) -> str:
    return derived_password(settings, REPLICATION_USER)


def monitor_password(settings: Settings) -> str:
    return derived_password(settings, MONITOR_USER)


def _hashed(password: str) -> str:
    return "#" + hashlib.sha256(password.encode()).hexdigest()


def acl_lines(settings: Settings) -> list[str]:
    """redis.conf's user directives (replacing whatever the server had: they are the whole list)."""
    return [
        "user default off resetpass -@all",
        f"user {APPLICATION_USER} on {_hashed(settings.redis_password)} {APPLICATION_RULES}",
        f"user {REPLICATION_USER} on {_hashed(replication_password(settings))} {REPLICATION_RULES}",
        f"user {ADMIN_USER} on {_hashed(admin_password(settings))} {ADMIN_RULES}",
        *([f"user {MONITOR_USER} {monitor_acl(settings)}"] if settings.monitoring else []),
    ]


def monitor_acl(settings: Settings) -> str:
    """The monitor user's rules, as redis.conf's user directive and ACL SETUSER take them."""
    return f"on {_hashed(monitor_password(settings))} {MONITOR_RULES}"


def redis_options(settings: Settings, user: str = APPLICATION_USER,
                  certificate_files: tuple[str, str] | None = None) -> dict[str, Any]:
    """redis-py's keyword arguments to log in as ``user`` (app or admin) over TLS or not
    (components.tls.client_options)."""
    password = settings.redis_password if user == APPLICATION_USER else derived_password(settings, user)
    return {"username": user, "password": password, **client_options(settings, certificate_files)}
