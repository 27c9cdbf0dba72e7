#!/usr/bin/env bash
# Builds the Pulumi pieces this machine cannot download and installs them where Pulumi looks:
# - the CLI, from Go modules (tools/pulumi-cli/go.mod pins it to requirements.txt's pulumi),
#   into .tools/bin;
# - the Python language host (+ its exec shim) into .tools/bin, and the command and libvirt
#   resource plugins into the project's PULUMI_HOME (.pulumi-home), from the upstream source
#   tarballs in PLUGIN_SRC (an offline plugin source cache), each checked against the sha256
#   pinned in tools/plugin-sources.tsv and against the SDK version pinned in requirements.txt.
# Every build is cached by a hash of its inputs (TOOLCHAIN_CACHE), so a second run copies or
# does nothing and says "no change". A pulumi of the right version already on PATH is used.
# Usage: tools/build_toolchain.sh
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
sources="$root/tools/plugin-sources.tsv"
export PULUMI_HOME="$root/.pulumi-home" PULUMI_SKIP_UPDATE_CHECK=true
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
# Only the module proxy: a module it lacks must fail with its answer, not fall back to cloning
# a repository from a host this machine cannot reach.
GOPROXY="$(go env GOPROXY)"
export GOPROXY="${GOPROXY%,direct}"

if [[ -z "${TOOLCHAIN_CACHE:-}" ]]; then
  # Beside the lab's image and mirror when we may write there: a CI run on the same machine reuses it.
  if [[ $EUID -eq 0 ]]; then TOOLCHAIN_CACHE=/var/lib/redis-ha-lab/toolchain; else TOOLCHAIN_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/redis-ha-toolchain"; fi
fi
if [[ -z "${PLUGIN_SRC:-}" ]]; then
  for candidate in "$root/../shared/toolchain-src" /work/shared/toolchain-src; do
    if [[ -d "$candidate" ]]; then PLUGIN_SRC="$(cd "$candidate" && pwd)"; break; fi
  done
fi
mkdir -p "$bin" "$TOOLCHAIN_CACHE" "$PULUMI_HOME"
go_version="$(go env GOVERSION)"
started_all=$SECONDS
changes=()

pinned() {
  # The version pinned for a Python package in requirements.txt.
  awk -F'==' -v name="$1" '$1 == name {print $2}' "$root/requirements.txt"
}

source_row() {
  # The tools/plugin-sources.tsv row of one name: kind sdk version tarball sha256.
  awk -F'\t' -v name="$1" '$1 == name {print $2, $3, $4, $5, $6}' "$sources"
}

verified_tarball() {
  # Prints the tarball's path once it exists and has the pinned sha256; fails naming the file.
  local name="$1" sdk version tarball sha256
  read -r _ sdk version tarball sha256 <<<"$(source_row "$name")"
  if [[ -z "${PLUGIN_SRC:-}" ]]; then
    echo "error: no plugin source folder: set PLUGIN_SRC to the folder holding $tarball" >&2
    return 1
  fi
  if [[ ! -f "$PLUGIN_SRC/$tarball" ]]; then
    echo "error: $PLUGIN_SRC/$tarball is missing (PLUGIN_SRC; the sources are listed in tools/plugin-sources.tsv)" >&2
    return 1
  fi
  local actual
  actual="$(sha256sum "$PLUGIN_SRC/$tarball" | cut -d' ' -f1)"
  if [[ "$actual" != "$sha256" ]]; then
    echo "error: $PLUGIN_SRC/$tarball has sha256 $actual, tools/plugin-sources.tsv pins $sha256: refusing to build it" >&2
    return 1
  fi
  if [[ "$sdk" != "-" && "$version" != "$(pinned "$sdk")" ]]; then
    echo "error: $tarball is version $version but requirements.txt pins $sdk==$(pinned "$sdk"): the plugin must match its SDK" >&2
    return 1
  fi
  if [[ "$tarball" != *"-v$version"[.-]* ]]; then
    echo "error: $tarball does not carry version v$version in its name (tools/plugin-sources.tsv)" >&2
    return 1
  fi
  echo "$PLUGIN_SRC/$tarball"
}

cache_key() {
  # What a cached build was made from: its inputs' hashes and the Go version.
  printf '%s\n' "$@" "$go_version" | sha256sum | cut -c1-16
}

install_if_different() {
  local from="$1" to="$2"
  if ! cmp -s "$from" "$to"; then
    install -m 0755 "$from" "$to"
    changes+=("installed $(basename "$to")")
  fi
}

pulumi_cli="$bin/pulumi"
build_cli() {
  local version="$1"
  if command -v pulumi >/dev/null && [[ "$(command -v pulumi)" != "$bin/pulumi" ]] \
     && [[ "$(pulumi version 2>/dev/null)" == "v$version" ]]; then
    pulumi_cli="$(command -v pulumi)"
    echo "no change: using $pulumi_cli (v$version)"
    return
  fi
  if ! grep -q "github.com/pulumi/pulumi/pkg/v3 v$version\$" "$root/tools/pulumi-cli/go.mod"; then
    echo "error: tools/pulumi-cli/go.mod does not pin pkg/v3 v$version (requirements.txt pulumi==$version)" >&2
    exit 1
  fi
  local cached
  cached="$TOOLCHAIN_CACHE/pulumi-v$version-$(cache_key "$(sha256sum < "$root/tools/pulumi-cli/go.sum")")"
  if [[ ! -x "$cached" ]]; then
    local started=$SECONDS
    (cd "$root/tools/pulumi-cli" && go build -trimpath -o "$cached.tmp" \
      -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
    mv "$cached.tmp" "$cached"
    echo "built: pulumi v$version in $((SECONDS - started))s"
  fi
  install_if_different "$cached" "$bin/pulumi"
}

build_language_host() {
  local tarball version cached work
  tarball="$(verified_tarball python)"
  version="$(pinned pulumi)"
  cached="$TOOLCHAIN_CACHE/language-python-v$version-$(cache_key "$(sha256sum < "$tarball")")"
  if [[ ! -x "$cached/pulumi-language-python" ]]; then
    local started=$SECONDS
    work="$(mktemp -d)"
    tar -xzf "$tarball" -C "$work"
    (
      cd "$work"/*/sdk/python/cmd/pulumi-language-python
      # Upstream builds it inside the pulumi repository: point it at the released SDK modules
      # of the same version instead of the repository's folders.
      go mod edit -dropreplace=github.com/pulumi/pulumi/pkg/v3 -dropreplace=github.com/pulumi/pulumi/sdk/v3 \
        -require="github.com/pulumi/pulumi/pkg/v3@v$version" -require="github.com/pulumi/pulumi/sdk/v3@v$version"
      GOFLAGS="$GOFLAGS -mod=mod" go mod tidy
      go build -trimpath -o "$work/out/pulumi-language-python" \
        -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" .
      # The host runs this shim, and finds it next to its own binary.
      install -m 0755 ../pulumi-language-python-exec "$work/out/pulumi-language-python-exec"
    )
    rm -rf "$cached"
    mv "$work/out" "$cached"
    rm -rf "$work"
    echo "built: pulumi-language-python v$version in $((SECONDS - started))s"
  fi
  install_if_different "$cached/pulumi-language-python" "$bin/pulumi-language-python"
  install_if_different "$cached/pulumi-language-python-exec" "$bin/pulumi-language-python-exec"
}

build_resource_plugin() {
  local name="$1" tarball version cached work extra=()
  tarball="$(verified_tarball "$name")"
  version="$(pinned "pulumi-$name")"
  local inputs=("$(sha256sum < "$tarball")")
  if [[ "$name" == libvirt ]]; then
    extra=("$(verified_tarball terraform-provider-libvirt)")
    inputs+=("$(sha256sum < "${extra[0]}")")
  fi
  cached="$TOOLCHAIN_CACHE/resource-$name-v$version-$(cache_key "${inputs[@]}")"
  if [[ ! -x "$cached" ]]; then
    local started=$SECONDS
    work="$(mktemp -d)"
    tar -xzf "$tarball" -C "$work"
    for source in "${extra[@]}"; do tar -xzf "$source" -C "$work"; done
    (
      cd "$work/pulumi-$name-provider-v$version/provider"
      if [[ "$name" == libvirt ]]; then
        # pulumi-libvirt bridges terraform-provider-libvirt, whose v0.8.1 the proxy refuses:
        # use the pinned source tree; main.go embeds the schema that generate.go versions.
        go mod edit -replace "github.com/dmacvicar/terraform-provider-libvirt=$(echo "$work"/terraform-provider-libvirt-v*)"
        (cd "cmd/pulumi-resource-$name" && VERSION="$version" go run ./generate.go)
      fi
      go build -trimpath -o "$cached.tmp" \
        -ldflags "-X github.com/pulumi/pulumi-$name/provider/pkg/version.Version=$version" "./cmd/pulumi-resource-$name"
    )
    mv "$cached.tmp" "$cached"
    rm -rf "$work"
    echo "built: pulumi-resource-$name v$version in $((SECONDS - started))s"
  fi
  # Installed as a plugin, not put on PATH: the engine prefers PATH and would warn about it.
  local installed="$PULUMI_HOME/plugins/resource-$name-v$version/pulumi-resource-$name"
  if ! cmp -s "$cached" "$installed"; then
    "$pulumi_cli" plugin install resource "$name" "$version" --file "$cached" --reinstall >/dev/null
    changes+=("installed plugin $name $version")
  fi
}

build_cli "$(pinned pulumi)"
build_language_host
build_resource_plugin command
build_resource_plugin libvirt

if [[ ${#changes[@]} -eq 0 ]]; then
  echo "no change: pulumi $(pinned pulumi), language host, plugins command $(pinned pulumi-command)" \
       "and libvirt $(pinned pulumi-libvirt) in place ($((SECONDS - started_all))s)"
else
  echo "changed: ${changes[*]} ($((SECONDS - started_all))s)"
fi
