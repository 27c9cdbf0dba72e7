"""A node for a script, without a node: scripts/<name> runs as it does on a node (as root, the
real paths), but in private mount and PID namespaces that last as long as the test: /etc,
/var/lib, /run, /usr/lib and /usr/local/sbin are copy-on-write overlays of this machine's (what
the script writes lands in the test's folder; the machine is untouched), only the test's own
processes can be seen or signalled, and stand-in commands come first on PATH
(tests/unit/stand_ins/): they keep the node's state in files, log every call and answer like the
real commands did in the lab. A stand-in daemon (a sleep) lives on between runs, as a real one
would, until the test's namespaces end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.remote_script import script_text

STAND_INS = Path(__file__).resolve().parent / "stand_ins"
ROOT = STAND_INS.parents[2]
OVERLAID = ("/etc", "/var/lib", "/run", "/usr/lib", "/usr/local/sbin")
# What the scripts own, hidden from the start (this machine may be a lab hypervisor or a node);
# the folders a node's packages make are there, empty.
HIDDEN = ("/etc/fence_virt.conf", "/etc/fence_virt.conf.redis-ha-orig", "/etc/cluster", "/etc/corosync", "/etc/redis",
          "/etc/sysctl.d/90-redis-ha.conf", "/var/lib/pcsd", "/run/fence_virtd.pid", "/run/corosync-qnetd",
          "/run/systemd", "/usr/local/sbin/redis-ha-holds-vip", "/etc/redis-ha", "/usr/local/sbin/redis-ha-cli")
PACKAGED_FOLDERS = ("/etc/corosync", "/etc/redis", "/var/lib/pcsd")


def _group_ids(group_file: str) -> list[tuple[str, str]]:
    """(name, id) of each entry of an /etc/group text (or an /etc/passwd one: the id is the uid)."""
    return [(fields[0], fields[2]) for fields in (line.split(":") for line in group_file.splitlines()) if len(fields) > 2]


def _unused_ids(entries: str) -> list[int]:
    """Ids that no entry of an /etc/group or /etc/passwd text uses, from 64000 on."""
    used = {int(number) for _, number in _group_ids(entries)}
    return [number for number in range(64000, 65000) if number not in used]


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str

    @property
    def report(self) -> str:
        """The script's last line on stdout: its "changed: ..." / "no change: ..."."""
        return (self.stdout.strip().splitlines() or [""])[-1]


def _holder(folder: Path) -> subprocess.Popen[str]:
    """A process that keeps the node's mount and PID namespaces alive (it is their PID 1), with the
    overlays mounted; as root, or else as root of a user namespace of our own."""
    mounts = []
    for overlaid in OVERLAID:
        upper, work = folder / "upper" / overlaid.lstrip("/"), folder / "work" / overlaid.lstrip("/")
        upper.mkdir(parents=True, exist_ok=True)
        work.mkdir(parents=True, exist_ok=True)
        mounts.append(f"mount -t overlay overlay -o lowerdir={overlaid},upperdir={upper},workdir={work} {overlaid}")
    user = [] if os.geteuid() == 0 else ["--map-root-user"]
    holder = subprocess.Popen(
        ["unshare", *user, "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--mount-proc", "bash", "-c",
         " && ".join([*mounts, "echo ready", "exec sleep infinity"])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    if holder.stdout.readline().strip() != "ready":
        holder.wait(timeout=10)
        assert holder.stderr is not None
        pytest.skip(f"the script tests need mount and PID namespaces: {holder.stderr.read().strip()}")
    return holder


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
        self._holder = _holder(folder)
        # The holder's PID 1 is the unshare's child: enter its namespaces to run anything.
        inner = subprocess.run(["pgrep", "-P", str(self._holder.pid)], capture_output=True, text=True,
                               check=True).stdout.split()[0]
        user = [] if os.geteuid() == 0 else ["--user", "--preserve-credentials"]
        self._command = ["nsenter", f"--target={inner}", *user, "--mount", "--pid"]
        # Groups the packages would have made (install -g redis needs one).
        self.add_groups("redis", "haclient")
        self._inside(f"rm -rf {' '.join(HIDDEN)} && mkdir -p {' '.join(PACKAGED_FOLDERS)}")

    def add_groups(self, *names: str) -> None:
        """Groups added to the node's /etc/group with ids this machine does not use, so that a
        file's group is the node's whatever this machine's groups are."""
        groups = self.seen("/etc/group").read_text()
        self.write("/etc/group", groups + "".join(f"{name}:x:{gid}:\n"
                                                  for name, gid in zip(names, _unused_ids(groups), strict=False)))

    def add_user(self, name: str, home: str) -> None:
        """A system user added to the node's /etc/passwd with a uid this machine does not use, so
        that a file's owner is the node's whatever this machine's users are."""
        users = self.seen("/etc/passwd").read_text()
        uid = _unused_ids(users)[0]
        self.write("/etc/passwd", users + f"{name}:x:{uid}:{uid}::{home}:/usr/sbin/nologin\n")

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

    def group(self, path: str) -> str:
        """The name of the group owning the file the script wrote at ``path``, as the node names it."""
        gid = str(self.upper(path).stat().st_gid)
        names = [name for name, named_gid in _group_ids(self.seen("/etc/group").read_text()) if named_gid == gid]
        return names[0] if names else gid

    def write(self, path: str, text: str, mode: int = 0o644) -> None:
        """Puts a file on the node before a run (its state before the script). Written through the
        node's mounts: a file put straight into the upper layer can stay unseen below a folder the
        overlay already looked up in the lower one."""
        ran = self._inside('mkdir -p "${0%/*}" && cat > "$0" && chmod "$1" "$0"', path, f"{mode:o}", stdin=text)
        assert ran.returncode == 0, ran.stderr

    def run(self, script: str, *args: str | int, stdin: str | None = None, env: dict[str, str] | None = None) -> Ran:
        """A script from scripts/ run as the program's commands run it: its text, libraries
        inlined, as ``bash -c``'s command and its name as $0."""
        return self._inside(script_text(script), script, *(str(arg) for arg in args), stdin=stdin, env=env)

    def run_file(self, path: str, *args: str | int, stdin: str | None = None, env: dict[str, str] | None = None) -> Ran:
        """A script at ``path`` as the node sees it (one a script installed, too), with ``env`` added."""
        return self._inside('exec bash "$0" "$@"', path, *(str(arg) for arg in args), stdin=stdin, env=env)

    def _inside(self, command: str, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Ran:
        """A bash command line in the node's namespaces, ``args`` as $0 $1..."""
        # PYTHONPATH: the Python stand-ins share tests/unit/stand_ins/_lib.py.
        env = {"PATH": f"{self.bin}:/usr/sbin:/usr/bin:/sbin:/bin", "STAND_IN_STATE": str(self.state),
               "HOME": "/root", "LANG": "C.UTF-8", "PYTHONPATH": str(ROOT), **(env or {})}
        result = subprocess.run([*self._command, "bash", "-c", command, *(args or ("node",))],
                                input=stdin or "", capture_output=True, text=True, env=env, check=False, timeout=120)
        return Ran(result.returncode, result.stdout, result.stderr)

    def end(self) -> None:
        """Ends the namespaces, and with them every process the test started."""
        self._holder.kill()
        self._holder.wait(timeout=10)

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
