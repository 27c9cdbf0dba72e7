"""The alert rules in monitoring/: valid, tested by promtool case by case, and naming the
resources the program creates."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.pcs_plan import OWNED_IDS

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
RULES = MONITORING / "alerts.yml"
RULE_TESTS = MONITORING / "alerts_test.yml"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not installed: apt-get install prometheus (.ci/run does)")
    return subprocess.run([binary, *args], capture_output=True, text=True, check=False)


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def rule_tests() -> list[dict[str, Any]]:
    return [case for test in yaml.safe_load(RULE_TESTS.read_text())["tests"] for case in test["alert_rule_test"]]


def test_rules_are_valid() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_case_passes_promtool() -> None:
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rule_has_a_firing_and_a_silent_case() -> None:
    firing = {case["alertname"] for case in rule_tests() if case["exp_alerts"]}
    silent = {case["alertname"] for case in rule_tests() if not case["exp_alerts"]}
    names = {rule["alert"] for rule in alert_rules()}
    assert names - firing == set(), "rules never seen firing"
    assert names - silent == set(), "rules never seen silent"
    assert (firing | silent) - names == set(), "cases for rules that do not exist"


def test_rules_name_the_resources_the_program_creates() -> None:
    named = {name for rule in alert_rules() for name in re.findall(r'resource="([^"]+)"', rule["expr"])}
    assert named
    assert named <= set(OWNED_IDS)


def test_every_rule_says_how_bad_and_what_to_do() -> None:
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
