"""Shared fixtures: a complete, valid configuration as Pulumi would hand it to the program."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from components.settings import Settings, load_settings

HACLUSTER_PASSWORD = "hacluster-Secret-1234"
REDIS_PASSWORD = "redis-Secret-5678-abcd"
FENCE_KEY = "fence-Key-0123456789abcdef0123456789abcdef"
# A key pair made with ssh-keygen for these tests only (it opens nothing).
PRIVATE_KEY = """-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACAZUIuNYgdlN8Zkbm6+gqMyAqqhTkZ96IEuZoYQo6fywAAAAJBWdDufVnQ7
nwAAAAtzc2gtZWQyNTUxOQAAACAZUIuNYgdlN8Zkbm6+gqMyAqqhTkZ96IEuZoYQo6fywA
AAAEBGn5+sPSVxAmecT3f7ztBnvw6JyqvRWeVeiqwz0IlQ1xlQi41iB2U3xmRubr6CozIC
qqFORn3ogS5mhhCjp/LAAAAADXRlc3RAcmVkaXMtaGE=
-----END OPENSSH PRIVATE KEY-----
"""
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBlQi41iB2U3xmRubr6CozICqqFORn3ogS5mhhCjp/LA test@redis-ha"
OTHER_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBc7bgoXZf2qC3vutmgFTwxLVJ4wqNwS7SA58UijXi4a other@redis-ha"
SECRET_VALUES = (HACLUSTER_PASSWORD, REDIS_PASSWORD, PRIVATE_KEY, FENCE_KEY)


@pytest.fixture
def base_image(tmp_path: Path) -> Path:
    image = tmp_path / "base.qcow2"
    image.write_bytes(b"QFI\xfb")
    return image


@pytest.fixture
def config(base_image: Path) -> dict[str, str]:
    """Stack configuration without the project prefix, values as strings (as Pulumi stores them)."""
    return {
        "baseImage": str(base_image),
        "networkCidr": "192.168.150.0/24",
        "sshPublicKey": PUBLIC_KEY,
        "sshPrivateKey": PRIVATE_KEY,
        "haclusterPassword": HACLUSTER_PASSWORD,
        "redisPassword": REDIS_PASSWORD,
        "fenceKey": FENCE_KEY,
    }


@pytest.fixture
def load(config: dict[str, str]) -> Callable[..., Settings]:
    """Load settings from the valid config with some keys overridden (None removes a key)."""

    def loader(**overrides: str | None) -> Settings:
        merged = {key: value for key, value in {**config, **overrides}.items() if value is not None}
        return load_settings(merged.get, merged)

    return loader


@pytest.fixture
def settings(load: Callable[..., Settings]) -> Settings:
    return load()
