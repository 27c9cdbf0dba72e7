"""Shared by the Python stand-ins: the call log, failures a test asks for, the state folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

STATE = Path(os.environ["STAND_IN_STATE"])


def called(name: str, args: list[str]) -> None:
    """Logs the call; exits 1 with the test's message when $STATE/fail/<name> names part of it."""
    with (STATE / "calls").open("a") as log:
        log.write("\t".join([name, *args]) + "\n")
    fail = STATE / "fail" / name
    if fail.exists():
        trigger, _, message = fail.read_text().partition("\n")
        if trigger in f" {' '.join(args)} ":
            sys.stderr.write(message)
            sys.exit(1)
