"""cluster_boot.sh against a stand-in systemctl: which units it enables or disables at boot.
corosync-qdevice matters even without a quorum device: Debian enables it on install, and its
unit requires corosync, so left enabled it would start the cluster at boot."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from components.remote_script import SCRIPTS_DIR
from tests.unit.conftest import path_with_stubs

# systemctl is-enabled succeeds for the units in $ENABLED; every enable/disable is appended to $CALLS.
SYSTEMCTL = """if [[ "$1" == is-enabled ]]; then
  for unit in $ENABLED; do [[ "${*: -1}" == "$unit" ]] && exit 0; done
  exit 1
fi
echo "$*" >> "$CALLS"
"""


def run_boot(tmp_path: Path, enabled: str, start_at_boot: str, quorum_device: str) -> tuple[str, list[str]]:
    calls = tmp_path / "calls"
    calls.touch()
    env = {**os.environ, "PATH": path_with_stubs(tmp_path, {"systemctl": SYSTEMCTL}), "ENABLED": enabled,
           "CALLS": str(calls)}
    result = subprocess.run(["bash", str(SCRIPTS_DIR / "cluster_boot.sh"), start_at_boot, quorum_device],
                            capture_output=True, text=True, env=env, check=True)
    return result.stdout.strip(), calls.read_text().splitlines()


@pytest.mark.parametrize(("enabled", "start_at_boot", "quorum_device", "calls"), [
    # Fresh Debian install: corosync-qdevice enabled by its package.
    ("corosync-qdevice", "false", "false", ["disable corosync-qdevice"]),
    ("corosync-qdevice", "false", "true", ["disable corosync-qdevice"]),
    ("", "true", "false", ["enable corosync", "enable pacemaker"]),
    ("corosync-qdevice", "true", "false", ["enable corosync", "enable pacemaker", "disable corosync-qdevice"]),
    ("", "true", "true", ["enable corosync", "enable pacemaker", "enable corosync-qdevice"]),
    ("corosync pacemaker", "false", "true", ["disable corosync", "disable pacemaker"]),
])
def test_enables_exactly_the_units_asked_for(tmp_path: Path, enabled: str, start_at_boot: str, quorum_device: str,
                                             calls: list[str]) -> None:
    report, made = run_boot(tmp_path, enabled, start_at_boot, quorum_device)
    assert made == calls
    assert report.startswith("changed:")


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    report, made = run_boot(tmp_path, "corosync pacemaker corosync-qdevice", "true", "true")
    assert made == []
    assert report == "no change: cluster units start at boot: true (quorum device: true)"
