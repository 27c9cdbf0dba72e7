#!/usr/bin/env bash
# Builds a local apt repository holding the cluster packages and everything they depend on,
# for guests without internet. The package list comes from scripts/install_packages.sh, the
# step that installs from it. Cached by a hash of its inputs.
# Usage: lab/build_mirror.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$here/env.sh"

mapfile -t packages < <(bash "$root/scripts/install_packages.sh" --list debian)
inputs_hash="$(lab_inputs_hash "$0" /etc/apt/sources.list.d/debian.sources <(printf '%s\n' "$LAB_SUITE" "${packages[@]}"))"
repo="$LAB_MIRROR/debian"
if lab_is_current "$repo/dists/$LAB_SUITE/Release" "$LAB_MIRROR/inputs.hash" "$inputs_hash"; then
  lab_log "no change: package mirror $repo (inputs $inputs_hash)"
  exit 0
fi

started=$SECONDS
rm -rf "$repo"
mkdir -p "$repo/pool/main" "$repo/dists/$LAB_SUITE/main/binary-amd64"
# Every real package in the dependency closure (virtual names are shown in <...>).
mapfile -t closure < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
  --no-breaks --no-replaces --no-enhances "${packages[@]}" | grep -v '^[ <]' | sort -u)
(cd "$repo/pool/main" && apt-get download -q "${closure[@]}" >/dev/null 2>&1) || {
  # apt-get download fails as a whole on one bad name: retry one by one to name it.
  for package in "${closure[@]}"; do
    (cd "$repo/pool/main" && apt-get download -q "$package" >/dev/null 2>&1) \
      || { echo "error: cannot download $package for the mirror" >&2; exit 1; }
  done
}
(cd "$repo" && dpkg-scanpackages --multiversion pool /dev/null 2>/dev/null > "dists/$LAB_SUITE/main/binary-amd64/Packages")
gzip -9 -k -f "$repo/dists/$LAB_SUITE/main/binary-amd64/Packages"
apt-ftparchive -o APT::FTPArchive::Release::Suite="$LAB_SUITE" \
  -o APT::FTPArchive::Release::Codename="$LAB_SUITE" -o APT::FTPArchive::Release::Components=main \
  -o APT::FTPArchive::Release::Architectures=amd64 release "$repo/dists/$LAB_SUITE" > "$LAB_MIRROR/Release.tmp"
mv "$LAB_MIRROR/Release.tmp" "$repo/dists/$LAB_SUITE/Release"
echo "$inputs_hash" > "$LAB_MIRROR/inputs.hash"
lab_log "built package mirror: ${#closure[@]} packages, $(du -sh "$repo" | cut -f1), in $((SECONDS - started))s"
