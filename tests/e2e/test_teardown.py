"""`pulumi destroy` of the session's stack (always the last test: see conftest.py): nothing of the
stack is left on the hypervisor: no domain, volume, network, fence_virtd or corosync-qnetd."""

from __future__ import annotations

import subprocess

import pytest

from lab import guests
from tests.e2e.conftest import Deployment, domains_of
from tests.e2e.test_security import secret_values


def processes(name: str) -> list[str]:
    """Live processes of that name (a daemon that just exited may stay a zombie a moment)."""
    listed = subprocess.run(["ps", "-e", "-o", "stat=,comm=,args="], capture_output=True, text=True, check=True).stdout
    return [line for line in listed.splitlines() if line.split()[1:2] == [name] and not line.startswith("Z")]


@pytest.mark.matrix
def test_destroy_leaves_nothing_of_the_stack(cluster: Deployment) -> None:
    settings = cluster.settings
    assert domains_of(settings) and processes("fence_virtd"), "the stack is not up to be destroyed"
    secrets = secret_values(cluster)
    before = len(cluster.output)
    result, changes = cluster.destroy("destroy")
    print(f"e2e: destroy: {result.summary.resource_changes}")
    assert not [value for value in secrets if any(value in line for line in cluster.output[before:])]
    assert changes and set(changes.values()) == {"delete"}
    volumes = guests.virsh("vol-list", guests.POOL).stdout
    left = {
        "domains": domains_of(settings),
        "volumes": [line.split()[0] for line in volumes.splitlines() if line.split()[:1]
                    and line.split()[0].startswith(f"{settings.cluster_name}-")],
        "network": [settings.network_name] if guests.virsh("net-info", settings.network_name,
                                                           check=False).returncode == 0 else [],
        "fence_virtd": processes("fence_virtd"),
        "corosync-qnetd": processes("corosync-qnetd"),
        "state": cluster.stack.state(),
    }
    print(f"e2e: left after destroy: {left}")
    assert left == {key: [] for key in left}
    cluster.stack.remove()
