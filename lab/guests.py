"""Reaching the lab's guests: SSH through the lab namespace with the host keys the program pins,
and the lab's libvirtd. The guests themselves are made by `pulumi up` (lab/stack.py).

Must run as root with the lab up (lab/up.sh).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import tty
from pathlib import Path

from components.host_keys import known_hosts
from components.settings import Node, Settings

NAMESPACE = "redis-ha-lab"
DIAL_ATTEMPTS = 100
URI = "qemu:///system"
POOL = "redis-ha-lab"
LAB_DIR = Path("/var/lib/redis-ha-lab")
SSH_KEY = LAB_DIR / "ssh" / "id_ed25519"
CONSOLES = LAB_DIR / "run" / "consoles"
"""Each domain's serial console as recorded by record_console: kept by lab/down.sh."""


def run(*argv: str, stdin: str | None = None, check: bool = True, timeout: float | None = None,
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=stdin, text=True, capture_output=True, check=check, timeout=timeout)


def virsh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("virsh", "-q", "-c", URI, *args, check=check)


def bridge(settings: Settings) -> str:
    """The Linux bridge of the stack's libvirt network (libvirt names it when it creates it)."""
    info = virsh("net-info", settings.network_name).stdout
    return next(line.split()[1] for line in info.splitlines() if line.startswith("Bridge:"))


def known_hosts_file(settings: Settings) -> Path:
    """The host key the program gives each node, for pinned SSH."""
    path = SSH_KEY.parent / f"known_hosts.{settings.cluster_name}"
    text = known_hosts(settings)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def ssh(settings: Settings, node: Node, command: str, stdin: str | None = None, check: bool = True,
        timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    return run("ip", "netns", "exec", NAMESPACE, "ssh", "-i", str(SSH_KEY), "-o", "BatchMode=yes",
               "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts_file(settings)}",
               "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR", f"{settings.ssh_user}@{node.ip}", command,
               stdin=stdin, check=check, timeout=timeout)


# What ssh prints when it fails before the command starts (sshd not listening yet, restarted by
# cloud-init while the connection was being set up, or on a guest so loaded that sshd's banner
# missed ConnectTimeout: seen at the end of a first up on the lab's emulated guests).
_DIAL_FAILURES = ("ssh: connect to host", "kex_exchange_identification", "Connection closed by",
                  "Connection reset by", "Connection timed out during banner exchange")


def ssh_dialing(settings: Settings, node: Node, command: str, stdin: str | None = None,
                timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Retries while the connection itself fails (a node rebooting), never once the command ran."""
    for _ in range(DIAL_ATTEMPTS):
        result = ssh(settings, node, command, stdin=stdin, check=False, timeout=timeout)
        if not (result.returncode == 255 and result.stderr.lstrip().startswith(_DIAL_FAILURES)):
            break
        time.sleep(3)
    return result


def wait_for_ssh(settings: Settings, node: Node, timeout_s: float) -> float:
    """Seconds until the node answered over SSH; raises TimeoutError past the limit."""
    started = time.monotonic()
    while (answer := ssh(settings, node, "true", check=False)).returncode != 0:
        if time.monotonic() - started > timeout_s:
            # ssh's own words: a refused connection, a timeout, or a host key that is not the pinned one.
            raise TimeoutError(f"no SSH to {node.name} ({node.ip}) within {timeout_s:.0f}s: {answer.stderr.strip()}")
        time.sleep(3)
    return time.monotonic() - started


def console_file(domain: str) -> Path:
    return CONSOLES / f"{domain}.log"


def record_console(domain: str) -> Path:
    """Copies the domain's serial console (the guest kernel's console=ttyS0: a panic, a hung task,
    the OOM killer) to a new file under CONSOLES, from when the domain runs, across its restarts,
    in a daemon thread; returns the file. libvirt keeps nothing of a pty console that nobody reads, and
    a guest that stops answering (CI, stop 27) leaves no other trace on the hypervisor."""
    CONSOLES.mkdir(parents=True, exist_ok=True)
    path = console_file(domain)

    def copy() -> None:
        # Root's only, as libvirt's own qemu logs: a console prints whatever the guest writes.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)
        with open(descriptor, "wb") as log:
            while True:
                pty = virsh("ttyconsole", domain, check=False).stdout.strip()
                try:
                    fd = os.open(pty, os.O_RDONLY | os.O_NOCTTY) if pty else -1
                except OSError:
                    fd = -1
                if fd < 0:
                    time.sleep(2)
                    continue
                try:
                    # Raw, as qemu made it: an echo would send the guest its own output as input.
                    tty.setraw(fd)
                    while chunk := os.read(fd, 4096):
                        log.write(chunk)
                        log.flush()
                except OSError:
                    pass  # EIO: qemu closed the console, the domain stopped
                finally:
                    os.close(fd)

    threading.Thread(target=copy, name=f"console {domain}", daemon=True).start()
    return path


def console_tail(domain: str, lines: int) -> list[str]:
    """The last lines record_console wrote for the domain, control characters dropped."""
    path = console_file(domain)
    if not path.exists():
        return []
    text = path.read_bytes()[-65536:].decode(errors="replace")
    printable = ["".join(c for c in line if c.isprintable()) for line in text.splitlines()]
    return [line for line in printable if line.strip()][-lines:]
