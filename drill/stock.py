"""Our settings against the recipe's stock ones (pure): what "stock" sets, the resource-agent runs
on a failover's critical path, and the per-fault comparison.

Emulated guests make absolute failover times meaningless for hardware; a ratio measured in the
same lab run is not: the same cluster, the same faults, trials alternating between the two
configurations (applied through the program, `pulumi up`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drill.analysis import Trial, percentile

STOCK: dict[str, str] = {
    # pcs with the agents' own operation defaults (resource-agents' redis and IPaddr2 metadata).
    "redisPromotedMonitorIntervalSeconds": "20",
    "redisUnpromotedMonitorIntervalSeconds": "45",
    "vipMonitorIntervalSeconds": "10",
    "monitorTimeoutSeconds": "60",
    # No migration-threshold (INFINITY) and failures that never expire.
    "migrationThreshold": "1000000",
    "failureTimeoutSeconds": "0",
    # corosync's default token (3 s) and consensus (1.2 x token).
    "corosyncTokenMs": "3000",
    "corosyncConsensusMs": "0",
    # No priority fencing.
    "priorityFencingDelaySeconds": "0",
    # The agent talking to Redis through a plain redis-cli: its CLIENT PAUSE holds every command.
    "redisAgentPause": "all",
    # Pacemaker's own load-threshold: on a loaded node the cluster throttles its actions.
    "loadThresholdPercent": "80",
}
"""The recipe's configuration, as this program's keys: everything else (fencing, constraints,
TLS, users) stays as ours so that the two clusters are comparable."""

_RESULT = re.compile(r"Result of (\w+) operation for (\S+) on (\S+): (.+)$", re.IGNORECASE)
# The DC's "Initiating notify operation redis_post_notify_demote_0 on redis-1": when a run began,
# and for a notification what it announces.
_INITIATING = re.compile(r"Initiating (\w+) operation (\S+) (?:locally )?on (\S+)")
_ANNOUNCES = re.compile(r"_(pre|post)_notify_(\w+?)_0$")
PARALLEL_S = 2.0
"""Without the DC's line saying when a run began: the same operation of the same resource on the
other node this soon after counts as one run (Pacemaker runs a clone's notifications on both nodes
at once)."""


@dataclass
class AgentRun:
    action: str
    """The operation, a notification with what it announces (``notify post-demote``)."""
    resource: str
    nodes: set[str]
    done_s: float
    """Seconds from the fault to the run's result (on the last node, for a run on both)."""
    cost_s: float
    """Seconds from the previous run's result (or the fault) to this one's: what it added to the path."""

    def __str__(self) -> str:
        return f"{self.action} {self.resource} {self.cost_s:.1f}"


def critical_path(lines: list[tuple[float, str]], fault_at: float) -> list[AgentRun]:
    """Resource-agent runs from the fault to the VIP's start, in order (pacemaker-controld's
    "Result of <op> operation for <resource> on <node>" lines, in our clock), the same run on both
    nodes at once counted once; empty when the VIP did not start again."""
    runs: list[AgentRun] = []
    began: dict[tuple[str, str], tuple[float, str, str]] = {}
    for when, message in sorted(lines):
        if when < fault_at:
            continue
        initiating = _INITIATING.search(message)
        if initiating:
            operation, key, node = initiating.groups()
            announces = _ANNOUNCES.search(key)
            began[(operation, node)] = (when, key, f"notify {announces[1]}-{announces[2]}" if announces else operation)
            continue
        match = _RESULT.search(message)
        if not match:
            continue
        operation, resource, node = match.group(1).lower(), match.group(2), match.group(3)
        if operation == "monitor" and runs:
            # A recurring monitor the failover started: nothing waits for it (only the first
            # monitor, the one that saw the failure, is on the path).
            continue
        start, key, action = began.pop((operation, node), (None, "", operation))
        if not key.startswith(f"{resource}_"):
            start, action = None, operation
        done_s = round(when - fault_at, 1)
        twin = next((run for run in reversed(runs) if (run.action, run.resource) == (action, resource)
                     and node not in run.nodes), None)
        if twin and (start - fault_at <= twin.done_s if start is not None else done_s - twin.done_s <= PARALLEL_S):
            twin.nodes.add(node)
            twin.done_s = done_s
            continue
        runs.append(AgentRun(action, resource, {node}, done_s, 0.0))
        if (operation, resource) == ("start", "vip"):
            # In the order they ended (a run on both nodes ends with its slower half), each run's
            # cost the time since the one before.
            runs.sort(key=lambda run: run.done_s)
            before = 0.0
            for run in runs:
                run.cost_s, before = round(run.done_s - before, 1), run.done_s
            return runs
    return []


@dataclass
class Side:
    trials: int
    gap_p50_s: float
    gap_p95_s: float
    lost: int
    runs_p50: float
    median_path: list[str]
    """The critical path of the trial whose gap is nearest the p50 (Trial.agent_path)."""


@dataclass
class Comparison:
    fault: str
    ours: Side
    stock: Side

    @property
    def ratio_p50(self) -> float:
        return round(self.ours.gap_p50_s / self.stock.gap_p50_s, 3) if self.stock.gap_p50_s else float("nan")

    @property
    def ratio_p95(self) -> float:
        return round(self.ours.gap_p95_s / self.stock.gap_p95_s, 3) if self.stock.gap_p95_s else float("nan")


def side(trials: list[Trial]) -> Side:
    gaps = [trial.write_gap_s for trial in trials]
    p50 = percentile(gaps, 0.5)
    median = min(trials, key=lambda trial: abs(trial.write_gap_s - p50), default=None)
    return Side(trials=len(trials), gap_p50_s=p50, gap_p95_s=percentile(gaps, 0.95),
                lost=sum(len(trial.lost) for trial in trials),
                runs_p50=percentile([float(trial.agent_runs) for trial in trials], 0.5),
                median_path=median.agent_path if median else [])


def compare(trials: list[Trial]) -> list[Comparison]:
    """Per fault (in the order first seen): our trials and the stock ones, and their ratio."""
    def of(fault: str, configuration: str) -> list[Trial]:
        return [t for t in trials if t.fault == fault and t.configuration == configuration]

    return [Comparison(fault, side(of(fault, "ours")), side(of(fault, "stock")))
            for fault in dict.fromkeys(trial.fault for trial in trials)]


def comparison_table(comparisons: list[Comparison]) -> str:
    rows = ["| fault | trials ours / stock | write gap p50 ours / stock (s) | p95 ours / stock (s) "
            "| ratio ours/stock p50 / p95 | agent runs on the critical path, p50 ours / stock "
            "| acknowledged lost ours / stock |",
            "|---|---|---|---|---|---|---|"]
    for c in comparisons:
        rows.append(f"| {c.fault} | {c.ours.trials} / {c.stock.trials} | {c.ours.gap_p50_s:.2f} / {c.stock.gap_p50_s:.2f} "
                    f"| {c.ours.gap_p95_s:.2f} / {c.stock.gap_p95_s:.2f} | {c.ratio_p50:.2f} / {c.ratio_p95:.2f} "
                    f"| {c.ours.runs_p50:.0f} / {c.stock.runs_p50:.0f} | {c.ours.lost} / {c.stock.lost} |")
    rows += ["", "Where the time goes: the critical path of each side's median trial, the seconds each "
             "agent run added after the one before (the first counts from the fault).", ""]
    for c in comparisons:
        for name, one in (("ours", c.ours), ("stock", c.stock)):
            if one.median_path:
                rows.append(f"- {c.fault}, {name}: {' · '.join(one.median_path)}")
    return "\n".join(rows) + "\n"


def schedule(trials: int) -> list[bool]:
    """Which configuration each trial uses (True: stock), ABBA-ordered so that a drift over the
    run weighs on both alike and the configuration changes only every second trial."""
    return [index % 4 in (1, 2) for index in range(2 * trials)]
