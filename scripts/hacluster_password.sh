#!/usr/bin/env bash
# Sets the hacluster user's password (read from stdin, never from the command line) and runs
# pcsd, which authenticates the nodes to each other with that password.
# Usage: hacluster_password.sh < password
set -euo pipefail

IFS= read -r password
changes=()

# Compare against the current hash instead of rewriting it, so a re-run changes nothing.
# The hash and the password go to python on stdin: neither appears in ps output.
current_hash="$(getent shadow hacluster | cut -d: -f2)"
if ! printf '%s\n%s' "$current_hash" "$password" | python3 -W ignore -c '
import crypt, sys
stored, candidate = sys.stdin.read().split("\n", 1)
sys.exit(0 if stored[:1] not in ("", "!", "*") and crypt.crypt(candidate, stored) == stored else 1)
'; then
  printf 'hacluster:%s\n' "$password" | chpasswd
  changes+=("set hacluster password")
fi

if ! systemctl is-enabled --quiet pcsd; then
  systemctl enable pcsd >/dev/null 2>&1
  changes+=("enabled pcsd")
fi
if ! systemctl is-active --quiet pcsd; then
  systemctl start pcsd
  changes+=("started pcsd")
fi

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: hacluster password set, pcsd running"
else
  echo "changed: ${changes[*]}"
fi
