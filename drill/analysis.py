"""Pure analysis of drill trials: the failover steps found in the cluster daemons' logs, and the
per-fault summary (write gap percentiles, lost and unknown writes)."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

# The first log line of each failover step, in the order they happen. Messages are corosync
# 3.1's and pacemaker-controld's "Result of <op> operation for <rsc> on <node>: <result>", which
# Pacemaker 2.1 writes in lower case (ok, not running) and Pacemaker 3.0 capitalised (OK, Not running).
STEPS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((step, re.compile(pattern, re.IGNORECASE)) for step, pattern in (
    ("failure detected", r"Token has not been received|A processor failed, forming new configuration"
                         r"|Result of monitor operation for redis on \S+: (not running|error|failed)"),
    ("membership formed", r"A new membership \(\S+\) was formed"),
    ("peer fenced", r"Operation '(reboot|off)' .*targeting \S+ .*: OK"),
    ("vip down", r"Result of stop operation for vip on \S+: ok"),
    ("old master out", r"Result of (demote|stop) operation for redis on \S+: ok"),
    ("promote done", r"Result of promote operation for redis on \S+: ok"),
    ("vip up", r"Result of start operation for vip on \S+: ok"),
))


def steps(lines: list[tuple[float, str]], fault_at: float) -> dict[str, float]:
    """Seconds from the fault to the first line of each step (lines in our clock, any order)."""
    found: dict[str, float] = {}
    for when, message in sorted(lines):
        if when < fault_at:
            continue
        for step, pattern in STEPS:
            if step not in found and pattern.search(message):
                found[step] = round(when - fault_at, 3)
    return found


HIGH_LOAD = "High CPU load detected"


def high_load(lines: list[tuple[float, str]], fault_at: float) -> list[float]:
    """Seconds from the fault at which a node's controller reported high load (it checks every
    30 s): until its next check the DC runs one action at a time in the whole two-node cluster
    (Pacemaker's throttle, load-threshold), so a notification's two halves run one after the other."""
    return sorted(round(when - fault_at, 1) for when, message in lines if HIGH_LOAD in message and when >= fault_at)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: every figure is one that was measured)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class Trial:
    fault: str
    number: int
    node: str
    """The node the fault hit."""
    write_gap_s: float
    acknowledged: int
    failed: int
    unknown: int
    lost: list[str]
    """Acknowledged keys the cluster no longer had after recovery."""
    unknown_applied: int
    """Writes of unknown outcome that the cluster turned out to have."""
    steps: dict[str, float]
    acks_per_bin: list[int]
    """Acknowledged writes per BIN_S from BEFORE_S before the fault."""
    recovery_s: float
    note: str = ""
    role_rounds: int = 0
    """Rounds in which both nodes were asked for their Redis ROLE (every 100 ms)."""
    double_master_rounds: int = 0
    """Rounds in which both nodes answered master: a split brain."""
    master_after: str = ""
    """The node whose Redis was master once writes flowed again ("" when none was)."""
    agent_runs: int = 0
    """Resource-agent runs from the fault to the VIP's start (drill.stock.critical_path)."""
    agent_path: list[str] = field(default_factory=list)
    """Those runs in order, each with the seconds it added (``notify post-demote redis 12.7``)."""
    configuration: str = "ours"
    """ours, or stock (the recipe's settings, drill.stock.STOCK) in a --stock-ratio drill."""
    high_load_s: list[float] = field(default_factory=list)
    """When, after the fault, a node reported high load (drill.analysis.high_load): Pacemaker was
    throttling the failover's actions."""


BIN_S = 0.1
BEFORE_S = 3.0


def bins(times: list[float], fault_at: float, end: float) -> list[int]:
    counts = [0] * max(1, math.ceil((end - fault_at + BEFORE_S) / BIN_S))
    for when in times:
        index = math.floor((when - fault_at + BEFORE_S) / BIN_S)
        if 0 <= index < len(counts):
            counts[index] += 1
    return counts


@dataclass
class Summary:
    fault: str
    trials: int
    gap_p50_s: float
    gap_p95_s: float
    gap_max_s: float
    lost: int
    unknown: int
    failed: int
    double_master_rounds: int = 0
    steps_p50_s: dict[str, float] = field(default_factory=dict)


def labelled(trial: Trial) -> str:
    """The trial's fault, and its configuration when that is not ours (a --stock-ratio drill)."""
    return trial.fault if trial.configuration == "ours" else f"{trial.fault} ({trial.configuration})"


def labelled_as(trials: list[Trial], label: str) -> list[Trial]:
    """The trials one summary (and one plot row) stands for: its fault and configuration."""
    return [trial for trial in trials if labelled(trial) == label]


def summarise(trials: list[Trial]) -> list[Summary]:
    summaries = []
    for fault in dict.fromkeys(labelled(trial) for trial in trials):
        of_fault = labelled_as(trials, fault)
        gaps = [trial.write_gap_s for trial in of_fault]
        step_names = [name for name, _ in STEPS if any(name in trial.steps for trial in of_fault)]
        summaries.append(Summary(
            fault=fault, trials=len(of_fault),
            gap_p50_s=percentile(gaps, 0.5), gap_p95_s=percentile(gaps, 0.95), gap_max_s=max(gaps),
            lost=sum(len(trial.lost) for trial in of_fault),
            unknown=sum(trial.unknown for trial in of_fault),
            failed=sum(trial.failed for trial in of_fault),
            double_master_rounds=sum(trial.double_master_rounds for trial in of_fault),
            steps_p50_s={name: percentile([t.steps[name] for t in of_fault if name in t.steps], 0.5)
                         for name in step_names},
        ))
    return summaries


def table(summaries: list[Summary]) -> str:
    """The drill's result as a Markdown table (what the README and closing notes carry)."""
    rows = ["| fault | trials | write gap p50 / p95 / max (s) | acknowledged lost | unknown | failed "
            "| two-master rounds | steps, p50 s after the fault |",
            "|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        step_text = ", ".join(f"{name} {value:.1f}" for name, value in s.steps_p50_s.items()) or "-"
        rows.append(f"| {s.fault} | {s.trials} | {s.gap_p50_s:.2f} / {s.gap_p95_s:.2f} / {s.gap_max_s:.2f} "
                    f"| {s.lost} | {s.unknown} | {s.failed} | {s.double_master_rounds} | {step_text} |")
    return "\n".join(rows) + "\n"


def as_json(trials: list[Trial], summaries: list[Summary], extra: dict[str, Any]) -> dict[str, Any]:
    return {"summary": [asdict(s) for s in summaries], "trials": [asdict(t) for t in trials], **extra}
