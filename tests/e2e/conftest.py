"""One stack for the whole session, made by the real engine: `pulumi up` of the program through
the Automation API against the lab (lab/stack.py, as `make up` does it). test_teardown.py, which
runs last, destroys it and checks what is left; if the session ends before that, the stack is
destroyed anyway.

Runs as root inside the lab namespace (`make test-e2e`), with the lab up and the toolchain built.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pytest
from pulumi import automation as auto

from components.settings import Node, Settings
from drill.target import NotHealthy, Target
from lab import guests
from lab.outsider import ALLOWED_NETWORK
from lab.stack import LabStack
from monitoring.status import ClusterStatus, read

STACK = "e2e"
PS_SAMPLES = "/root/e2e-ps-samples"
"""Every process's command line on a node, sampled while the program provisions it."""
SAMPLES_READER = "test_no_secret_in_any_process_list_during_provisioning"
"""The test that reads PS_SAMPLES: the nodes are sampled only in a session that runs it (make
test-long), since the sampler takes about a fifth of an emulated guest's CPU for the whole first up."""

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need no cluster first (they run while the machine is idle), the destroy last."""
    items.sort(key=lambda item: ("cluster" in getattr(item, "fixturenames", ()), "test_teardown.py" in item.nodeid))


def _serialised(event: auto.EngineEvent) -> str:
    return json.dumps(event, default=lambda value: getattr(value, "__dict__", str(value)), sort_keys=True)


@dataclass
class Deployment:
    """The session's stack: how to reach its nodes, and everything the engine said about it."""

    stack: LabStack
    output: list[str] = field(default_factory=list)
    """Every line the engine printed for this stack (up, preview, destroy)."""
    events: list[str] = field(default_factory=list)
    """Every engine event, as JSON."""
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds each phase took (printed at the end of the session)."""

    @cached_property
    def config(self) -> dict[str, str]:
        """The stack's configuration as deployed, secrets decrypted."""
        return self.stack.config()

    @cached_property
    def settings(self) -> Settings:
        return self.stack.settings()

    def ssh(self, node: Node, command: str, timeout: float = 120, stdin: str | None = None) -> str:
        result = guests.ssh_dialing(self.settings, node, command, stdin=stdin, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{command!r} on {node.name} exited {result.returncode}: {result.stderr[-2000:]}")
        return result.stdout

    def _record(self, line: str) -> None:
        self.output.append(line)
        print(line, end="" if line.endswith("\n") else "\n", flush=True)

    def _run(self, phase: str, action: str, **kwargs: Any) -> tuple[Any, dict[str, str]]:
        """One engine command; returns its result and what it did to each resource that was not
        left as it was (resource name -> operation: create, update, delete, replace...)."""
        changes: dict[str, str] = {}

        def on_event(event: auto.EngineEvent) -> None:
            self.events.append(_serialised(event))
            pre = event.resource_pre_event
            if pre is not None and pre.metadata.op not in (auto.OpType.SAME, auto.OpType.READ):
                changes[pre.metadata.urn.rsplit("::", 1)[-1]] = pre.metadata.op.value

        started = time.monotonic()
        result = getattr(self.stack, action)(on_output=self._record, on_event=on_event, **kwargs)
        self.phases[phase] = round(time.monotonic() - started)
        return result, changes

    def up(self, phase: str) -> tuple[auto.UpResult, dict[str, str]]:
        result, changes = self._run(phase, "up")
        self.__dict__.pop("config", None)
        self.__dict__.pop("settings", None)
        return result, changes

    def preview(self, phase: str) -> tuple[auto.PreviewResult, dict[str, str]]:
        return self._run(phase, "preview")

    def destroy(self, phase: str) -> tuple[auto.DestroyResult, dict[str, str]]:
        return self._run(phase, "destroy")

    def refresh(self, phase: str) -> tuple[auto.RefreshResult, dict[str, list[str]]]:
        """`pulumi refresh`; returns its result and, per resource whose state it changed, the
        properties that changed."""
        drift: dict[str, list[str]] = {}

        def on_event(event: auto.EngineEvent) -> None:
            self.events.append(_serialised(event))
            # A resource whose state the refresh changed: the engine reports it as an update
            # with the properties that differ ("~ ... updated [diff: ~running]").
            done = event.res_outputs_event
            if done is not None and done.metadata.diffs:
                drift[done.metadata.urn.rsplit("::", 1)[-1]] = sorted(done.metadata.diffs)

        started = time.monotonic()
        result = self.stack.refresh(on_output=self._record, on_event=on_event)
        self.phases[phase] = round(time.monotonic() - started)
        return result, drift

    def reconfigure(self, **values: str) -> None:
        """`pulumi config set` of plain values."""
        self.stack.set_values(dict(values))
        self.__dict__.pop("config", None)
        self.__dict__.pop("settings", None)


def sample_process_lists(deployment: Deployment, settings: Settings) -> None:
    """Starts the sampler on each node as soon as it answers SSH, before any step that handles a
    secret (those come after the package install, minutes later). Root-only files; sampled faster
    than a provisioning command that held a secret in its arguments could start and finish."""
    for node in settings.nodes:
        guests.wait_for_ssh(settings, node, 900)
        deployment.ssh(node, f"sudo bash -c 'umask 077; cat > {PS_SAMPLES}.sh; nohup bash {PS_SAMPLES}.sh "
                             f">> {PS_SAMPLES} 2>/dev/null < /dev/null & echo $! > {PS_SAMPLES}.pid'", stdin=SAMPLER)


def stop_sampling(deployment: Deployment, settings: Settings) -> None:
    """Ends the samplers once provisioning is over: before any fault, since a node that is
    rebooted loses its sampler and may give its PID to another process."""
    for node in settings.nodes:
        deployment.ssh(node, f"sudo bash -c 'pid=$(cat {PS_SAMPLES}.pid); "
                             f"grep -qF {PS_SAMPLES}.sh /proc/$pid/cmdline && kill $pid; rm {PS_SAMPLES}.pid'")


def lab_state(settings: Settings) -> str:
    """What the hypervisor knows of each node when the stack failed to come up: whether its domain
    runs, whether it answers SSH or ARP, and the end of its console (guests.record_console)."""
    report = ["the lab when the session's stack failed:"]
    for node in settings.nodes:
        domain = settings.domain_name(node)
        state = guests.virsh("domstate", "--reason", domain, check=False)
        answer = guests.ssh(settings, node, "uptime", check=False, timeout=30)
        neighbour = guests.run("ip", "neigh", "show", node.ip, check=False).stdout.strip()
        report += [f"{node.name}: domain {(state.stdout or state.stderr).strip()}; "
                   f"ssh: {(answer.stdout or answer.stderr).strip()}; neighbour: {neighbour or 'none'}",
                   *(f"  console| {line}" for line in guests.console_tail(domain, 25))]
    return "\n".join(report)


def domains_of(settings: Settings) -> list[str]:
    """The stack's libvirt domains that exist."""
    return [settings.domain_name(node) for node in settings.nodes
            if guests.virsh("dominfo", settings.domain_name(node), check=False).returncode == 0]


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    if not guests.SSH_KEY.exists() or guests.virsh("pool-info", "redis-ha-lab", check=False).returncode != 0:
        pytest.fail("the lab is not up: run `make lab` first")
    # One client network allowed besides the cluster's own, for the exposure tests.
    stack = LabStack(STACK, {"clientNetworks": json.dumps([ALLOWED_NETWORK])})
    stack.create()
    deployment = Deployment(stack)
    taken = domains_of(deployment.settings)
    if taken:
        pytest.fail(f"domains {taken} exist: another stack of the lab is up (make down removes the dev stack's)")
    for node in deployment.settings.nodes:
        guests.record_console(deployment.settings.domain_name(node))
    sampling = any(item.name == SAMPLES_READER for item in request.session.items)
    sampler = threading.Thread(target=sample_process_lists, args=(deployment, deployment.settings), daemon=True)
    if sampling:
        sampler.start()
    # Taken before the destroy below deletes the evidence; noted on whichever error ends the
    # session's setup, so that the end of its report says what became of the nodes.
    failed_lab = ""
    try:
        try:
            deployment.up("first up")
            if sampling:
                sampler.join(timeout=60)
                stop_sampling(deployment, deployment.settings)
        except Exception as error:
            failed_lab = lab_state(deployment.settings)
            error.add_note(failed_lab)
            raise
        yield deployment
    finally:
        try:
            # test_teardown.py removes the stack once it has checked the destroy.
            if stack.exists() and stack.state():
                deployment.destroy("destroy at the end of the session")
        except Exception as error:
            if failed_lab:
                error.add_note(failed_lab)
            raise
        finally:
            print(f"e2e phases (s): {json.dumps(deployment.phases)}", flush=True)


HEALTHY_TIMEOUT_S = 1200
"""How long a test waits for the cluster to be whole (both nodes, roles, VIP, replica in sync)."""
RECHECK_TIMEOUT_S = 60
"""How long a test waits instead once an earlier test's wait found the cluster not whole: a
cluster that stayed broken for 1200 s stays broken, and CI's run (stop 27: six tests waiting
1200 s each after a failed rejoin) must still finish with a report."""
_not_whole: list[str] = []
"""The wait that found the cluster not whole, while it has not been whole since."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                               ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Notes the first test (or fixture) whose wait for a whole cluster timed out."""
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(NotHealthy) and not _not_whole:
        _not_whole.append(f"{item.nodeid}: {call.excinfo.value}")
    return report


@pytest.fixture
def target(cluster: Deployment) -> Target:
    """The session's cluster as the drill reaches it, once it is whole."""
    target = Target(cluster.settings, guests.SSH_KEY)
    if not _not_whole:
        try:
            target.wait_healthy(HEALTHY_TIMEOUT_S)
        except NotHealthy as error:
            # Said at once, with what crm_mon shows: a CI run whose time runs out never reaches
            # the report at the end (stop 30 ended with only a row of E's).
            shown = {node.name: target.answer(node, "sudo crm_mon -1rf", timeout=60) for node in cluster.settings.nodes}
            print(f"e2e: {error}; crm_mon on each node: {shown}", flush=True)
            raise
        return target
    try:
        target.wait_healthy(RECHECK_TIMEOUT_S)
    except TimeoutError as error:
        pytest.fail(f"{error}; not whole since {_not_whole[0]}")
    _not_whole.clear()
    return target


def scrape_targets(cluster: Deployment) -> dict[str, dict[str, str]]:
    """The stack's scrapeTargets output: per node, per exporter, host:port."""
    targets: dict[str, dict[str, str]] = cluster.stack.outputs()["scrapeTargets"]
    return targets


class MetricsWatch:
    """Reads the cluster's state from its exporters (monitoring.status) once a second in the
    background while the block runs: what the exporters showed, and when."""

    def __init__(self, targets: dict[str, dict[str, str]]) -> None:
        self.targets = targets
        self.seen: list[tuple[float, ClusterStatus]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            # Stamped when the read is complete: every exporter had been asked by then.
            status = read(self.targets)
            self.seen.append((time.monotonic(), status))
            self._stop.wait(1)

    def __enter__(self) -> MetricsWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
