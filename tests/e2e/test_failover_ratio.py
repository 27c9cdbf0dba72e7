"""Failover speed as a ratio (marked long: `make test-long`): the drill's --stock-ratio on the
session's stack, our settings against the recipe's stock ones, trials alternating through the
program. Prints the comparison (a figure, not a target); fails only on a lost acknowledged
write with our settings or a configuration not put back."""

from __future__ import annotations

import pytest

from drill.__main__ import stock_ratio
from drill.stock import STOCK, compare, comparison_table
from drill.target import Target
from tests.e2e.conftest import Deployment

TRIALS = 3


@pytest.mark.long
def test_a_redis_crash_with_our_settings_and_with_the_recipes(cluster: Deployment, target: Target) -> None:
    def configured() -> dict[str, str]:
        config = cluster.stack.config()
        return {key: config[key] for key in STOCK}

    before = configured()
    trials = stock_ratio(cluster.stack, target, ["redis-crash"], TRIALS, writers=2, interval_s=0.01,
                         save=lambda done: None)
    ours = [trial for trial in trials if trial.configuration == "ours"]
    stock = [trial for trial in trials if trial.configuration == "stock"]
    table = comparison_table(compare(trials))
    print(f"e2e: our settings against the recipe's, {TRIALS} redis-crash trials each:\n{table}"
          f"e2e: per trial (configuration, gap s, agent runs, lost): "
          f"{[(t.configuration, t.write_gap_s, t.agent_runs, len(t.lost)) for t in trials]}")
    assert len(ours) == len(stock) == TRIALS
    assert [trial.lost for trial in ours] == [[]] * TRIALS
    assert configured() == before
