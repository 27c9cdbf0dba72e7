"""The lab's Pulumi stacks, run by the real engine (the CLI and plugins `make toolchain` builds)
through the Automation API, with the local file backend in .pulumi-state.

A lab stack's configuration is Pulumi.dev.yaml's (the lab's settings, no secrets) plus the lab's
SSH key and passwords generated once per stack. It lives in .pulumi-state/<stack>.config.yaml,
secrets encrypted with a generated passphrase (.pulumi-state/passphrase, 0600), and every engine
command reads it through --config-file: the committed Pulumi.dev.yaml never holds a machine's
secrets.

Usage (root, inside the lab namespace; `make up` / `make preview` / `make down` run it):
    python -m lab.stack up|preview|refresh|destroy|outputs|config|cancel [--stack NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pulumi import automation as auto

from components.settings import KEYS_BY_NAME, Settings, load_settings
from lab import guests

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".pulumi-state"
PASSPHRASE = STATE / "passphrase"
TOOLS = ROOT / ".tools"
PULUMI_HOME = ROOT / ".pulumi-home"
PROJECT = "redis-ha"
LAB_SETTINGS = ROOT / "Pulumi.dev.yaml"


def engine_env() -> dict[str, str]:
    """What every engine command here runs with: the toolchain's CLI and plugins, the local file
    backend, the passphrase file, and no update check."""
    return {
        "PATH": f"{TOOLS / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "PULUMI_HOME": str(PULUMI_HOME),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_BACKEND_URL": f"file://{STATE}",
        "PULUMI_CONFIG_PASSPHRASE_FILE": str(PASSPHRASE),
    }


def pulumi_cli(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    # The CLI's non-interactive commands; check=False for callers that report the error themselves
    # (a CalledProcessError would print the arguments, and stdin may hold a secret).
    result = subprocess.run([str(TOOLS / "bin" / "pulumi"), *args, "--non-interactive"], input=stdin, text=True,
                            capture_output=True, cwd=ROOT, env={**os.environ, **engine_env()}, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"pulumi {args[0]} {args[1] if len(args) > 1 else ''} failed: {result.stderr.strip()}")
    return result


def lab_release() -> str:
    """The guests' release the lab was built for (lab/env.sh: debian-13 unless LAB_RELEASE says)."""
    return os.environ.get("LAB_RELEASE") or "debian-13"


def lab_settings() -> dict[str, str]:
    """Pulumi.dev.yaml's values, keys without the project prefix; the image, kernel and initrd of
    the lab's release (lab/env.sh keeps each release's in images/<release>/)."""
    stack = yaml.safe_load(LAB_SETTINGS.read_text())["config"]
    values = {key.removeprefix(f"{PROJECT}:"): str(value) for key, value in stack.items()}
    for key in ("baseImage", "kernel", "initrd"):
        values[key] = values[key].replace("/images/debian-13/", f"/images/{lab_release()}/")
    # The server of the lab's stacks: redis unless REDIS_SERVER says valkey.
    values["redisServer"] = os.environ.get("REDIS_SERVER") or "redis"
    return values


# The secrets a lab stack gets, generated once (the SSH key is the lab's).
LAB_SECRETS: dict[str, Callable[[], str]] = {
    "sshPrivateKey": lambda: guests.SSH_KEY.read_text(),
    "haclusterPassword": lambda: secrets.token_urlsafe(18),
    "redisPassword": lambda: secrets.token_hex(16),
    "fenceKey": lambda: secrets.token_urlsafe(48),
}


class LabStack:
    """One stack of this project on the lab's backend, configured like the dev stack plus
    ``overrides`` (keys without the project prefix)."""


    def __init__(self, name: str, overrides: dict[str, str] | None = None) -> None:
        self.name = name
        self.overrides = overrides or {}
        self.config_file = STATE / f"{name}.config.yaml"

    # -- setting up ---------------------------------------------------------------------------

    def exists(self) -> bool:
        if not STATE.is_dir():
            return False
        listed = json.loads(pulumi_cli("stack", "ls", "--json").stdout or "[]")
        return any(entry["name"] in (self.name, f"organization/{PROJECT}/{self.name}") for entry in listed)

    def create(self) -> None:
        """The stack on the backend and its configuration file; secrets generated where missing.
        Idempotent: a configured stack keeps its secrets."""
        STATE.mkdir(exist_ok=True)
        if not PASSPHRASE.exists():
            PASSPHRASE.touch(mode=0o600)
            PASSPHRASE.write_text(secrets.token_urlsafe(32))
        if not self.exists():
            # `stack init` writes the stack's encryption salt into Pulumi.<stack>.yaml beside the
            # Pulumi.yaml it finds: give it a copy in a folder of its own, so the repository's stack
            # files stay as committed. The configuration file below gets a salt of its own with
            # the first secret, which the first update records in the state.
            with tempfile.TemporaryDirectory() as folder:
                (Path(folder) / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
                pulumi_cli("stack", "init", self.name, "--cwd", folder)
        self.set_values({**lab_settings(), "sshPublicKey": guests.SSH_KEY.with_suffix(".pub").read_text().strip(),
                         **self.overrides})
        present = self._document().get("config", {})
        for key, generate in LAB_SECRETS.items():
            if f"{PROJECT}:{key}" not in present:
                self.set_secret(key, generate())

    def _document(self) -> dict[str, Any]:
        if not self.config_file.exists():
            return {}
        return yaml.safe_load(self.config_file.read_text()) or {}

    def set_values(self, values: dict[str, str | None]) -> None:
        """Sets plain values of the configuration (None removes one); the others, the secrets and
        the encryption salt are kept. Render, compare, write."""
        document = self._document()
        config: dict[str, Any] = dict(document.get("config", {}))
        for key, value in values.items():
            config.pop(f"{PROJECT}:{key}", None)
            if value is not None:
                # The engine checks values against Pulumi.yaml's types: an array is a YAML list.
                typed = KEYS_BY_NAME[key].kind == "array" if key in KEYS_BY_NAME else False
                config[f"{PROJECT}:{key}"] = json.loads(value) if typed else value
        wanted = {**document, "config": dict(sorted(config.items()))}
        if wanted != document:
            self.config_file.write_text(yaml.safe_dump(wanted, sort_keys=False))

    def set_secret(self, key: str, value: str) -> None:
        # On stdin, so the value never shows in this machine's process list.
        pulumi_cli("config", "set", "--secret", "--stack", self.name, "--config-file", str(self.config_file),
                   f"{PROJECT}:{key}", stdin=value)

    def config(self) -> dict[str, str]:
        """The whole configuration (with Pulumi.yaml's defaults), secrets decrypted, keys without
        the project prefix; arrays as JSON."""
        shown = pulumi_cli("config", "--json", "--show-secrets", "--stack", self.name,
                           "--config-file", str(self.config_file))
        return {key.split(":", 1)[1]: str(entry["value"]) for key, entry in json.loads(shown.stdout).items()
                if key.startswith(f"{PROJECT}:") and "value" in entry}

    def settings(self) -> Settings:
        return load_settings(self.config().get)

    # -- the engine ---------------------------------------------------------------------------

    def stack(self) -> auto.Stack:
        workspace = auto.LocalWorkspaceOptions(
            work_dir=str(ROOT), pulumi_home=str(PULUMI_HOME), env_vars=engine_env(),
            pulumi_command=auto.PulumiCommand(root=str(TOOLS)))
        return auto.select_stack(self.name, work_dir=str(ROOT), opts=workspace)

    def _engine(self, action: str, on_output: Callable[[str], Any], **kwargs: Any) -> Any:
        # With --config-file the CLI still gives the repository's Pulumi.<stack>.yaml an encryption
        # salt of its own during an update (3.260): put that file back as it was.
        stack_file = ROOT / f"Pulumi.{self.name}.yaml"
        before = stack_file.read_bytes() if stack_file.exists() else None
        try:
            return getattr(self.stack(), action)(config_file=str(self.config_file), on_output=on_output,
                                                 color="never", **kwargs)
        finally:
            if before is None:
                stack_file.unlink(missing_ok=True)
            elif stack_file.read_bytes() != before:
                stack_file.write_bytes(before)

    def up(self, on_output: Callable[[str], Any] = print, **kwargs: Any) -> auto.UpResult:
        result: auto.UpResult = self._engine("up", on_output, **kwargs)
        return result

    def preview(self, on_output: Callable[[str], Any] = print, **kwargs: Any) -> auto.PreviewResult:
        result: auto.PreviewResult = self._engine("preview", on_output, **kwargs)
        return result

    def refresh(self, on_output: Callable[[str], Any] = print, **kwargs: Any) -> auto.RefreshResult:
        result: auto.RefreshResult = self._engine("refresh", on_output, **kwargs)
        return result

    def destroy(self, on_output: Callable[[str], Any] = print, **kwargs: Any) -> auto.DestroyResult:
        result: auto.DestroyResult = self._engine("destroy", on_output, **kwargs)
        return result

    def outputs(self, show_secrets: bool = False) -> dict[str, Any]:
        return {key: value.value if show_secrets or not value.secret else "[secret]"
                for key, value in self.stack().outputs().items()}

    def export(self) -> dict[str, Any]:
        """`pulumi stack export`: the deployment as the backend stores it."""
        deployment: dict[str, Any] = json.loads(pulumi_cli("stack", "export", "--stack", self.name).stdout)
        return deployment

    def state(self) -> list[dict[str, Any]]:
        """Every resource the backend's state holds, the root Stack resource included: a failed up
        leaves at least that one, and `pulumi stack rm` refuses a stack whose state holds any."""
        resources: list[dict[str, Any]] = self.export()["deployment"].get("resources") or []
        return resources

    def remove(self) -> None:
        """The stack (which must hold no resources) and its configuration file."""
        if self.exists():
            pulumi_cli("stack", "rm", self.name, "--yes")
        self.config_file.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("up", "preview", "refresh", "destroy", "outputs", "config", "cancel"))
    parser.add_argument("--stack", default="dev")
    args = parser.parse_args()
    stack = LabStack(args.stack)
    try:
        if args.action in ("up", "preview", "refresh"):
            stack.create()
            getattr(stack, args.action)()
            if args.action == "up":
                print(json.dumps(stack.outputs(), indent=2, default=str))
        elif args.action == "destroy":
            if stack.exists():
                stack.destroy()
            else:
                print(f"no change: no stack {args.stack}")
        elif args.action == "cancel":
            # An update that was interrupted leaves its lock behind.
            print(pulumi_cli("cancel", "--yes", "--stack", args.stack).stdout.strip())
        elif args.action == "outputs":
            print(json.dumps(stack.outputs(), indent=2, default=str))
        else:
            print(json.dumps({key: "[secret]" if key in LAB_SECRETS else value
                              for key, value in stack.config().items()}, indent=2))
    except auto.CommandError as error:
        # The engine printed its diagnostics on the way (on_output); its own last words are on stderr.
        said = str(error).partition(" stderr: ")[2].strip() or str(error).strip()
        sys.exit(f"lab.stack {args.action} {args.stack} failed: {said}")


if __name__ == "__main__":
    main()
