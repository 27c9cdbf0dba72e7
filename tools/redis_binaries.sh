#!/usr/bin/env bash
# The distribution's redis-server and redis-cli, unpacked (not installed: no service starts)
# into DIR, for the unit tests that run the rendered redis.conf in real servers on loopback.
# Usage: tools/redis_binaries.sh DIR
set -euo pipefail

dir="$1"
if [[ -x "$dir/usr/bin/redis-server" && -x "$dir/usr/bin/redis-cli" ]]; then
  echo "no change: $dir holds redis-server and redis-cli"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# apt downloads as the _apt user where it can.
chmod 0755 "$work"
packages=(redis-server redis-tools libjemalloc2 liblzf1)
# A fresh machine may have no package lists yet.
(cd "$work" && apt-get download -q "${packages[@]}" >/dev/null 2>&1) \
  || { apt-get update -q >/dev/null && (cd "$work" && apt-get download -q "${packages[@]}" >/dev/null); } \
  || { echo "error: apt-get download ${packages[*]} failed" >&2; exit 1; }
mkdir -p "$dir"
for deb in "$work"/*.deb; do
  dpkg-deb -x "$deb" "$dir"
done
echo "changed: unpacked $(cd "$work" && echo *.deb) into $dir"
