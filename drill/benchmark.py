"""redis-benchmark through the VIP versus straight to the master's own address: same client, same
run, rounds interleaved so that drift in the (emulated) guests' speed hits both alike. And
through the VIP with TLS versus without, on the same cluster (the lab's stacks: the program
switches it)."""

from __future__ import annotations

import csv
import io
import statistics
import subprocess

from components.pcs_plan import REDIS_CLONE
from components.redis_users import APPLICATION_USER
from drill.target import Target
from lab.stack import LabStack

ROUNDS = 3
TESTS = ("SET", "GET")


def parse_csv(output: str) -> dict[str, float]:
    """Requests per second by test name from `redis-benchmark --csv`."""
    rates: dict[str, float] = {}
    for row in csv.reader(io.StringIO(output)):
        if len(row) >= 2 and row[0] in TESTS:
            rates[row[0]] = float(row[1])
    return rates


def run_once(target: Target, host: str, requests: int) -> dict[str, float]:
    # redis-benchmark (7.0) takes a password only as an argument, unlike redis-cli: it shows in
    # `ps` on the drill host for the run's duration (README, Failover: run it from a host of yours).
    # check=False: a CalledProcessError would print the command line, password included.
    result = subprocess.run(
        ["redis-benchmark", "-h", host, "-p", str(target.settings.redis_port), "--user", APPLICATION_USER,
         "-a", target.settings.redis_password,
         "-n", str(requests), "-c", "20", "-t", ",".join(test.lower() for test in TESTS),
         "--csv", *target.cli_tls_arguments],
        capture_output=True, text=True, check=False, timeout=1800)
    output = result.stdout
    if result.returncode != 0:
        raise RuntimeError(f"redis-benchmark against {host} exited {result.returncode}: "
                           f"{(result.stderr or output)[-500:]}")
    rates = parse_csv(output)
    if sorted(rates) != sorted(TESTS):
        raise RuntimeError(f"redis-benchmark against {host} printed no {TESTS} rates: {output[-500:]}")
    return rates


def compare(target: Target, requests: int) -> dict[str, object]:
    master = target.master()
    rounds: dict[str, list[dict[str, float]]] = {"vip": [], "direct": []}
    for _ in range(ROUNDS):
        rounds["vip"].append(run_once(target, target.settings.vip, requests))
        rounds["direct"].append(run_once(target, master.ip, requests))
    medians = {way: {test: statistics.median(r[test] for r in results) for test in TESTS}
               for way, results in rounds.items()}
    return {
        "master": master.name, "requests_per_round": requests, "rounds": ROUNDS,
        "requests_per_s_median": medians,
        "vip_over_direct": {test: round(medians["vip"][test] / medians["direct"][test], 3) for test in TESTS},
    }


def switch_tls(stack: LabStack, target: Target, tls: str, timeout_s: float) -> Target:
    """The stack's ``tls`` set through the program (`pulumi up`), and Redis restarted by Pacemaker
    to take it (README, "Changing a running stack"); the cluster as it is then."""
    stack.set_values({"tls": tls})
    stack.up(on_output=lambda line: None)
    target.ssh(target.settings.nodes[0], f"sudo pcs resource restart {REDIS_CLONE} --wait={int(timeout_s)}",
               timeout=timeout_s + 60)
    switched = Target(stack.settings(), target.ssh_key)
    switched.wait_healthy(timeout_s)
    return switched


def compare_tls(stack: LabStack, target: Target, requests: int, timeout_s: float) -> dict[str, object]:
    """Throughput through the VIP with TLS and without, on the same cluster and the same run:
    rounds of each (the stack switched both ways through the program), the ratio with/without."""
    if not target.settings.tls:
        raise RuntimeError("the TLS comparison starts from a stack with tls on")
    rates: dict[str, list[dict[str, float]]] = {"tls": [], "plain": []}
    for _ in range(ROUNDS):
        rates["tls"].append(run_once(target, target.settings.vip, requests))
    target = switch_tls(stack, target, "off", timeout_s)
    try:
        for _ in range(ROUNDS):
            rates["plain"].append(run_once(target, target.settings.vip, requests))
    finally:
        switch_tls(stack, target, "on", timeout_s)
    medians = {way: {test: statistics.median(r[test] for r in results) for test in TESTS}
               for way, results in rates.items()}
    return {"requests_per_round": requests, "rounds": ROUNDS, "vip_requests_per_s_median": medians,
            "tls_over_plain": {test: round(medians["tls"][test] / medians["plain"][test], 3) for test in TESTS}}
