#!/usr/bin/env python3
"""crm_attribute --type crm_config --name NAME --query --quiet: a property of the stand-in CIB."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

from tests.unit.stand_ins._lib import STATE, called

called("crm_attribute", sys.argv[1:])
name = sys.argv[sys.argv.index("--name") + 1]
cib = STATE / "cib.xml"
values = [nv.get("value") for nv in ET.parse(cib).iter("nvpair") if nv.get("name") == name] if cib.exists() else []
if not values:
    print("crm_attribute: Error performing operation: No such device or address", file=sys.stderr)
    sys.exit(6)
print(values[0])
