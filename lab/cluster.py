"""A two-node cluster on lab VMs, built by the program's own commands: the VMs are configured as
the program configures them, and every remote command the program registers (recorded under
Pulumi mocks) runs over SSH in dependency order, as pulumi-command runs them.

The end-to-end tests build a fresh one per session; ``make lab-cluster`` keeps one up for the
drill, its configuration (with secrets, mode 0600) in .lab/cluster.json, until ``make lab-down``
or ``python -m lab.cluster down``.

Usage (root, inside the lab namespace): python -m lab.cluster up|down
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from pulumi.runtime.mocks import MockResourceArgs

from components.settings import Node, Settings
from lab import guests
from tests.program_recorder import ROOT, STDOUT_OF, Program, run_program, secret

STATE = ROOT / ".lab" / "cluster.json"
LOCAL_COMMAND = "command:local:Command"
STEP_TIMEOUT_S = 1800
SSH_TIMEOUT_S = 900


@dataclass
class Cluster:
    config: dict[str, str]
    """The stack configuration the cluster was built from (holds the secrets)."""
    settings: Settings
    program: Program

    def ssh(self, node: Node, command: str, timeout: float = 120, stdin: str | None = None) -> str:
        result = guests.ssh_dialing(self.settings, node, command, stdin=stdin, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{command!r} on {node.name} exited {result.returncode}: {result.stderr[-2000:]}")
        return result.stdout

    def commands(self) -> dict[str, MockResourceArgs]:
        """The recorded commands: on the nodes over SSH, and on the hypervisor (here, the lab
        namespace) for fencing and the quorum device."""
        return {**self.program.of_type("command:remote:Command"), **self.program.of_type(LOCAL_COMMAND)}

    def run_commands(self, only: set[str] | None = None) -> dict[str, str]:
        """Execute the recorded commands (or ``only`` these) in waves of those whose
        dependencies are done; returns each one's report: the last line it printed (on stderr
        for a command whose stdout is data for another)."""
        commands = {name: args for name, args in self.commands().items() if only is None or name in only}
        stdouts: dict[str, str] = {}
        reports: dict[str, str] = {}
        producers = set(self.feeds().values())
        pending = set(commands)
        while pending:
            ready = sorted(name for name in pending
                           if all(dep in stdouts for dep in self.program.dependencies[name] if dep in commands))
            if not ready:
                raise RuntimeError(f"dependency cycle among {sorted(pending)}")
            with ThreadPoolExecutor(max_workers=len(ready)) as pool:
                runs = pool.map(lambda name: self._run_one(name, stdouts, name in producers), ready)
                for name, (stdout, report) in zip(ready, runs, strict=True):
                    stdouts[name], reports[name] = stdout, report
            pending -= set(ready)
        return reports

    def feeds(self) -> dict[str, str]:
        """Each command whose stdin is another command's stdout, with that other command."""
        feeds = {}
        for name in self.commands():
            stdin = self._stdin(name)
            if stdin is not None and stdin.startswith(STDOUT_OF):
                feeds[name] = stdin[len(STDOUT_OF):]
        return feeds

    def _stdin(self, name: str) -> str | None:
        stdin = self.program.resources[name].inputs.get("stdin")
        return secret(stdin) if isinstance(stdin, dict) else stdin

    def _run_one(self, name: str, stdouts: dict[str, str], reports_on_stderr: bool) -> tuple[str, str]:
        resource = self.program.resources[name]
        inputs = resource.inputs
        stdin = self._stdin(name)
        if stdin is not None and stdin.startswith(STDOUT_OF):
            stdin = stdouts[stdin[len(STDOUT_OF):]]
        started = time.monotonic()
        result = self._run(resource, inputs["create"], stdin)
        report = _last_line(result.stderr if reports_on_stderr else result.stdout)
        print(f"cluster: {name}: rc={result.returncode} {time.monotonic() - started:.0f}s: {report}", flush=True)
        if result.returncode != 0:
            raise RuntimeError(f"{name} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        return result.stdout, report

    def _run(self, resource: MockResourceArgs, command: str, stdin: str | None) -> subprocess.CompletedProcess[str]:
        if resource.typ == LOCAL_COMMAND:
            return guests.run("bash", "-c", command, stdin=stdin, check=False, timeout=STEP_TIMEOUT_S)
        host = secret(resource.inputs["connection"])["host"]
        node = next(node for node in self.settings.nodes if node.ip == host)
        return guests.ssh_dialing(self.settings, node, command, stdin=stdin, timeout=STEP_TIMEOUT_S)

    def update(self, config: dict[str, str]) -> tuple[Cluster, dict[str, str]]:
        """`pulumi up` with a changed configuration, as the engine diffs it: the commands that
        are new or whose inputs changed run, then the commands the new program no longer has are
        deleted, dependents first. Returns the updated cluster and the reports of both."""
        updated = record(config)
        reports = updated.run_commands(changed_commands(self, updated))
        removed = set(self.commands()) - set(updated.commands())
        while removed:
            # A command no other removed command depends on goes first.
            leaves = sorted(name for name in removed
                            if not any(name in self.program.dependencies[other] for other in removed))
            for name in leaves:
                resource = self.program.resources[name]
                result = self._run(resource, resource.inputs["delete"], None)
                if result.returncode != 0:
                    raise RuntimeError(f"deleting {name} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
                reports[f"delete {name}"] = _last_line(result.stdout)
                print(f"cluster: delete {name}: {reports[f'delete {name}']}", flush=True)
            removed -= set(leaves)
        return updated, reports

    def remove(self) -> None:
        """What `pulumi destroy` removes: the domains and network, and the hypervisor side."""
        guests.remove(self.settings)
        for name, local in self.program.of_type(LOCAL_COMMAND).items():
            result = guests.run("bash", "-c", local.inputs["delete"], check=False)
            print(f"cluster: undo {name}: rc={result.returncode} {result.stdout.strip()} {result.stderr.strip()}")


def changed_commands(before: Cluster, after: Cluster) -> set[str]:
    """The commands of ``after`` that `pulumi up` from ``before`` runs: new ones and those
    whose inputs changed. The engine keeps a command's stdout in its state; the harness does
    not, so a producer runs again (it is idempotent) for a consumer that runs, and whatever a
    changed producer feeds runs too."""
    old, new = before.commands(), after.commands()
    changed = {name for name, args in new.items() if name not in old or old[name].inputs != args.inputs}
    feeds = after.feeds()
    changed |= {producer for consumer, producer in feeds.items() if consumer in changed}
    changed |= {consumer for consumer, producer in feeds.items() if producer in changed}
    return changed


def _last_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[-1]


def new_config(**overrides: str) -> dict[str, str]:
    """The dev stack's configuration with fresh secrets."""
    return guests.dev_config(haclusterPassword=secrets.token_urlsafe(18), redisPassword=secrets.token_hex(16),
                             fenceKey=secrets.token_urlsafe(48), **overrides)


def record(config: dict[str, str]) -> Cluster:
    """The program run under mocks with this configuration: the commands a `pulumi up` would run."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        program = run_program(config, patch)
    return Cluster(config, guests.settings_from(config), program)


def running(settings: Settings) -> bool:
    return all(guests.virsh("domstate", settings.domain_name(node), check=False).stdout.strip() == "running"
               for node in settings.nodes)


def ensure_absent(settings: Settings) -> None:
    """Refuses to go on when these domains exist: they belong to a kept lab cluster."""
    for node in settings.nodes:
        if guests.virsh("dominfo", settings.domain_name(node), check=False).returncode == 0:
            raise RuntimeError(f"domain {settings.domain_name(node)} already exists: "
                               "a lab cluster is up (python -m lab.cluster down removes it)")


def build(cluster: Cluster, before_commands: Callable[[Cluster], None] | None = None) -> None:
    """Network and VMs from nothing, then the first run of every command (`before_commands`
    runs once the VMs answer SSH)."""
    settings = cluster.settings
    started = time.monotonic()
    guests.create_network(settings)
    for node in settings.nodes:
        guests.boot(settings, node)
    for node in settings.nodes:
        print(f"cluster: {node.name} answered SSH after {guests.wait_for_ssh(settings, node, SSH_TIMEOUT_S):.0f}s",
              flush=True)
    if before_commands is not None:
        before_commands(cluster)
    cluster.run_commands()
    print(f"cluster: first run done after {time.monotonic() - started:.0f}s", flush=True)


def load() -> Cluster | None:
    return record(json.loads(STATE.read_text())) if STATE.exists() else None


def up() -> Cluster:
    """The kept cluster: built when absent, otherwise every command run again (a re-up)."""
    cluster = load()
    if cluster is not None and running(cluster.settings):
        cluster.run_commands()
        return cluster
    if cluster is not None:
        cluster.remove()
    cluster = record(new_config())
    ensure_absent(cluster.settings)
    STATE.parent.mkdir(exist_ok=True)
    STATE.touch(mode=0o600)
    os.chmod(STATE, 0o600)
    STATE.write_text(json.dumps(cluster.config))
    build(cluster)
    return cluster


def down() -> None:
    cluster = load()
    if cluster is None:
        print("cluster: no change: no lab cluster recorded")
        return
    cluster.remove()
    STATE.unlink()
    print("cluster: removed the lab cluster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("up", "down"))
    if parser.parse_args().action == "up":
        up()
    else:
        down()


if __name__ == "__main__":
    main()
