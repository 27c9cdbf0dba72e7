"""pcs commands for the VIP, the promotable Redis and their constraints (pure).

Rendered as argument lists (without the leading ``pcs``) and serialised one command per line,
tab-separated, for scripts/cib_apply.sh, which builds them in a copy of the CIB and pushes
only a difference.
"""

from __future__ import annotations

from components.cloud_init import BOND
from components.redis_users import AGENT_CLI
from components.settings import Settings

VIP_RESOURCE = "vip"
REDIS_RESOURCE = "redis"
REDIS_CLONE = f"{REDIS_RESOURCE}-clone"
FENCE_DEVICE = "fence-xvm"
PROMOTION_ALERT = "redis-promotion-score"
# Where NodeSetup installs scripts/promotion_alert.sh on every node.
PROMOTION_ALERT_PATH = "/usr/local/sbin/redis-ha-promotion-alert"
OWNED_IDS = (VIP_RESOURCE, REDIS_RESOURCE, FENCE_DEVICE, PROMOTION_ALERT)
FENCE_KEY_PATH = "/etc/cluster/fence_xvm.key"
# With priority-fencing-delay, a node's priority is the sum of its resources' priorities, and a
# promoted instance counts one more than its base: the master's node outranks the replica's.
REDIS_PRIORITY = 10


def vip_command(settings: Settings) -> list[str]:
    return [
        "resource", "create", VIP_RESOURCE, "ocf:heartbeat:IPaddr2",
        f"ip={settings.vip}", f"cidr_netmask={settings.prefix_length}", f"nic={BOND}",
        "op", "monitor", f"interval={settings.vip_monitor_interval_s}s",
        f"timeout={settings.monitor_timeout_s}s",
        # Pacemaker's default 20 s timed a start out on a loaded lab node.
        "op", "start", f"timeout={settings.monitor_timeout_s}s",
        "op", "stop", f"timeout={settings.monitor_timeout_s}s",
        "meta", f"resource-stickiness={settings.resource_stickiness}",
    ]


def redis_command(settings: Settings) -> list[str]:
    op_timeout = f"timeout={settings.redis_operation_timeout_s}s"
    monitor_timeout = f"timeout={settings.monitor_timeout_s}s"
    server = settings.server
    return [
        "resource", "create", REDIS_RESOURCE, "ocf:heartbeat:redis",
        # client_bin: the server's CLI as the admin ACL user (the default user is off).
        f"bin={server.binary}", f"client_bin={AGENT_CLI}", f"config={server.config}", f"user={server.user}",
        f"rundir={server.run_dir}", f"port={settings.redis_port}",
        # While no master runs (both instances failed, or a cold start after an outage), only the
        # last instance that was master (the agent's redis_REPL_INFO) gets a promotion score: a
        # replica that missed writes is never promoted ahead of the master that acknowledged them.
        "wait_last_known_master=true",
        "op", "monitor", f"interval={settings.redis_promoted_monitor_interval_s}s", "role=Promoted", monitor_timeout,
        "op", "monitor", f"interval={settings.redis_unpromoted_monitor_interval_s}s", "role=Unpromoted", monitor_timeout,
        "op", "start", op_timeout,
        "op", "stop", op_timeout,
        "op", "promote", op_timeout,
        "op", "demote", op_timeout,
        "op", "notify", op_timeout,
        # migration-threshold=1: after a crash the master role moves to the replica, which has
        # every acknowledged write, instead of restarting the crashed server in place.
        "meta", f"migration-threshold={settings.migration_threshold}",
        f"failure-timeout={settings.failure_timeout_s}s",
        f"resource-stickiness={settings.resource_stickiness}",
        *([f"priority={REDIS_PRIORITY}"] if settings.fencing != "none" else []),
        # The agent needs notifications to repoint the replica at a new master.
        "promotable", "notify=true",
    ]


def constraint_commands() -> list[list[str]]:
    return [
        # The VIP only ever sits where the Redis master is...
        ["constraint", "colocation", "add", VIP_RESOURCE, "with", "Promoted", REDIS_CLONE, "INFINITY"],
        # ...and arrives only after promotion has finished there.
        ["constraint", "order", "promote", REDIS_CLONE, "then", "start", VIP_RESOURCE],
    ]


def promotion_alert_command() -> list[str]:
    """After every promotion the redis agent's promotion scores follow the new master (see
    scripts/promotion_alert.sh): else a switchover by `pcs resource move --promoted` bounces back."""
    return ["alert", "create", f"path={PROMOTION_ALERT_PATH}", f"id={PROMOTION_ALERT}",
            "options", f"redis_resource={REDIS_RESOURCE}"]


def fence_command(settings: Settings) -> list[str]:
    """One fence_xvm device for both nodes; pcmk_host_map turns node names into domain names."""
    host_map = ";".join(f"{node.name}:{settings.domain_name(node)}" for node in settings.nodes)
    return [
        "stonith", "create", FENCE_DEVICE, "fence_xvm",
        f"pcmk_host_map={host_map}", f"key_file={FENCE_KEY_PATH}",
        "op", "monitor", "interval=60s", f"timeout={settings.monitor_timeout_s}s",
        "op", "start", f"timeout={settings.monitor_timeout_s}s",
    ]


def resource_plan(settings: Settings) -> list[list[str]]:
    fencing = [fence_command(settings)] if settings.fencing == "xvm" else []
    return [*fencing, vip_command(settings), redis_command(settings), *constraint_commands(),
            promotion_alert_command()]


def serialise(plan: list[list[str]]) -> str:
    for command in plan:
        for argument in command:
            if "\t" in argument or "\n" in argument:
                raise ValueError(f"pcs argument {argument!r} contains a tab or newline")
    return "".join("\t".join(command) + "\n" for command in plan)


def cluster_properties(settings: Settings) -> list[str]:
    """NAME=VALUE pairs for scripts/cluster_properties.sh."""
    return [
        # Fencing mode "none" is the recipe's: without a fence device Pacemaker would refuse to
        # start any resource while stonith-enabled is true.
        f"stonith-enabled={'false' if settings.fencing == 'none' else 'true'}",
        # Above this load Pacemaker throttles to one action at a time across the cluster, so a
        # failover's notifications to the two nodes run one after the other. The throttle guards
        # big clusters against action storms; two nodes with two resources have none, and a
        # loaded node is exactly when a failover must not wait.
        f"load-threshold={settings.load_threshold_percent}%",
        *([f"priority-fencing-delay={settings.priority_fencing_delay_s}s"] if settings.fencing != "none" else []),
    ]
