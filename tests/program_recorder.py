"""Runs the Pulumi program under Pulumi's mocks and records what it registers: every resource's
inputs and the resources each one waits for. Used by the unit tests (shape, order, secrets);
the end-to-end tests run the program through the real engine instead (lab/stack.py)."""

from __future__ import annotations

import asyncio
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs

ROOT = Path(__file__).resolve().parents[1]
COMMAND_TYPES = ("command:remote:Command", "command:local:Command")
STDOUT_OF = "stdout of "
"""Under mocks a command's stdout reads "stdout of <resource name>": an input built from it
names the command whose real output the lab harness puts in its place."""
SECRET_KEYS = ["redis-ha:sshPrivateKey", "redis-ha:haclusterPassword", "redis-ha:redisPassword",
               "redis-ha:fenceKey"]


@dataclass
class Program:
    resources: dict[str, MockResourceArgs] = field(default_factory=dict)
    dependencies: dict[str, set[str]] = field(default_factory=dict)
    aliases: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """Per resource, the (name, parent URN) it was known by before."""
    delete_before_replace: set[str] = field(default_factory=set)
    protected: set[str] = field(default_factory=set)
    deleted_with: dict[str, str] = field(default_factory=dict)
    """Per resource, the one whose deletion makes its own delete unnecessary."""
    """The resources a replacement deletes before it creates the new one."""
    secret_outputs: dict[str, set[str]] = field(default_factory=dict)
    """Per resource, the outputs it asks the engine to keep secret (additional_secret_outputs)."""
    namespace: dict[str, Any] = field(default_factory=dict)
    cluster_says: str = "no node"
    """What scripts/cluster_master.sh prints (the program asks the nodes through command.local.run)."""
    previous_outputs: dict[str, Any] = field(default_factory=dict)
    """The stack's outputs from its last update, as the engine's readStackOutputs returns them."""
    calls: list[MockCallArgs] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    """What the program passes to pulumi.export."""

    def of_type(self, type_token: str) -> dict[str, MockResourceArgs]:
        return {name: args for name, args in self.resources.items() if args.typ == type_token}

    def depends(self, later: str, earlier: str) -> bool:
        """True when `later` waits for `earlier`, directly or through other resources."""
        seen: set[str] = set()
        todo = [later]
        while todo:
            for dependency in self.dependencies.get(todo.pop(), set()):
                if dependency == earlier:
                    return True
                if dependency not in seen:
                    seen.add(dependency)
                    todo.append(dependency)
        return False


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, program: Program) -> None:
        self.program = program

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.program.resources[args.name] = args
        outputs = dict(args.inputs)
        if args.typ in COMMAND_TYPES:
            outputs["stdout"] = f"{STDOUT_OF}{args.name}"
        return f"{args.name}-id", outputs

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.program.calls.append(args)
        if args.token == "command:local:run":
            return {"stdout": self.program.cluster_says, "stderr": ""}, []
        if args.token == "pulumi:pulumi:readStackOutputs":
            return {"name": args.args["name"], "outputs": self.program.previous_outputs}, []
        return {}, []


def run_program(config: dict[str, str], monkeypatch: pytest.MonkeyPatch, cluster_says: str = "no node",
                previous_outputs: dict[str, Any] | None = None) -> Program:
    program = Program(cluster_says=cluster_says, previous_outputs=previous_outputs or {})
    register = MockMonitor.RegisterResource

    def recording(monitor: MockMonitor, request: Any) -> Any:
        program.dependencies[request.name] = {urn.rsplit("::", 1)[-1] for urn in request.dependencies}
        program.secret_outputs[request.name] = set(request.additionalSecretOutputs)
        if request.deleteBeforeReplace:
            program.delete_before_replace.add(request.name)
        if request.deletedWith:
            program.deleted_with[request.name] = request.deletedWith.rsplit("::", 1)[-1]
        if request.protect:
            program.protected.add(request.name)
        program.aliases[request.name] = [(alias.spec.name, alias.spec.parentUrn) for alias in request.aliases]
        return register(monitor, request)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(MockMonitor, "RegisterResource", recording)
    export = pulumi.export

    def exporting(name: str, value: Any) -> None:
        program.exports[name] = value
        export(name, value)

    monkeypatch.setattr(pulumi, "export", exporting)
    # No libvirtd or xsltproc is looked for: the program's shape does not depend on this machine
    # (tests/unit/test_preflight.py checks the checks).
    monkeypatch.setattr("components.preflight.check", lambda settings: None)
    pulumi.runtime.set_mocks(RecordingMocks(program), project="redis-ha", stack="unit", preview=False)
    pulumi.runtime.set_all_config({f"redis-ha:{key}": value for key, value in config.items()}, SECRET_KEYS)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def run() -> None:
        program.namespace.update(runpy.run_path(str(ROOT / "__main__.py")))

    run()
    return program


def secret(value: Any) -> Any:
    """The value inside a secret as the engine receives it; fails if it is not marked secret."""
    assert isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig, "not a secret"
    return value["value"]


def resolved(output: pulumi.Output[Any]) -> tuple[Any, bool]:
    """An output's value and whether it is secret."""
    async def both() -> tuple[Any, bool]:
        return await output.future(), await output.is_secret()

    return asyncio.new_event_loop().run_until_complete(both())
