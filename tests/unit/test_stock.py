"""drill/stock.py: the stock configuration, the critical path's agent runs, the comparison."""

from __future__ import annotations

import math

from components.settings import KEYS_BY_NAME, load_settings
from drill.analysis import Trial, summarise
from drill.stock import STOCK, compare, comparison_table, critical_path, schedule

# A Redis crash on redis-2 as pacemaker-controld logged it (the lab's journal, shortened).
CRASH = [(t, f"pacemaker-controld[812]: notice: Result of {what}") for t, what in (
    (99.0, "promote operation for redis on redis-2: ok"),  # before the fault
    (105.2, "monitor operation for redis on redis-2: not running"),
    (106.0, "stop operation for vip on redis-2: ok"),
    (106.1, "notify operation for redis on redis-1: ok"),
    (106.3, "notify operation for redis on redis-2: ok"),
    (109.9, "demote operation for redis on redis-2: not running"),
    (118.6, "notify operation for redis on redis-1: ok"),
    (120.4, "notify operation for redis on redis-1: ok"),
    (122.7, "stop operation for redis on redis-2: ok"),
    (124.5, "notify operation for redis on redis-1: ok"),
    (125.9, "notify operation for redis on redis-1: ok"),
    (129.9, "promote operation for redis on redis-1: ok"),
    (131.9, "notify operation for redis on redis-1: ok"),
    (131.9, "notify operation for redis on redis-2: ok"),
    (133.4, "start operation for vip on redis-1: ok"),
    (140.0, "monitor operation for vip on redis-1: ok"),
)]


def runs(lines: list[tuple[float, str]]) -> int:
    return len(critical_path(lines, 100.0))


def test_the_crash_costs_twelve_runs_with_notifications_on_both_nodes_counted_once() -> None:
    assert runs(CRASH) == 12
    # The same notification twice on one node is two runs.
    assert runs([*CRASH[:3], (106.05, CRASH[3][1].replace("redis-1", "redis-2")), *CRASH[3:]]) == 13


def test_each_run_says_what_it_added_and_notifications_what_they_announce() -> None:
    initiating = [(118.0, "pacemaker-controld[812]: notice: Initiating notify operation "
                          "redis_post_notify_demote_0 locally on redis-1"),
                  (124.0, "pacemaker-controld[812]: notice: Initiating notify operation "
                          "redis_post_notify_stop_0 on redis-1")]
    path = [str(run) for run in critical_path([*CRASH, *initiating], 100.0)]
    assert path == ["monitor redis 5.2", "stop vip 0.8", "notify redis 0.3", "demote redis 3.6",
                    "notify post-demote redis 8.7", "notify redis 1.8", "stop redis 2.3", "notify post-stop redis 1.8",
                    "notify redis 1.4", "promote redis 4.0", "notify redis 2.0", "start vip 1.5"]
    # The new master's first monitor, ended before the VIP started, ran beside it: not on the path.
    monitor = (132.5, "pacemaker-controld[812]: notice: Result of monitor operation for redis on redis-1: Promoted")
    assert [str(run) for run in critical_path([*CRASH, *initiating, monitor], 100.0)] == path
    # The run's costs add up to the VIP's start.
    assert math.isclose(sum(run.cost_s for run in critical_path(CRASH, 100.0)), 33.4, abs_tol=0.05)


def test_a_notification_on_both_nodes_is_one_run_however_long_one_of_them_takes() -> None:
    # The lab's trial: the crashed node's pre-demote notification ended 7 s after the survivor's.
    lines = [(105.2, "notice: Result of monitor operation for redis on redis-2: not running")]
    for node, done in (("redis-1", 106.3), ("redis-2", 113.0)):
        lines += [(105.5, f"notice: Initiating notify operation redis_pre_notify_demote_0 on {node}"),
                  (done, f"notice: Result of notify operation for redis on {node}: OK")]
    lines += [(107.0, "notice: Result of stop operation for vip on redis-2: OK"),
              (113.1, "notice: Initiating start operation vip_start_0 on redis-1"),
              (114.0, "notice: Result of start operation for vip on redis-1: OK")]
    # The VIP's stop ended between the two halves: the notification ends with its slower half.
    assert [str(run) for run in critical_path(lines, 100.0)] == [
        "monitor redis 5.2", "stop vip 1.8", "notify pre-demote redis 6.0", "start vip 1.0"]
    # A notification that began only after the other had ended ran after it: two runs.
    lines[3] = (106.5, lines[3][1])
    assert len(critical_path(lines, 100.0)) == 5


def test_no_vip_start_means_no_critical_path() -> None:
    assert critical_path(CRASH[:-2], 100.0) == []


def test_stock_is_a_valid_configuration_of_this_program_and_differs_from_ours() -> None:
    defaults = {spec.name: spec.default for spec in KEYS_BY_NAME.values()}
    assert set(STOCK) <= set(KEYS_BY_NAME)
    assert [key for key in STOCK if str(defaults[key]) != STOCK[key]] == [
        "redisPromotedMonitorIntervalSeconds", "redisUnpromotedMonitorIntervalSeconds", "monitorTimeoutSeconds",
        "migrationThreshold", "failureTimeoutSeconds", "corosyncTokenMs", "priorityFencingDelaySeconds", "redisAgentPause",
        "loadThresholdPercent"]


def test_stock_settings_load(config: dict[str, str]) -> None:
    settings = load_settings({**config, **STOCK}.get)
    assert settings.migration_threshold == 1000000 and settings.corosync_consensus_ms == 3600
    assert settings.agent_pause == "all"


def test_trials_alternate_abba() -> None:
    assert schedule(3) == [False, True, True, False, False, True]


def trial(fault: str, gap: float, configuration: str, runs: int, lost: int = 0) -> Trial:
    return Trial(fault=fault, number=1, node="redis-1", write_gap_s=gap, acknowledged=100, failed=0, unknown=0,
                 lost=[f"k{i}" for i in range(lost)], unknown_applied=0, steps={}, acks_per_bin=[], recovery_s=1.0,
                 agent_runs=runs, agent_path=[f"run {gap:.0f}"] * runs, configuration=configuration)


def test_the_comparison_is_ours_over_stock_per_fault() -> None:
    ours = [trial("redis-crash", gap, "ours", 12) for gap in (40.0, 42.0, 44.0)]
    stock = [trial("redis-crash", gap, "stock", 14, lost=1) for gap in (70.0, 80.0, 90.0)]
    [comparison] = compare([*ours, *stock])
    assert (comparison.ours.gap_p50_s, comparison.stock.gap_p50_s, comparison.ratio_p50) == (42.0, 80.0, 0.525)
    assert comparison.ratio_p95 == round(44 / 90, 3)
    assert (comparison.ours.lost, comparison.stock.lost, comparison.stock.runs_p50) == (0, 3, 14.0)
    assert "| redis-crash | 3 / 3 | 42.00 / 80.00 | 44.00 / 90.00 | 0.53 / 0.49 | 12 / 14 | 0 / 3 |" in \
        comparison_table([comparison])
    # Where the time goes: the path of the trial nearest each side's p50.
    table = comparison_table([comparison])
    assert f"- redis-crash, ours: {' · '.join(['run 42'] * 12)}" in table
    assert f"- redis-crash, stock: {' · '.join(['run 80'] * 14)}" in table
    # The drill's own table keeps the two apart.
    assert [summary.fault for summary in summarise([*ours, *stock])] == ["redis-crash", "redis-crash (stock)"]


def test_a_fault_without_stock_trials_has_no_ratio() -> None:
    [comparison] = compare([trial("switchover", 30.0, "ours", 14)])
    assert math.isnan(comparison.ratio_p50)
