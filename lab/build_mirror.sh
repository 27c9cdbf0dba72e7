#!/usr/bin/env bash
# Builds a local apt repository holding the cluster packages and everything they depend on,
# for guests of LAB_RELEASE without internet: one suite per release in one repository. The
# package list comes from scripts/install_packages.sh, the step that installs from it. apt
# resolves and downloads with state of its own (the lab's sources, not the host's). Cached by a
# hash of its inputs.
# Usage: lab/build_mirror.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
# shellcheck source-path=SCRIPTDIR source=env.sh
. "$here/env.sh"

# Every server the release has (Debian 12 has no Valkey).
servers=(redis)
[[ "$LAB_SUITE" == bookworm ]] || servers+=(valkey)
mapfile -t packages < <(for server in "${servers[@]}"; do
  bash "$root/scripts/install_packages.sh" --list debian "$server" "$LAB_SUITE"; done | sort -u)
apt_dir="$LAB_MIRROR/apt-$LAB_SUITE"
mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
lab_sources > "$apt_dir/sources.list.d/lab.sources"
inputs_hash="$(lab_inputs_hash "$0" "$apt_dir/sources.list.d/lab.sources" <(printf '%s\n' "${packages[@]}"))"
repo="$LAB_MIRROR/debian"
if lab_is_current "$repo/dists/$LAB_SUITE/Release" "$LAB_MIRROR/inputs.$LAB_SUITE.hash" "$inputs_hash"; then
  lab_log "no change: package mirror $repo, suite $LAB_SUITE (inputs $inputs_hash)"
  exit 0
fi

started=$SECONDS
: > "$apt_dir/status"
apt_options=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
             -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::State::status=$apt_dir/status"
             -o "Dir::Cache=$apt_dir/cache" -o "APT::Architecture=amd64" -o "APT::Architectures=amd64")
apt-get "${apt_options[@]}" update -q >/dev/null
pool="pool/$LAB_SUITE"
rm -rf "${repo:?}/$pool" "$repo/dists/$LAB_SUITE"
mkdir -p "$repo/$pool" "$repo/dists/$LAB_SUITE/main/binary-amd64"
# Every real package in the dependency closure (virtual names are shown in <...>).
mapfile -t closure < <(apt-cache "${apt_options[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
  --no-breaks --no-replaces --no-enhances "${packages[@]}" | grep -v '^[ <]' | sort -u)
(cd "$repo/$pool" && apt-get "${apt_options[@]}" download -q "${closure[@]}" >/dev/null 2>&1) || {
  # apt-get download fails as a whole on one bad name: retry one by one to name it.
  for package in "${closure[@]}"; do
    (cd "$repo/$pool" && apt-get "${apt_options[@]}" download -q "$package" >/dev/null 2>&1) \
      || { echo "error: cannot download $package ($LAB_SUITE) for the mirror" >&2; exit 1; }
  done
}
(cd "$repo" && dpkg-scanpackages --multiversion "$pool" /dev/null 2>/dev/null > "dists/$LAB_SUITE/main/binary-amd64/Packages")
gzip -9 -k -f "$repo/dists/$LAB_SUITE/main/binary-amd64/Packages"
apt-ftparchive -o APT::FTPArchive::Release::Suite="$LAB_SUITE" \
  -o APT::FTPArchive::Release::Codename="$LAB_SUITE" -o APT::FTPArchive::Release::Components=main \
  -o APT::FTPArchive::Release::Architectures=amd64 release "$repo/dists/$LAB_SUITE" > "$LAB_MIRROR/Release.tmp"
mv "$LAB_MIRROR/Release.tmp" "$repo/dists/$LAB_SUITE/Release"
echo "$inputs_hash" > "$LAB_MIRROR/inputs.$LAB_SUITE.hash"
lab_log "built package mirror suite $LAB_SUITE: ${#closure[@]} packages, $(du -sh "$repo/$pool" | cut -f1), in $((SECONDS - started))s"
