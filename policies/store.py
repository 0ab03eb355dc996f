"""Applied policy versions on disk: atomic apply, previous versions kept for rollback.

Layout below ``<state_dir>/policy/``::

    v7.yaml           the policy text exactly as signed
    v7.bundle.json    the signed bundle, for audit (who signed what)
    applied.json      pointer: current version, the versions before it, and the high-water mark

Every file is written to a temporary name, fsynced and renamed, and ``applied.json`` is renamed
last, so a power cut leaves either the old or the new policy in force, never a mix.

The high-water mark is the highest version ever applied. New bundles must exceed it — also after
a rollback, so a pull source still serving the rolled-back version cannot silently re-apply it.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class AppliedVersion:
    version: int
    sha256: str
    applied_at: str
    source: str = ""       # "bundle", "pull https://...", "rollback", ...
    key_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def atomic_write(path: Path, data: bytes, mode: int = 0o640) -> None:
    """Write ``data`` so that ``path`` holds either the old or the new content after a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class PolicyStore:
    """Thread-safe within one process; one writer process (the controller or the CLI) at a time."""

    def __init__(self, state_dir: str | Path) -> None:
        self.dir = Path(state_dir) / "policy"
        self.pointer = self.dir / "applied.json"
        self._lock = threading.RLock()

    # ------------------------------------------------------------------------------ reading
    def _read_pointer(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.pointer.read_text(encoding="utf-8"))
            return data
        except FileNotFoundError:
            return {"current": None, "previous": [], "high_water": 0}

    def current(self) -> AppliedVersion | None:
        cur = self._read_pointer().get("current")
        return AppliedVersion(**cur) if cur else None

    def previous(self) -> list[AppliedVersion]:
        """Versions a rollback can return to, newest first."""
        return [AppliedVersion(**p) for p in self._read_pointer().get("previous", [])]

    def high_water(self) -> int:
        return int(self._read_pointer().get("high_water", 0))

    def path_of(self, version: int) -> Path:
        return self.dir / f"v{version}.yaml"

    def current_path(self) -> Path | None:
        """The YAML file the controller should run, or ``None`` if nothing was applied remotely."""
        cur = self.current()
        return self.path_of(cur.version) if cur else None

    def current_text(self) -> str | None:
        path = self.current_path()
        return path.read_text(encoding="utf-8") if path else None

    # ------------------------------------------------------------------------------ writing
    def apply(self, version: int, policy_text: str, *, sha256: str, source: str, key_id: str = "",
              bundle: bytes | None = None, keep: int = 10) -> AppliedVersion:
        """Store ``policy_text`` as the current version; caller has verified and validated it."""
        with self._lock:
            pointer = self._read_pointer()
            if version <= int(pointer.get("high_water", 0)):
                raise ValueError(f"version {version} is not newer than {pointer.get('high_water')}")
            atomic_write(self.path_of(version), policy_text.encode("utf-8"))
            if bundle is not None:
                atomic_write(self.dir / f"v{version}.bundle.json", bundle)
            entry = AppliedVersion(version, sha256, datetime.now(UTC).isoformat(timespec="seconds"),
                                   source, key_id)
            previous = list(pointer.get("previous", []))
            if pointer.get("current"):
                previous.insert(0, pointer["current"])
            previous = previous[:keep]
            new_pointer = {"current": entry.to_dict(), "previous": previous, "high_water": version}
            atomic_write(self.pointer, json.dumps(new_pointer, indent=1).encode("utf-8"))
            self._prune({entry.version} | {int(p["version"]) for p in previous})
            return entry

    def rollback(self) -> tuple[AppliedVersion, AppliedVersion | None]:
        """Make the previous version current again; returns ``(from, to)``.

        ``to`` is ``None`` when the first remotely applied version is rolled back: the installed
        policy file is in force again. ``LookupError`` if nothing was applied.
        """
        with self._lock:
            pointer = self._read_pointer()
            previous = list(pointer.get("previous", []))
            if not pointer.get("current"):
                raise LookupError("no remotely applied policy version to roll back")
            old = pointer["current"]
            target = previous.pop(0) if previous else None
            if target is not None and not self.path_of(int(target["version"])).exists():
                raise LookupError(f"the file of version {target['version']} is missing; cannot roll back")
            new_pointer = {"current": target, "previous": previous,
                           "high_water": pointer.get("high_water", old["version"])}
            atomic_write(self.pointer, json.dumps(new_pointer, indent=1).encode("utf-8"))
            return AppliedVersion(**old), AppliedVersion(**target) if target else None

    def _prune(self, keep_versions: set[int]) -> None:
        for file in self.dir.glob("v*.yaml"):
            try:
                version = int(file.stem[1:])
            except ValueError:
                continue
            if version not in keep_versions:
                file.unlink(missing_ok=True)
                (self.dir / f"v{version}.bundle.json").unlink(missing_ok=True)
