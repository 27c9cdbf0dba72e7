"""The drill's pure parts: outcome classification, gaps, log steps, statistics, report, plots."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
import redis

import drill.__main__ as drill_main
from components.settings import Node, Settings
from drill import benchmark
from drill.__main__ import DEFAULT_TRIALS
from drill.analysis import BEFORE_S, BIN_S, Trial, bins, high_load, labelled_as, percentile, steps, summarise, table
from drill.benchmark import parse_csv
from drill.faults import FAULTS, failed_start, start_cluster, wait_fenced
from drill.plot import write_plots
from drill.roles import RoleRounds, RoleWatch
from drill.target import NotHealthy, Target
from drill.writer import ACKNOWLEDGED, FAILED, UNKNOWN, WriteLog, longest_gap, longest_gaps, merge, outcome_of
from lab import guests
from tests.program_recorder import ROOT


@pytest.mark.parametrize(("error", "outcome"), [
    (redis.exceptions.ResponseError("READONLY You can't write against a read only replica."), FAILED),
    (redis.exceptions.ConnectionError("Error 111 connecting to 192.168.150.10:6379. Connection refused."), FAILED),
    (redis.exceptions.TimeoutError("Timeout reading from socket"), UNKNOWN),
    (redis.exceptions.ConnectionError("Connection closed by server."), UNKNOWN),
])
def test_a_write_is_unknown_only_when_the_request_may_have_been_sent(error: redis.exceptions.RedisError,
                                                                    outcome: str) -> None:
    assert outcome_of(error) == outcome


def test_longest_gap_counts_only_gaps_that_overlap_the_window() -> None:
    times = [0.0, 1.0, 1.5, 9.5, 10.0, 30.0]
    assert longest_gap(times) == 20.0
    assert longest_gap(times, start=2.0, end=10.0) == 8.0
    assert longest_gap([5.0]) == 0.0


def test_merged_logs_keep_every_attempt_in_time_order() -> None:
    first = WriteLog([(1.0, "a:1", ACKNOWLEDGED), (3.0, "a:2", FAILED)])
    second = WriteLog([(2.0, "b:1", UNKNOWN), (4.0, "b:2", ACKNOWLEDGED)])
    merged = merge([first, second])
    assert [key for _, key, _ in merged.attempts] == ["a:1", "b:1", "a:2", "b:2"]
    assert merged.keys(ACKNOWLEDGED) == ["a:1", "b:2"]
    assert merged.unknown == [2.0]


LOG = [
    (99.0, "notice: Result of promote operation for redis on redis-1: ok"),  # before the fault
    (101.2, "[TOTEM ] Token has not been received in 2250 ms"),
    (102.0, "[TOTEM ] A processor failed, forming new configuration: token timed out (3000ms)"),
    (105.8, "[TOTEM ] A new membership (1.2a) was formed. Members left: 2"),
    (110.0, "notice: Result of promote operation for redis on redis-1: ok"),
    (113.0, "notice: Result of start operation for vip on redis-1: ok"),
]


def test_steps_are_the_first_matching_lines_after_the_fault() -> None:
    assert steps(list(reversed(LOG)), fault_at=100.0) == {
        "failure detected": 1.2, "membership formed": 5.8, "promote done": 10.0, "vip up": 13.0}


def test_pacemaker_3s_capitalised_results_are_steps_too() -> None:
    lines = [(5.0, "notice: Result of monitor operation for redis on redis-2: Not running"),
             (9.0, "notice: Result of promote operation for redis on redis-1: OK"),
             (12.0, "notice: Result of start operation for vip on redis-1: OK")]
    assert steps(lines, fault_at=1.0) == {"failure detected": 4.0, "promote done": 8.0, "vip up": 11.0}


def test_a_redis_crash_is_detected_by_the_failed_monitor() -> None:
    lines = [(5.0, "notice: Result of monitor operation for redis on redis-2: not running | rc=7"),
             (9.0, "notice: Result of stop operation for redis on redis-2: ok")]
    assert steps(lines, fault_at=1.0) == {"failure detected": 4.0, "old master out": 8.0}


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 0.5) == 5.0
    assert percentile(values, 0.95) == 10.0
    assert percentile([3.0], 0.5) == 3.0
    assert math.isnan(percentile([], 0.5))


def test_bins_count_acknowledged_writes_from_before_the_fault() -> None:
    counts = bins([100.0 - BEFORE_S, 100.0, 100.05, 100.2], fault_at=100.0, end=100.3)
    assert len(counts) == round((BEFORE_S + 0.3) / BIN_S)
    assert counts[0] == 1
    assert counts[round(BEFORE_S / BIN_S)] == 2
    assert sum(counts) == 4


def trial(fault: str, gap: float, lost: list[str] | None = None) -> Trial:
    return Trial(fault=fault, number=1, node="redis-1", write_gap_s=gap, acknowledged=100, failed=2, unknown=1,
                 lost=lost or [], unknown_applied=0, steps={"promote done": gap - 1}, acks_per_bin=[5, 0, 5],
                 recovery_s=30.0)


def test_summary_per_fault_in_the_order_run() -> None:
    trials = [trial("redis-crash", 8.0), trial("redis-crash", 12.0, ["k:1"]), trial("switchover", 2.0)]
    crash, switchover = summarise(trials)
    assert (crash.fault, crash.trials, crash.gap_p50_s, crash.gap_max_s, crash.lost) == ("redis-crash", 2, 8.0, 12.0, 1)
    assert crash.steps_p50_s == {"promote done": 7.0}
    assert (switchover.fault, switchover.lost, switchover.unknown) == ("switchover", 0, 1)
    text = table([crash, switchover])
    assert "| redis-crash | 2 | 8.00 / 12.00 / 12.00 | 1 | 2 | 4 | 0 | promote done 7.0 |" in text


def test_two_master_rounds_are_summed_per_fault() -> None:
    split = [replace(trial("partition", 1.0), double_master_rounds=n) for n in (0, 3)]
    assert summarise(split)[0].double_master_rounds == 3
    assert "| 3 |" in table(summarise(split))


def test_a_round_with_two_masters_is_a_split_brain_and_a_silent_node_is_not() -> None:
    rounds = RoleRounds([(1.0, ("master", "slave")), (1.1, ("master", None)), (1.2, ("master", "master")),
                         (1.3, (None, "master"))])
    assert rounds.double_masters() == [1.2]
    assert rounds.summary() == "4 role rounds, 2 with a node not answering, 1 with two masters"


def test_role_watch_asks_every_node_each_round() -> None:
    nodes = [Node("a", "10.0.0.1", ("", "")), Node("b", "10.0.0.2", ("", ""))]
    with RoleWatch(nodes, lambda node: "master") as watch:
        time.sleep(0.35)
    assert len(watch.rounds.rounds) >= 2
    assert all(roles == ("master", "master") for _, roles in watch.rounds.rounds)
    assert len(watch.rounds.double_masters()) == len(watch.rounds.rounds)


def test_fencing_is_a_step() -> None:
    lines = [(3.0, "notice: Operation 'reboot' [2310] targeting redis-2 using fence-xvm returned 0"),
             (4.0, "notice: Operation 'reboot' targeting redis-2 by redis-1 for pacemaker-controld.912@redis-1: "
                   "OK (complete)")]
    assert steps(lines, fault_at=1.0) == {"peer fenced": 3.0}


def test_plots_are_png_files(tmp_path: Path) -> None:
    trials = [trial("redis-crash", 8.0), trial("switchover", 2.0)]
    for path in write_plots(trials, summarise(trials), tmp_path):
        assert path.read_bytes().startswith(b"\x89PNG")


def test_a_stock_ratio_plots_each_configuration_in_its_own_row() -> None:
    ours, stock = trial("redis-crash", 8.0), dataclasses.replace(trial("redis-crash", 20.0), configuration="stock")
    assert [summary.fault for summary in summarise([ours, stock])] == ["redis-crash", "redis-crash (stock)"]
    assert labelled_as([ours, stock], "redis-crash") == [ours]
    assert labelled_as([ours, stock], "redis-crash (stock)") == [stock]


def test_benchmark_csv_rates() -> None:
    output = '"test","rps","avg_latency_ms"\n"SET","1234.57","8.1"\n"GET","2000.00","5.0"\n'
    assert parse_csv(output) == {"SET": 1234.57, "GET": 2000.0}


def test_every_fault_has_a_default_trial_count_of_at_least_ten_for_the_failovers() -> None:
    assert set(DEFAULT_TRIALS) == set(FAULTS)
    assert DEFAULT_TRIALS["redis-crash"] >= 10
    assert DEFAULT_TRIALS["master-vm-destroyed"] >= 10


def test_drill_temp_files_are_private_and_gone_when_the_process_exits(tmp_path: Path) -> None:
    # The drill copies the stack's SSH private key into one of these.
    code = ("import os, sys\nfrom drill.target import _temp_file\n"
            "path = _temp_file('redis-ha-test-', 'secret')\n"
            "print(path, oct(os.stat(path).st_mode & 0o777), open(path).read())\n")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           cwd=ROOT, env={**os.environ, "TMPDIR": str(tmp_path)}).stdout.split()
    assert shown[1:] == ["0o600", "secret"]
    assert Path(shown[0]).parent == tmp_path
    assert not Path(shown[0]).exists()


def test_wait_fenced_waits_until_the_lost_node_is_offline_and_clean() -> None:
    survivor, lost = Node("redis-1", "192.168.150.11", ("", "")), Node("redis-2", "192.168.150.12", ("", ""))
    states = [('true', 'false'), ('false', 'true'), ('false', 'false')]
    asked: list[str] = []

    class Survivor:
        def ssh(self, node: Node, command: str, timeout: float, check: bool) -> subprocess.CompletedProcess[str]:
            asked.append(node.name)
            online, unclean = states[min(len(asked), len(states)) - 1]
            xml = (f'<pacemaker-result><nodes><node name="redis-1" online="true" unclean="false" type="member"/>'
                   f'<node name="redis-2" online="{online}" unclean="{unclean}" type="member"/></nodes>'
                   f'</pacemaker-result>')
            return subprocess.CompletedProcess([], 0, xml, "")

    wait_fenced(Survivor(), survivor, lost, timeout_s=30)  # type: ignore[arg-type]
    assert asked == ["redis-1"] * 3
    with pytest.raises(TimeoutError, match="redis-1 did not fence redis-2 within 0s"):
        wait_fenced(Survivor(), survivor, lost, timeout_s=0)  # type: ignore[arg-type]


def test_a_failed_command_on_a_node_says_what_the_node_said(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    said = "Error: Unable to move resource: timeout waiting for the cluster\n"
    monkeypatch.setattr(subprocess, "run", lambda argv, **_: subprocess.CompletedProcess(argv, 1, "", said))
    target = Target(settings, tmp_path / "key")
    with pytest.raises(RuntimeError, match=r"^'sudo pcs resource move' on redis-2 exited 1: Error: Unable to move"):
        target.ssh(settings.nodes[1], "sudo pcs resource move")


def test_the_tls_ratio_compares_the_vip_with_and_without_and_switches_tls_back(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    switched: list[str] = []
    measured: list[bool] = []
    failing: list[bool] = []

    def switch(stack: object, target: Target, tls: str, timeout_s: float) -> Target:
        switched.append(tls)
        return Target(replace(settings, tls=tls == "on"), target.ssh_key)

    def run_once(target: Target, host: str, requests: int) -> dict[str, float]:
        assert host == settings.vip
        measured.append(target.settings.tls)
        if failing and not target.settings.tls:
            raise RuntimeError("redis-benchmark failed")
        return {"SET": 800.0, "GET": 900.0} if target.settings.tls else {"SET": 1000.0, "GET": 1000.0}

    monkeypatch.setattr(benchmark, "switch_tls", switch)
    monkeypatch.setattr(benchmark, "run_once", run_once)
    result = benchmark.compare_tls(object(), Target(settings, Path("/key")), 100, 60)  # type: ignore[arg-type]
    assert measured == [True] * 3 + [False] * 3 and switched == ["off", "on"]
    assert result["tls_over_plain"] == {"SET": 0.8, "GET": 0.9}
    # A failure with TLS off still switches it back on.
    failing.append(True)
    switched.clear()
    with pytest.raises(RuntimeError, match="redis-benchmark failed"):
        benchmark.compare_tls(object(), Target(settings, Path("/key")), 100, 60)  # type: ignore[arg-type]
    assert switched == ["off", "on"]


def test_longest_gaps_are_the_widest_first() -> None:
    assert longest_gaps([5.0, 0.0, 1.0, 1.5, 9.0]) == [4.0, 3.5, 1.0]
    assert longest_gaps([2.0], 3) == []


def test_a_trial_that_raises_still_leaves_the_table_and_plots_of_the_trials_before_it(
        settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ran: list[int] = []

    def run_trial(target: Target, fault: object, number: int, writers: int, interval_s: float) -> Trial:
        ran.append(number)
        if number == 3:
            raise RuntimeError("'sudo pcs resource move' on redis-2 exited 1")
        return replace(trial("switchover", 40.0 + number), number=number)

    monkeypatch.setattr(drill_main, "run_trial", run_trial)
    monkeypatch.setattr(Target, "from_lab", classmethod(lambda cls: Target(settings, Path("/key"))))
    monkeypatch.setattr(sys, "argv", ["drill", "--lab", "--faults", "switchover", "--trials", "5",
                                      "--benchmark-requests", "0", "--out", str(tmp_path / "results")])
    with pytest.raises(RuntimeError, match="pcs resource move"):
        drill_main.main()
    assert ran == [1, 2, 3]
    folder = tmp_path / "results"
    [run] = folder.iterdir()
    assert "| switchover | 2 |" in (run / "table.md").read_text()
    assert [entry["number"] for entry in json.loads((run / "drill.json").read_text())["trials"]] == [1, 2]
    assert sorted(plot.name for plot in run.glob("*.png")) == ["gaps.png", "timeline.png"]


def test_high_load_is_when_a_controller_reported_it_after_the_fault() -> None:
    fault = 1000.0
    lines = [
        (fault - 20.0, "High CPU load detected: 5.100000"),
        (fault + 12.34, "High CPU load detected: 5.260000"),
        (fault + 3.0, "Initiating notify operation redis_pre_notify_demote_0 on redis-2"),
        (fault + 42.0, "High CPU load detected: 4.970000"),
    ]
    assert high_load(lines, fault) == [12.3, 42.0]
    assert high_load(lines[2:3], fault) == []


@pytest.mark.parametrize("said", ["Connection timed out during banner exchange\r\nConnection to 192.168.150.11 "
                                  "port 22 timed out\n", "ssh: connect to host 192.168.150.11 port 22: No route to host\n"])
def test_a_dial_that_fails_before_the_command_runs_is_retried(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                                              said: str) -> None:
    answers = [subprocess.CompletedProcess([], 255, "", said)] * 2 + [subprocess.CompletedProcess([], 0, "up\n", "")]
    monkeypatch.setattr(guests, "ssh", lambda *_, **__: answers.pop(0))
    monkeypatch.setattr(time, "sleep", lambda _: None)
    assert guests.ssh_dialing(settings, settings.nodes[0], "uptime").stdout == "up\n"
    assert answers == []


def test_a_command_that_ran_and_exited_255_is_not_run_again(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [subprocess.CompletedProcess([], 255, "", "pcs: cluster exited 255\n")] * 2
    monkeypatch.setattr(guests, "ssh", lambda *_, **__: answers.pop(0))
    assert guests.ssh_dialing(settings, settings.nodes[0], "sudo pcs status").returncode == 255
    assert len(answers) == 1


def test_waiting_for_a_whole_cluster_ends_with_why_it_is_not(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Target, "health", lambda self: "redis-1 is not online")
    with pytest.raises(NotHealthy, match="cluster not healthy after 0s: redis-1 is not online"):
        Target(settings, Path("/key")).wait_healthy(0)


def test_a_node_too_loaded_to_answer_crm_mon_in_time_is_not_whole_yet(settings: Settings,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(self: Target, node: Node, command: str, **_: object) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(["ssh", node.ip, command], 60)

    monkeypatch.setattr(Target, "ssh", slow)
    assert Target(settings, Path("/key")).health() == "no node answers crm_mon"


def crm_status(redis_2_role: str, failures: str = "") -> ET.Element:
    """crm_mon's XML with Redis Promoted on redis-1 and in ``redis_2_role`` on redis-2."""
    placed = '<node name="redis-2" id="2" cached="true"/>' if redis_2_role != "Stopped" else ""
    return ET.fromstring(
        '<pacemaker-result><resources><clone id="redis-clone" multi_state="true">'
        '<resource id="redis" role="Promoted" active="true"><node name="redis-1" id="1" cached="true"/></resource>'
        f'<resource id="redis" role="{redis_2_role}" active="{str(redis_2_role != "Stopped").lower()}">{placed}'
        f'</resource></clone></resources><failures>{failures}</failures></pacemaker-result>')


TIMED_OUT_START = ('<failure op_key="redis_start_0" node="redis-2" exitstatus="error" exitreason="" exitcode="1" '
                   'call="12" status="Timed Out" interval="0" task="start"/>')


def test_a_failed_start_is_told_by_its_resource_node_and_task() -> None:
    redis_2 = Node("redis-2", "192.168.150.12", ("", ""))
    assert failed_start(crm_status("Stopped", TIMED_OUT_START), redis_2) == "Timed Out: error"
    assert failed_start(crm_status("Stopped", TIMED_OUT_START.replace('task="start"', 'task="monitor"')),
                        redis_2) is None
    assert failed_start(crm_status("Stopped", TIMED_OUT_START.replace("redis_start_0", "vip_start_0")),
                        redis_2) is None
    assert failed_start(crm_status("Stopped", TIMED_OUT_START), Node("redis-1", "192.168.150.11", ("", ""))) is None


class Rejoining:
    """A target whose crm_mon answers come from a list (the last one repeats), recording commands."""

    def __init__(self, answers: list[ET.Element | None]) -> None:
        self.answers = answers
        self.commands: list[str] = []

    def status(self) -> ET.Element | None:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def ssh(self, node: Node, command: str, **_: object) -> subprocess.CompletedProcess[str]:
        self.commands.append(f"{node.name}: {command}")
        return subprocess.CompletedProcess([], 0, "", "")


def test_a_rejoined_nodes_failed_redis_start_is_cleaned_up_and_noted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda _: None)
    redis_2 = Node("redis-2", "192.168.150.12", ("", ""))
    target = Rejoining([None, crm_status("Stopped"), crm_status("Stopped", TIMED_OUT_START)])
    note = start_cluster(target, redis_2)  # type: ignore[arg-type]
    assert target.commands == ["redis-2: sudo pcs cluster start --wait=600", "redis-2: sudo pcs resource cleanup redis"]
    assert note == "Redis failed to start on the rejoined redis-2 (Timed Out: error): the drill ran pcs resource cleanup"


def test_a_rejoined_node_whose_redis_started_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda _: None)
    redis_2 = Node("redis-2", "192.168.150.12", ("", ""))
    # A failure that failure-timeout expired and a retry overcame: Redis runs, nothing to clear.
    target = Rejoining([crm_status("Stopped"), crm_status("Unpromoted", TIMED_OUT_START)])
    assert start_cluster(target, redis_2) == ""  # type: ignore[arg-type]
    assert target.commands == ["redis-2: sudo pcs cluster start --wait=600"]
