"""One two-node cluster for the whole session, built by the program's own commands on lab VMs
(lab/cluster.py), and always torn down at the end.

Runs as root inside the lab namespace (`make test-e2e`), with the lab up (`make lab`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab import guests
from lab.cluster import Cluster, build, ensure_absent, new_config, record
from lab.outsider import ALLOWED_NETWORK

PS_SAMPLES = "/root/e2e-ps-samples"
"""Every process's command line on a node, sampled while the program provisions it."""

# Five times a second, each process's arguments as ps -o args shows them. Bash builtins only
# (no ps, no sleep): with a ps and a sleep started five times a second, `pcs --version` took
# 23 s on these emulated guests instead of 15 s. The pause is `read` timing out on a FIFO
# that nobody writes.
SAMPLER = r"""fifo=$(mktemp -u); mkfifo "$fifo"; exec 3<>"$fifo"; rm -f "$fifo"
while :; do
  for f in /proc/[0-9]*/cmdline; do
    mapfile -d '' -t argv < "$f" 2>/dev/null || continue
    if (( ${#argv[@]} )); then printf '%s\n' "${argv[*]}"; fi
  done
  read -r -t 0.2 -u 3 || true
done
"""


def sample_process_lists(cluster: Cluster) -> None:
    # Root-only files; sampled faster than a provisioning command that held a secret in its
    # arguments could start and finish (each takes seconds on these guests).
    for node in cluster.settings.nodes:
        cluster.ssh(node, f"sudo bash -c 'umask 077; cat > {PS_SAMPLES}.sh; nohup bash {PS_SAMPLES}.sh "
                          f">> {PS_SAMPLES} 2>/dev/null < /dev/null & echo $! > {PS_SAMPLES}.pid'", stdin=SAMPLER)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    if not guests.SSH_KEY.exists() or guests.virsh("pool-info", "redis-ha-lab", check=False).returncode != 0:
        pytest.fail("the lab is not up: run `make lab` first")
    # One client network allowed besides the cluster's own, for the exposure tests.
    cluster = record(new_config(clientNetworks=f'["{ALLOWED_NETWORK}"]'))
    ensure_absent(cluster.settings)
    try:
        build(cluster, before_commands=sample_process_lists)
        yield cluster
    finally:
        cluster.remove()
