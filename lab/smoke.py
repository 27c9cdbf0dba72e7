"""Lab check: boot a throwaway guest from the base image the way the program configures a node
(bonded NICs, static address, our SSH key), reach it over SSH inside the lab namespace, and
run the program's own install step against the lab mirror twice (the second run must change
nothing). Everything it creates is removed at the end.

Usage: .venv/bin/python lab/smoke.py   (as root, after lab/up.sh)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.remote_script import command_line
from lab import guests

SSH_TIMEOUT_S = 900


def main() -> int:
    # A network and names of its own, so the check never meets a dev stack.
    settings = guests.settings_from(guests.dev_config(
        networkCidr="192.168.151.0/24", networkName="redis-ha-smoke", clusterName="redis-ha-smoke",
        packageMirror=f"http://192.168.151.1:{guests.MIRROR_PORT}/debian",
        haclusterPassword="unused-in-smoke", redisPassword="unused-in-smoke-check"))
    node = settings.nodes[0]
    started = time.monotonic()
    try:
        guests.create_network(settings)
        guests.boot(settings, node)
        print(f"smoke: booted {settings.domain_name(node)} ({guests.domain_type()}) at {node.ip}", flush=True)
        print(f"smoke: SSH answered after {guests.wait_for_ssh(settings, node, SSH_TIMEOUT_S):.0f}s", flush=True)

        print("smoke:", guests.ssh(settings, node, command_line("wait_ready.sh", 600)).stdout.strip())
        bond = guests.ssh(settings, node, "cat /proc/net/bonding/bond0").stdout
        slaves = sorted(line.split(":", 1)[1].strip() for line in bond.splitlines() if line.startswith("Slave Interface"))
        print(f"smoke: bond0 {'active-backup' if 'active-backup' in bond else 'NOT active-backup'}, slaves {slaves}")
        if "active-backup" not in bond or slaves != ["nic0", "nic1"]:
            print(bond, file=sys.stderr)
            return 1

        install = command_line("install_packages.sh", settings.package_mirror, "true")
        last = ""
        for attempt in (1, 2):
            began = time.monotonic()
            result = guests.ssh(settings, node, install, check=False)
            last = (result.stdout.strip().splitlines() or [""])[-1]
            print(f"smoke: install run {attempt}: rc={result.returncode} in {time.monotonic() - began:.0f}s: {last}")
            if result.returncode != 0:
                print(result.stdout[-3000:], result.stderr[-3000:], file=sys.stderr)
                return 1
        if not last.startswith("no change"):
            print("smoke: FAILED: the second install run changed something", file=sys.stderr)
            return 1
        versions = guests.ssh(settings, node, "dpkg-query -W pcs pacemaker corosync redis-server firewalld").stdout
        print("smoke: installed:", " ".join(versions.split()))
        print(f"smoke: OK in {time.monotonic() - started:.0f}s")
        return 0
    finally:
        guests.remove(settings)


if __name__ == "__main__":
    sys.exit(main())
