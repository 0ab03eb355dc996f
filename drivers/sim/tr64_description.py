"""The real FRITZ!Box 7590 TR-064 API, loaded from ``description.json`` and rendered as the box's XML.

The simulator must present exactly the API a real box presents, so nothing here is invented: the
device trees, service list and every SCPD (actions, arguments, state variables with data types,
defaults and allowed values) come from the description recorded from a FRITZ!Box 7590 (FRITZ!OS
7.29, test data of the fritzconnection project, MIT). ``tr64desc.xml``, ``igddesc.xml`` and each
``*SCPD.xml`` are generated from it in the format the box uses, so fritzconnection parses the same
API it would parse from the box.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

#: file names, as in ``shared/fritzbox/`` and in the bundled copy
SHARED_JSON = "description.json"
BUNDLED_JSON = "fritzbox7590_description.json"
ENV_DATA = "NOTAUS_FRITZ_DATA"


def find_description_json() -> Path:
    """Locate ``description.json``: ``$NOTAUS_FRITZ_DATA``, a ``shared/fritzbox`` beside the repo, bundled copy.

    CI runs in a fresh clone with ``shared/`` beside it, so the parents of this file are walked up;
    an installed package falls back to the copy in ``drivers/sim/data/``.
    """
    env = os.environ.get(ENV_DATA)
    if env:
        path = Path(env)
        path = path / SHARED_JSON if path.is_dir() else path
        if not path.is_file():
            raise FileNotFoundError(f"{ENV_DATA}={env}: no {SHARED_JSON} there")
        return path
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "fritzbox" / SHARED_JSON
        if candidate.is_file():
            return candidate
    bundled = here.parent / "data" / BUNDLED_JSON
    if bundled.is_file():
        return bundled
    raise FileNotFoundError(f"FRITZ!Box description not found; set {ENV_DATA} to the shared/fritzbox directory")


@dataclass(frozen=True)
class Argument:
    name: str
    direction: str  # "in" | "out"
    related: str    # relatedStateVariable


@dataclass(frozen=True)
class StateVariable:
    name: str
    data_type: str
    default: str | None
    allowed: tuple[str | None, ...] = ()
    minimum: str | None = None
    maximum: str | None = None
    step: str | None = None


@dataclass
class ServiceDef:
    """One service of the box: identity, URLs and its SCPD."""

    service_type: str
    service_id: str
    control_url: str
    scpd_url: str
    event_url: str
    actions: dict[str, list[Argument]] = field(default_factory=dict)
    variables: dict[str, StateVariable] = field(default_factory=dict)
    spec_version: tuple[str, str] = ("1", "0")

    @property
    def name(self) -> str:
        """The name fritzconnection keys the service by, e.g. ``WANPPPConnection1``."""
        return self.service_id.split(":")[-1]

    def in_args(self, action: str) -> list[Argument]:
        return [a for a in self.actions[action] if a.direction == "in"]

    def out_args(self, action: str) -> list[Argument]:
        return [a for a in self.actions[action] if a.direction == "out"]


class BoxDescription:
    """Both device trees of the box, their services and the rendered XML documents."""

    def __init__(self, raw: list[dict[str, Any]]) -> None:
        self.raw = raw
        self.services: dict[str, ServiceDef] = {}      # by service name
        self.by_control_url: dict[str, ServiceDef] = {}
        self.documents: dict[str, str] = {}            # URL path -> XML text
        self.system_version: dict[str, str | None] = {}
        self.model_name = ""
        for tree in raw:
            root_type = tree["device"]["attributes"]["deviceType"]
            self._collect(tree["device"])
            if root_type.startswith("urn:dslforum-org:"):
                self.system_version = dict(tree["systemVersion"])
                self.model_name = tree["device"]["attributes"]["modelName"] or ""
                self.documents["/tr64desc.xml"] = _render_root(tree, "urn:dslforum-org:device-1-0")
            else:
                self.documents["/igddesc.xml"] = _render_root(tree, "urn:schemas-upnp-org:device-1-0")
        for svc in self.services.values():
            self.documents.setdefault(svc.scpd_url, _render_scpd(svc))

    @classmethod
    def load(cls, path: Path | None = None) -> BoxDescription:
        path = path or find_description_json()
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh))

    @property
    def firmware(self) -> str:
        """The display version, e.g. ``154.07.29``."""
        return self.system_version.get("Display") or ""

    def _collect(self, device: dict[str, Any]) -> None:
        for svc in device["services"]:
            attrs = svc["attributes"]
            scpd = svc["scpd"]
            sdef = ServiceDef(
                service_type=attrs["serviceType"], service_id=attrs["serviceId"],
                control_url=attrs["controlURL"], scpd_url=attrs["SCPDURL"], event_url=attrs["eventSubURL"],
                spec_version=(scpd["specVersion"]["major"], scpd["specVersion"]["minor"]),
            )
            for action in scpd["actions"]:
                sdef.actions[action["name"]] = [
                    Argument(a["name"], a["direction"], a["relatedStateVariable"]) for a in action["arguments"]
                ]
            for var in scpd["state_variables"]:
                va, rng = var["attributes"], var["allowedValueRange"]
                sdef.variables[va["name"]] = StateVariable(
                    name=va["name"], data_type=va["dataType"], default=va["defaultValue"],
                    allowed=tuple(va["allowed_values"]), minimum=rng["minimum"], maximum=rng["maximum"],
                    step=rng["step"],
                )
            self.services[sdef.name] = sdef
            self.by_control_url[sdef.control_url] = sdef
        for child in device["devices"]:
            self._collect(child)


# ------------------------------------------------------------------------------------- rendering
_DEVICE_FIELDS = ("deviceType", "friendlyName", "manufacturer", "manufacturerURL", "modelDescription",
                  "modelName", "modelNumber", "modelURL", "UDN", "UPC")
_SYSTEM_FIELDS = ("HW", "Major", "Minor", "Patch", "Buildnumber", "Display")
_ICON = ("<iconList>\n<icon>\n<mimetype>image/gif</mimetype>\n<width>118</width>\n<height>119</height>\n"
         "<depth>8</depth>\n<url>/ligd.gif</url>\n</icon>\n</iconList>\n")


def _tag(name: str, value: str | None) -> str:
    return "" if value is None else f"<{name}>{escape(str(value))}</{name}>\n"


def _render_root(tree: dict[str, Any], namespace: str) -> str:
    spec = tree["specVersion"]
    out = [f'<?xml version="1.0"?>\n<root xmlns="{namespace}">\n<specVersion>\n',
           _tag("major", spec["major"]), _tag("minor", spec["minor"]), "</specVersion>\n"]
    system = tree.get("systemVersion") or {}
    if any(system.get(k) for k in _SYSTEM_FIELDS):
        out.append("<systemVersion>\n")
        out.extend(_tag(k, system.get(k)) for k in _SYSTEM_FIELDS)
        out.append("</systemVersion>\n")
    out.append(_render_device(tree["device"], top=True))
    out.append("</root>\n")
    return "".join(out)


def _render_device(device: dict[str, Any], *, top: bool = False) -> str:
    attrs = device["attributes"]
    out = ["<device>\n"]
    out.extend(_tag(k, attrs.get(k)) for k in _DEVICE_FIELDS)
    if top:
        out.append(_ICON)
    out.append("<serviceList>\n")
    for svc in device["services"]:
        a = svc["attributes"]
        out.append("<service>\n")
        for key in ("serviceType", "serviceId", "controlURL", "eventSubURL", "SCPDURL"):
            out.append(_tag(key, a[key]))
        out.append("</service>\n")
    out.append("</serviceList>\n")
    if device["devices"]:
        out.append("<deviceList>\n")
        out.extend(_render_device(child) for child in device["devices"])
        out.append("</deviceList>\n")
    out.append(_tag("presentationURL", attrs.get("presentationURL")))
    out.append("</device>\n")
    return "".join(out)


def _render_scpd(svc: ServiceDef) -> str:
    out = ['<?xml version="1.0"?>\n<scpd xmlns="urn:schemas-upnp-org:service-1-0">\n<specVersion>\n',
           _tag("major", svc.spec_version[0]), _tag("minor", svc.spec_version[1]), "</specVersion>\n",
           "<actionList>\n"]
    for name, args in svc.actions.items():
        out.append(f"<action>\n<name>{escape(name)}</name>\n")
        if args:
            out.append("<argumentList>\n")
            for arg in args:
                out.append(f"<argument>\n{_tag('name', arg.name)}{_tag('direction', arg.direction)}"
                           f"{_tag('relatedStateVariable', arg.related)}</argument>\n")
            out.append("</argumentList>\n")
        out.append("</action>\n")
    out.append("</actionList>\n<serviceStateTable>\n")
    for var in svc.variables.values():
        out.append(f'<stateVariable sendEvents="no">\n{_tag("name", var.name)}{_tag("dataType", var.data_type)}')
        out.append(_tag("defaultValue", var.default))
        if var.allowed:
            out.append("<allowedValueList>\n")
            # the box lists an empty <allowedValue/> for some variables (WLAN "Standard"); keep it
            out.extend("<allowedValue/>\n" if v is None else _tag("allowedValue", v) for v in var.allowed)
            out.append("</allowedValueList>\n")
        if var.minimum is not None or var.maximum is not None or var.step is not None:
            out.append("<allowedValueRange>\n")
            out.append(_tag("minimum", var.minimum) + _tag("maximum", var.maximum) + _tag("step", var.step))
            out.append("</allowedValueRange>\n")
        out.append("</stateVariable>\n")
    out.append("</serviceStateTable>\n</scpd>\n")
    return "".join(out)
