#!/usr/bin/env bash
# mmdebstrap customize hook: turns the root filesystem into a cloud image for direct kernel
# boot with the NoCloud seed. Usage: image_customize.sh ROOTFS
set -euo pipefail
rootfs="$1"

echo "/dev/vda / ext4 defaults,errors=remount-ro 0 1" > "$rootfs/etc/fstab"
printf 'datasource_list: [ NoCloud, None ]\n' > "$rootfs/etc/cloud/cloud.cfg.d/90-datasource.cfg"
# The image has no locales package; cloud-init's locale module would fail without it.
printf 'locale: false\n' > "$rootfs/etc/cloud/cloud.cfg.d/91-no-locale.cfg"
# e2scrub_reap cost 28-42 s of every boot under TCG.
ln -sf /dev/null "$rootfs/etc/systemd/system/e2scrub_reap.service"
# mmdebstrap copies the build host's resolv.conf, whose resolver the guests cannot reach
# (every lookup then waits for the timeout). Lab guests have no DNS: /etc/hosts only.
printf '# redis-ha lab: no DNS server; names come from /etc/hosts\n' > "$rootfs/etc/resolv.conf"
# Per-instance identity is made at first boot, not shared by every guest of the image.
rm -f "$rootfs"/etc/ssh/ssh_host_* "$rootfs/var/lib/dbus/machine-id"
: > "$rootfs/etc/machine-id"
