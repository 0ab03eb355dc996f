"""Private files without relying on the unit file: the process sets its own umask, serve tightens old files.

The state directory holds the journal, tokens (hashes), incident photos of patients' screens and
evidence captures. The systemd unit sets ``UMask=0077``, but started by hand (``notaus serve`` in a
shell with umask 022) every new file would be world-readable (0644). So notaus sets umask 0077
itself at start - new files 0600, new directories 0700 - and ``serve`` removes group/other access
from what an earlier run left behind.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077


def private_umask() -> int:
    """Set umask 0077 for this process; returns the previous one."""
    return os.umask(PRIVATE_UMASK)


def tighten(state_dir: str | Path) -> list[str]:
    """Remove group/other permissions below ``state_dir`` (files and directories, no symlinks followed)."""
    root = Path(state_dir)
    changed: list[str] = []
    if not root.is_dir():
        return changed
    for path in [root, *root.rglob("*")]:
        try:
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                continue
            mode = stat.S_IMODE(st.st_mode)
            if mode & 0o077:
                os.chmod(path, mode & ~0o077)
                changed.append(str(path.relative_to(root)) or ".")
        except OSError as exc:
            log.warning("cannot tighten permissions of %s: %s", path, exc)
    return changed
