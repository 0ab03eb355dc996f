"""Typed results of engine operations: what was asked, what each device did, what was verified.

"done" for a step means *read back from the device*; a call that returned without the read-back
confirming it is "unverified", never "done".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from notaus.controller.actions import Action, HostAddress, PortVlan, SwitchPort, Target, parse_target

StepOutcome = Literal["done", "failed", "unverified", "not_supported", "skipped"]
Outcome = Literal["done", "partial", "failed", "refused"]


@dataclass
class Warning:
    """Something that stops working, said plainly, in German and English.

    Example::

        Warning("phones", "Telefon: 2 Rufnummern sind nicht mehr erreichbar.",
                "Phones: 2 numbers will no longer be reachable.")
    """

    code: str
    de: str
    en: str

    def text(self, lang: str = "de") -> str:
        return self.en if lang == "en" else self.de


@dataclass
class Step:
    """One planned device operation, e.g. ``Step("fritzbox", "cut_wan")`` or
    ``Step("fritzbox", "block_host", "192.168.178.20", host="empfang-pc")``.

    ``action`` is a :class:`controller.actions.Action` (a ``str``); ``target`` keeps the string form the
    journal and the API show, and :attr:`typed_target` (or :attr:`ip`, :attr:`port`, :attr:`vlan`)
    reads it by the kind the action takes: nothing, an address, a port, or ``port@vlan``.
    """

    device: str
    action: str
    target: str = ""
    host: str = ""

    @classmethod
    def of(cls, device: str, action: str, target: Target | None = None, host: str = "") -> Step:
        """A step from a typed target: ``Step.of("sw1", Action.SET_VLAN, PortVlan("Gi1/0/7", 999))``."""
        return cls(device, Action(action), str(target) if target is not None else "", host)

    @property
    def typed_target(self) -> Target:
        return parse_target(self.action, self.target)

    @property
    def ip(self) -> str:
        """The address a router step blocks or lets through (``""`` for other steps)."""
        typed = self.typed_target
        return typed.ip if isinstance(typed, HostAddress) else ""

    @property
    def port(self) -> str:
        """The switch port a switch step touches (``""`` for router steps)."""
        typed = self.typed_target
        return typed.port if isinstance(typed, SwitchPort | PortVlan) else ""

    @property
    def vlan(self) -> int | None:
        """The VLAN a ``set_vlan`` step moves its port to."""
        typed = self.typed_target
        return typed.vlan if isinstance(typed, PortVlan) else None


@dataclass
class Plan:
    profile: str
    steps: list[Step] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DeviceResult:
    """Example::

        DeviceResult(device="fritzbox", action="cut_wan", outcome="done",
                     message="internet connection down (read back: Disconnected)", seconds=0.21)
    """

    device: str
    action: str
    outcome: StepOutcome
    message: str = ""
    target: str = ""
    host: str = ""
    detail: str = ""
    error_kind: str = ""
    seconds: float = 0.0


@dataclass
class OperationResult:
    operation: str
    outcome: Outcome
    devices: list[DeviceResult] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    message: str = ""
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return {"done": 0, "partial": 2}.get(self.outcome, 1)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["exit_code"] = self.exit_code
        return out

    @staticmethod
    def summarize(steps: list[DeviceResult]) -> Outcome:
        """done if every target reached a verified state; partial if some did; failed if none.

        A ``not_supported`` step does not spoil a target that another step verified (e.g. the
        Speedport cannot block one host but the switch port was shut): the target is reached.
        """
        if not steps:
            return "done"
        groups: dict[str, list[DeviceResult]] = {}
        for s in steps:
            key = f"host:{s.host}" if s.host else f"{s.device}/{s.action}/{s.target}"
            groups.setdefault(key, []).append(s)
        full = some = total = 0
        for group in groups.values():
            relevant = [s for s in group if s.outcome != "skipped"]
            if not relevant:
                continue
            total += 1
            if any(s.outcome == "done" for s in relevant):
                if all(s.outcome in ("done", "not_supported") for s in relevant):
                    full += 1
                else:
                    some += 1
        if full == total:
            return "done"
        return "partial" if full or some else "failed"
