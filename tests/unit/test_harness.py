"""The lab harness's stand-in for the engine's diff: which recorded commands a `pulumi up`
with a changed configuration runs, and where a command's stdout goes."""

from __future__ import annotations

from lab.cluster import changed_commands, record

DEVICE_STEPS = {"qnetd-daemon", "cluster-quorum-device", "cluster-redis-1-qdevice", "cluster-redis-2-qdevice"}


def test_the_same_configuration_runs_nothing(config: dict[str, str]) -> None:
    assert changed_commands(record(config), record(config)) == set()


def test_switching_the_quorum_device_on_runs_its_steps_and_the_boot_steps_only(config: dict[str, str]) -> None:
    with_device = record({**config, "quorumDevice": "hypervisor"})
    assert changed_commands(record(config), with_device) == DEVICE_STEPS | {"cluster-redis-1-boot",
                                                                            "cluster-redis-2-boot"}
    # The nodes' step reads qnetd's stdout, so qnetd runs again for it whenever it runs.
    assert with_device.feeds() == {"cluster-redis-1-qdevice": "qnetd-daemon", "cluster-redis-2-qdevice": "qnetd-daemon"}
    assert changed_commands(with_device, record({**config, "quorumDevice": "hypervisor",
                                                  "quorumDeviceAddress": "192.168.150.2"})) == DEVICE_STEPS


def test_a_changed_password_reruns_the_steps_that_take_it(config: dict[str, str]) -> None:
    changed = changed_commands(record(config), record({**config, "redisPassword": "another-long-password"}))
    assert changed == {"redis-redis-1-config", "redis-redis-2-config", "redis-check"}
