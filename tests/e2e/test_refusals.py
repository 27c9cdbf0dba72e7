"""What the real engine refuses, on a stack of its own (cluster "redis-ha-probe", fencing off), run
before the session's cluster exists: every bad value of the validation table fails `pulumi
preview` with the key named and leaves the stack empty; a libvirt URI that does not answer, a
network name that is taken and a node that never answers SSH fail with a message that says what
to check, and `pulumi destroy` removes whatever the failed `up` had made."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from pulumi import automation as auto

from lab import guests
from lab.stack import PROJECT, STATE, LabStack, pulumi_cli
from tests.unit.conftest import SECRET_VALUES
from tests.unit.test_settings import BAD

PROBE = "e2e-probe"
SECRET_KEYS = ("sshPrivateKey", "haclusterPassword", "redisPassword", "fenceKey")


@pytest.fixture(scope="module")
def probe() -> Iterator[LabStack]:
    # Names and addresses of its own: nothing it makes can meet another stack of the lab.
    stack = LabStack(PROBE, {"clusterName": "redis-ha-probe", "networkName": "redis-ha-probe",
                             "networkCidr": "192.168.152.0/24"})
    stack.create()
    yield stack
    if stack.state():
        stack.destroy(on_output=lambda line: None)
    stack.remove()


def resources(stack: LabStack) -> list[str]:
    """The stack's resources in the backend's state: what the program made. Not its root Stack
    resource, nor the engine's own provider (pulumi:providers:pulumi), which the program's
    readStackOutputs invoke registers and which stands for nothing outside the state."""
    return [resource["urn"].rsplit("::", 1)[-1] for resource in stack.state()
            if resource["type"] not in ("pulumi:pulumi:Stack", "pulumi:providers:pulumi")]


def preview_with(stack: LabStack, overrides: dict[str, str | None], folder: Path) -> subprocess.CompletedProcess[str]:
    """`pulumi preview` with the stack's configuration changed by ``overrides`` (None removes a
    key), through a configuration file of its own."""
    # A file of its own per preview: previews run in parallel (a name from counting the folder's
    # files once gave two of them the same file, and one case previewed another's values).
    handle, name = tempfile.mkstemp(suffix=".yaml", dir=folder)
    os.close(handle)
    config_file = Path(name)
    shutil.copy(stack.config_file, config_file)
    document = yaml.safe_load(config_file.read_text())
    # The table's cases are written against the unit tests' configuration: their network and
    # cluster name (nodeNames cases clash with it), no direct kernel boot. A preview makes
    # nothing, so the probe's own names are not needed here.
    base: dict[str, str | None] = {"networkCidr": "192.168.150.0/24", "clusterName": None, "kernel": None,
                                   "initrd": None, "kernelCmdline": None}
    for key, value in {**base, **overrides}.items():
        document["config"].pop(f"{PROJECT}:{key}", None)
        if value is not None and key not in SECRET_KEYS:
            # An array as the unit tests give it (JSON) goes in as a YAML list when it is one.
            try:
                document["config"][f"{PROJECT}:{key}"] = json.loads(value) if value.startswith("[") else value
            except json.JSONDecodeError:
                document["config"][f"{PROJECT}:{key}"] = value
    config_file.write_text(yaml.safe_dump(document))
    for key, value in overrides.items():
        if value is not None and key in SECRET_KEYS:
            pulumi_cli("config", "set", "--secret", "--stack", stack.name, "--config-file", str(config_file),
                       f"{PROJECT}:{key}", stdin=value)
    return pulumi_cli("preview", "--stack", stack.name, "--config-file", str(config_file), check=False)


def test_every_bad_value_fails_preview_naming_the_key_and_creates_nothing(probe: LabStack) -> None:
    with tempfile.TemporaryDirectory(dir=STATE) as folder, ThreadPoolExecutor(max_workers=3) as pool:
        previews = list(pool.map(lambda case: preview_with(probe, case[0], Path(folder)), BAD))
    failures = []
    for (overrides, key, _), preview in zip(BAD, previews, strict=True):
        said = preview.stdout + preview.stderr
        if preview.returncode == 0:
            failures.append(f"{key}: preview succeeded with {overrides}")
        elif key not in said or "Traceback" in said or any(secret in said for secret in SECRET_VALUES):
            failures.append(f"{key}: {said[-600:]}")
    print(f"e2e: {len(BAD)} bad configurations previewed, e.g. "
          f"{[line for line in (previews[2].stdout + previews[2].stderr).splitlines() if 'redis-ha:' in line][:1]}")
    assert failures == []
    assert resources(probe) == []


def failed_up(stack: LabStack, **values: str) -> str:
    # No fence_virtd for nodes that never come up.
    stack.set_values({"fencing": "none", **values})
    output: list[str] = []
    with pytest.raises(auto.CommandError) as raised:
        stack.up(on_output=output.append)
    return "\n".join(output) + str(raised.value)


def test_a_libvirt_uri_that_does_not_answer_is_named(probe: LabStack) -> None:
    said = failed_up(probe, libvirtUri="qemu:///system?socket=/run/redis-ha-no-libvirtd/libvirt-sock")
    print(f"e2e: unanswered libvirt URI: {[line for line in said.splitlines() if 'libvirtUri' in line][:1]}")
    assert "redis-ha:libvirtUri: qemu:///system?socket=/run/redis-ha-no-libvirtd/libvirt-sock does not answer" in said
    assert "start libvirtd" in said
    assert resources(probe) == []


@pytest.mark.long
def test_a_taken_network_name_and_an_unreachable_node_fail_and_destroy_cleans_up(probe: LabStack) -> None:
    # The lab's libvirtd has a network named "default".
    said = failed_up(probe, libvirtUri=guests.URI, networkName="default")
    taken = [line.strip() for line in said.splitlines() if "already exists" in line]
    print(f"e2e: network name taken: {taken[-1:]}")
    assert taken and "network 'default' already exists" in taken[-1]

    # A kernel that cannot find its root disk never brings SSH up: after readyTimeoutSeconds of
    # dialling, the node's first step names the node's address and why it did not answer.
    said = failed_up(probe, libvirtUri=guests.URI, networkName="redis-ha-probe", readyTimeoutSeconds="60",
                     kernelCmdline="root=/dev/vdz rw console=ttyS0")
    dialled = [line for line in said.splitlines() if "failed attempts" in line and "192.168.152.11:22" in line]
    print(f"e2e: unreachable node: {dialled[-1:]}")
    assert dialled and "redis-1-wait" in said

    made = resources(probe)
    probe.destroy(on_output=lambda line: None)
    volumes = [line.split()[0] for line in guests.virsh("vol-list", guests.POOL).stdout.splitlines()
               if line.split()[:1] and line.split()[0].startswith("redis-ha-probe-")]
    domains = [name for name in guests.virsh("list", "--all", "--name").stdout.split()
               if name.startswith("redis-ha-probe-")]
    print(f"e2e: the failed up made {len(made)} resources; left after destroy: {volumes + domains}")
    assert "redis-1-domain" in made
    assert volumes == [] and domains == []
    assert guests.virsh("net-info", "redis-ha-probe", check=False).returncode != 0
    assert resources(probe) == []
    assert json.dumps(probe.export()).count("redis-ha-probe-redis-1") == 0
