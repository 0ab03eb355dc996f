"""Load the policy YAML and turn every mistake into ``file:line: key: message``.

A provider editing a policy over a remote session at night must see exactly which line is wrong,
and nothing may touch a device before the whole document validated.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from notaus.policies.schema import Policy

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class PolicyError(ValueError):
    """The policy is invalid; ``problems`` lists every finding with file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _line_map(node: yaml.Node, loc: Loc, out: dict[Loc, int]) -> None:
    """Record the 1-based line of every mapping key and sequence item below ``node``."""
    out.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[loc + (key,)] = key_node.start_mark.line + 1
            _line_map(value_node, loc + (key,), out)
            out[loc + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, loc + (index,), out)


def _nearest_line(loc: Loc, lines: dict[Loc, int]) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def _key_name(loc: Loc, data: Any) -> str:
    """``('devices', 0, 'port')`` -> ``devices[0] (fritzbox).port`` so the reader finds the entry."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            label = f"[{part}]"
            try:
                node = node[part]
                if isinstance(node, dict) and node.get("name"):
                    label += f" ({node['name']})"
            except (IndexError, KeyError, TypeError):
                node = None
            parts.append(label)
        else:
            node = node.get(part) if isinstance(node, dict) else None
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def load_policy_text(text: str, source: str = "<policy>") -> Policy:
    """Parse and validate; raise :class:`PolicyError` listing every problem."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise PolicyError([Problem(source, line, "", f"YAML syntax: {exc.problem or exc}")]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError([Problem(source, 1, "", "the policy must be a mapping (key: value) at the top level")])
    lines: dict[Loc, int] = {}
    if root is not None:
        _line_map(root, (), lines)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (typo?)"
            problems.append(Problem(source, _nearest_line(loc, lines), _key_name(loc, data), msg))
        raise PolicyError(problems) from None


def load_policy(path: str | Path) -> Policy:
    """Load a policy file; a missing or unreadable file is a :class:`PolicyError` too."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError([Problem(str(path), None, "", f"cannot read: {exc.strerror}")]) from None
    return load_policy_text(text, str(path))
