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
}
"""The recipe's configuration, as this program's keys: everything else (fencing, constraints,
TLS, users) stays as ours so that the two clusters are comparable."""

_RESULT = re.compile(r"Result of (\w+) operation for (\S+) on (\S+): (.+)$", re.IGNORECASE)
PARALLEL_S = 2.0
"""The same operation of the same resource on the other node this soon after counts as one run
(Pacemaker runs a clone's notifications on both nodes at once)."""


def critical_path_runs(lines: list[tuple[float, str]], fault_at: float) -> int:
    """Resource-agent runs from the fault to the VIP's start (pacemaker-controld's "Result of
    <op> operation for <resource> on <node>" lines, in our clock), a run on both nodes at once
    counted once; 0 when the VIP did not start again."""
    results = []
    for when, message in sorted(lines):
        match = _RESULT.search(message)
        if when >= fault_at and match:
            results.append((when, match.group(1).lower(), match.group(2), match.group(3)))
    runs: list[tuple[float, str, str, set[str]]] = []
    for when, operation, resource, node in results:
        last = runs[-1] if runs else None
        if last and (last[1], last[2]) == (operation, resource) and node not in last[3] and when - last[0] <= PARALLEL_S:
            last[3].add(node)
            continue
        runs.append((when, operation, resource, {node}))
        if (operation, resource) == ("start", "vip"):
            return len(runs)
    return 0


@dataclass
class Side:
    trials: int
    gap_p50_s: float
    gap_p95_s: float
    lost: int
    runs_p50: float


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
    return Side(trials=len(trials), gap_p50_s=percentile(gaps, 0.5), gap_p95_s=percentile(gaps, 0.95),
                lost=sum(len(trial.lost) for trial in trials),
                runs_p50=percentile([float(trial.agent_runs) for trial in trials], 0.5))


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
    return "\n".join(rows) + "\n"


def schedule(trials: int) -> list[bool]:
    """Which configuration each trial uses (True: stock), ABBA-ordered so that a drift over the
    run weighs on both alike and the configuration changes only every second trial."""
    return [index % 4 in (1, 2) for index in range(2 * trials)]
