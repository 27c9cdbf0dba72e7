"""Checks, before anything is created, that this machine reaches what the stack needs, so that a
stack that cannot work fails with a message that says what to check instead of a provider's
low-level error halfway through."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from components.settings import ConfigError, Settings

LIBVIRT_SOCKET_DIRS = (Path("/run/libvirt"), Path("/var/run/libvirt"))


def libvirt_socket(uri: str, socket_dirs: tuple[Path, ...] = LIBVIRT_SOCKET_DIRS) -> Path | None:
    """The unix socket a local system URI talks to (its ?socket= if it names one); None for URIs
    reached some other way."""
    parsed = urlsplit(uri)
    if parsed.scheme not in ("qemu", "qemu+unix") or parsed.netloc or parsed.path != "/system":
        return None
    named = parse_qs(parsed.query).get("socket")
    if named:
        return Path(named[0])
    return next((folder / "libvirt-sock" for folder in socket_dirs if (folder / "libvirt-sock").exists()),
                socket_dirs[0] / "libvirt-sock")


def check_libvirt(uri: str, socket_dirs: tuple[Path, ...] = LIBVIRT_SOCKET_DIRS) -> None:
    """Raises ConfigError naming libvirtUri when a local libvirtd does not answer."""
    path = libvirt_socket(uri, socket_dirs)
    if path is None:
        return
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(5)
            probe.connect(str(path))
    except OSError as error:
        raise ConfigError("libvirtUri", f"{uri} does not answer ({path}: {error.strerror or error}): start libvirtd "
                                        "on this machine (for the lab: make lab), or point libvirtUri at a running "
                                        "hypervisor") from None


def xslt_key(settings: Settings) -> str | None:
    """The key that makes the program hand pulumi-libvirt an XSLT (None when nothing does)."""
    if settings.domain_type == "qemu" and settings.tcg_tb_cache_mib:
        return "tcgTbCacheMib"
    if settings.network_create and settings.network_mode == "none":
        return "networkMode"
    return None


def check_xsltproc(settings: Settings) -> None:
    """pulumi-libvirt applies an xml.xslt by running xsltproc on this machine."""
    key = xslt_key(settings)
    if key is not None and shutil.which("xsltproc") is None:
        raise ConfigError(key, "needs xsltproc where pulumi runs (pulumi-libvirt applies its XSLT with it): "
                               "apt install xsltproc / dnf install libxslt")


def check_virsh() -> None:
    """The nodes' host keys reach the hypervisor's storage pool through virsh on this machine."""
    if shutil.which("virsh") is None:
        raise ConfigError("libvirtUri", "needs virsh where pulumi runs (it writes each node's SSH host key into a "
                                        "volume through libvirtUri): apt install libvirt-clients / "
                                        "dnf install libvirt-client")


def check(settings: Settings) -> None:
    check_libvirt(settings.libvirt_uri)
    check_xsltproc(settings)
    check_virsh()
