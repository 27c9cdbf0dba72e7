#!/usr/bin/env bash
# Builds the Pulumi engine pieces this machine cannot download, from Go modules, pinned to the
# Python SDK versions in requirements.txt, into .tools/bin (git-ignored). Builds are cached
# per version under ${XDG_CACHE_HOME:-~/.cache}/redis-ha-toolchain, so a rebuild is a copy.
# A pulumi of the right version already on PATH is used as it is.
# Usage: tools/build_toolchain.sh
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/redis-ha-toolchain"
export PULUMI_SKIP_UPDATE_CHECK=true

pinned() {
  # The version pinned for a Python package in requirements.txt.
  awk -F'==' -v name="$1" '$1 == name {print $2}' "$root/requirements.txt"
}

sdk_version="$(pinned pulumi)"
if ! grep -q "github.com/pulumi/pulumi/pkg/v3 v$sdk_version\$" "$root/tools/pulumi-cli/go.mod"; then
  echo "error: tools/pulumi-cli/go.mod does not pin pkg/v3 v$sdk_version (requirements.txt pulumi==$sdk_version)" >&2
  exit 1
fi

mkdir -p "$bin"
if command -v pulumi >/dev/null && [[ "$(command -v pulumi)" != "$bin/pulumi" ]] \
   && [[ "$(pulumi version 2>/dev/null)" == "v$sdk_version" ]]; then
  echo "no change: using $(command -v pulumi) (v$sdk_version)"
elif [[ -x "$bin/pulumi" && "$("$bin/pulumi" version)" == "v$sdk_version" ]]; then
  echo "no change: .tools/bin/pulumi is v$sdk_version"
else
  cached="$cache/pulumi-v$sdk_version"
  if [[ ! -x "$cached" ]]; then
    started=$SECONDS
    mkdir -p "$cache"
    (cd "$root/tools/pulumi-cli" && CGO_ENABLED=0 go build -trimpath -o "$cached.tmp" \
      -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$sdk_version" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
    mv "$cached.tmp" "$cached"
    echo "built: pulumi v$sdk_version in $((SECONDS - started))s"
  fi
  cp "$cached" "$bin/pulumi"
  echo "installed: .tools/bin/pulumi $("$bin/pulumi" version)"
fi

# What the Go module proxy reachable here does not serve. Checked every run, so the day it
# does, this script says so instead of pretending.
missing=0
check_module() {
  local what="$1" module="$2"
  local answer
  if answer="$(cd "$root/tools/pulumi-cli" && GOFLAGS=-mod=mod go mod download -json "$module" 2>&1)" \
     && ! grep -q '"Error"' <<<"$answer"; then
    echo "available but not built yet: $what ($module)"
  else
    echo "blocked: $what: $(grep -o '"Error": *"[^"]*' <<<"$answer" | sed 's/"Error": *"//' | head -n1)" >&2
  fi
  missing=1
}
check_module "Python language host" "github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3@v$sdk_version"
check_module "command provider $(pinned pulumi-command)" "github.com/pulumi/pulumi-command/provider@latest"
check_module "libvirt provider $(pinned pulumi-libvirt)" "github.com/pulumi/pulumi-libvirt/provider@latest"
exit "$missing"
