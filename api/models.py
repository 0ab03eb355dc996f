"""Request and response models of the API whose OpenAPI schemas are generated, not hand-written.

The first step away from hand-written JSON schema in :mod:`api.openapi`: the status pieces (device,
observation, isolation), an operation's result and the bodies of panic, restore and isolate are
pydantic models here, and :func:`component_schemas` turns them into ``components/schemas``. The
models describe what the handlers send and accept; ``tests/api/test_api_models.py`` validates real
answers against the generated schemas, and the schemathesis test fuzzes the API with them.

Responses allow extra keys (a newer server may add fields); requests forbid them only where the
handler does.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

REF = "#/components/schemas/{model}"


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow")


class Error(_Response):
    """Every error: a short machine word and a sentence a person can act on."""

    error: str
    detail: str


class Warning(_Response):  # noqa: A001 - the API's name for it
    """What stops working (panic plan), in German and English."""

    code: str
    de: str
    en: str


class DeviceResult(_Response):
    """One device step of an operation, with what the read-back said."""

    device: str
    action: str
    outcome: Literal["done", "failed", "unverified", "not_supported", "skipped"]
    message: str = ""
    target: str = ""
    host: str = ""
    detail: str = ""
    error_kind: str = ""
    seconds: float = 0.0


class OperationResult(_Response):
    """What panic, restore, isolate and release answer (200 done, 207 partial/failed)."""

    operation: str
    outcome: Literal["done", "partial", "failed", "refused"]
    devices: list[DeviceResult]
    warnings: list[Warning] = Field(default_factory=list)
    message: str = ""
    seconds: float = 0.0
    data: dict[str, Any] = Field(default_factory=dict)
    exit_code: int


class Device(_Response):
    """A device as the last reading saw it; with the observer also how old that reading is."""

    name: str
    driver: str = ""
    reachable: bool
    wan: str = "unknown"
    wlan: str = "unknown"
    blocked_hosts: list[str] = Field(default_factory=list)
    ports_down: list[str] = Field(default_factory=list)
    error: str = ""
    observed_at: str = Field(default="", description="when this device was read (observer only)")
    age_seconds: float = Field(default=0.0, description="age of this device's reading (observer only)")
    stale: bool = Field(default=False, description="reading older than stale_after, or the device hangs")


class Observation(_Response):
    """How old the status is (``notaus serve``: one observer reads the devices; controller.observer)."""

    source: Literal["observer"]
    taken_at: str
    age_seconds: float
    interval_seconds: float = 0.0
    stale_after_seconds: float = 0.0
    stale: bool
    stale_devices: list[str] = Field(default_factory=list)
    running: bool = True


class Isolation(_Response):
    """An isolated machine, how it is isolated, and whether the devices confirm it."""

    host: str
    ip: str | None = None
    mac: str | None = None
    reason: str | None = None
    source: str | None = None
    since: str | None = None
    verified: bool = False
    methods: list[str] = Field(default_factory=list)
    auto_release_at: str | None = None


class PanicRequest(BaseModel):
    """Without ``confirm: true`` nothing happens: 428 with the plan and what stops working."""

    profile: Literal["full", "keep-phones"] = "full"
    confirm: bool = False


class RestoreRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500)
    stage: Literal["wan", "hosts", "all"] = "all"


class IsolateRequest(BaseModel):
    host: str = Field(min_length=1, max_length=200, description="name, IP or MAC from the policy or the router")
    reason: str = Field(default="", max_length=500)
    source: str = Field(default="", max_length=500)
    evidence: dict[str, Any] | None = None


MODELS: tuple[type[BaseModel], ...] = (Error, Warning, DeviceResult, OperationResult, Device, Observation,
                                       Isolation, PanicRequest, RestoreRequest, IsolateRequest)


def component_schemas() -> dict[str, Any]:
    """``components/schemas`` entries of :data:`MODELS`; a field with a default is optional."""
    _, top = models_json_schema([(m, "validation") for m in MODELS], ref_template=REF)
    schemas: dict[str, Any] = top["$defs"]
    return schemas
