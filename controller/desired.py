"""The desired state as types: what notaus wants true of the devices, read from what ``StateStore`` persists.

``controller.state`` keeps one JSON document (shape in ``controller.state.EMPTY``)::

    containment    {"profile", "since", "actor"} while a panic is in force, else null
    wan_cut        router -> {"memo", "since"}            the WAN stays cut (memo: the pre-cut setting)
    wlan_off       router -> {"since"}                    the WLAN stays off
    router_blocks  ip -> {"router", "host", "reason", "since"}   reason "panic" or "isolation"
    isolations     host -> {"host", "ip", "mac", "reason", "source", "actor", "since", "evidence",
                            "methods": [{"device", "action", "target", "previous_vlan"}]}

:class:`DesiredState` is a typed view of that document. ``from_dict``/``to_dict`` round-trip it
exactly (keys it does not know are carried along, keys a document lacks stay absent), so state files
written before these types existed load, and what is written back is byte for byte what the engine
writes. :meth:`DesiredState.held_steps` lists every desired fact as the step that holds it: the one
list gap-finding (``controller.observe.find_gaps``) and enforcement compare against the devices.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Self

from notaus.controller.actions import REGISTRY, Action
from notaus.controller.results import Step


@dataclass
class _Entry:
    """One JSON object with known keys as fields; unknown keys and absent known keys survive a round trip."""

    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, kw_only=True)
    absent: frozenset[str] = field(default=frozenset(), repr=False, compare=False, kw_only=True)

    _nested: ClassVar[dict[str, type[_Entry]]] = {}

    @classmethod
    def _known(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name not in ("extra", "absent")]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        data = copy.deepcopy(data)
        known = cls._known()
        kwargs: dict[str, Any] = {}
        for name in known:
            if name not in data:
                continue
            value = data[name]
            if name in cls._nested and isinstance(value, list):
                value = [cls._nested[name].from_dict(v) for v in value]
            kwargs[name] = value
        return cls(**kwargs, extra={k: v for k, v in data.items() if k not in known},
                   absent=frozenset(n for n in known if n not in data))

    def to_dict(self) -> dict[str, Any]:
        out = copy.deepcopy(self.extra)
        for name in self._known():
            if name in self.absent:
                continue
            value = getattr(self, name)
            if isinstance(value, list) and name in self._nested:
                out[name] = [v.to_dict() for v in value]
            else:
                out[name] = copy.deepcopy(value)
        return out


@dataclass
class Containment(_Entry):
    """A panic in force: which profile, since when, by whom."""

    profile: str = ""
    since: str = ""
    actor: str = ""


@dataclass
class WanCut(_Entry):
    """A router whose WAN stays cut; ``memo`` is the pre-cut setting ``restore_wan`` hands back."""

    memo: Any = None
    since: str = ""


@dataclass
class WlanOff(_Entry):
    since: str = ""


@dataclass
class RouterBlock(_Entry):
    """A client the router keeps from the internet, for a panic or an isolation."""

    router: str = ""
    host: str = ""
    reason: str = ""          # "panic" | "isolation"
    since: str = ""


@dataclass
class Method(_Entry):
    """One device step that isolates a host (``action``/``target`` as in ``controller.actions``)."""

    device: str = ""
    action: str = ""
    target: str = ""
    previous_vlan: int | None = None   # the way back of a VLAN move


@dataclass
class Isolation(_Entry):
    host: str = ""
    ip: str | None = None
    mac: str | None = None
    reason: str = ""
    source: str = ""
    actor: str = ""
    since: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    methods: list[Method] = field(default_factory=list)

    _nested: ClassVar[dict[str, type[_Entry]]] = {"methods": Method}


@dataclass
class DesiredState:
    """The whole desired state; ``DesiredState.from_dict(store.desired())``."""

    containment: Containment | None = None
    wan_cut: dict[str, WanCut] = field(default_factory=dict)
    wlan_off: dict[str, WlanOff] = field(default_factory=dict)
    router_blocks: dict[str, RouterBlock] = field(default_factory=dict)
    isolations: dict[str, Isolation] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    _maps: ClassVar[dict[str, type[_Entry]]] = {"wan_cut": WanCut, "wlan_off": WlanOff,
                                                "router_blocks": RouterBlock, "isolations": Isolation}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DesiredState:
        maps = {name: {k: kind.from_dict(v) for k, v in (data.get(name) or {}).items()}
                for name, kind in cls._maps.items()}
        raw = data.get("containment")
        return cls(containment=Containment.from_dict(raw) if isinstance(raw, dict) else None,
                   extra=copy.deepcopy({k: v for k, v in data.items() if k != "containment" and k not in cls._maps}),
                   **maps)   # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        out = copy.deepcopy(self.extra)
        out["containment"] = self.containment.to_dict() if self.containment is not None else None
        for name in self._maps:
            out[name] = {k: v.to_dict() for k, v in getattr(self, name).items()}
        return out

    def is_active(self) -> bool:
        """Anything at all wanted of a device (the enforcement loop has work)."""
        return bool(self.containment or self.wan_cut or self.wlan_off or self.router_blocks or self.isolations)

    def held_steps(self) -> list[Step]:
        """Every desired fact as the step that holds it, in the order drift is reported.

        WAN cuts, WLANs off, router blocks (of panics and isolations alike), then the switch steps of
        each isolation; an isolation's router block is held once, in ``router_blocks``.
        """
        steps = [Step(router, Action.CUT_WAN) for router in self.wan_cut]
        steps += [Step(router, Action.WLAN_OFF) for router in self.wlan_off]
        steps += [Step(b.router, Action.BLOCK_HOST, ip, host=b.host or "") for ip, b in self.router_blocks.items()]
        held = {a.value for a, sp in REGISTRY.items() if sp.fact is not None and a != Action.BLOCK_HOST}
        for key, iso in self.isolations.items():
            steps += [Step(m.device, m.action, m.target, host=key) for m in iso.methods if m.action in held]
        return steps


__all__ = ["Containment", "DesiredState", "Isolation", "Method", "RouterBlock", "WanCut", "WlanOff"]
