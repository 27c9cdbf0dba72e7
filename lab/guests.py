"""Lab guests booted straight through libvirt, configured exactly as the program configures a
node (the same cloud-init renderers), for the lab check, the end-to-end tests and the drill.
Domains are persistent, like the program's, so a fault can destroy one and start it again;
``remove`` undefines everything created here.

Must run as root with the lab up (lab/up.sh). SSH goes through the lab namespace.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import yaml

from components.cloud_init import render_meta_data, render_network_config, render_user_data
from components.host_keys import known_hosts
from components.settings import Node, Settings, load_settings
from components.steps import DIAL_ATTEMPTS

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "redis-ha-lab"
URI = "qemu:///system"
LAB_DIR = Path("/var/lib/redis-ha-lab")
SSH_KEY = LAB_DIR / "ssh" / "id_ed25519"
POOL_DIR = LAB_DIR / "pool"
MIRROR_PORT = 8080


def run(*argv: str, stdin: str | None = None, check: bool = True, timeout: float | None = None,
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=stdin, text=True, capture_output=True, check=check, timeout=timeout)


def virsh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("virsh", "-q", "-c", URI, *args, check=check)


def dev_config(**overrides: str) -> dict[str, str]:
    """The dev stack's configuration (Pulumi.dev.yaml) plus the lab's SSH key and overrides."""
    stack = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    values = {key.removeprefix("redis-ha:"): str(value) for key, value in stack.items()}
    values.update({
        "sshPublicKey": SSH_KEY.with_suffix(".pub").read_text().strip(),
        "sshPrivateKey": SSH_KEY.read_text(),
    })
    values.update(overrides)
    return values


def settings_from(config: dict[str, str]) -> Settings:
    return load_settings(config.get)


def domain_type() -> str:
    return (LAB_DIR / "images" / "domain-type").read_text().split()[0]


def bridge(settings: Settings) -> str:
    # Linux limits interface names to 15 characters.
    return f"rhl-{settings.cluster_name}"[:13] + "0"


def create_network(settings: Settings) -> None:
    xml = (f"<network><name>{settings.network_name}</name><bridge name='{bridge(settings)}'/><dns enable='no'/>"
           f"<ip address='{settings.gateway}' prefix='{settings.prefix_length}'/></network>")
    with tempfile.NamedTemporaryFile("w", suffix=".xml") as file:
        file.write(xml)
        file.flush()
        virsh("net-create", file.name)


def _domain_xml(settings: Settings, node: Node, kind: str, disk: Path, seed: Path) -> str:
    nics = "".join(
        f"<interface type='network'><source network='{settings.network_name}'/><mac address='{mac}'/>"
        "<model type='virtio'/></interface>"
        for mac in node.macs)
    tcg = f"<tcg><tb-cache unit='MiB'>{settings.tcg_tb_cache_mib}</tb-cache></tcg>" \
        if kind == "qemu" and settings.tcg_tb_cache_mib else ""
    return f"""<domain type='{kind}'>
  <name>{settings.domain_name(node)}</name><memory unit='MiB'>{settings.memory_mib}</memory><vcpu>{settings.vcpus}</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>{settings.kernel}</kernel><initrd>{settings.initrd}</initrd>
    <cmdline>{settings.kernel_cmdline}</cmdline></os>
  <features><acpi/>{tcg}</features>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{disk}'/>
      <target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='{seed}'/>
      <target dev='sda' bus='sata'/><readonly/></disk>
    {nics}
    <serial type='pty'><target port='0'/></serial><console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>"""


def _files(settings: Settings, node: Node) -> tuple[Path, Path]:
    stem = POOL_DIR / settings.domain_name(node)
    return stem.with_suffix(".qcow2"), stem.with_suffix(".seed.iso")


def boot(settings: Settings, node: Node) -> None:
    """A copy-on-write disk of the base image, a NoCloud seed, and a defined, started domain."""
    disk, seed = _files(settings, node)
    run("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", settings.base_image, str(disk))
    with tempfile.TemporaryDirectory() as work:
        for name, text in (("user-data", render_user_data(settings, node)),
                           ("meta-data", render_meta_data(settings, node)),
                           ("network-config", render_network_config(settings, node))):
            (Path(work) / name).write_text(text)
        run("genisoimage", "-quiet", "-output", str(seed), "-volid", "cidata", "-joliet", "-rock",
            f"{work}/user-data", f"{work}/meta-data", f"{work}/network-config")
        (Path(work) / "domain.xml").write_text(_domain_xml(settings, node, domain_type(), disk, seed))
        virsh("define", f"{work}/domain.xml")
    virsh("start", settings.domain_name(node))


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


# What ssh prints when it fails before the command starts (sshd not listening yet, or restarted
# by cloud-init while the connection was being set up).
_DIAL_FAILURES = ("ssh: connect to host", "kex_exchange_identification", "Connection closed by",
                  "Connection reset by")


def ssh_dialing(settings: Settings, node: Node, command: str, stdin: str | None = None,
                timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Like pulumi-command: retry while the connection itself fails, never once the command ran."""
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


def remove(settings: Settings) -> None:
    """Destroy and undefine the domains, remove their files and the network."""
    for node in settings.nodes:
        virsh("destroy", settings.domain_name(node), check=False)
        virsh("undefine", settings.domain_name(node), check=False)
        for path in _files(settings, node):
            path.unlink(missing_ok=True)
    virsh("net-destroy", settings.network_name, check=False)
