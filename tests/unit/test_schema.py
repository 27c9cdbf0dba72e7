"""Pulumi.yaml declares exactly the keys the program reads, with the same types, defaults and secrecy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from components.settings import KEYS, KEYS_BY_NAME

ROOT = Path(__file__).resolve().parents[2]


def declared() -> dict[str, dict[str, Any]]:
    schema: dict[str, dict[str, Any]] = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    return schema


def test_every_key_is_declared_and_nothing_else() -> None:
    assert set(declared()) == {spec.name for spec in KEYS}


def test_types_defaults_and_secrets_match() -> None:
    for name, entry in declared().items():
        spec = KEYS_BY_NAME[name]
        assert entry["type"] == spec.kind, name
        assert entry.get("default") == spec.default, name
        assert entry.get("secret", False) == spec.secret, name
        assert entry.get("description"), f"{name} has no description"
        if spec.kind == "array":
            assert entry["items"] == {"type": "string"}, name


def test_dev_stack_sets_only_declared_keys() -> None:
    stack = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    assert {key.removeprefix("redis-ha:") for key in stack} <= set(declared())
    assert all(key.startswith("redis-ha:") for key in stack)


def test_readme_documents_every_key_with_its_type() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, entry in declared().items():
        assert f"| `{name}` | {entry['type']}" in readme, f"README's config reference lacks {name}"


def test_readme_says_what_changing_each_key_does() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Changing a running stack", 1)[1].split("\n\n**", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| **")]
    keys = declared()
    named = [name for row in rows for name in re.findall(r"`([a-zA-Z]+)`", row.split(" | ", 1)[1]) if name in keys]
    assert sorted(set(named)) == sorted(keys)
