"""Typed per-driver options: what a policy may put under ``devices[].options``, checked at load time.

A pydantic union keyed on ``driver``: each driver family lists its options with types and bounds, and
an unknown or mistyped option is a policy error with the device's name, not a surprise at panic time.
Before, ``options`` was a free-form dict that reached the drivers one level too deep, so the
FRITZ!Box driver's ``open_timeout`` and ``use_cache`` could not be set from a policy at all.

The fields shared by several families (``tls``, ``device_type``, ``uplinks``, ``snmp``,
``quarantine_vlan``, ``save_config``, ...) stay top-level device fields in :mod:`policies.schema`;
this module holds only what is specific to one driver. It imports nothing heavy (no device
libraries), so loading a policy does not load a driver.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FritzBoxOptions(_Options):
    driver: Literal["fritzbox"] = "fritzbox"
    #: bound for the first connection (fritzconnection loads and parses every service description);
    #: default max(30 s, 6 x timeout) - older boxes need long for it
    open_timeout: float | None = Field(default=None, gt=0, le=600)
    #: keep fritzconnection's parsed descriptions on disk, so a restart does not wait for them again
    use_cache: bool = True
    #: where that cache lives (default: ``<state_dir>/cache/<device>``)
    cache_dir: str | None = None


class SpeedportOptions(_Options):
    driver: Literal["speedport"] = "speedport"
    #: TLS certificate check: true, false (self-signed box) or the path of a CA bundle / pinned cert
    verify: bool | str = True


class NetmikoOptions(_Options):
    driver: Literal["netmiko"] = "netmiko"
    #: netmiko's own device_type when it differs from the notaus profile name
    netmiko_device_type: str | None = None
    #: enable secret (Cisco ``enable``); default: the login password
    secret: str | None = None
    #: SSH private key instead of a password
    key_file: str | None = None
    #: allow SHA-1 key exchange and ``ssh-rsa`` host keys for this one old switch (off for every other device)
    legacy_ssh: bool = False
    #: opt-in log of every command sent (a file; ``{name}`` becomes the device name; secrets masked)
    session_log: str | None = None
    #: the VLAN a release restores when the port's own VLAN could not be read before the move
    access_vlan: int | None = Field(default=None, ge=1, le=4094)


class SnmpOptions(_Options):
    driver: Literal["snmp"] = "snmp"
    #: the VLAN a release restores when the port's own VLAN could not be read before the move
    access_vlan: int | None = Field(default=None, ge=1, le=4094)


DriverOptions = Annotated[FritzBoxOptions | SpeedportOptions | NetmikoOptions | SnmpOptions,
                          Field(discriminator="driver")]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(DriverOptions)

#: driver name -> its options model (the registry checks that every registered driver has one)
MODELS: dict[str, type[_Options]] = {"fritzbox": FritzBoxOptions, "speedport": SpeedportOptions,
                                     "netmiko": NetmikoOptions, "snmp": SnmpOptions}


def parse_options(driver: str, options: dict[str, Any]) -> _Options:
    """The typed options of one device; ``ValueError`` naming the bad option and what it accepts."""
    if driver not in MODELS:
        raise ValueError(f"unknown driver {driver!r}; known: {', '.join(sorted(MODELS))}")
    try:
        model: _Options = _ADAPTER.validate_python({**options, "driver": driver})
    except ValidationError as exc:
        known = ", ".join(k for k in MODELS[driver].model_fields if k != "driver") or "none"
        problems = "; ".join(f"options.{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}"
                             for e in exc.errors())
        raise ValueError(f"{problems} (options of driver {driver!r}: {known})") from None
    return model


def option_values(driver: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options a driver receives: only those the policy set, validated, without ``driver``."""
    return parse_options(driver, options).model_dump(exclude={"driver"}, exclude_unset=True)
