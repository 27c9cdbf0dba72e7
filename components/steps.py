"""A provisioning step: one script from scripts/ run on a node over SSH."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_command as command

from components.host_keys import host_key_of
from components.remote_script import command_line, script_hash
from components.settings import Node, Settings

DIAL_TIMEOUT_S = 15
DIAL_RETRY_S = 3
"""About what one failed dial costs with pulumi-command's back-off (a refused or unrouted
connection fails at once, then it waits): readyTimeoutSeconds / DIAL_RETRY_S attempts give a new
node that long to answer SSH before `pulumi up` gives up on it."""


def dial_attempts(settings: Settings) -> int:
    return max(10, settings.ready_timeout_s // DIAL_RETRY_S)


def connection(settings: Settings, node: Node) -> command.remote.ConnectionArgs:
    return command.remote.ConnectionArgs(
        host=node.ip,
        user=settings.ssh_user,
        private_key=pulumi.Output.secret(settings.ssh_private_key),
        # The key cloud-init installed: a machine presenting any other is not our node.
        host_key=host_key_of(settings, node).public,
        dial_error_limit=dial_attempts(settings),
        per_dial_timeout=DIAL_TIMEOUT_S,
    )


def run_script(
    resource_name: str,
    settings: Settings,
    node: Node,
    script: str,
    args: Sequence[str | int] = (),
    *,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource],
    whole_cluster: pulumi.Resource,
    stdin: pulumi.Input[str] | None = None,
    undo: tuple[str, Sequence[str | int]] | None = None,
    triggers: Sequence[pulumi.Input[str]] = (),
    aliases: Sequence[pulumi.Alias] = (),
) -> command.remote.Command:
    """Run ``script`` with quoted ``args`` (and a secret on ``stdin``) on ``node``.

    The create command embeds the script, so editing it re-runs the step as an update. A step
    without an undo also lists the script's hash in ``triggers``; a step with an undo does
    not, because a trigger means replace, and replacing would run the undo (destroying the
    cluster or its resources) before running the step again.

    When ``whole_cluster`` (the cluster's network) is deleted too, as by `pulumi destroy`, the
    undo is skipped: the node's VM goes with it, and a node that no longer answers would hold the
    destroy for readyTimeoutSeconds of dialling (CI, stop 27: 39 minutes on a dead redis-1).
    """
    all_triggers: list[pulumi.Input[str]] = list(triggers)
    if undo is None:
        all_triggers.append(script_hash(script))
    return command.remote.Command(
        resource_name,
        connection=connection(settings, node),
        create=command_line(script, *args),
        delete=command_line(undo[0], *undo[1]) if undo else None,
        stdin=stdin,
        triggers=all_triggers,
        # sshd refuses the environment variables that would carry the previous run's output
        # (and says so on every update and delete); no script reads them.
        add_previous_output_in_env=False,
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=list(depends_on),
            delete_before_replace=undo is not None,
            additional_secret_outputs=["stdin"],
            aliases=list(aliases),
            deleted_with=whole_cluster,
        ),
    )
