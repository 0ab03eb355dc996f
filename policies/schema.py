"""The policy document: one validated YAML file holds everything that differs between practices.

Inventory (devices, hosts, roles, protected assets, uplinks), panic profiles, guardrails,
detection thresholds and allowlists, responses, contacts and schedules. Code reads it; nothing
hard-codes a practice. Unknown keys are errors (a typo in ``protected`` must not silently
unprotect the TI-Konnektor).
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from notaus.drivers.mac import normalize_mac
from notaus.drivers.options import option_values
from notaus.drivers.registry import DRIVER_ROLES, DRIVERS

MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class SnmpSettings(Strict):
    version: Literal["2c", "3"] = "2c"
    community: str | None = None            # v2c write community
    community_file: str | None = None
    user: str | None = None                 # v3 authPriv
    auth_key: str | None = None
    auth_key_file: str | None = None
    priv_key: str | None = None
    priv_key_file: str | None = None
    auth_protocol: Literal["sha", "sha256", "md5"] = "sha"
    priv_protocol: Literal["aes", "aes256", "des"] = "aes"


class Device(Strict):
    """A router or switch notaus drives."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    driver: str                             # a name in drivers.registry.DRIVERS
    address: str
    port: int | None = Field(default=None, ge=1, le=65535)
    tls: bool = False
    user: str = ""
    password: str | None = None
    password_file: str | None = None
    password_env: str | None = None
    timeout: float = Field(default=5.0, gt=0, le=60)
    # switches
    device_type: str | None = None          # netmiko profile: cisco_ios, hp_procurve, linux, ...
    uplinks: list[str] = Field(default_factory=list)
    controller_port: str | None = None      # the port the notaus box itself hangs on
    quarantine_vlan: int | None = Field(default=None, ge=1, le=4094)
    save_config: bool = False
    snmp: SnmpSettings | None = None
    options: dict[str, Any] = Field(default_factory=dict)   # per driver, typed: drivers.options

    @field_validator("driver")
    @classmethod
    def _known_driver(cls, v: str) -> str:
        if v not in DRIVERS:
            raise ValueError(f"unknown driver {v!r}; known: {', '.join(DRIVERS)}")
        return v

    @model_validator(mode="after")
    def _typed_options(self) -> Device:
        """Each driver's options checked against its model (unknown or mistyped -> clear error)."""
        self.options = option_values(self.driver, self.options)
        return self

    @model_validator(mode="after")
    def _one_secret_source(self) -> Device:
        given = [k for k in ("password", "password_file", "password_env") if getattr(self, k)]
        if len(given) > 1:
            raise ValueError(f"give only one of password, password_file, password_env (got {', '.join(given)})")
        if self.driver == "netmiko" and not self.device_type:
            raise ValueError("a netmiko switch needs device_type (e.g. cisco_ios, hp_procurve, linux)")
        return self

    @property
    def role(self) -> Literal["router", "switch"]:
        return DRIVER_ROLES[self.driver]

    def resolve_password(self, base_dir: Path | None = None) -> str:
        """Read the secret from where the policy says; a missing file/env var is a clear error."""
        if self.password is not None:
            return self.password
        if self.password_env:
            if self.password_env not in os.environ:
                raise ValueError(f"device {self.name}: environment variable {self.password_env} is not set")
            return os.environ[self.password_env]
        if self.password_file:
            path = Path(self.password_file)
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"device {self.name}: cannot read password_file {path}: {exc.strerror}") from None
        return ""


class HostEntry(Strict):
    """A machine in the practice."""

    name: str = Field(min_length=1)
    ip: str | None = None
    mac: str | None = None
    role: str = "workstation"   # workstation, server, phone, ti-konnektor, printer, controller, router, ...
    protected: bool = False
    switch: str | None = None   # device name, if the port is known
    port: str | None = None

    @field_validator("ip")
    @classmethod
    def _ip(cls, v: str | None) -> str | None:
        if v is None:
            return v
        ipaddress.ip_address(v)
        return v

    @field_validator("mac")
    @classmethod
    def _mac(cls, v: str | None) -> str | None:
        return None if v is None else normalize_mac(v)


class EgressProbe(Strict):
    """Proof from the data plane: after a ``full`` panic notaus tries to reach these from its own interface.

    Empty (the default) sends nothing, for an offline lab or demo. For a practice, e.g.
    ``tcp: ["1.1.1.1:443", "9.9.9.9:443", "[2606:4700:4700::1111]:443"]`` and ``dns: ["9.9.9.9"]``.
    """

    tcp: list[str] = Field(default_factory=list)      # "ADDRESS:PORT", IPv6 as "[ADDRESS]:PORT"
    dns: list[str] = Field(default_factory=list)      # resolver "ADDRESS" or "ADDRESS:PORT" (UDP, default 53)
    dns_name: str = "example.com"
    timeout: float = Field(default=1.0, gt=0, le=5)

    @field_validator("tcp", "dns")
    @classmethod
    def _targets(cls, v: list[str]) -> list[str]:
        from notaus.policies.targets import parse_target  # one parser for schema and probe (controller.egress)

        for target in v:
            parse_target(target, default_port=53)
        return v


class ControllerSettings(Strict):
    state_dir: str = "./var"
    ip: str | None = None
    mac: str | None = None
    listen: str = "127.0.0.1:8080"
    language: Literal["de", "en"] = "de"
    parallel_timeout: float = Field(default=10.0, gt=0, le=120)  # bound for a whole panic step
    retries: int = Field(default=2, ge=0, le=5)
    verify_timeout: float = Field(default=5.0, gt=0, le=60)
    egress_probe: EgressProbe = Field(default_factory=EgressProbe)

    @field_validator("mac")
    @classmethod
    def _mac(cls, v: str | None) -> str | None:
        return None if v is None else normalize_mac(v)


class PanicProfile(Strict):
    description: str = ""
    cut_wan: bool = True
    wlan_off: bool = True
    block_clients: bool = False      # block every known non-phone client at the router
    keep_roles: list[str] = Field(default_factory=lambda: ["phone"])
    # keep the box's registered VoIP clients (FRITZ!Box X_VoIP) without naming them in hosts:
    keep_voip_clients: bool = False


def _default_profiles() -> dict[str, PanicProfile]:
    return {
        "full": PanicProfile(description="Internet trennen und WLAN aus", cut_wan=True, wlan_off=True),
        "keep-phones": PanicProfile(description="PCs sperren, Telefon behalten", cut_wan=False,
                                    wlan_off=True, block_clients=True, keep_roles=["phone"]),
    }


class Guardrails(Strict):
    max_auto_isolations: int = Field(default=3, ge=0)
    window_minutes: int = Field(default=60, ge=1)
    auto_release_minutes: int | None = Field(default=None, ge=1)
    protected_roles: list[str] = Field(default_factory=lambda: ["ti-konnektor", "controller", "router", "switch"])


class AllowEntry(Strict):
    """Legitimate periodic traffic: matched by any given field; unspecified fields match anything."""

    name: str = ""                   # human label, e.g. "NTP"
    dst_port: int | None = None
    proto: Literal["tcp", "udp"] | None = None
    dst: str | None = None           # IP or CIDR
    dst_name: str | None = None      # glob on the learned name, e.g. "*.windowsupdate.com"
    src_role: str | None = None


class Detection(Strict):
    alert_score: float = Field(default=0.7, ge=0, le=1)
    isolate_score: float = Field(default=0.9, ge=0, le=1)
    response: Literal["alert", "ask", "isolate"] = "ask"   # what to do at/above isolate_score
    min_connections: int = Field(default=6, ge=3)
    lan_alert_score: float | None = Field(default=None, ge=0, le=1)   # LAN-internal pairs; None: report only
    interface: str | None = None
    allowlist: list[AllowEntry] = Field(default_factory=list)


class AgentPolicy(Strict):
    token_name: str | None = None
    auto_isolate: bool = True


class Contact(Strict):
    name: str = ""
    phone: str = ""
    email: str = ""


class Contacts(Strict):
    it_provider: Contact = Field(default_factory=Contact)
    data_protection_officer: Contact = Field(default_factory=Contact)
    practice: Contact = Field(default_factory=Contact)


class Schedules(Strict):
    enforce_seconds: float = Field(default=5, ge=1, le=3600)
    health_minutes: float = Field(default=5, ge=0.1)
    report_reminders_hours: list[int] = Field(default_factory=lambda: [24, 48, 66, 71])
    policy_url: str | None = None
    policy_pull_minutes: float = Field(default=60, ge=1)
    followup_days: int = Field(default=14, ge=0)
    # practice drill: a real, announced cut that restores itself (crontab syntax, e.g. "30 7 * * 1")
    drill_cron: str | None = None
    drill_minutes: int = Field(default=5, ge=1, le=120)
    drill_profile: str = "full"


class SyslogTarget(Strict):
    """Where journal events go for the provider's SIEM (RFC 5424)."""

    host: str
    port: int = Field(default=514, ge=1, le=65535)
    proto: Literal["udp", "tcp"] = "udp"
    app_name: str = Field(default="notaus", pattern=r"^[!-~]{1,48}$")


class Policy(Strict):
    version: int = Field(default=0, ge=0)
    practice: str = "Praxis"
    controller: ControllerSettings = Field(default_factory=ControllerSettings)
    devices: list[Device] = Field(default_factory=list)
    hosts: list[HostEntry] = Field(default_factory=list)
    profiles: dict[str, PanicProfile] = Field(default_factory=_default_profiles)
    guardrails: Guardrails = Field(default_factory=Guardrails)
    detection: Detection = Field(default_factory=Detection)
    agents: dict[str, AgentPolicy] = Field(default_factory=dict)
    contacts: Contacts = Field(default_factory=Contacts)
    schedules: Schedules = Field(default_factory=Schedules)
    syslog: SyslogTarget | None = None
    # where the router stands and which cable is the internet, shown to staff when a cut fails
    router_hint: str = Field(default="", max_length=300)

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        names = [d.name for d in self.devices]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"device names must be unique: {', '.join(sorted(dup))}")
        hnames = [h.name for h in self.hosts]
        hdup = {n for n in hnames if hnames.count(n) > 1}
        if hdup:
            raise ValueError(f"host names must be unique: {', '.join(sorted(hdup))}")
        for h in self.hosts:
            if h.switch and h.switch not in names:
                raise ValueError(f"host {h.name}: switch {h.switch!r} is not a configured device")
        for key in ("full", "keep-phones"):
            if key not in self.profiles:
                self.profiles[key] = _default_profiles()[key]
        return self

    # ------------------------------------------------------------------ lookups
    def device(self, name: str) -> Device:
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(name)

    def routers(self) -> list[Device]:
        return [d for d in self.devices if d.role == "router"]

    def switches(self) -> list[Device]:
        return [d for d in self.devices if d.role == "switch"]

    def find_host(self, ident: str) -> HostEntry | None:
        """Find a configured host by name, IP or MAC (any spelling)."""
        ident = ident.strip()
        for h in self.hosts:
            if h.name == ident or (h.ip and h.ip == ident):
                return h
        try:
            mac = normalize_mac(ident)
        except ValueError:
            return None
        return next((h for h in self.hosts if h.mac == mac), None)

    def is_protected(self, host: HostEntry) -> bool:
        return host.protected or host.role in self.guardrails.protected_roles
