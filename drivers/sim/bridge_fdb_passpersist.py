#!/usr/bin/env python3
"""snmpd ``pass_persist`` handler: BRIDGE-MIB / Q-BRIDGE-MIB for a Linux bridge (or a simulated one).

Why: net-snmp has no BRIDGE-MIB for Linux bridges, but the SNMP switch driver locates MACs with
``dot1dTpFdbPort``/``dot1qTpFdbPort`` + ``dot1dBasePortIfIndex`` and moves ports with
``dot1qPvid``. This script serves exactly those objects to a real snmpd:

* ``--bridge BR`` (lab, inside the switch namespace): facts from ``bridge -j fdb``/``bridge -j vlan``
  and ``ip -j link``; a SET of ``dot1qPvid`` runs ``bridge vlan add ... pvid untagged`` and removes
  the old untagged VLAN. IF-MIB (``ifAdminStatus`` shutdown) is left to snmpd itself.
* ``--state FILE`` (unit tests on 127.0.0.1): a JSON port model; the script then also serves the
  IF-MIB columns the driver uses (ifDescr, ifAdminStatus, ifOperStatus, ifName) and applies SETs
  of ifAdminStatus and dot1qPvid to the file, so no host interface is ever touched. A state with
  ``"ignore_sets": true`` accepts SETs and changes nothing (agents that do this exist).

snmpd.conf::

    pass_persist .1.3.6.1.2.1.17 /usr/bin/python3 /path/bridge_fdb_passpersist.py --bridge br0
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

OID = tuple[int, ...]
BRIDGE = (1, 3, 6, 1, 2, 1, 17)
IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IF_NAME = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1)
BASE_NUM_PORTS = BRIDGE + (1, 2, 0)
BASE_PORT_IFINDEX = BRIDGE + (1, 4, 1, 2)
TP_FDB_ADDRESS = BRIDGE + (4, 3, 1, 1)
TP_FDB_PORT = BRIDGE + (4, 3, 1, 2)
TP_FDB_STATUS = BRIDGE + (4, 3, 1, 3)
Q_FDB_PORT = BRIDGE + (7, 1, 2, 2, 1, 2)
Q_FDB_STATUS = BRIDGE + (7, 1, 2, 2, 1, 3)
Q_PVID = BRIDGE + (7, 1, 4, 5, 1, 1)
LEARNED = 3


def _mac_index(mac: str) -> OID:
    return tuple(int(x, 16) for x in mac.split(":"))


class Model:
    """Ports: base port number -> {name, ifindex, admin (1/2), oper (1/2), pvid, macs: [(mac, vlan)]}."""

    def ports(self) -> dict[int, dict[str, Any]]:
        raise NotImplementedError

    def serves_if_mib(self) -> bool:
        return False

    def set_pvid(self, port: int, vlan: int) -> str:
        raise NotImplementedError

    def set_admin(self, port_ifindex: int, up: bool) -> str:
        return "not-writable"


class StateFileModel(Model):
    """The JSON port model (unit tests); re-read on each request so tests can change it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, Any]:
        return json.loads(self.path.read_text())

    def _save(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(self.path)

    def ports(self) -> dict[int, dict[str, Any]]:
        out = {}
        for key, p in self._load()["ports"].items():
            up = p.get("admin", 1) == 1
            out[int(key)] = {"name": p["name"], "ifindex": p["ifindex"], "admin": 1 if up else 2,
                             "oper": 1 if up and p.get("link", True) else 2, "pvid": p.get("pvid", 1),
                             "macs": [(m, p.get("pvid", 1)) for m in p.get("macs", [])] if up else []}
        return out

    def serves_if_mib(self) -> bool:
        return True

    def set_pvid(self, port: int, vlan: int) -> str:
        data = self._load()
        if str(port) not in data["ports"]:
            return "no-creation"
        if not data.get("ignore_sets"):
            data["ports"][str(port)]["pvid"] = vlan
            self._save(data)
        return "DONE"

    def set_admin(self, port_ifindex: int, up: bool) -> str:
        data = self._load()
        for p in data["ports"].values():
            if p["ifindex"] == port_ifindex:
                if not data.get("ignore_sets"):
                    p["admin"] = 1 if up else 2
                    self._save(data)
                return "DONE"
        return "no-creation"


class LinuxBridgeModel(Model):
    """A real Linux bridge, read with iproute2's JSON output."""

    def __init__(self, bridge: str) -> None:
        self.bridge = bridge

    @staticmethod
    def _json(*cmd: str) -> Any:
        out = subprocess.run(list(cmd), capture_output=True, text=True, timeout=5, check=True).stdout
        return json.loads(out or "[]")

    def ports(self) -> dict[int, dict[str, Any]]:
        links = self._json("ip", "-j", "link", "show", "master", self.bridge)
        pvids: dict[str, int] = {}
        for entry in self._json("bridge", "-j", "vlan", "show"):
            for v in entry.get("vlans", []):
                if "PVID" in v.get("flags", []):
                    pvids[entry["ifname"]] = int(v["vlan"])
        macs: dict[str, list[tuple[str, int]]] = {}
        for e in self._json("bridge", "-j", "fdb", "show", "br", self.bridge):
            if e.get("state") == "permanent" or "master" not in e or e.get("ifname") == self.bridge:
                continue
            macs.setdefault(e["ifname"], []).append((e["mac"], int(e.get("vlan", pvids.get(e["ifname"], 1)))))
        out = {}
        for link in links:
            name = link["ifname"]
            try:
                port_no = int(Path(f"/sys/class/net/{name}/brport/port_no").read_text().strip(), 16)
            except (OSError, ValueError):
                continue
            flags = link.get("flags", [])
            up = "UP" in flags
            out[port_no] = {"name": name, "ifindex": int(link["ifindex"]), "admin": 1 if up else 2,
                            "oper": 1 if up and "LOWER_UP" in flags else 2, "pvid": pvids.get(name, 1),
                            "macs": macs.get(name, [])}
        return out

    def set_pvid(self, port: int, vlan: int) -> str:
        ports = self.ports()
        if port not in ports:
            return "no-creation"
        name, old = ports[port]["name"], ports[port]["pvid"]
        try:
            subprocess.run(["bridge", "vlan", "add", "dev", name, "vid", str(vlan), "pvid", "untagged"],
                           check=True, timeout=5, capture_output=True)
            if old != vlan:
                subprocess.run(["bridge", "vlan", "del", "dev", name, "vid", str(old)], check=True, timeout=5,
                               capture_output=True)
        except (subprocess.SubprocessError, OSError):
            return "commit-failed"
        return "DONE"


def table(model: Model) -> list[tuple[OID, str, str]]:
    """Every served object as (oid, pass type, value), sorted by OID."""
    ports = model.ports()
    rows: list[tuple[OID, str, str]] = [(BASE_NUM_PORTS, "integer", str(len(ports)))]
    fdb: dict[OID, int] = {}
    qfdb: dict[OID, int] = {}
    for num, p in ports.items():
        rows.append((BASE_PORT_IFINDEX + (num,), "integer", str(p["ifindex"])))
        rows.append((Q_PVID + (num,), "gauge", str(p["pvid"])))
        for mac, vlan in p["macs"]:
            fdb[_mac_index(mac)] = num
            qfdb[(vlan,) + _mac_index(mac)] = num
    for idx, num in fdb.items():
        rows.append((TP_FDB_ADDRESS + idx, "octet", " ".join(f"{b:02x}" for b in idx)))
        rows.append((TP_FDB_PORT + idx, "integer", str(num)))
        rows.append((TP_FDB_STATUS + idx, "integer", str(LEARNED)))
    for idx, num in qfdb.items():
        rows.append((Q_FDB_PORT + idx, "integer", str(num)))
        rows.append((Q_FDB_STATUS + idx, "integer", str(LEARNED)))
    if model.serves_if_mib():
        for p in ports.values():
            i = p["ifindex"]
            rows += [(IF_ENTRY + (1, i), "integer", str(i)), (IF_ENTRY + (2, i), "string", p["name"]),
                     (IF_ENTRY + (7, i), "integer", str(p["admin"])), (IF_ENTRY + (8, i), "integer", str(p["oper"])),
                     (IF_NAME + (i,), "string", p["name"])]
    return sorted(rows)


def parse_oid(text: str) -> OID:
    return tuple(int(x) for x in text.strip().strip(".").split(".") if x)


def fmt(oid: OID) -> str:
    return "." + ".".join(map(str, oid))


def handle_set(model: Model, oid: OID, typ_value: str) -> str:
    typ, _, value = typ_value.strip().partition(" ")
    if oid[:len(Q_PVID)] == Q_PVID and len(oid) == len(Q_PVID) + 1:
        if typ not in ("gauge", "unsigned", "integer", "uinteger"):
            return "wrong-type"
        vlan = int(value)
        if not 1 <= vlan <= 4094:
            return "wrong-value"
        return model.set_pvid(oid[-1], vlan)
    if model.serves_if_mib() and oid[:len(IF_ENTRY) + 1] == IF_ENTRY + (7,) and len(oid) == len(IF_ENTRY) + 2:
        if typ != "integer":
            return "wrong-type"
        if value not in ("1", "2"):
            return "wrong-value"
        return model.set_admin(oid[-1], value == "1")
    return "not-writable"


def serve(model: Model, stdin: Any = sys.stdin, stdout: Any = sys.stdout) -> None:
    """The pass_persist loop: PING/get/getnext/set on stdin, answers on stdout."""
    def say(*lines: str) -> None:
        stdout.write("".join(line + "\n" for line in lines))
        stdout.flush()

    while True:
        cmd = stdin.readline()
        if not cmd:
            return
        cmd = cmd.strip().lower()
        if cmd == "ping":
            say("PONG")
        elif cmd in ("get", "getnext"):
            oid = parse_oid(stdin.readline())
            try:
                rows = table(model)
            except (subprocess.SubprocessError, OSError, ValueError, KeyError) as exc:
                print(f"bridge_fdb_passpersist: {exc}", file=sys.stderr)
                rows = []
            hit = next(((o, t, v) for o, t, v in rows if (o == oid if cmd == "get" else o > oid)), None)
            if hit is None:
                say("NONE")
            else:
                say(fmt(hit[0]), hit[1], hit[2])
        elif cmd == "set":
            oid = parse_oid(stdin.readline())
            say(handle_set(model, oid, stdin.readline()))
        elif cmd == "":
            continue
        else:
            say("NONE")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="snmpd pass_persist: BRIDGE-MIB/Q-BRIDGE-MIB for a Linux bridge")
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--bridge", help="Linux bridge name (lab)")
    group.add_argument("--state", type=Path, help="JSON port model (unit tests)")
    args = ap.parse_args(argv)
    model: Model = LinuxBridgeModel(args.bridge) if args.bridge else StateFileModel(args.state)
    serve(model)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
