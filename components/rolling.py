"""The order in which a change that replaces both VMs replaces them: one node at a time, the
node whose Redis is not master first, so that writes pause only once, for the switchover that
drains the master's node. And which node to bring back into the cluster: one that is out of
it (its VM stopped and started again by `pulumi refresh` and `up`, or fenced).

The program asks the nodes which one holds the VIP at every preview and up (a
``command.local.run`` of scripts/cluster_master.sh, over SSH with the pinned host keys), and
makes the second node's VM wait for the first node to be back in the cluster with its Redis in
sync. A new stack (no node answers) has no order: both VMs are created at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_command as command

from components.host_keys import host_key_of
from components.remote_script import command_line
from components.settings import Node, Settings


@dataclass(frozen=True)
class ClusterState:
    """What the nodes said when the program asked."""

    answered: bool
    """Some node answered over SSH: the stack's VMs exist."""
    master: str | None
    """The node that holds the VIP, if any does."""
    unanswered: str = ""
    """When no node answered: what ssh said for each."""
    out: tuple[str, ...] = ()
    """The nodes a running member of the cluster does not see as members."""


def parse_cluster_master(stdout: str) -> ClusterState:
    """scripts/cluster_master.sh's lines: who holds the VIP, then the nodes out of the cluster."""
    line, *rest = stdout.strip().splitlines() or [""]
    out = tuple(other.removeprefix("out ") for other in rest if other.startswith("out "))
    if line.startswith("master "):
        return ClusterState(answered=True, master=line.removeprefix("master "), out=out)
    if line == "no master":
        return ClusterState(answered=True, master=None, out=out)
    return ClusterState(answered=False, master=None, unanswered=line.removeprefix("no node").strip(" ()"))


def rejoin_requests(nodes: tuple[Node, Node], state: ClusterState, previous: Mapping[str, str],
                    now: str) -> dict[str, str]:
    """Per node, when the program last found it out of the cluster: a node out now gets ``now``,
    which changes its membership step's command, so that `up` runs it again (after starting
    its VM, when refresh found it stopped) and it rejoins. Otherwise the value the last update
    exported, so that the next `up` after the node is back changes nothing."""
    requests = {node.name: now if node.name in state.out else previous.get(node.name, "") for node in nodes}
    return {name: when for name, when in requests.items() if when}


def replacement_order(nodes: tuple[Node, Node], state: ClusterState) -> tuple[Node, Node] | None:
    """(replaced first, replaced second), or None when there is nothing running to keep up."""
    if not state.answered:
        return None
    first, second = nodes
    # Without a master (Redis stopped), node order: no switchover to spare.
    return (second, first) if state.master == first.name else (first, second)


def ask_cluster(settings: Settings) -> ClusterState:
    """Runs scripts/cluster_master.sh where `pulumi` runs (the private key on stdin)."""
    first, second = settings.nodes
    result = command.local.run(
        command=command_line("cluster_master.sh", settings.ssh_user, settings.vip,
                             first.name, first.ip, host_key_of(settings, first).public,
                             second.name, second.ip, host_key_of(settings, second).public, sudo=False),
        stdin=settings.ssh_private_key,
        logging=command.local.Logging.NONE,
        add_previous_output_in_env=False,
    )
    state = parse_cluster_master(result.stdout)
    for node in state.out:
        pulumi.log.info(f"{node} is out of the cluster: `pulumi up` brings it back (its membership step runs again)")
    if not state.answered:
        # Expected for a new stack; on a running one, a replacement would take both nodes at once.
        pulumi.log.info(f"no node answered over SSH, so both VMs are created (or replaced) at once: "
                        f"{state.unanswered}")
    return state


def previous_outputs() -> dict[str, Any]:
    """The stack's outputs from its last update ({} for a new stack), read through the engine's
    own readStackOutputs: unlike a StackReference, nothing is added to the stack."""
    name = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    result = pulumi.runtime.invoke("pulumi:pulumi:readStackOutputs", {"name": name})
    return dict((result.value or {}).get("outputs") or {})
