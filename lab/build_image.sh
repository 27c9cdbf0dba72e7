#!/usr/bin/env bash
# Builds the lab's base image of LAB_RELEASE from Debian packages, like a vendor's cloud image:
# kernel, cloud-init (NoCloud), openssh, netplan; without the cluster packages, so that the
# program's install step really installs them. Cached by a hash of its inputs.
# Usage: lab/build_image.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$here/env.sh"

packages=(linux-image-amd64 initramfs-tools systemd-sysv udev dbus cloud-init openssh-server
          sudo netplan.io iproute2 netbase ca-certificates e2fsprogs python3 less procps)
sources="$(mktemp --suffix=.sources)"
trap 'rm -f "$sources"' EXIT
lab_sources > "$sources"
inputs_hash="$(lab_inputs_hash "$0" "$here/image_customize.sh" "$sources")"
image="$LAB_RELEASE_IMAGES/base.qcow2"
if lab_is_current "$image" "$LAB_RELEASE_IMAGES/inputs.hash" "$inputs_hash"; then
  lab_log "no change: base image $image (inputs $inputs_hash)"
  exit 0
fi

started=$SECONDS
work="$(mktemp -d "$LAB_DIR/image-build.XXXX")"
trap 'rm -rf "$work" "$sources"' EXIT
mkdir -p "$LAB_RELEASE_IMAGES"

# The same sources as the package mirror (lab_sources), so image and mirror agree on versions.
mmdebstrap --quiet --variant=apt --include="$(IFS=,; echo "${packages[*]}")" \
  --customize-hook="\"$here/image_customize.sh\" \"\$1\"" \
  "$LAB_SUITE" "$work/rootfs" "$sources"

cp "$work"/rootfs/boot/vmlinuz-* "$LAB_RELEASE_IMAGES/vmlinuz"
cp "$work"/rootfs/boot/initrd.img-* "$LAB_RELEASE_IMAGES/initrd.img"
mkfs.ext4 -q -F -L root -d "$work/rootfs" "$work/root.raw" 4G
qemu-img convert -O qcow2 "$work/root.raw" "$image.tmp"
mv "$image.tmp" "$image"
echo "$inputs_hash" > "$LAB_RELEASE_IMAGES/inputs.hash"
lab_log "built base image $image ($(du -h "$image" | cut -f1)) in $((SECONDS - started))s"
