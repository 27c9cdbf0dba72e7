#!/usr/bin/env python3
"""firewall-cmd: zones' services, ports and rich rules, permanent and runtime, in
$STAND_IN_STATE/firewalld.json; running while systemd has firewalld active. Rich rules are
compared and listed in firewalld's canonical form (every value quoted). While
$STAND_IN_STATE/firewalld-no-reply holds characters, each is the outcome of the next call: "."
answered, "x" carried out and then failed as a reply that outlasted firewall-cmd's D-Bus wait
does (exit 254)."""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import sys

from tests.unit.stand_ins._lib import STATE, called


def canonical(rule: str) -> str:
    tokens = []
    for token in shlex.split(rule):
        key, equals, value = token.partition("=")
        tokens.append(f'{key}="{value}"' if equals else token)
    return " ".join(tokens)


NO_REPLY = ("Error: Did not receive a reply. Possible causes include: the remote application did not send a "
            "reply, the message bus security policy blocked the reply, the reply timeout expired, or the network "
            "connection was broken.\n")


def replied(args: list[str]) -> int:
    no_reply = STATE / "firewalld-no-reply"
    outcomes = no_reply.read_text().strip() if no_reply.exists() else ""
    if outcomes:
        no_reply.write_text(outcomes[1:])
    if not outcomes.startswith("x"):
        return main(args)
    with contextlib.redirect_stdout(io.StringIO()):
        main(args)
    sys.stderr.write(NO_REPLY)
    return 254


def main(args: list[str]) -> int:
    called("firewall-cmd", args)
    path = STATE / "firewalld.json"
    config = json.loads(path.read_text()) if path.exists() else {"permanent": {}, "runtime": {}}
    running = (STATE / "systemd" / "active" / "firewalld").exists()
    options = [arg for arg in args if arg not in ("--quiet", "-q")]
    quiet = len(options) != len(args)
    layer = "permanent" if "--permanent" in options else "runtime"
    zone = next((arg.split("=", 1)[1] for arg in options if arg.startswith("--zone=")), "public")
    action = next(arg for arg in options if arg not in ("--permanent",) and not arg.startswith("--zone="))
    if action == "--state":
        if not quiet:
            print("running" if running else "not running")
        return 0 if running else 252
    if not running:
        sys.stderr.write("FirewallD is not running\n")
        return 252
    name, _, value = action.partition("=")
    if name == "--get-default-zone":
        print("public")
        return 0
    if name == "--get-zone-of-interface":
        zones = config.get("interfaces", {})
        if value in zones:
            print(zones[value])
            return 0
        print("no zone")
        return 2
    if name == "--reload":
        config["runtime"] = json.loads(json.dumps(config["permanent"]))
        path.write_text(json.dumps(config))
        return 0
    entries = config[layer].setdefault(zone, {"services": [], "ports": [], "rich": []})
    kind, verb = {"--query-service": ("services", "query"), "--add-service": ("services", "add"),
                  "--remove-service": ("services", "remove"), "--query-port": ("ports", "query"),
                  "--add-port": ("ports", "add"), "--remove-port": ("ports", "remove"),
                  "--query-rich-rule": ("rich", "query"), "--add-rich-rule": ("rich", "add"),
                  "--remove-rich-rule": ("rich", "remove"), "--list-rich-rules": ("rich", "list"),
                  "--list-services": ("services", "list")}[name]
    if kind == "rich" and verb != "list":
        value = canonical(value)
    if verb == "list":
        print(("\n" if kind == "rich" else " ").join(entries[kind]))
        return 0
    present = value in entries[kind]
    if verb == "query":
        if not quiet:
            print("yes" if present else "no")
        return 0 if present else 1
    if verb == "add" and not present:
        entries[kind].append(value)
    if verb == "remove" and present:
        entries[kind].remove(value)
    path.write_text(json.dumps(config))
    return 0


sys.exit(replied(sys.argv[1:]))
