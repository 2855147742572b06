"""Checking a configuration yml against a pydantic model, with an error a person can act on.

Every yml the pipeline ships (sources, indicators, marts) is validated when it is loaded: an unknown
or misspelt key, a missing key or a value of the wrong type raises `UserError` naming the file, where
in the file, and the key (for an unknown key also the keys allowed there).

It lives in the ingest package because the source catalogue is its first user and indicators may
import from ingest (the layer order in pyproject.toml); it has no ingest logic of its own.
"""

from __future__ import annotations

import copy
import types
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from pipelines.core.errors import UserError

Spec = TypeVar("Spec", bound=BaseModel)


class StrictSpec(BaseModel):
    """Base of every yml model: a key the model does not name is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


_PARSED: dict[str, Any] = {}  # yml text -> parsed value (the catalogues are read many times per run)
_PARSED_MAX = 1024
# libyaml's safe loader parses the project's yml files ~9x faster and to the same values (all 46 compared when it
# was adopted); the pure-Python one where PyYAML was built without libyaml
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yml(path) -> Any:
    """The parsed yml of `path` (a Path or an importlib.resources Traversable).

    The file is read every time; its parse is memoised by the text itself, so an edited file is parsed
    again and nothing stale is ever returned. Parsing with the pure-Python loader took most of a run's
    catalogue loading (each stage reads every indicator and mart yml); callers get their own copy."""
    text = path.read_text(encoding="utf-8")
    if text not in _PARSED:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[text] = yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader (libyaml's when built)
    return copy.deepcopy(_PARSED[text])


def validated(model: type[Spec], raw: Any, where) -> Spec:
    """`raw` (parsed yml of the file `where`) checked against `model`; UserError naming file and key."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = [_describe(model, raw, err) for err in exc.errors()]
        raise UserError(f"{where}: invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems)) from None


def _describe(model: type[BaseModel], raw: Any, err: dict) -> str:
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        hint = f" (misspelt? allowed here: {', '.join(allowed)})" if allowed else ""
        return f"unknown key {loc[-1]!r} at {_where(raw, loc[:-1])}{hint}"
    if err["type"] == "missing":
        return f"missing key {loc[-1]!r} at {_where(raw, loc[:-1])}"
    return f"key {_where(raw, loc)}: {err['msg']}"


def _where(raw: Any, loc: tuple) -> str:
    """A location such as `tables[price_observations].columns[observed_at]` (list items by their name)."""
    out, node = "", raw
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            label = next((item[k] for k in ("name", "table", "id") if isinstance(item, dict) and k in item), part)
            out += f"[{label}]"
            node = item
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "the top level"


def _strip_optional(tp: Any) -> Any:
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys the model allows at `loc` (empty when it cannot tell)."""
    tp: Any = model
    for part in loc:
        tp = _strip_optional(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return []
            tp = field.annotation
        elif get_origin(tp) in (list, tuple, dict):
            tp = get_args(tp)[0 if get_origin(tp) is tuple else -1]
        else:
            return []
    tp = _strip_optional(tp)
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else []
