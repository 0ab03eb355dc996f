"""One home for the facts every entry point needs: which policy file, which state directory, who
acts and in which language.

Before, each CLI (``notaus``, ``notaus policy``, ``notaus incident``, detection), the engine and the
API resolved these on their own: five state-dir resolvers, and three ``_actor()`` that wrote
``cli:?`` or ``cli:unknown`` into the journal when ``$USER`` was not set (systemd units, cron). It
lives in ``policies`` because that is the bottom layer: everything may import it, it imports
nothing of ours but the loader's error.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path
from typing import Any

from notaus.policies.loader import PolicyError

LANGS = ("de", "en")


def config_path(args: Any = None) -> Path:
    """``--config`` if given, else ``$NOTAUS_CONFIG``; none -> ``PolicyError([])`` (the CLI explains)."""
    path = getattr(args, "config", None) or os.environ.get("NOTAUS_CONFIG")
    if not path:
        raise PolicyError([])
    return Path(path)


def state_dir(policy: Any, base_dir: str | Path | None) -> Path:
    """The policy's ``controller.state_dir``; a relative one is relative to ``base_dir`` (the folder of
    the policy file), never to the working directory a command happened to start in."""
    configured = Path(policy.controller.state_dir)
    if configured.is_absolute() or base_dir is None:
        return configured
    return Path(base_dir) / configured


def state_dir_of_config(policy: Any, config_file: str | Path | None) -> Path:
    """:func:`state_dir` for callers holding the policy file's path rather than its folder."""
    return state_dir(policy, Path(config_file).resolve().parent if config_file is not None else None)


def cli_actor() -> str:
    """Who runs a command, as journaled: ``$NOTAUS_ACTOR``, else ``cli:<login>``.

    The login is the invoking user behind ``sudo`` if any, else the process owner from the password
    database (``$USER`` is unset under systemd and cron), else ``uid<N>`` - never a placeholder.
    """
    explicit = os.environ.get("NOTAUS_ACTOR")
    if explicit:
        return explicit
    name = os.environ.get("SUDO_USER") or os.environ.get("USER") or os.environ.get("LOGNAME")
    if not name:
        try:
            name = pwd.getpwuid(os.getuid()).pw_name
        except KeyError:
            name = f"uid{os.getuid()}"
    return f"cli:{name}"


def cli_lang(args: Any = None, policy: Any = None) -> str:
    """``--lang``, else the policy's ``controller.language`` (if a policy is at hand), else English
    when ``$LANG`` asks for it, else German."""
    lang = getattr(args, "lang", None)
    if lang in LANGS:
        return str(lang)
    if policy is not None:
        configured = getattr(policy.controller, "language", None)
        if configured in LANGS:
            return str(configured)
    return "en" if os.environ.get("LANG", "").startswith("en") else "de"
