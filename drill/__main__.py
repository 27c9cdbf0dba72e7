"""Failover drill: writers through the VIP, a fault, recovery to a whole cluster, a check of every
acknowledged write; repeated per fault. Then redis-benchmark through the VIP versus the master's
own address. Writes drill.json, table.md and PNG plots into a results folder.

Run it where the nodes' addresses are reachable (the lab: `make drill DRILL_ARGS=...`).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from components.redis_users import APPLICATION_USER
from drill.analysis import BEFORE_S, Trial, as_json, bins, high_load, steps, summarise, table
from drill.benchmark import compare, compare_tls
from drill.faults import FAULTS, Fault
from drill.plot import write_plots
from drill.roles import RoleWatch
from drill.stock import STOCK, comparison_table, critical_path, schedule
from drill.stock import compare as compare_configurations
from drill.target import ROOT, Target
from drill.writer import ACKNOWLEDGED, UNKNOWN, Writers, longest_gap, lost
from lab.stack import LabStack

HEALTHY_TIMEOUT_S = 1800
RESUME_TIMEOUT_S = 900
RESUMED_FOR_S = 3.0
"""Writes must flow this long after a fault before a trial ends."""
OBSERVE_S = 10.0
"""How long a fault that should not stop writes is watched."""
DEFAULT_TRIALS = {"redis-crash": 10, "master-vm-destroyed": 10, "switchover": 3, "replica-vm-destroyed": 3,
                  "bond-link-down": 3, "partition": 10, "replica-then-master-crash": 3,
                  "master-then-replica-crash": 3, "new-master-crash": 3, "power-cut-master-back-first": 3,
                  "power-cut-replica-back-first": 3, "replica-outage-then-master-lost": 3}


def progress(message: str) -> None:
    print(f"[drill {datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def run_trial(target: Target, fault: Fault, number: int, writers: int, interval_s: float,
              configuration: str = "ours") -> Trial:
    target.wait_healthy(HEALTHY_TIMEOUT_S)
    master = target.master()
    replica = target.other(master)
    offsets = {node.name: target.clock_offset(node) for node in target.settings.nodes}
    with RoleWatch(target.settings.nodes, target.role) as watch, \
            Writers(writers, target.settings.vip, target.settings.redis_port, target.login(APPLICATION_USER),
                    f"drill:{fault.name}:{number}:{time.time():.0f}", interval_s) as clients:
        # A fault at a random phase of the master's monitor: a fixed wait after the cluster turned
        # healthy strikes at nearly the same point of that interval every trial, and a long
        # interval then looks as quick as a short one.
        time.sleep(BEFORE_S + random.uniform(0, target.settings.redis_promoted_monitor_interval_s))
        called_at, called_wall = time.monotonic(), time.time()
        hit = fault.inject(target, master, replica)
        injected = time.monotonic()
        # Every time below is ours: the node's clock is corrected by its measured offset.
        fault_wall = hit.wall_time - (offsets[hit.node.name] if hit.on_node_clock else 0.0)
        fault_at = called_at + (fault_wall - called_wall)
        if fault.writes_stop:
            deadline = injected + RESUME_TIMEOUT_S
            while time.monotonic() < deadline:
                acknowledged = clients.log.acknowledged
                resumed = [t for t in acknowledged if t > injected]
                if resumed and acknowledged[-1] - resumed[0] >= RESUMED_FOR_S:
                    break
                time.sleep(0.2)
        else:
            time.sleep(OBSERVE_S)
        end = time.monotonic()
    log = clients.log
    master_after = next((node.name for node in target.settings.nodes if target.role(node) == "master"), "")
    vip = target.redis()
    missing = lost(log.keys(ACKNOWLEDGED), vip)
    unknown_keys = log.keys(UNKNOWN)
    unknown_applied = len(unknown_keys) - len(lost(unknown_keys, vip))
    lines = [(when - offsets[node.name], message)
             for node in target.settings.nodes for when, _, message in target.journal(node, fault_wall - 5)]
    path = critical_path(lines, fault_wall)
    recovery_started = time.monotonic()
    recovered = fault.recover(target, hit.node) or ""
    target.wait_healthy(HEALTHY_TIMEOUT_S)
    trial = Trial(
        fault=fault.name, number=number, node=hit.node.name,
        write_gap_s=round(longest_gap(log.acknowledged, fault_at, end), 3),
        acknowledged=len(log.acknowledged), failed=len(log.failed), unknown=len(log.unknown),
        lost=missing, unknown_applied=unknown_applied,
        steps=steps(lines, fault_wall), acks_per_bin=bins(log.acknowledged, fault_at, end),
        recovery_s=round(time.monotonic() - recovery_started, 1),
        note="; ".join(note for note, wrong in (
            ("writes did not resume", not (log.acknowledged and log.acknowledged[-1] > injected)),
            ("the master was fenced", fault.name == "partition" and hit.node == master),
            (hit.note, bool(hit.note)),
            (recovered, bool(recovered))) if wrong),
        role_rounds=len(watch.rounds.rounds),
        double_master_rounds=len(watch.rounds.double_masters()),
        master_after=master_after,
        agent_runs=len(path),
        agent_path=[str(run) for run in path],
        configuration=configuration,
        high_load_s=high_load(lines, fault_wall),
    )
    progress(f"{fault.name} #{number} ({configuration}) on {hit.node.name}: master after {master_after or 'none'}, "
             f"gap {trial.write_gap_s:.2f}s, acknowledged "
             f"{trial.acknowledged}, lost {len(missing)}, unknown {trial.unknown}, {watch.rounds.summary()}, "
             f"steps {trial.steps}, agent runs to the VIP's start {trial.agent_runs} ({', '.join(trial.agent_path)}), "
             f"Pacemaker throttled (high load) at {trial.high_load_s} s, back to healthy in {trial.recovery_s:.0f}s "
             f"{trial.note}")
    return trial


def configure(stack: LabStack, target: Target, values: dict[str, str | None], label: str) -> Target:
    """The stack's configuration changed through the program (`pulumi up`); the cluster as it is then."""
    progress(f"pulumi up with the {label} configuration: {values}")
    stack.set_values(values)
    stack.up(on_output=lambda line: None)
    configured = Target(stack.settings(), target.ssh_key)
    configured.wait_healthy(HEALTHY_TIMEOUT_S)
    return configured


def stock_ratio(stack: LabStack, target: Target, faults: list[str], trials: int | None, writers: int,
                interval_s: float, save: Callable[[list[Trial]], None]) -> list[Trial]:
    """Each fault's trials alternating between our configuration and the recipe's stock one
    (drill.stock.schedule), the stack switched through the program and left as it was found."""
    config = stack.config()
    ours: dict[str, str | None] = {key: config.get(key) for key in STOCK}
    done: list[Trial] = []
    stock_now = False
    try:
        for name in faults:
            count = trials or DEFAULT_TRIALS[name]
            for number, stock in enumerate(schedule(count), start=1):
                if stock != stock_now:
                    target = configure(stack, target, dict(STOCK) if stock else ours, "stock" if stock else "our")
                    stock_now = stock
                progress(f"{name}: trial {number}/{2 * count} ({'stock' if stock else 'ours'})")
                done.append(run_trial(target, FAULTS[name], number, writers, interval_s, "stock" if stock else "ours"))
                save(done)
    finally:
        if stock_now:
            configure(stack, target, ours, "our")
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--lab", action="store_true", help="the lab's dev stack (`make up`)")
    where.add_argument("--stack", help="a Pulumi stack of this project (reads its config with the pulumi CLI)")
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated, from {', '.join(FAULTS)}")
    parser.add_argument("--trials", type=int, help="trials per fault (default: 10 for redis-crash, partition and "
                        "master-vm-destroyed, 3 for the others)")
    parser.add_argument("--writers", type=int, default=2, help="writer clients (default 2)")
    parser.add_argument("--interval-ms", type=float, default=10, help="pause between one writer's writes (default 10)")
    parser.add_argument("--benchmark-requests", type=int, default=20000,
                        help="redis-benchmark requests per round, 0 to skip (default 20000)")
    parser.add_argument("--tls-ratio", action="store_true",
                        help="with --lab: also redis-benchmark through the VIP with TLS and without (the dev stack's "
                             "tls switched off and on again through the program; Redis restarts each time)")
    parser.add_argument("--stock-ratio", action="store_true",
                        help="with --lab: each fault's trials alternate between the dev stack's configuration and the "
                             "recipe's stock settings (drill/stock.py, switched through the program), and the gaps "
                             "are compared; --trials is per configuration")
    parser.add_argument("--out", type=Path, default=ROOT / "drill-results", help="results folder (a subfolder per run)")
    args = parser.parse_args()
    if args.stock_ratio and not args.lab:
        parser.error("--stock-ratio switches the lab's dev stack: it needs --lab")
    if args.tls_ratio and not (args.lab and args.benchmark_requests):
        parser.error("--tls-ratio switches the lab's dev stack: it needs --lab and --benchmark-requests above 0")
    unknown = [name for name in args.faults.split(",") if name not in FAULTS]
    if unknown:
        parser.error(f"--faults: unknown {unknown}; choose from {', '.join(FAULTS)}")

    target = Target.from_lab() if args.lab else Target.from_stack(args.stack)
    folder = args.out / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder.mkdir(parents=True)
    trials: list[Trial] = []
    started = time.monotonic()

    def save(done: list[Trial]) -> None:
        # Saved after every trial: a long drill that breaks halfway keeps what it measured.
        trials[:] = done
        (folder / "drill.json").write_text(json.dumps(as_json(done, summarise(done), {}), indent=1))

    failure: Exception | None = None
    try:
        if args.stock_ratio:
            stock_ratio(LabStack("dev"), target, args.faults.split(","), args.trials, args.writers,
                        args.interval_ms / 1000, save)
        else:
            for name in args.faults.split(","):
                count = args.trials or DEFAULT_TRIALS[name]
                for number in range(1, count + 1):
                    progress(f"{name}: trial {number}/{count}")
                    save([*trials, run_trial(target, FAULTS[name], number, args.writers, args.interval_ms / 1000)])
    except Exception as error:  # the trials done still get their tables and plots, then the drill fails
        failure = error
        progress(f"stopped by {error!r}: the results are the {len(trials)} trials done before it")
    extra: dict[str, object] = {"duration_s": round(time.monotonic() - started), "writers": args.writers,
                                "interval_ms": args.interval_ms}
    if args.stock_ratio:
        comparisons = compare_configurations(trials)
        extra["stock_ratio"] = {"stock": STOCK, "faults": [
            {"fault": c.fault, "ours": asdict(c.ours), "stock": asdict(c.stock), "ratio_p50": c.ratio_p50,
             "ratio_p95": c.ratio_p95} for c in comparisons]}
        (folder / "stock-ratio.md").write_text(comparison_table(comparisons))
        print(comparison_table(comparisons))
    if args.benchmark_requests and failure is None:
        target.wait_healthy(HEALTHY_TIMEOUT_S)
        extra["benchmark"] = compare(target, args.benchmark_requests)
        progress(f"benchmark: {extra['benchmark']}")
    if args.tls_ratio and failure is None:
        extra["tls_benchmark"] = compare_tls(LabStack("dev"), target, args.benchmark_requests, HEALTHY_TIMEOUT_S)
        progress(f"TLS benchmark: {extra['tls_benchmark']}")
    summaries = summarise(trials)
    (folder / "drill.json").write_text(json.dumps(as_json(trials, summaries, extra), indent=1))
    (folder / "table.md").write_text(table(summaries))
    plots = write_plots(trials, summaries, folder) if trials else []
    print(table(summaries))
    progress(f"results in {folder}: drill.json, table.md, {', '.join(p.name for p in plots)}")
    if failure is not None:
        raise failure


if __name__ == "__main__":
    main()
