"""How a script from scripts/ becomes a remote command line (pure).

The script's text travels inside the command (``bash -c``), so the node needs no copy of the
repository and an edited script changes the command Pulumi compares. Arguments are quoted
one by one; secrets never go here: they go on stdin. A script that sources a library from
scripts/lib (``source "$(dirname "$0")/lib/<name>.sh"``, as it runs from the repository and as
shellcheck follows it) has that line replaced by the library's text, since the node has no
scripts folder to source it from.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from pathlib import Path

SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "scripts"
_LIBRARY_SOURCE = re.compile(r'^source "\$\(dirname "\$0"\)/(lib/[\w-]+\.sh)"$', re.MULTILINE)


def script_text(script: str) -> str:
    """The script as the node runs it, its libraries inlined."""
    return _LIBRARY_SOURCE.sub(lambda source: (SCRIPTS_DIR / source[1]).read_text(encoding="utf-8").rstrip("\n"),
                               (SCRIPTS_DIR / script).read_text(encoding="utf-8"))


def script_hash(script: str) -> str:
    return hashlib.sha256(script_text(script).encode()).hexdigest()


def command_line(script: str, *args: str | int, sudo: bool = True) -> str:
    """``sudo bash -c '<script>' <script> <args...>``: $0 is the script's name, $1... its args."""
    quoted = " ".join(shlex.quote(str(arg)) for arg in args)
    prefix = "sudo " if sudo else ""
    return f"{prefix}bash -c {shlex.quote(script_text(script))} {shlex.quote(script)} {quoted}".rstrip()
