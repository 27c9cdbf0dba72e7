"""One two-node cluster for the whole session, built by the program's own commands on lab VMs
(lab/cluster.py), and always torn down at the end.

Runs as root inside the lab namespace (`make test-e2e`), with the lab up (`make lab`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab import guests
from lab.cluster import Cluster, build, ensure_absent, new_config, record


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    if not guests.SSH_KEY.exists() or guests.virsh("pool-info", "redis-ha-lab", check=False).returncode != 0:
        pytest.fail("the lab is not up: run `make lab` first")
    cluster = record(new_config())
    ensure_absent(cluster.settings)
    try:
        build(cluster)
        yield cluster
    finally:
        guests.remove(cluster.settings)
