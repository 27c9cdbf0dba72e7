#!/usr/bin/env bash
# Installs stdin as PATH (root-owned, MODE), only when its content or mode differ.
# Usage: install_file.sh PATH MODE < content
#   e.g. install_file.sh /usr/local/sbin/redis-ha-promotion-alert 0755 < scripts/promotion_alert.sh
set -euo pipefail
target="$1" mode="$2"
[[ "$mode" =~ ^0?[0-7]{3}$ ]] || { echo "error: MODE must be octal like 0755, not '$mode'" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/content"
[[ -s "$work/content" ]] || { echo "error: stdin is empty: nothing to install as $target" >&2; exit 2; }

if cmp -s "$work/content" "$target" && [[ "$(stat -c '%a %U:%G' "$target")" == "${mode#0} root:root" ]]; then
  echo "no change: $target in place"
  exit 0
fi
install -D -m "$mode" -o root -g root "$work/content" "$target"
echo "changed: wrote $target"
