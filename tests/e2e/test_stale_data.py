"""Double faults on real VMs: when both Redis instances have failed, the one promoted is the one
holding every acknowledged write, never a replica that missed some (the drill runs these and the
full-outage sequences several times; see README, Failover)."""

from __future__ import annotations

import pytest

from drill.__main__ import run_trial
from drill.faults import FAULTS
from drill.target import Target


@pytest.mark.long
@pytest.mark.parametrize(("fault", "promoted"), [
    # The replica missed every write after its crash: the master, back from its ban, serves again.
    ("replica-then-master-crash", "the crashed master"),
    # The replica took over and acknowledged writes the old master never saw: it serves again.
    ("new-master-crash", "the new master"),
])
def test_the_instance_holding_every_acknowledged_write_is_promoted(target: Target, fault: str,
                                                                   promoted: str) -> None:
    master = target.master()
    expected = master if promoted == "the crashed master" else target.other(master)
    trial = run_trial(target, FAULTS[fault], 1, writers=2, interval_s=0.01)
    print(f"e2e: {fault}: master after {trial.master_after}, write gap {trial.write_gap_s:.1f}s, acknowledged "
          f"{trial.acknowledged}, lost {len(trial.lost)}, {trial.role_rounds} role rounds with "
          f"{trial.double_master_rounds} two-master ones; {trial.note}")
    assert trial.node == master.name
    assert trial.master_after == expected.name
    assert trial.lost == []
    assert trial.double_master_rounds == 0
    assert trial.role_rounds > 100
