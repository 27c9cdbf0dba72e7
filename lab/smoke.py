"""Lab check: boot a throwaway guest from the base image the way the program would configure a
node (same cloud-init renderers: bonded NICs, static address, our SSH key), reach it over SSH
inside the lab namespace, and run the program's own install step against the lab mirror,
twice (the second run must change nothing). Everything it creates is removed at the end.

Usage: .venv/bin/python lab/smoke.py   (as root, after lab/up.sh)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components.cloud_init import render_meta_data, render_network_config, render_user_data  # noqa: E402
from components.remote_script import command_line  # noqa: E402
from components.settings import Settings, load_settings  # noqa: E402

NAMESPACE = "redis-ha-lab"
URI = "qemu:///system"
LAB_DIR = Path("/var/lib/redis-ha-lab")
SSH_KEY = LAB_DIR / "ssh" / "id_ed25519"
POOL_DIR = LAB_DIR / "pool"
NETWORK = "redis-ha-lab-smoke"
BRIDGE = "rhl-smoke0"
CIDR = "192.168.151.0/24"
SSH_TIMEOUT_S = 900
MIRROR_PORT = 8080


def run(*argv: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, input=stdin, text=True, capture_output=True, check=check)


def virsh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("virsh", "-q", "-c", URI, *args, check=check)


def lab_settings() -> Settings:
    """The dev stack's settings, moved to a network of its own so the check never meets a stack."""
    stack = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    values = {key.removeprefix("redis-ha:"): str(value) for key, value in stack.items()}
    values.update({
        "networkCidr": CIDR,
        "networkName": NETWORK,
        "clusterName": "smoke",
        "packageMirror": f"http://192.168.151.1:{MIRROR_PORT}/debian",
        "sshPublicKey": SSH_KEY.with_suffix(".pub").read_text().strip(),
        "sshPrivateKey": SSH_KEY.read_text(),
        # Required by the validator, unused by this check.
        "haclusterPassword": "unused-in-smoke",
        "redisPassword": "unused-in-smoke-check",
    })
    return load_settings(values.get)


def domain_xml(settings: Settings, domain_type: str, disk: Path, seed: Path) -> str:
    node = settings.nodes[0]
    nics = "".join(
        f"<interface type='network'><source network='{NETWORK}'/><mac address='{mac}'/><model type='virtio'/></interface>"
        for mac in node.macs)
    tcg = "<tcg><tb-cache unit='MiB'>256</tb-cache></tcg>" if domain_type == "qemu" else ""
    return f"""<domain type='{domain_type}'>
  <name>redis-ha-smoke-{node.name}</name><memory unit='MiB'>{settings.memory_mib}</memory><vcpu>{settings.vcpus}</vcpu>
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


def ssh(settings: Settings, remote_command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("ip", "netns", "exec", NAMESPACE, "ssh", "-i", str(SSH_KEY), "-o", "BatchMode=yes",
               "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
               "-o", "LogLevel=ERROR", f"{settings.ssh_user}@{settings.nodes[0].ip}", remote_command, check=check)


def main() -> int:
    settings = lab_settings()
    node = settings.nodes[0]
    domain_type = (LAB_DIR / "images" / "domain-type").read_text().split()[0]
    disk = POOL_DIR / "smoke-disk.qcow2"
    seed = POOL_DIR / "smoke-seed.iso"
    started = time.monotonic()
    try:
        network_xml = (f"<network><name>{NETWORK}</name><bridge name='{BRIDGE}'/><dns enable='no'/>"
                       f"<ip address='{settings.gateway}' prefix='{settings.prefix_length}'/></network>")
        with tempfile.TemporaryDirectory() as work:
            (Path(work) / "net.xml").write_text(network_xml)
            virsh("net-create", f"{work}/net.xml")
            run("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", settings.base_image, str(disk))
            for name, text in (("user-data", render_user_data(settings, node)),
                               ("meta-data", render_meta_data(settings, node)),
                               ("network-config", render_network_config(settings, node))):
                (Path(work) / name).write_text(text)
            run("genisoimage", "-quiet", "-output", str(seed), "-volid", "cidata", "-joliet", "-rock",
                f"{work}/user-data", f"{work}/meta-data", f"{work}/network-config")
            (Path(work) / "domain.xml").write_text(domain_xml(settings, domain_type, disk, seed))
            virsh("create", f"{work}/domain.xml")
        print(f"smoke: booted redis-ha-smoke-{node.name} ({domain_type}) at {node.ip}", flush=True)

        deadline = time.monotonic() + SSH_TIMEOUT_S
        while ssh(settings, "true", check=False).returncode != 0:
            if time.monotonic() > deadline:
                print(f"smoke: FAILED: no SSH to {node.ip} within {SSH_TIMEOUT_S}s", file=sys.stderr)
                return 1
            time.sleep(3)
        print(f"smoke: SSH answered after {time.monotonic() - started:.0f}s", flush=True)

        wait = ssh(settings, command_line("wait_ready.sh", 600))
        print("smoke:", wait.stdout.strip())
        bond = ssh(settings, "cat /proc/net/bonding/bond0").stdout
        slaves = [line.split(":", 1)[1].strip() for line in bond.splitlines() if line.startswith("Slave Interface")]
        print(f"smoke: bond0 {'active-backup' if 'active-backup' in bond else 'NOT active-backup'}, slaves {slaves}")
        if "active-backup" not in bond or sorted(slaves) != ["nic0", "nic1"]:
            print(bond, file=sys.stderr)
            return 1

        install = command_line("install_packages.sh", settings.package_mirror, "true")
        for attempt in (1, 2):
            began = time.monotonic()
            result = ssh(settings, install, check=False)
            last = result.stdout.strip().splitlines()[-1:] or [""]
            print(f"smoke: install run {attempt}: rc={result.returncode} in {time.monotonic() - began:.0f}s: {last[0]}")
            if result.returncode != 0:
                print(result.stdout[-3000:], result.stderr[-3000:], file=sys.stderr)
                return 1
        if not last[0].startswith("no change"):
            print("smoke: FAILED: the second install run changed something", file=sys.stderr)
            return 1
        versions = ssh(settings, "dpkg-query -W pcs pacemaker corosync redis-server firewalld").stdout
        print("smoke: installed:", " ".join(versions.split()))
        print(f"smoke: OK in {time.monotonic() - started:.0f}s")
        return 0
    finally:
        virsh("destroy", f"redis-ha-smoke-{node.name}", check=False)
        virsh("net-destroy", NETWORK, check=False)
        disk.unlink(missing_ok=True)
        seed.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
