#!/usr/bin/env python3
"""crm_attribute:
--node NODE --name NAME --lifetime reboot --query --quiet | --update VALUE: a node's transient
attribute (what attrd holds), in $STAND_IN_STATE/attrd/NODE/NAME;
otherwise --name NAME --query --quiet: a property or node attribute of the stand-in CIB."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

from tests.unit.stand_ins._lib import STATE, called

NO_SUCH = "crm_attribute: Error performing operation: No such device or address"

called("crm_attribute", sys.argv[1:])
args = sys.argv[1:]
name = args[args.index("--name") + 1]
if "--lifetime" in args and args[args.index("--lifetime") + 1] == "reboot":
    stored = STATE / "attrd" / args[args.index("--node") + 1] / name
    if "--update" in args:
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_text(args[args.index("--update") + 1])
        sys.exit(0)
    if not stored.exists():
        print(NO_SUCH, file=sys.stderr)
        sys.exit(6)
    print(stored.read_text())
    sys.exit(0)
cib = STATE / "cib.xml"
values = [nv.get("value") for nv in ET.parse(cib).iter("nvpair") if nv.get("name") == name] if cib.exists() else []
if not values:
    print(NO_SUCH, file=sys.stderr)
    sys.exit(6)
print(values[0])
