#!/usr/bin/env bash
# Prints the libvirt domain type to use: kvm only if a guest kernel really boots under KVM
# (opening /dev/kvm is not enough: a paravirtual KVM may refuse Debian's kernel), else qemu.
# The answer is cached per kernel. Usage: lab/detect_accel.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$here/env.sh"

cache="$LAB_RELEASE_IMAGES/domain-type"
kernel_hash="$(sha256sum "$LAB_RELEASE_IMAGES/vmlinuz" | cut -c1-16)"
if [[ -s "$cache" && "$(cut -d' ' -f2 "$cache")" == "$kernel_hash" ]]; then
  cut -d' ' -f1 "$cache"
  exit 0
fi

domain_type=qemu
if [[ -r /dev/kvm && -w /dev/kvm ]]; then
  # A kernel that reaches its init under KVM within the limit is proof enough; TCG would be
  # slower but is not what is being asked.
  # rdinit=/bin/false makes the kernel panic as soon as it starts init; with panic=-1 and
  # -no-reboot qemu then exits. A kernel that hangs is stopped by the timeout.
  boot_log="$(mktemp)"
  timeout 90 qemu-system-x86_64 -enable-kvm -cpu host -m 512 -nic none -nographic -no-reboot \
    -kernel "$LAB_RELEASE_IMAGES/vmlinuz" -initrd "$LAB_RELEASE_IMAGES/initrd.img" \
    -append "console=ttyS0 panic=-1 rdinit=/bin/false" > "$boot_log" 2>&1 < /dev/null || true
  if grep -q "Run /bin/false as init process" "$boot_log"; then
    domain_type=kvm
  fi
  rm -f "$boot_log"
fi
echo "$domain_type $kernel_hash" > "$cache"
echo "$domain_type"
