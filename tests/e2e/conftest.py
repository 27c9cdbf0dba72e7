"""One two-node cluster for the whole session: two lab VMs configured as the program configures
them, then every remote command the program registers (recorded under Pulumi mocks) executed
over SSH in dependency order, as pulumi-command would. Always torn down at the end.

Runs as root inside the lab namespace (`make test-e2e`), with the lab up (`make lab`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from components.settings import Node, Settings
from components.steps import DIAL_ATTEMPTS
from lab import guests
from tests.program_recorder import ROOT, Program, run_program, secret

STEP_TIMEOUT_S = 1800
SSH_TIMEOUT_S = 900


@dataclass
class Cluster:
    settings: Settings
    program: Program
    first_run: dict[str, str] = field(default_factory=dict)
    """Each remote command's stdout from the first run."""

    def node(self, name: str) -> Node:
        return next(node for node in self.settings.nodes if node.name == name)

    def ssh(self, node: Node, command: str) -> str:
        return guests.ssh(self.settings, node, command, timeout=120).stdout

    def run_commands(self) -> dict[str, str]:
        """Execute the recorded remote commands in waves of those whose dependencies are done."""
        commands = self.program.of_type("command:remote:Command")
        outputs: dict[str, str] = {}
        pending = set(commands)
        while pending:
            ready = sorted(name for name in pending
                           if all(dep in outputs for dep in self.program.dependencies[name] if dep in commands))
            assert ready, f"dependency cycle among {sorted(pending)}"
            with ThreadPoolExecutor(max_workers=len(ready)) as pool:
                for name, stdout in zip(ready, pool.map(self._run_one, ready), strict=True):
                    outputs[name] = stdout
            pending -= set(ready)
        return outputs

    def _run_one(self, name: str) -> str:
        inputs = self.program.resources[name].inputs
        host = secret(inputs["connection"])["host"]
        node = next(node for node in self.settings.nodes if node.ip == host)
        stdin = secret(inputs["stdin"]) if isinstance(inputs.get("stdin"), dict) else inputs.get("stdin")
        started = time.monotonic()
        # Like pulumi-command, retry while the connection itself fails (cloud-init restarts
        # sshd once after the first answer), never once the command has started.
        for _ in range(DIAL_ATTEMPTS):
            result = guests.ssh(self.settings, node, inputs["create"], stdin=stdin, check=False, timeout=STEP_TIMEOUT_S)
            if not (result.returncode == 255 and result.stderr.startswith("ssh: connect to host")):
                break
            time.sleep(3)
        last = (result.stdout.strip().splitlines() or [""])[-1]
        print(f"e2e: {name}: rc={result.returncode} {time.monotonic() - started:.0f}s: {last}", flush=True)
        assert result.returncode == 0, f"{name} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        return result.stdout


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    if not guests.SSH_KEY.exists() or guests.virsh("pool-info", "redis-ha-lab", check=False).returncode != 0:
        pytest.fail("the lab is not up: run `make lab` first")
    config = guests.dev_config(haclusterPassword=secrets.token_urlsafe(18), redisPassword=secrets.token_hex(16))
    settings = guests.settings_from(config)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        program = run_program(config, patch)
    cluster = Cluster(settings, program)
    started = time.monotonic()
    try:
        guests.create_network(settings)
        for node in settings.nodes:
            guests.boot(settings, node)
        for node in settings.nodes:
            print(f"e2e: {node.name} answered SSH after {guests.wait_for_ssh(settings, node, SSH_TIMEOUT_S):.0f}s")
        cluster.first_run = cluster.run_commands()
        print(f"e2e: first run done after {time.monotonic() - started:.0f}s", flush=True)
        yield cluster
    finally:
        guests.remove(settings)
