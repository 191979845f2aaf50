"""YAML files whose errors name the key path and the line.

    >>> doc = load_yaml_text("a:\\n  b: 3\\n")
    >>> doc.data, doc.line("a", "b")
    ({'a': {'b': 3}}, 2)
    >>> doc.error(["a", "b"], "must be a string").args[0]
    '<string>: a.b (line 2): must be a string'
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

__all__ = ["YamlDocument", "SpecError", "load_yaml", "load_yaml_text"]


class SpecError(ValueError):
    """A problem in a study or sweep file; the message names the file, the key path and the line."""


@dataclass
class YamlDocument:
    data: object
    source: str = "<string>"
    lines: dict[tuple, int] = field(default_factory=dict)

    def line(self, *path) -> int | None:
        """Line (1-based) of the key path, or of its closest existing parent."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)

    def error(self, path, message: str) -> SpecError:
        path = tuple(path)
        name = ".".join(str(k) if not isinstance(k, int) else f"[{k}]" for k in path).replace(".[", "[") or "(top)"
        line = self.line(*path)
        where = f" (line {line})" if line else ""
        return SpecError(f"{self.source}: {name}{where}: {message}")


def _walk(node, path: tuple, lines: dict):
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out = {}
        for k, v in node.value:
            key = _scalar(k)
            lines[path + (key,)] = k.start_mark.line + 1
            out[key] = _walk(v, path + (key,), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(v, path + (i,), lines) for i, v in enumerate(node.value)]
    return _scalar(node)


def _scalar(node):
    return yaml.safe_load(yaml.serialize(node))


def load_yaml_text(text: str, source: str = "<string>") -> YamlDocument:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise SpecError(f"{source}{where}: not valid YAML: {getattr(e, 'problem', e)}") from None
    if node is None:
        raise SpecError(f"{source}: the file is empty")
    lines: dict[tuple, int] = {}
    return YamlDocument(_walk(node, (), lines), source, lines)


def load_yaml(path) -> YamlDocument:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise SpecError(f"{p}: cannot read the file: {e.strerror}") from None
    return load_yaml_text(text, str(p))
