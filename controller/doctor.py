"""``notaus doctor``: the preflight a provider runs at install and after every change.

Each line is ok / warning / error with what to do, German by default. Nothing here changes a
device: routers and switches are only asked what a panic would need to know (are you there, do the
credentials work, may this user change settings — the FRITZ!Box reports the user's rights, so the
right to cut is checked without cutting), the capture interface only has its counters read.
Exit code: 0 all ok, 2 warnings, 1 errors.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from notaus.drivers.base import Driver, DriverError, RouterDriver, SwitchDriver

DEFAULT_CERT = "/etc/notaus/tls/cert.pem"
DEFAULT_PORTS = {"fritzbox": (49000, 49443), "speedport": (80, 443)}
OK, WARN, ERR = "ok", "warning", "error"


@dataclass
class Line:
    id: str
    status: str
    de: str
    en: str
    advice_de: str = ""
    advice_en: str = ""
    detail: str = ""

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.de

    def advice(self, lang: str) -> str:
        return self.advice_en if lang == "en" else self.advice_de

    def to_dict(self, lang: str = "de") -> dict[str, Any]:
        d = asdict(self)
        d["message"] = self.text(lang)
        d["advice"] = self.advice(lang)
        return d


# ------------------------------------------------------------------------------------- devices
def _port_of(device: Any) -> int:
    if device.port:
        return int(device.port)
    plain, tls = DEFAULT_PORTS.get(device.driver, (22, 22))
    return tls if device.tls else plain


def _tcp(address: str, port: int, timeout: float) -> str | None:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return None
    except OSError as exc:
        return exc.strerror or str(exc)


def check_router(device: Any, drv: RouterDriver, controller_ip: str | None, probe_ip: str | None) -> list[Line]:
    n = device.name
    port = _port_of(device)
    lines: list[Line] = []
    err = _tcp(device.address, port, min(device.timeout, 5.0))
    if err:
        return [Line(f"{n}.reachable", ERR, f"Router {n} ({device.address}:{port}) nicht erreichbar",
                     f"router {n} ({device.address}:{port}) unreachable",
                     "Kabel und Adresse prüfen; bei der FRITZ!Box unter Heimnetz › Netzwerk › Netzwerkeinstellungen "
                     "„Zugriff für Anwendungen zulassen“ (TR-064) einschalten; Port in der Richtlinie prüfen.",
                     "Check the cable and the address; on a FRITZ!Box enable 'Allow access for applications' "
                     "(TR-064) under Home Network › Network › Network Settings; check the port in the policy.",
                     detail=err)]
    lines.append(Line(f"{n}.reachable", OK, f"Router {n} ({device.address}:{port}) erreichbar",
                      f"router {n} ({device.address}:{port}) reachable"))
    try:
        drv.open()
        facts = drv.check()
    except DriverError as exc:
        lines.append(_driver_failure(n, "Router", device, exc))
        return lines
    user = facts.get("user") or device.user
    lines.append(Line(f"{n}.login", OK, f"{n}: Anmeldung als „{user}“ funktioniert ({facts.get('model', '')})",
                      f"{n}: login as '{user}' works ({facts.get('model', '')})",
                      detail=json.dumps({k: v for k, v in facts.items() if k != "rights"}, default=str)))
    rights = facts.get("rights")
    lines.append(Line(f"{n}.rights", OK,
                      f"{n}: Rechte ausreichend" + (f" (FRITZ!Box Einstellungen: {rights.get('BoxAdmin')})"
                                                    if isinstance(rights, dict) else ""),
                      f"{n}: rights sufficient"))
    lines += firmware_lines(n, device, facts)
    lines += ipv6_lines(n, drv)
    if drv.supports("block_host"):
        ip = probe_ip or controller_ip
        if ip:
            try:
                blocked = drv.host_blocked(ip)
                lines.append(Line(f"{n}.host_filter", OK, f"{n}: Einzelsperre lesbar ({ip}: "
                                  f"{'gesperrt' if blocked else 'frei'})",
                                  f"{n}: per-host blocking readable ({ip}: {'blocked' if blocked else 'allowed'})"))
            except DriverError as exc:
                lines.append(Line(f"{n}.host_filter", WARN, f"{n}: Einzelsperre nicht lesbar",
                                  f"{n}: per-host blocking not readable",
                                  "Rechner können dann nur über Switches isoliert werden; Router-Firmware und "
                                  "Benutzerrechte prüfen.",
                                  "Machines can then only be isolated at switches; check firmware and user rights.",
                                  detail=str(exc)))
    return lines


def firmware_lines(n: str, device: Any, facts: dict[str, Any]) -> list[Line]:
    """The FRITZ!OS version, and from 8.25 on the reminder of the per-device right to disconnect.

    8.25 ignores a TR-064 disconnect (answered, nothing happens) unless the calling device has
    that right (iobroker-community-adapters/ioBroker.tr-064#684, home-assistant/core#172413). The
    box does not report the right over TR-064, and testing it means cutting the internet, so
    doctor can only say so and point to ``notaus drill``.
    """
    if device.driver != "fritzbox" or not facts.get("firmware"):
        return []
    from notaus.drivers.fritzbox import WAN_RIGHT, WAN_RIGHT_FIRMWARE, WAN_RIGHT_PLACE, firmware_version

    version = firmware_version(str(facts["firmware"]))
    shown = f"{version[0]}.{version[1]:02d}" if version else str(facts["firmware"])
    lines = [Line(f"{n}.firmware", OK, f"{n}: FRITZ!OS {shown}", f"{n}: FRITZ!OS {shown}",
                  detail=str(facts["firmware"]))]
    if version is not None and version >= WAN_RIGHT_FIRMWARE:
        lines.append(Line(
            f"{n}.wan_right", WARN,
            f"{n}: Ab FRITZ!OS 8.25 trennt die Box das Internet nur, wenn dieses Gerät (notaus) das Recht "
            f"„{WAN_RIGHT}“ hat – notaus kann das ohne Trennen nicht prüfen",
            f"{n}: from FRITZ!OS 8.25 the box only disconnects the internet if this device (notaus) has the "
            f"right '{WAN_RIGHT}' – notaus cannot test this without cutting",
            f"Auf der FRITZ!Box unter {WAN_RIGHT_PLACE} das Recht für den notaus-Rechner setzen; dann in einer "
            "ruhigen Minute „notaus drill“ ausführen (trennt kurz und stellt wieder her).",
            f"On the FRITZ!Box set the right for the notaus machine under {WAN_RIGHT_PLACE}; then run "
            "'notaus drill' at a quiet moment (cuts briefly and restores).", detail=str(facts["firmware"])))
    return lines


def check_coverage(policy: Any, device: Any, drv: RouterDriver) -> list[Line]:
    """Does the policy classify what the router knows? (unknown devices, VoIP clients, TI-Konnektor)."""
    from notaus.controller.coverage import router_findings

    n = device.name
    try:
        hosts = drv.hosts()
        phones = drv.telephony().phones
    except DriverError as exc:
        return [Line(f"{n}.coverage", WARN, f"{n}: Hostliste nicht lesbar – Abdeckung der Richtlinie ungeprüft",
                     f"{n}: host list not readable – policy coverage not checked", detail=str(exc))]
    except Exception:  # noqa: BLE001 - a half-open session was already reported by check_router
        return []
    findings = router_findings(policy, hosts, phones)
    if not findings:
        return [Line(f"{n}.coverage", OK, f"{n}: Richtlinie kennt alle {len(hosts)} Geräte des Routers",
                     f"{n}: the policy classifies all {len(hosts)} devices the router knows")]
    advice_de = "`notaus policy diff --discover` zeigt Vorschläge mit Begründung; Richtlinie ergänzen."
    advice_en = "`notaus policy diff --discover` shows suggestions with reasons; extend the policy."
    return [Line(f"{n}.coverage.{f.kind}.{f.host}", WARN, f.de, f.en, advice_de, advice_en) for f in findings]


def ipv6_lines(n: str, drv: RouterDriver) -> list[Line]:
    """Whether the LAN has IPv6, and what that means for per-host blocks (IPv4 by signature)."""
    read = getattr(drv, "ipv6_lan", None)
    if read is None or not drv.supports("block_host"):
        return []
    try:
        state = read()
    except DriverError as exc:
        state = {"active": None, "prefix": "", "source": str(exc)}
    if state.get("active") is False:
        return [Line(f"{n}.ipv6", OK, f"{n}: IPv6 im Praxisnetz nicht aktiv – Einzelsperren wirken vollständig",
                     f"{n}: IPv6 not active in the LAN – per-host blocks cover everything")]
    if state.get("active"):
        de = (f"{n}: IPv6 im Praxisnetz aktiv ({state.get('prefix')}) – Einzelsperren (keep-phones, Isolieren am "
              "Router) sind nur für IPv4 prüfbar; ihre Wirkung auf IPv6 kann notaus nicht prüfen")
        en = (f"{n}: IPv6 active in the LAN ({state.get('prefix')}) – per-host blocks (keep-phones, isolation at "
              "the router) can only be verified for IPv4; notaus cannot verify their effect on IPv6")
    else:
        de = f"{n}: ob IPv6 im Praxisnetz aktiv ist, ist nicht lesbar – Einzelsperren sind nur für IPv4 geprüft"
        en = f"{n}: whether IPv6 is active in the LAN cannot be read – per-host blocks are verified for IPv4 only"
    return [Line(f"{n}.ipv6", WARN, de, en,
                 "Im Ernstfall das Profil „full“ nehmen (trennt die ganze Leitung, auch IPv6) oder IPv6 in der "
                 "FRITZ!Box abschalten (Internet › Zugangsdaten › IPv6), wenn die Praxis es nicht braucht.",
                 "In an emergency use the profile 'full' (cuts the whole line, IPv6 included), or switch IPv6 "
                 "off on the FRITZ!Box (Internet › Account Information › IPv6) if the practice does not need it.",
                 detail=str(state.get("source", "")))]


def _driver_failure(n: str, what: str, device: Any, exc: DriverError) -> Line:
    kind = exc.kind
    if kind == "auth_failed":
        return Line(f"{n}.login", ERR, f"{n}: Anmeldung fehlgeschlagen – Benutzername oder Passwort falsch",
                    f"{n}: login failed – wrong user name or password",
                    f"Benutzer „{device.user}“ und Passwort prüfen (auf der FRITZ!Box unter System › "
                    "FRITZ!Box-Benutzer) und in der Richtlinie bzw. password_file eintragen.",
                    f"Check user '{device.user}' and the password (FRITZ!Box: System › FRITZ!Box Users) and "
                    "put them into the policy / password_file.", detail=str(exc))
    if kind == "not_permitted":
        return Line(f"{n}.rights", ERR, f"{n}: Benutzer „{device.user}“ hat nicht die nötigen Rechte",
                    f"{n}: user '{device.user}' lacks the required rights",
                    "Dem Benutzer das Recht „FRITZ!Box Einstellungen“ geben und „Zugriff für Anwendungen "
                    "zulassen“ einschalten; ohne dieses Recht kann notaus im Notfall nichts trennen."
                    if what == "Router" else
                    "Dem Switch-Benutzer Schreibrechte (privilege 15 / Manager, SNMP-Schreibzugriff) geben.",
                    "Give the user the right 'FRITZ!Box settings' and enable 'Allow access for applications'; "
                    "without it notaus cannot cut anything in an emergency." if what == "Router" else
                    "Give the switch user write rights (privilege 15 / manager, SNMP write access).",
                    detail=str(exc))
    if kind in ("unreachable", "timeout"):
        return Line(f"{n}.reachable", ERR, f"{what} {n} antwortet nicht", f"{what.lower()} {n} does not answer",
                    "Gerät, Kabel, Adresse und Port prüfen; Gerät ggf. neu starten.",
                    "Check device, cable, address and port; restart the device if needed.", detail=str(exc))
    return Line(f"{n}.check", ERR, f"{n}: Prüfung fehlgeschlagen ({kind})", f"{n}: check failed ({kind})",
                "Meldung lesen und Gerät/Richtlinie korrigieren; dann „notaus doctor“ wiederholen.",
                "Read the message, fix the device or policy, run 'notaus doctor' again.", detail=str(exc))


def check_switch(device: Any, drv: SwitchDriver) -> list[Line]:
    n = device.name
    port = _port_of(device)
    lines: list[Line] = []
    if device.driver != "snmp":
        err = _tcp(device.address, port, min(device.timeout, 5.0))
        if err:
            return [Line(f"{n}.reachable", ERR, f"Switch {n} ({device.address}:{port}) nicht erreichbar",
                         f"switch {n} ({device.address}:{port}) unreachable",
                         "Kabel, Adresse und SSH-Port prüfen; SSH auf dem Switch einschalten.",
                         "Check cable, address and SSH port; enable SSH on the switch.", detail=err)]
        lines.append(Line(f"{n}.reachable", OK, f"Switch {n} erreichbar", f"switch {n} reachable"))
    try:
        drv.open()
        drv.check()
        ports = drv.ports()
    except DriverError as exc:
        if "0 ports read" in str(exc):
            ports = []
        else:
            lines.append(_driver_failure(n, "Switch", device, exc))
            return lines
    if not ports:   # login worked but nothing was understood: notaus could not find or guard any port
        lines.append(Line(f"{n}.ports", ERR, f"{n}: Anmeldung funktioniert, aber 0 Ports gelesen",
                          f"{n}: login works, but 0 ports read",
                          f"Passt device_type ({device.device_type}) zu diesem Switch? Ohne gelesene Ports kann "
                          "notaus keinen Port finden, prüfen oder abschalten.",
                          f"Is device_type ({device.device_type}) right for this switch? Without ports read notaus "
                          "can neither find, guard nor shut a port."))
        return lines
    lines.append(Line(f"{n}.login", OK, f"{n}: Anmeldung funktioniert, {len(ports)} Ports gelesen",
                      f"{n}: login works, {len(ports)} ports read"))
    names = {p.name for p in ports}
    if not device.uplinks:
        lines.append(Line(f"{n}.uplinks", WARN, f"{n}: keine Uplinks eingetragen", f"{n}: no uplinks configured",
                          "Uplink-Ports in der Richtlinie eintragen (uplinks: [...]); notaus schaltet sie nie ab.",
                          "Add the uplink ports to the policy (uplinks: [...]); notaus never shuts them."))
    else:
        missing = [u for u in device.uplinks if u not in names]
        if missing:
            lines.append(Line(f"{n}.uplinks", ERR, f"{n}: Uplink(s) {', '.join(missing)} gibt es nicht",
                              f"{n}: uplink(s) {', '.join(missing)} do not exist",
                              f"Portnamen wie vom Switch gemeldet eintragen, z.B. {', '.join(sorted(names)[:4])}.",
                              f"Use the port names the switch reports, e.g. {', '.join(sorted(names)[:4])}."))
        else:
            lines.append(Line(f"{n}.uplinks", OK, f"{n}: Uplinks erkannt: {', '.join(device.uplinks)}",
                              f"{n}: uplinks identified: {', '.join(device.uplinks)}"))
    return lines


# ------------------------------------------------------------------------------------- the box
def check_capture(interface: str | None, seconds: float) -> Line:
    if not interface:
        return Line("capture", OK, "Mitschnitt-Schnittstelle nicht konfiguriert (Erkennung aus) – übersprungen",
                    "capture interface not configured (detection off) – skipped")
    base = Path("/sys/class/net") / interface
    if not base.exists():
        return Line("capture", ERR, f"Schnittstelle {interface} gibt es nicht", f"interface {interface} does not exist",
                    "Namen mit „ip link“ prüfen und detection.interface in der Richtlinie korrigieren.",
                    "Check the name with 'ip link' and fix detection.interface in the policy.")
    counter = base / "statistics" / "rx_packets"
    try:
        before = int(counter.read_text())
        time.sleep(seconds)
        seen = int(counter.read_text()) - before
    except (OSError, ValueError) as exc:
        return Line("capture", WARN, f"{interface}: Zähler nicht lesbar", f"{interface}: counters unreadable",
                    detail=str(exc))
    if seen <= 0:
        return Line("capture", WARN, f"{interface}: in {seconds:.0f} s kein Verkehr gesehen",
                    f"{interface}: no traffic seen in {seconds:.0f} s",
                    "Spiegelport (Port-Mirroring) am Switch auf diesen Anschluss einrichten und Kabel prüfen.",
                    "Set up port mirroring on the switch towards this port and check the cable.")
    return Line("capture", OK, f"{interface}: sieht Verkehr ({seen} Pakete in {seconds:.0f} s)",
                f"{interface}: sees traffic ({seen} packets in {seconds:.0f} s)")


def check_clock() -> Line:
    advice_de = "Zeit-Synchronisierung einschalten: „timedatectl set-ntp true“ (Router als NTP-Server möglich)."
    advice_en = "Enable time synchronisation: 'timedatectl set-ntp true' (the router can serve NTP)."
    if shutil.which("timedatectl"):
        try:
            out = subprocess.run(["timedatectl", "show", "--property=NTPSynchronized", "--value"],
                                 capture_output=True, text=True, timeout=5)
            value = out.stdout.strip()
            if out.returncode == 0 and value in ("yes", "no"):
                if value == "yes":
                    return Line("clock", OK, "Uhrzeit synchronisiert", "clock synchronised")
                return Line("clock", WARN, "Uhrzeit nicht synchronisiert – Zeitangaben im Journal ungenau",
                            "clock not synchronised – journal times may be off", advice_de, advice_en)
        except (OSError, subprocess.TimeoutExpired):
            pass
    if shutil.which("chronyc"):
        try:
            out = subprocess.run(["chronyc", "-n", "tracking"], capture_output=True, text=True, timeout=5)
            if out.returncode == 0 and "Leap status     : Normal" in out.stdout:
                return Line("clock", OK, "Uhrzeit synchronisiert (chrony)", "clock synchronised (chrony)")
        except (OSError, subprocess.TimeoutExpired):
            pass
    return Line("clock", WARN, "Zeit-Synchronisierung nicht prüfbar", "time synchronisation cannot be checked",
                advice_de, advice_en)


def check_disk(state_dir: Path) -> Line:
    probe = state_dir if state_dir.exists() else next((p for p in state_dir.parents if p.exists()), Path("/"))
    usage = shutil.disk_usage(probe)
    free_mb = usage.free // (1024 * 1024)
    text = f"{free_mb} MB frei in {state_dir}"
    if free_mb < 200:
        return Line("disk", ERR, f"Speicher fast voll: {text}", f"disk almost full: {free_mb} MB free",
                    "Platz schaffen (alte Beweis-pcaps sichern und löschen) – ohne Platz kein Journal.",
                    "Free space (archive and delete old evidence pcaps) – no space, no journal.")
    if free_mb < 1024:
        return Line("disk", WARN, f"Speicher knapp: {text}", f"disk space low: {free_mb} MB free",
                    "Größere SD-Karte/SSD verwenden oder alte Beweise auslagern.",
                    "Use a larger SD card/SSD or archive old evidence.")
    return Line("disk", OK, f"Speicher: {text}", f"disk: {free_mb} MB free in {state_dir}")


def check_certificate(path: Path, now: datetime | None = None) -> Line:
    if not path.exists():
        return Line("certificate", WARN, f"kein TLS-Zertifikat unter {path}", f"no TLS certificate at {path}",
                    "deploy/install.sh erzeugt eines; sonst --cert angeben.",
                    "deploy/install.sh creates one; otherwise pass --cert.")
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (ValueError, OSError) as exc:
        return Line("certificate", ERR, f"Zertifikat {path} nicht lesbar", f"certificate {path} unreadable",
                    "Zertifikat neu erzeugen (deploy/install.sh --renew-cert).", "Re-create the certificate.",
                    detail=str(exc))
    days = (cert.not_valid_after_utc - (now or datetime.now(UTC))).days
    if days < 0:
        return Line("certificate", ERR, f"Zertifikat seit {-days} Tagen abgelaufen", f"certificate expired {-days} "
                    "days ago", "Zertifikat erneuern und auf den Tablets neu bestätigen.",
                    "Renew the certificate and accept it again on the tablets.")
    if days < 30:
        return Line("certificate", WARN, f"Zertifikat läuft in {days} Tagen ab", f"certificate expires in {days} days",
                    "Zertifikat rechtzeitig erneuern.", "Renew the certificate in time.")
    return Line("certificate", OK, f"Zertifikat gültig, noch {days} Tage", f"certificate valid, {days} days left")


def check_journal(state_dir: Path) -> Line:
    from notaus.controller.journal import Journal

    path = state_dir / "journal.sqlite"
    if not path.exists():
        return Line("journal", OK, "Journal noch leer (wird beim Start angelegt)", "journal not created yet")
    try:
        j = Journal(path)
    except (sqlite3.DatabaseError, OSError) as exc:
        return Line("journal", ERR, f"Journal-Datei beschädigt: {exc}", f"journal file damaged: {exc}",
                    "Nicht weiterschreiben: Kopie des Zustandsverzeichnisses sichern, IT-Forensiker informieren.",
                    "Do not continue: copy the state directory, inform a forensic examiner.")
    try:
        res = j.verify()
    finally:
        j.close()
    if not res.ok:
        return Line("journal", ERR, f"Journal-Kette beschädigt: {'; '.join(res.problems[:2])}",
                    f"journal chain broken: {'; '.join(res.problems[:2])}",
                    "Nicht weiterschreiben: Kopie des Zustandsverzeichnisses sichern, IT-Forensiker informieren.",
                    "Do not continue: copy the state directory, inform a forensic examiner.")
    return Line("journal", OK, f"Journal unversehrt ({res.checked} Einträge)",
                f"journal intact ({res.checked} entries)")


def check_pdf() -> Line:
    """Can the incident report for the data protection authority be written as PDF on this box?"""
    from notaus.controller.report_pdf import pdf_check

    ok, detail = pdf_check()
    if ok:
        return Line("pdf", OK, "PDF-Bericht möglich", "PDF report works", detail=detail)
    return Line("pdf", WARN, "PDF-Bericht geht nicht (HTML-Bericht schon)", "PDF report fails (HTML report works)",
                "deploy/install.sh erneut ausführen (installiert ReportLab in die notaus-Umgebung).",
                "Run deploy/install.sh again (it installs ReportLab into the notaus environment).", detail=detail)


# ------------------------------------------------------------------------------------- running
def run_checks(policy: Any, config_file: Path | None, *, cert: Path, sniff_seconds: float = 2.0) -> list[Line]:
    """Every check, in the order a provider fixes things: devices first, then the box itself."""
    from notaus.controller.devices import build_driver
    from notaus.controller.incident import state_dir_for

    base_dir = config_file.resolve().parent if config_file else None
    lines: list[Line] = []
    controller_ip = policy.controller.ip
    probe_ip = next((h.ip for h in policy.hosts if h.ip and h.role not in ("router", "switch", "controller")), None)
    for device in policy.devices:
        try:
            drv: Driver = build_driver(device, base_dir)
        except (ValueError, KeyError, ImportError) as exc:
            lines.append(Line(f"{device.name}.config", ERR, f"{device.name}: Konfiguration unvollständig",
                              f"{device.name}: configuration incomplete",
                              "Richtlinie prüfen (Treiber, password_file lesbar?).",
                              "Check the policy (driver, password_file readable?).", detail=str(exc)))
            continue
        # the same on-disk TR-064 description the panic path reads (it never loads it over the network)
        drv.options.setdefault("cache_dir", str(state_dir_for(policy, config_file) / "cache" / drv.name))
        try:
            if isinstance(drv, RouterDriver):
                router_lines = check_router(device, drv, controller_ip, probe_ip)
                lines += router_lines
                if not any(line.status == ERR for line in router_lines):
                    lines += check_coverage(policy, device, drv)
            elif isinstance(drv, SwitchDriver):
                lines += check_switch(device, drv)
        finally:
            with contextlib.suppress(Exception):  # a half-open session must not hide the findings
                drv.close()
    if not policy.routers():
        lines.append(Line("router", ERR, "Kein Router in der Richtlinie – der Notaus kann nichts trennen",
                          "no router in the policy – the emergency stop cannot cut anything",
                          "Router unter devices: eintragen.", "Add the router under devices:."))
    state_dir = state_dir_for(policy, config_file)
    lines.append(check_capture(policy.detection.interface, sniff_seconds))
    lines.append(check_clock())
    lines.append(check_disk(state_dir))
    lines.append(check_certificate(cert))
    lines.append(check_journal(state_dir))
    lines.append(check_pdf())
    return lines


def exit_code(lines: list[Line]) -> int:
    if any(line.status == ERR for line in lines):
        return 1
    if any(line.status == WARN for line in lines):
        return 2
    return 0


def render(lines: list[Line], lang: str, color: bool) -> str:
    marks = {OK: ("OK", "OK"), WARN: ("WARNUNG", "WARNING"), ERR: ("FEHLER", "ERROR")}
    colors = {OK: "\033[32m", WARN: "\033[33m", ERR: "\033[1;31m"}
    out = []
    for line in lines:
        mark = marks[line.status][1 if lang == "en" else 0]
        tag = f"{colors[line.status]}[{mark}]\033[0m" if color else f"[{mark}]"
        out.append(f"{tag} {line.text(lang)}")
        if line.status != OK and line.advice(lang):
            out.append(f"      → {line.advice(lang)}")
        if line.status != OK and line.detail:
            out.append(f"        ({line.detail})")
    return "\n".join(out)


def cmd_doctor(args: argparse.Namespace) -> int:
    from notaus.controller.cli import config_path
    from notaus.policies.loader import load_policy

    lang = getattr(args, "lang", None) or "de"
    path = config_path(args)
    policy = load_policy(path)
    cert = Path(args.cert or os.environ.get("NOTAUS_CERT") or DEFAULT_CERT)
    lines = run_checks(policy, path, cert=cert, sniff_seconds=args.sniff_seconds)
    code = exit_code(lines)
    if getattr(args, "json", False):
        json.dump({"exit_code": code, "lines": [x.to_dict(lang) for x in lines]}, sys.stdout, ensure_ascii=False,
                  indent=2)
        sys.stdout.write("\n")
    else:
        print(render(lines, lang, color=sys.stdout.isatty()))
    return code


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("doctor", help="preflight: devices, rights, capture, clock, disk, certificate")
    p.add_argument("--cert", default=None, help=f"TLS certificate to check (default {DEFAULT_CERT})")
    p.add_argument("--sniff-seconds", type=float, default=2.0, help="how long to watch the capture interface")
    p.set_defaults(func=cmd_doctor)
    return p
