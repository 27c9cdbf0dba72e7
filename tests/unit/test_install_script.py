"""install_packages.sh against stand-ins for dpkg-query, apt-get and apt-cache: what it asks
apt to install, and how it refuses when the package source lacks something."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from components.remote_script import SCRIPTS_DIR
from tests.unit.conftest import path_with_stubs

# dpkg-query: the packages in $MISSING are not installed. apt-cache policy: the packages in
# $UNAVAILABLE have no candidate. apt-get: every call is appended to $CALLS.
STUBS = {
    "dpkg-query": 'for p in $MISSING; do [[ "${*: -1}" == "$p" ]] && exit 1; done; printf "install ok installed"',
    "apt-cache": 'for p in $UNAVAILABLE; do [[ "${*: -1}" == "$p" ]] && { printf "%s:\\n  Candidate: (none)\\n" "$p";'
                 ' exit 0; }; done; printf "%s:\\n  Candidate: 1.0-1\\n" "${*: -1}"',
    "apt-get": 'echo "$*" >> "$CALLS"',
}


def _debian_family() -> bool:
    release = Path("/etc/os-release").read_text()
    return any(f"{key}={value}" in release or f'{key}="{value}' in release
               for key in ("ID", "ID_LIKE") for value in ("debian", "ubuntu"))


def run_install(tmp_path: Path, missing: str, unavailable: str) -> tuple[subprocess.CompletedProcess[str], str]:
    if not _debian_family():
        pytest.skip("install_packages.sh picks apt from /etc/os-release: needs a Debian-family host")
    calls = tmp_path / "calls"
    calls.touch()
    env = {**os.environ, "PATH": path_with_stubs(tmp_path, STUBS), "MISSING": missing, "UNAVAILABLE": unavailable,
           "CALLS": str(calls)}
    result = subprocess.run(["bash", str(SCRIPTS_DIR / "install_packages.sh"), "", "false"],
                            capture_output=True, text=True, env=env, check=False)
    return result, calls.read_text()


def test_installs_only_what_is_missing(tmp_path: Path) -> None:
    result, calls = run_install(tmp_path, missing="fence-virt redis-server", unavailable="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("changed: installed fence-virt redis-server")
    assert calls.splitlines()[-1] == "install -q -y --no-install-recommends fence-virt redis-server"


def test_names_every_package_the_source_lacks_before_installing_anything(tmp_path: Path) -> None:
    result, calls = run_install(tmp_path, missing="fence-virt redis-server pcs", unavailable="fence-virt pcs")
    assert result.returncode == 1
    assert "not available from the apt sources configured on the node" in result.stderr
    assert ": pcs fence-virt;" in result.stderr and "packageMirror" in result.stderr
    assert not any(call.startswith("install") for call in calls.splitlines())


def test_nothing_missing_is_no_change(tmp_path: Path) -> None:
    result, calls = run_install(tmp_path, missing="", unavailable="fence-virt")
    assert result.returncode == 0
    assert result.stdout.startswith("no change: all")
    assert calls == ""
