"""PNG plots of a drill: acknowledged writes over time around each fault, and the write gaps."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from drill.analysis import BEFORE_S, BIN_S, Summary, Trial, labelled_as


def write_plots(trials: list[Trial], summaries: list[Summary], folder: Path) -> list[Path]:
    faults = [summary.fault for summary in summaries]
    timeline, axes = plt.subplots(len(faults), 1, figsize=(10, 2.6 * len(faults)), squeeze=False)
    for axis, fault in zip(axes[:, 0], faults, strict=True):
        for trial in labelled_as(trials, fault):
            seconds = [index * BIN_S - BEFORE_S for index in range(len(trial.acks_per_bin))]
            axis.plot(seconds, [count / BIN_S for count in trial.acks_per_bin], linewidth=0.8, alpha=0.7)
        axis.axvline(0, color="red", linestyle="--", linewidth=1)
        axis.set_title(f"{fault}: acknowledged writes per second (fault at 0, one line per trial)", fontsize=9)
        axis.set_xlabel("seconds from the fault")
        axis.set_ylabel("writes/s")
    timeline.tight_layout()
    timeline_path = folder / "timeline.png"
    timeline.savefig(timeline_path, dpi=90)
    plt.close(timeline)

    gaps, axis = plt.subplots(figsize=(10, 3.5))
    for position, fault in enumerate(faults):
        values = [t.write_gap_s for t in labelled_as(trials, fault)]
        axis.scatter([position] * len(values), values, alpha=0.6)
        p50 = next(s.gap_p50_s for s in summaries if s.fault == fault)
        axis.hlines(p50, position - 0.3, position + 0.3, color="black")
    axis.set_xticks(range(len(faults)), faults, fontsize=8)
    axis.set_ylabel("write gap (s); bar = p50")
    axis.set_title("Longest pause in acknowledged writes per trial", fontsize=9)
    gaps.tight_layout()
    gaps_path = folder / "gaps.png"
    gaps.savefig(gaps_path, dpi=90)
    plt.close(gaps)
    return [timeline_path, gaps_path]
