#!/usr/bin/env bash
# Installs the cluster packages and the Redis-protocol server with the distribution's package
# manager (apt on Debian-family, dnf with the HighAvailability repository on RHEL-family).
# Usage: install_packages.sh MIRROR_URL|"" INSECURE(true|false) SERVER(redis|valkey) MONITORING(exporters|none)
#        install_packages.sh --list debian|rhel SERVER [CODENAME]   (prints the package names,
#        the exporters' included; the lab's mirror is built from this list, so it lives in one place)
# The exporters (monitoring exporters) are removed by monitoring_remove.sh, not here.
# MIRROR_URL, when set, is the only package source used (hosts without internet).
set -euo pipefail

# mmdebstrap-like minimal images lack several Recommends that the stack needs at run time
# (crm_mon for pcs, /etc/protocols for firewalld, xmllint for the redis agent), so they are
# named explicitly and Recommends are not pulled in. hacluster_password.sh hashes with perl
# (perl-base is essential on Debian).
debian_packages=(pcs pacemaker pacemaker-cli-utils corosync corosync-qdevice fence-virt resource-agents
                 firewalld netbase ipset iptables libxml2-utils net-tools python3)
# The fence agents' shared files. From Debian 13 on, fence-agents is a transitional package for
# fence-agents-all (every cloud's agent and their Python libraries, ~280 packages more); the
# cluster fences with fence_xvm (fence-virt), which needs only the common files.
debian_fence_agents() {
  if [[ "$1" == bookworm ]]; then echo fence-agents; else echo fence-agents-common; fi
}
rhel_packages=(pcs pacemaker corosync corosync-qdevice fence-agents-all fence-virt resource-agents firewalld python3
               perl-interpreter)
# Debian's Prometheus exporters; RHEL-family repositories have no counterparts of the first two.
monitoring_packages=(prometheus-hacluster-exporter prometheus-redis-exporter prometheus-node-exporter)
declare -A server_packages=([debian:redis]="redis-server redis-tools" [debian:valkey]="valkey-server valkey-tools"
                            [rhel:redis]="redis" [rhel:valkey]="valkey")

if [[ "$1" == "--list" ]]; then
  packages_var="${2}_packages[@]"
  printf '%s\n' "${!packages_var}"
  read -r -a extra <<<"${server_packages[$2:$3]}"
  printf '%s\n' "${extra[@]}"
  if [[ "$2" == debian ]]; then
    printf '%s\n' "${monitoring_packages[@]}"
    debian_fence_agents "${4:?--list debian needs the release codename}"
  fi
  exit 0
fi
mirror="$1"
insecure="$2"
server="$3"
monitoring="$4"

# shellcheck source=/dev/null
. /etc/os-release
family=""
for id in ${ID:-} ${ID_LIKE:-}; do
  case "$id" in
    debian|ubuntu) family=debian; break ;;
    rhel|centos|fedora|rocky|almalinux) family=rhel; break ;;
  esac
done

install_debian() {
  local packages=("${debian_packages[@]}") extra
  read -r -a extra <<<"${server_packages[debian:$server]}"
  packages+=("${extra[@]}" "$(debian_fence_agents "${VERSION_CODENAME:?no VERSION_CODENAME in os-release}")")
  [[ "$monitoring" == exporters ]] && packages+=("${monitoring_packages[@]}")
  local missing=()
  local package
  for package in "${packages[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" != "install ok installed" ]]; then
      missing+=("$package")
    fi
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "no change: all ${#packages[@]} packages already installed"
    return
  fi
  local apt_options=()
  if [[ -n "$mirror" ]]; then
    local list=/etc/apt/redis-ha-mirror.list
    local trust=""
    [[ "$insecure" == "true" ]] && trust="[trusted=yes] "
    printf 'deb %s%s %s main\n' "$trust" "$mirror" "${VERSION_CODENAME:?no VERSION_CODENAME in os-release}" > "$list"
    apt_options=(-o "Dir::Etc::sourcelist=$list" -o "Dir::Etc::sourceparts=-")
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get "${apt_options[@]}" update -q
  # apt stops at the first name it cannot find: name every one, and where they were looked for.
  local unavailable=() policy
  for package in "${missing[@]}"; do
    policy="$(apt-cache "${apt_options[@]}" policy "$package" 2>/dev/null)"
    [[ "$policy" =~ Candidate:\ [^\(] ]] || unavailable+=("$package")
  done
  if [[ ${#unavailable[@]} -gt 0 ]]; then
    echo "error: not available from ${mirror:-the apt sources configured on the node} for ${VERSION_CODENAME}: ${unavailable[*]};" \
         "check that packageMirror serves them (the list: install_packages.sh --list debian)" >&2
    exit 1
  fi
  # What apt removes to make room, said out loud. On Debian 13 that is cloud-init: it conflicts
  # with firewalld (their boot orderings form a cycle). It configured this node at first boot and
  # what it wrote stays (network, hostname, users, host key); a rebooted node does without it.
  local install=(apt-get "${apt_options[@]}" install -q -y --no-install-recommends "${missing[@]}")
  local removed
  removed="$("${install[@]}" -s | awk '$1 == "Remv" {printf "%s%s", sep, $2; sep=" "}')"
  # A dpkg run can die of a fault of the node rather than of a package: on an emulated node in
  # CI (2026-12-07) dpkg-split crashed with a general protection fault mid-unpack, and apt exited
  # 100. dpkg then finishes what that run left half done and apt is asked once more; a package
  # that really fails to install fails again, with apt's error.
  if ! "${install[@]}"; then
    echo "apt-get install failed: finishing dpkg's interrupted run and asking apt once more" >&2
    dpkg --configure -a
    "${install[@]}"
  fi
  echo "changed: installed ${missing[*]}${removed:+; removed $removed, which conflicts with them}"
}

install_rhel() {
  local packages=("${rhel_packages[@]}") extra
  read -r -a extra <<<"${server_packages[rhel:$server]}"
  packages+=("${extra[@]}")
  if [[ "$monitoring" == exporters ]]; then
    echo "error: monitoring exporters installs ${monitoring_packages[*]}, which RHEL-family repositories do" \
         "not ship; set monitoring to none" >&2
    exit 1
  fi
  if rpm -q "${packages[@]}" >/dev/null 2>&1; then
    echo "no change: all ${#packages[@]} packages already installed"
    return
  fi
  local dnf_options=(-y)
  if [[ -n "$mirror" ]]; then
    local gpgcheck=1
    [[ "$insecure" == "true" ]] && gpgcheck=0
    printf '[redis-ha-mirror]\nname=redis-ha mirror\nbaseurl=%s\nenabled=1\ngpgcheck=%s\n' \
      "$mirror" "$gpgcheck" > /etc/yum.repos.d/redis-ha-mirror.repo
    dnf_options+=(--disablerepo='*' --enablerepo=redis-ha-mirror)
  else
    # The repository id differs between releases and rebuilds: highavailability (EL9
    # rebuilds), ha (EL8 rebuilds), rhel-N-for-ARCH-highavailability-rpms (RHEL).
    local repo
    repo="$(dnf repolist --all -q 2>/dev/null | awk 'tolower($1) ~ /^(ha|highavailability|rhel-[0-9]+-for-.*-highavailability-rpms)$/ {print $1; exit}')"
    if [[ -z "$repo" ]]; then
      echo "error: no HighAvailability repository found (dnf repolist --all); enable it or set packageMirror" >&2
      exit 1
    fi
    dnf_options+=(--enablerepo="$repo")
  fi
  dnf "${dnf_options[@]}" install "${packages[@]}"
  echo "changed: installed ${packages[*]}"
}

[[ -n "${server_packages[debian:$server]:-}" ]] || { echo "error: unknown server '$server' (redis or valkey)" >&2; exit 1; }
[[ "$monitoring" == exporters || "$monitoring" == none ]] \
  || { echo "error: unknown monitoring '$monitoring' (exporters or none)" >&2; exit 1; }
case "$family" in
  debian) install_debian ;;
  rhel) install_rhel ;;
  *) echo "error: unsupported distribution '${ID:-unknown}' (need Debian- or RHEL-family)" >&2; exit 1 ;;
esac
