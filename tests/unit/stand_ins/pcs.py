#!/usr/bin/env python3
"""pcs: the CIB in $STAND_IN_STATE/cib.xml (what `pcs -f` builds and `cluster cib-push` pushes;
`node standby` sets a node attribute there), pcsd tokens in $STAND_IN_STATE/pcsd/known-hosts
(`host auth` checks the hacluster password in $STAND_IN_STATE/pcsd/password), the nodes whose
cluster services run in $STAND_IN_STATE/members, corosync.conf where the real one lives.
Messages as pcs 0.11 prints them in the lab."""

from __future__ import annotations

import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.unit.stand_ins._lib import STATE, called

COROSYNC_CONF = Path("/etc/corosync/corosync.conf")
EMPTY_CIB = ("<cib><configuration><crm_config><cluster_property_set id='cib-bootstrap-options'/></crm_config>"
             "<nodes/><resources/><constraints/></configuration><status/></cib>")


def cib(path: Path) -> ET.ElementTree[ET.Element]:
    if not path.exists():
        path.write_text(EMPTY_CIB)
    return ET.parse(path)


def find(tree: ET.ElementTree[ET.Element], rid: str, stonith: bool) -> tuple[ET.Element, ET.Element] | None:
    resources = tree.find("configuration/resources")
    assert resources is not None
    for top in resources:
        primitive = top if top.tag == "primitive" else top.find("primitive")
        if primitive is not None and primitive.get("id") == rid and (primitive.get("class") == "stonith") == stonith:
            return resources, top
    return None


def nvpairs(parent: ET.Element, tag: str, pid: str, pairs: list[str]) -> None:
    block = ET.SubElement(parent, tag, id=pid)
    for pair in pairs:
        name, _, value = pair.partition("=")
        ET.SubElement(block, "nvpair", id=f"{pid}-{name}", name=name, value=value)


def create(tree: ET.ElementTree[ET.Element], args: list[str], stonith: bool) -> None:
    rid, agent, rest = args[0], args[1], args[2:]
    standard, _, kind = agent.rpartition(":")
    primitive = ET.Element("primitive", id=rid, type=kind)
    primitive.set("class", "stonith" if stonith else standard.split(":")[0])
    if not stonith:
        primitive.set("provider", standard.split(":")[1])
    params: list[str] = []
    meta: list[str] = []
    ops: list[list[str]] = []
    promotable = False
    section = params
    for word in rest:
        if word == "op":
            ops.append([])
            section = ops[-1]
        elif word == "meta":
            section = meta
        elif word == "promotable":
            promotable = True
            section = meta
        else:
            section.append(word)
    nvpairs(primitive, "instance_attributes", f"{rid}-instance_attributes", params)
    operations = ET.SubElement(primitive, "operations")
    for op in ops:
        ET.SubElement(operations, "op", {"id": f"{rid}-{'-'.join(op)}", "name": op[0],
                                         **dict(word.split("=", 1) for word in op[1:])})
    resources = tree.find("configuration/resources")
    assert resources is not None
    if promotable:
        clone = ET.SubElement(resources, "clone", id=f"{rid}-clone")
        clone.append(primitive)
        nvpairs(clone, "meta_attributes", f"{rid}-clone-meta_attributes", ["promotable=true", *meta])
    else:
        nvpairs(primitive, "meta_attributes", f"{rid}-meta_attributes", meta)
        resources.append(primitive)


def delete(tree: ET.ElementTree[ET.Element], rid: str, stonith: bool) -> None:
    found = find(tree, rid, stonith)
    assert found is not None
    resources, top = found
    resources.remove(top)
    constraints = tree.find("configuration/constraints")
    assert constraints is not None
    for constraint in list(constraints):
        if rid in (constraint.get("rsc"), constraint.get("with-rsc"), constraint.get("first"), constraint.get("then"),
                   f"{constraint.get('rsc')}-clone", f"{constraint.get('first')}-clone"):
            constraints.remove(constraint)


def constraint(tree: ET.ElementTree[ET.Element], args: list[str]) -> None:
    constraints = tree.find("configuration/constraints")
    assert constraints is not None
    if args[:2] == ["colocation", "add"]:
        ET.SubElement(constraints, "rsc_colocation", {"id": f"colocation-{args[2]}-{args[5]}", "rsc": args[2],
                                                      "with-rsc": args[5], "with-rsc-role": args[4], "score": args[6]})
    elif args[0] == "order":
        ET.SubElement(constraints, "rsc_order", {"id": f"order-{args[2]}-{args[5]}", "first": args[2],
                                                 "first-action": args[1], "then": args[5], "then-action": args[4]})


def corosync_conf(name: str, nodes: list[tuple[str, str]], token: str, consensus: str) -> str:
    nodelist = "".join(f"    node {{\n        ring0_addr: {addr}\n        name: {node}\n        nodeid: {number}\n    }}\n\n"
                       for number, (node, addr) in enumerate(nodes, start=1))
    return (f"totem {{\n    version: 2\n    cluster_name: {name}\n    transport: knet\n    token: {token}\n"
            f"    consensus: {consensus}\n    crypto_cipher: aes256\n    crypto_hash: sha256\n}}\n\n"
            f"nodelist {{\n{nodelist}}}\n\nquorum {{\n    provider: corosync_votequorum\n    two_node: 1\n}}\n")


def corosync_nodes(conf: Path) -> list[str]:
    return re.findall(r"(?m)^\s*name: (\S+)$", conf.read_text())


def main(argv: list[str]) -> int:
    called("pcs", argv)
    args = [arg for arg in argv if not arg.startswith(("--request-timeout", "--wait", "--force", "--overwrite"))]
    cib_file = STATE / "cib.xml"
    conf = COROSYNC_CONF
    if args[0] == "-f":
        cib_file, args = Path(args[1]), args[2:]
    if args[0] == "--corosync_conf":
        conf, args = Path(args[1]), args[2:]
    if "--corosync_conf" in args:
        at = args.index("--corosync_conf")
        conf, args = Path(args[at + 1]), args[:at] + args[at + 2:]
    pcsd = STATE / "pcsd"
    pcsd.mkdir(exist_ok=True)
    known = pcsd / "known-hosts"
    match args:
        case ["--version"]:
            print("0.11.5")
        case ["status"]:
            print("Cluster name: redis-ha\nStatus of pacemakerd: 'Pacemaker is running'")
        case ["cluster", "cib"]:
            print(cib_file.read_text() if cib_file.exists() else EMPTY_CIB)
        case ["cluster", "cib-push", wanted, *_]:
            shutil.copy(wanted, cib_file)
            print("CIB updated")
        case [("resource" | "stonith") as kind, "config", rid]:
            return 0 if find(cib(cib_file), rid, kind == "stonith") else 1
        case [("resource" | "stonith") as kind, "delete", rid]:
            tree = cib(cib_file)
            if not find(tree, rid, kind == "stonith"):
                print(f"Error: Resource '{rid}' does not exist.", file=sys.stderr)
                return 1
            delete(tree, rid, kind == "stonith")
            tree.write(cib_file)
            print(f"Deleting Resource - {rid}")
        case [("resource" | "stonith") as kind, "create", *rest]:
            tree = cib(cib_file)
            create(tree, rest, kind == "stonith")
            tree.write(cib_file)
        case ["alert", "create", *options]:
            tree = cib(cib_file)
            alerts = tree.find("configuration/alerts")
            if alerts is None:
                configuration = tree.find("configuration")
                assert configuration is not None
                alerts = ET.SubElement(configuration, "alerts")
            split = options.index("options") if "options" in options else len(options)
            pairs = dict(option.split("=", 1) for option in options[:split])
            alert = ET.SubElement(alerts, "alert", id=pairs["id"], path=pairs["path"])
            if options[split + 1:]:
                nvpairs(alert, "instance_attributes", f"{pairs['id']}-instance_attributes", options[split + 1:])
            tree.write(cib_file)
        case ["alert", "delete", aid]:
            tree = cib(cib_file)
            alerts = tree.find("configuration/alerts")
            found = [alert for alert in alerts if alert.get("id") == aid] if alerts is not None else []
            if not found:
                print(f"Error: alert '{aid}' does not exist", file=sys.stderr)
                return 1
            assert alerts is not None
            alerts.remove(found[0])
            tree.write(cib_file)
        case ["constraint", *rest]:
            tree = cib(cib_file)
            constraint(tree, rest)
            tree.write(cib_file)
        case ["property", "set", pair]:
            tree = cib(cib_file)
            properties = tree.find("configuration/crm_config/cluster_property_set")
            assert properties is not None
            name, _, value = pair.partition("=")
            for old in [nv for nv in properties if nv.get("name") == name]:
                properties.remove(old)
            ET.SubElement(properties, "nvpair", id=f"cib-bootstrap-options-{name}", name=name, value=value)
            tree.write(cib_file)
        case ["status", "pcsd", *nodes]:
            authorized = known.read_text().split() if known.exists() else []
            # "NODE N": NODE's pcsd answers only from the (N+1)th look on, as after a boot.
            starting = pcsd / "starting"
            late, polls = starting.read_text().split() if starting.exists() else ("", "0")
            if late:
                starting.write_text(f"{late} {max(int(polls) - 1, 0)}\n")
            for node in nodes or corosync_nodes(conf):
                shown = "Offline" if node == late and int(polls) > 0 else (
                    "Online" if node in authorized else "Unable to authenticate")
                print(f"  {node}: {shown}")
        case ["host", "auth", *rest]:
            password = sys.stdin.readline().rstrip("\n")
            nodes = [word for word in rest if "=" not in word and not word.startswith("-") and word != "hacluster"]
            starting = pcsd / "starting"
            late, polls = starting.read_text().split() if starting.exists() else ("", "0")
            if late in nodes and int(polls) > 0:
                starting.write_text(f"{late} {int(polls) - 1}\n")
                print(f"Error: Unable to communicate with {late}", file=sys.stderr)
                return 1
            if password != (pcsd / "password").read_text().strip():
                print(f"Error: {nodes[0]}: Username and/or password is incorrect", file=sys.stderr)
                return 1
            already = known.read_text().split() if known.exists() else []
            known.write_text("\n".join(sorted({*already, *nodes})) + "\n")
            for node in nodes:
                print(f"{node}: Authorized")
        case ["cluster", "destroy", *_]:
            conf.unlink(missing_ok=True)
            for unit in ("corosync", "pacemaker"):
                (STATE / "systemd" / "active" / unit).unlink(missing_ok=True)
            print("Shutting down pacemaker/corosync services...")
        case ["cluster", "setup", name, node1, addr1, node2, addr2, "totem", token, consensus]:
            conf.write_text(corosync_conf(name, [(node1, addr1.split("=")[1]), (node2, addr2.split("=")[1])],
                                          token.split("=")[1], consensus.split("=")[1]))
        case ["cluster", "authkey", "corosync", *_] | ["cluster", "sync"] | ["cluster", "reload", "corosync"]:
            pass
        case ["cluster", "config", "update", "totem", *pairs]:
            text = conf.read_text()
            for pair in pairs:
                key, _, value = pair.partition("=")
                text = re.sub(rf"(?m)^(\s*{key}:) .*$", rf"\g<1> {value}", text)
            conf.write_text(text)
        case ["cluster", "start", *nodes]:
            started = [node for node in nodes if node != "--all"] or corosync_nodes(conf)
            members = STATE / "members"
            running = members.read_text().split() if members.exists() else []
            members.write_text("".join(f"{node}\n" for node in corosync_nodes(conf) if node in {*running, *started}))
            for unit in ("corosync", "pacemaker"):
                (STATE / "systemd" / "active").mkdir(parents=True, exist_ok=True)
                (STATE / "systemd" / "active" / unit).touch()
        case ["cluster", "stop", node]:
            members = STATE / "members"
            members.write_text("".join(f"{member}\n" for member in members.read_text().split() if member != node))
        case ["node", ("standby" | "unstandby") as verb, node]:
            tree = cib(cib_file)
            section = tree.find("configuration/nodes")
            assert section is not None
            entry = section.find(f"node[@uname='{node}']")
            if entry is None:
                entry = ET.SubElement(section, "node", uname=node)
            for old in list(entry):
                entry.remove(old)
            if verb == "standby":
                nvpairs(entry, "instance_attributes", f"nodes-{node}", ["standby=on"])
            tree.write(cib_file)
        case ["quorum", "device", "add", *options]:
            host = next(option.split("=", 1)[1] for option in options if option.startswith("host="))
            device = (f"    device {{\n        model: net\n        votes: 1\n        net {{\n"
                      f"            algorithm: ffsplit\n            host: {host}\n        }}\n    }}\n")
            conf.write_text(conf.read_text().replace("    two_node: 1\n", device))
        case ["quorum", "device", "remove"]:
            conf.write_text(re.sub(r"    device \{.*?\n    \}\n", "    two_node: 1\n", conf.read_text(), flags=re.S))
        case _:
            print(f"pcs stand-in: {' '.join(argv)} not known", file=sys.stderr)
            return 2
    return 0


sys.exit(main(sys.argv[1:]))
