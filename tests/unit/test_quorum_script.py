"""quorum_device.sh against a corosync.conf of our own and stand-ins for pcs and
corosync-quorumtool: it refuses to point a running quorum device at another qnetd (pcs moves a
device by removing and adding it), and leaves an unchanged one alone."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from components.remote_script import SCRIPTS_DIR
from tests.unit.conftest import path_with_stubs

CONF = """totem {
    cluster_name: redis-ha
}

quorum {
    provider: corosync_votequorum

    device {
        model: net
        votes: 1

        net {
            algorithm: ffsplit
            host: 192.168.150.1
        }
    }
}
"""
# pcs: every call is appended to $CALLS and changes nothing. corosync-quorumtool: both nodes
# count the device.
STUBS = {
    "pcs": 'echo "$*" >> "$CALLS"',
    "corosync-quorumtool": "printf '    Nodeid      Votes    Qdevice Name\\n"
                           "         1          1    A,V,NMW redis-1 (local)\\n"
                           "         2          1    A,V,NMW redis-2\\n"
                           "         0          1            Qdevice\\n'",
}


def run_quorum_device(tmp_path: Path, address: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    conf = tmp_path / "corosync.conf"
    conf.write_text(CONF)
    calls = tmp_path / "calls"
    calls.touch()
    env = {**os.environ, "PATH": path_with_stubs(tmp_path, STUBS), "COROSYNC_CONF": str(conf), "CALLS": str(calls)}
    result = subprocess.run(["bash", str(SCRIPTS_DIR / "quorum_device.sh"), address,
                             "/usr/local/sbin/redis-ha-holds-vip", "60"],
                            capture_output=True, text=True, env=env, check=False)
    assert conf.read_text() == CONF
    return result, calls.read_text().splitlines()


def test_refuses_to_move_a_running_device_to_another_qnetd(tmp_path: Path) -> None:
    result, calls = run_quorum_device(tmp_path, "192.168.150.2")
    assert result.returncode == 1
    assert "the running quorum device is 192.168.150.1, quorumDeviceAddress is 192.168.150.2" in result.stderr
    assert "quorumDevice none" in result.stderr
    assert calls == []


def test_an_unchanged_device_is_left_alone(tmp_path: Path) -> None:
    result, calls = run_quorum_device(tmp_path, "192.168.150.1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no change: quorum device 192.168.150.1 counted by both nodes"
    # Only the rendering of a copy: no sync, no reload, no start.
    assert [call.split()[2:4] for call in calls] == [["quorum", "device"], ["quorum", "device"]]
    assert not any("cluster" in call for call in calls)
