"""A node for a script, without a node: scripts/<name> runs as it does on a node (as root, the
real paths), but in a private mount namespace where /etc, /var/lib, /run, /usr/lib and
/usr/local/sbin are copy-on-write overlays of this machine's (what the script writes lands in
the test's folder; the machine is untouched), and with stand-in commands first on PATH
(tests/unit/stand_ins/) that keep the node's state in files, log every call and answer like the
real commands did in the lab. A stand-in daemon (a sleep) lives on between runs, as a real one
would, until the test ends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.remote_script import SCRIPTS_DIR

STAND_INS = Path(__file__).resolve().parent / "stand_ins"
ROOT = STAND_INS.parents[2]
OVERLAID = ("/etc", "/var/lib", "/run", "/usr/lib", "/usr/local/sbin")
# What the scripts own, hidden from the start (this machine may be a lab hypervisor or a node);
# the folders a node's packages make are there, empty.
HIDDEN = ("/etc/fence_virt.conf", "/etc/fence_virt.conf.redis-ha-orig", "/etc/cluster", "/etc/corosync", "/etc/redis",
          "/etc/sysctl.d/90-redis-ha.conf", "/var/lib/pcsd", "/run/fence_virtd.pid", "/run/corosync-qnetd",
          "/run/systemd", "/usr/local/sbin/redis-ha-holds-vip")
PACKAGED_FOLDERS = ("/etc/corosync", "/etc/redis", "/var/lib/pcsd")


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str

    @property
    def report(self) -> str:
        """The script's last line on stdout: its "changed: ..." / "no change: ..."."""
        return (self.stdout.strip().splitlines() or [""])[-1]


def _namespace() -> list[str]:
    """unshare as root; elsewhere inside a user namespace where we are root."""
    flags = ["--mount", "--propagation", "private"]
    command = ["unshare", *flags] if os.geteuid() == 0 else ["unshare", "--map-root-user", *flags]
    probe = subprocess.run([*command, "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"the script tests need mount namespaces ({' '.join(command)}: {probe.stderr.strip()})")
    return command


class Node:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.state = folder / "state"
        self.state.mkdir()
        (self.state / "calls").touch()
        self.bin = folder / "bin"
        shutil.copytree(STAND_INS, self.bin)
        # A Python stand-in is linted as a module (firewall_cmd.py) and installed as its command.
        for module in self.bin.glob("[!_]*.py"):
            module.rename(self.bin / module.stem.replace("firewall_cmd", "firewall-cmd"))
        self._command = _namespace()
        # A group the packages would have made; install -g redis needs it.
        self.write("/etc/group", Path("/etc/group").read_text() + "redis:x:996:\nhaclient:x:997:\n")
        self._inside(f"rm -rf {' '.join(HIDDEN)} && mkdir -p {' '.join(PACKAGED_FOLDERS)}")

    def upper(self, path: str) -> Path:
        """Where a file the script writes at ``path`` lands."""
        return self.folder / "upper" / path.lstrip("/")

    def _hidden(self, path: str) -> bool:
        """Whether the overlay hides ``path`` (a whiteout: a character device in the upper layer)."""
        upper = self.upper(path)
        return upper.is_char_device() or any(parent.is_char_device() for parent in upper.parents)

    def exists(self, path: str) -> bool:
        """Whether the script would find ``path``."""
        return not self._hidden(path) and (self.upper(path).exists() or Path(path).exists())

    def seen(self, path: str) -> Path:
        """The file as the script sees it: written in this test, else the machine's own."""
        return self.upper(path) if self.upper(path).exists() and not self._hidden(path) else Path(path)

    def write(self, path: str, text: str, mode: int = 0o644) -> None:
        """Puts a file on the node before a run (its state before the script)."""
        target = self.upper(path)
        if target.is_char_device():
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        target.chmod(mode)

    def run(self, script: str, *args: str | int, stdin: str | None = None) -> Ran:
        return self._inside('exec bash "$0" "$@"', str(SCRIPTS_DIR / script), *(str(arg) for arg in args), stdin=stdin)

    def _inside(self, command: str, *args: str, stdin: str | None = None) -> Ran:
        """A bash command line in the node's namespace (the overlays mounted), ``args`` as $0 $1..."""
        mounts = []
        for folder in OVERLAID:
            upper, work = self.folder / "upper" / folder.lstrip("/"), self.folder / "work" / folder.lstrip("/")
            upper.mkdir(parents=True, exist_ok=True)
            work.mkdir(parents=True, exist_ok=True)
            mounts.append(f"mount -t overlay overlay -o lowerdir={folder},upperdir={upper},workdir={work} {folder}")
        inside = " && ".join([*mounts, command])
        # PYTHONPATH: the Python stand-ins share tests/unit/stand_ins/_lib.py.
        env = {"PATH": f"{self.bin}:/usr/sbin:/usr/bin:/sbin:/bin", "STAND_IN_STATE": str(self.state),
               "HOME": "/root", "LANG": "C.UTF-8", "PYTHONPATH": str(ROOT)}
        result = subprocess.run([*self._command, "bash", "-c", inside, *(args or ("node",))],
                                input=stdin or "", capture_output=True, text=True, env=env, check=False, timeout=120)
        return Ran(result.returncode, result.stdout, result.stderr)

    def end_daemons(self) -> None:
        daemons = self.state / "daemons"
        if daemons.exists():
            for pid in daemons.read_text().split():
                subprocess.run(["kill", pid], capture_output=True, check=False)

    def calls(self, command: str | None = None) -> list[list[str]]:
        """Every stand-in call so far (name, then arguments), or only those of ``command``."""
        lines = (self.state / "calls").read_text().splitlines()
        logged = [line.split("\t") for line in lines]
        return [call for call in logged if command is None or call[0] == command]

    def forget_calls(self) -> None:
        (self.state / "calls").write_text("")

    def fail(self, command: str, when: str, message: str) -> None:
        """Makes ``command`` fail with ``message`` on stderr when its arguments contain ``when``."""
        (self.state / "fail").mkdir(exist_ok=True)
        (self.state / "fail" / command).write_text(f"{when}\n{message}\n")

    def set(self, name: str, text: str = "") -> None:
        """A stand-in's state file (e.g. "systemd/active/pcsd", "redis/ROLE")."""
        path = self.state / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
