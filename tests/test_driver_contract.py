"""One driver contract: what the engine calls is on the base classes, every registered driver has a
typed options model, and every option can be set from a policy (and reaches the driver)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from notaus.controller.devices import build_driver
from notaus.drivers.base import Driver, RouterDriver, SwitchDriver
from notaus.drivers.options import MODELS
from notaus.drivers.registry import DRIVER_ROLES, DRIVERS, driver_class
from notaus.policies.schema import Device, Policy

ROOT = Path(__file__).resolve().parents[1]


def _called_driver_methods() -> set[str]:
    """Method names called on a driver object in controller/: ``drv.x(``, ``drv_r.x(``, ``self._drv.x(``."""
    names: set[str] = set()
    for path in (ROOT / "controller").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute):
                owner = node.value
                owner_name = owner.id if isinstance(owner, ast.Name) else (
                    owner.attr if isinstance(owner, ast.Attribute) else "")
                if owner_name in ("drv", "drv_r", "drv_s", "_drv", "driver"):
                    names.add(node.attr)
    return names


def test_every_method_the_engine_calls_is_on_a_base_class() -> None:
    called = _called_driver_methods()
    assert {"port_state", "wan_status", "ports"} <= called
    on_base = {n for cls in (Driver, RouterDriver, SwitchDriver) for n in dir(cls)}
    missing = sorted(n for n in called if n not in on_base and n not in ("name", "options"))
    assert missing == [], f"called by the engine but not part of drivers.base: {missing}"


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_registry_drives_roles_and_options(name: str) -> None:
    cls = driver_class(name)
    assert cls.role == DRIVER_ROLES[name]
    assert name in MODELS
    assert issubclass(cls, RouterDriver if cls.role == "router" else SwitchDriver)


def _device(**fields: object) -> Device:
    return Device.model_validate({"name": "box", "address": "127.0.0.1", **fields})


def test_fritzbox_open_timeout_and_use_cache_reach_the_driver(tmp_path: Path) -> None:
    device = _device(driver="fritzbox", options={"open_timeout": 90, "use_cache": False})
    drv = build_driver(device, tmp_path)
    assert drv.options["open_timeout"] == 90 and drv.options["use_cache"] is False


def test_unset_options_stay_the_drivers_defaults(tmp_path: Path) -> None:
    drv = build_driver(_device(driver="fritzbox"), tmp_path)
    assert "open_timeout" not in drv.options and "use_cache" not in drv.options


@pytest.mark.parametrize(("driver", "options", "needle"), [
    ("fritzbox", {"open_timout": 90}, "open_timout"),           # typo: refused, with the known names
    ("fritzbox", {"open_timeout": -1}, "open_timeout"),
    ("fritzbox", {"use_cache": "vielleicht"}, "use_cache"),
    ("speedport", {"open_timeout": 5}, "open_timeout"),         # a FRITZ!Box option on a Speedport
    ("snmp", {"secret": "x"}, "secret"),
])
def test_bad_options_are_a_policy_error_naming_the_option(driver: str, options: dict, needle: str) -> None:
    extra = {"device_type": "cisco_ios"} if driver == "netmiko" else {}
    with pytest.raises(ValueError) as err:
        _device(driver=driver, options=options, **extra)
    assert needle in str(err.value) and "options of driver" in str(err.value)


def test_schema_driver_list_is_the_registry() -> None:
    with pytest.raises(ValueError) as err:
        _device(driver="openwrt")
    assert all(name in str(err.value) for name in DRIVERS)
    policy = Policy.model_validate({"controller": {"state_dir": "var"}, "devices": [
        {"name": "sw", "driver": "netmiko", "address": "10.0.0.2", "device_type": "cisco_ios",
         "options": {"secret": "en4ble"}}]})
    assert policy.devices[0].role == "switch" and policy.devices[0].options == {"secret": "en4ble"}
