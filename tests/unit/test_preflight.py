"""The check that a local libvirtd answers before anything is created."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from components.preflight import check_libvirt, check_virsh, check_xsltproc, libvirt_socket
from components.settings import ConfigError, Settings


@pytest.fixture
def listening(tmp_path: Path) -> Iterator[Path]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(tmp_path / "libvirt-sock"))
        server.listen(1)
        yield tmp_path


def test_a_listening_local_libvirtd_passes(listening: Path) -> None:
    check_libvirt("qemu:///system", (listening,))


def test_a_missing_local_libvirtd_names_the_key_and_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^redis-ha:libvirtUri: qemu:///system does not answer .*"
                                          r"No such file or directory.*start libvirtd"):
        check_libvirt("qemu:///system", (tmp_path,))


def test_a_socket_nobody_listens_on_is_refused(tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(tmp_path / "libvirt-sock"))
    with pytest.raises(ConfigError, match="Connection refused"):
        check_libvirt("qemu:///system", (tmp_path,))


def test_a_socket_named_in_the_uri_is_the_one_checked(listening: Path) -> None:
    assert libvirt_socket(f"qemu:///system?socket={listening}/libvirt-sock") == listening / "libvirt-sock"
    check_libvirt(f"qemu:///system?socket={listening}/libvirt-sock", (Path("/nonexistent"),))
    with pytest.raises(ConfigError, match="/nonexistent/sock"):
        check_libvirt("qemu:///system?socket=/nonexistent/sock", (listening,))


def test_remote_uris_are_left_to_the_provider() -> None:
    assert libvirt_socket("qemu+ssh://root@hv1/system") is None
    check_libvirt("qemu+ssh://root@hv1/system", (Path("/nonexistent"),))


@pytest.mark.parametrize(("overrides", "key"), [
    ({"domainType": "qemu", "tcgTbCacheMib": "256"}, "tcgTbCacheMib"),
    ({"networkMode": "none"}, "networkMode"),
])
def test_an_xslt_without_xsltproc_names_the_key_that_needs_it(load: Callable[..., Settings],
                                                                monkeypatch: pytest.MonkeyPatch,
                                                                overrides: dict[str, str], key: str) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ConfigError, match=rf"^redis-ha:{key}: needs xsltproc where pulumi runs"):
        check_xsltproc(load(**overrides))
    check_xsltproc(load())  # kvm on a NAT network: no XSLT, nothing needed


def test_without_virsh_the_error_names_libvirt_uri(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ConfigError, match=r"^redis-ha:libvirtUri: needs virsh where pulumi runs"):
        check_virsh()
    (tmp_path / "virsh").write_text("#!/bin/sh\n")
    (tmp_path / "virsh").chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    check_virsh()
