"""A policy device -> its driver instance.

Its own small module (not the engine's) because the engine, ``doctor`` and ``discover`` all build
drivers, and ``discover`` sits below the engine in the import graph (the engine uses its keep set).
"""

from __future__ import annotations

from pathlib import Path

from notaus.drivers.base import Driver
from notaus.drivers.registry import driver_class
from notaus.policies.schema import Device


def build_driver(device: Device, base_dir: Path | None = None) -> Driver:
    """Instantiate the driver for a policy device (secrets resolved here, at start-up)."""
    cls = driver_class(device.driver)
    options = device.model_dump(exclude={"name", "driver", "address", "port", "user", "password",
                                         "password_file", "password_env", "timeout"})
    options.update(device.options)   # the driver's typed options (drivers.options) at the top level too
    return cls(device.name, device.address, port=device.port, user=device.user,
               password=device.resolve_password(base_dir), timeout=device.timeout, options=options)
