"""Strict JSON schemas for tool functions, and the way back from JSON arguments to Python values.

`schema_from_function(fn)` turns a Python signature into the `parameters` schema of a Responses API
function tool with `strict: true`. Strict mode accepts a subset of JSON Schema: every object is
closed (`additionalProperties: false`) and lists every property in `required`, and the root is an
object. So optionality is expressed as nullability, not absence:

- a parameter (or dataclass field, or TypedDict key) that has a default, is `Optional[X]`/`X | None`,
  or is a `total=False`/`NotRequired` TypedDict key becomes nullable. Scalars use a type list
  (`{"type": ["string", "null"]}`); enums, arrays, objects and unions use
  `{"anyOf": [<schema>, {"type": "null"}]}` (the shape the OpenAI SDK itself generates, and the one
  that keeps `enum` and `null` from contradicting each other).
- `coerce_arguments` drops a `null` sent for a parameter that has a default, so the default applies.

Supported annotations: `str`, `int`, `float`, `bool`, `None`, `Optional[X]`/`X | None`, unions of
supported types (`anyOf`), `Literal[...]` and `Enum` subclasses (`enum` of the values),
`list[X]`/`set[X]`/`frozenset[X]`/`tuple[X, ...]`/`Sequence[X]` (arrays), nested `@dataclass` and
`TypedDict` classes (closed objects), `NewType`s of those, `Annotated[X, "description"]` and
`dict[K, V]`/`Mapping[K, V]`.

Mappings: strict mode cannot express a free-form object (`additionalProperties` must be false), so
`dict[K, V]` travels as an array of `{"key": K, "value": V}` entries. Both key and value types stay
checked by the schema, and `coerce_arguments` turns the entries back into a dict (a key sent twice is
a `ToolArgumentsError`). Keys may be `str`, `int`, a `Literal` or an `Enum`. Bare `dict`,
`dict[str, Any]` and other annotations without a concrete type (`Any`, `object`, arbitrary classes,
recursive dataclasses) raise `ToolSchemaError` naming the function and parameter: pass
`parameters_schema=` for those.

Descriptions come from `Annotated[X, "..."]` first, else from the Google-style `Args:` section of the
function's docstring (`Attributes:` for dataclass and TypedDict fields).

`check_strict_schema(schema)` checks a hand-written `parameters_schema` against the strict-mode rules
the API enforces; `check_json_schema(schema)` only checks that it is valid JSON Schema.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal, NoReturn, Union, get_args, get_origin, get_type_hints

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from .errors import ToolArgumentsError, ToolSchemaError

try:  # typing_extensions.TypedDict classes are not always recognised by typing.is_typeddict
    import typing_extensions as _typing_extensions
except ImportError:  # pragma: no cover - typing_extensions ships with openai and jsonschema
    _typing_extensions = None

__all__ = [
    "check_json_schema",
    "check_strict_schema",
    "coerce_arguments",
    "docstring_summary",
    "schema_from_function",
]

# Limits the Responses API documents for strict schemas.
MAX_NESTING_DEPTH = 10
MAX_PROPERTIES = 5000
MAX_ENUM_VALUES = 1000
# Composition keywords strict mode rejects.
UNSUPPORTED_KEYWORDS = ("allOf", "not", "if", "then", "else", "dependentRequired", "dependentSchemas")

_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_NULL: dict[str, Any] = {"type": "null"}
_ARRAY_ORIGINS = (list, set, frozenset, tuple, Sequence)
_MAPPING_ORIGINS = (dict, Mapping)
_UNION_ORIGINS = (Union, types.UnionType)
_NOT_BY_NAME = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.POSITIONAL_ONLY)
_HINT = (
    "use a supported annotation (str, int, float, bool, None, Optional[...], Literal[...], an Enum, "
    "list[...], dict[str, ...], a dataclass or a TypedDict) or pass parameters_schema= when registering "
    "the tool"
)


# --- schema generation ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Where:
    """Where schema generation is, for error messages: the function and the path inside a parameter."""

    owner: str
    path: str = ""
    seen: tuple[type, ...] = ()

    def at(self, name: str) -> _Where:
        return dataclasses.replace(self, path=f"{self.path}.{name}" if self.path else name)

    def item(self, suffix: str = "[]") -> _Where:
        return dataclasses.replace(self, path=f"{self.path}{suffix}")

    def entering(self, cls: type) -> _Where:
        if cls in self.seen:
            self.fail(f"refers to {cls.__qualname__} recursively, which a generated schema cannot express")
        return dataclasses.replace(self, seen=(*self.seen, cls))

    def fail(self, problem: str) -> NoReturn:
        root = re.split(r"[.\[{]", self.path, maxsplit=1)[0]
        where = f"parameter {root!r}" + (f" (at {self.path})" if self.path != root else "")
        raise ToolSchemaError(
            f"cannot build a strict JSON schema for {self.owner}: {where} {problem}; {_HINT}"
        )


def schema_from_function(fn: Callable[..., Any]) -> dict[str, Any]:
    """The strict Responses API `parameters` schema for `fn`'s signature.

    Raises `ToolSchemaError` naming the function and the parameter for anything strict mode cannot
    express faithfully (see the module docstring).
    """
    owner = f"{_callable_name(fn)}()"
    try:
        signature = inspect.signature(fn, eval_str=True)
    except Exception as exc:  # NameError for unresolvable string annotations, ValueError for builtins
        raise ToolSchemaError(
            f"cannot build a strict JSON schema for {owner}: its signature cannot be read "
            f"({type(exc).__name__}: {exc}); pass parameters_schema= when registering the tool"
        ) from exc
    docs = _docstring_params(inspect.getdoc(_unwrap_callable(fn)))
    properties: dict[str, Any] = {}
    for name, param in signature.parameters.items():
        where = _Where(owner, name)
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            where.fail("is *args; a tool's arguments are named JSON properties")
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            where.fail("is **kwargs; a tool's arguments must be declared one by one")
        if param.kind is inspect.Parameter.POSITIONAL_ONLY:
            where.fail("is positional-only; tools are called with keyword arguments")
        if param.annotation is inspect.Parameter.empty:
            where.fail("has no type annotation")
        has_default = param.default is not inspect.Parameter.empty
        properties[name] = _property(param.annotation, has_default, docs.get(name), where)
    return _object(properties)


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _property(tp: Any, optional: bool, doc: str | None, where: _Where) -> dict[str, Any]:
    schema = _schema_for(tp, where)
    if optional:
        schema = _nullable(schema)
    if doc and "description" not in schema:
        schema = {**schema, "description": doc}
    return schema


def _schema_for(tp: Any, where: _Where) -> dict[str, Any]:
    tp, description = _unwrap(tp)
    schema = _base_schema(tp, where)
    if description:
        schema = {**schema, "description": description}
    return schema


def _base_schema(tp: Any, where: _Where) -> dict[str, Any]:
    if tp is None or tp is type(None):
        return dict(_NULL)
    if tp in _SCALARS:
        return {"type": _SCALARS[tp]}
    if tp is Any or tp is object:
        where.fail(f"has type {_type_name(tp)}; strict mode needs a concrete type")
    origin = get_origin(tp)
    if origin in _UNION_ORIGINS:
        return _union_schema(tp, where)
    if origin is Literal:
        return _literal_schema(tp, where)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_schema(tp, where)
    if tp in _ARRAY_ORIGINS or origin in _ARRAY_ORIGINS:
        return _array_schema(tp, where)
    if tp in _MAPPING_ORIGINS or origin in _MAPPING_ORIGINS:
        return _mapping_schema(tp, where)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_schema(tp, where)
    if _is_typeddict(tp):
        return _typeddict_schema(tp, where)
    where.fail(f"has unsupported type {_type_name(tp)}")


def _union_schema(tp: Any, where: _Where) -> dict[str, Any]:
    members = [arg for arg in get_args(tp) if arg is not type(None)]
    nullable = len(members) < len(get_args(tp))
    if len(members) == 1:
        schema = _schema_for(members[0], where)
    else:
        schema = {"anyOf": [_schema_for(member, where) for member in members]}
    return _nullable(schema) if nullable else schema


def _json_type(value: Any, where: _Where, what: str) -> str:
    for python_type in (bool, int, float, str):  # bool first: it is an int
        if isinstance(value, python_type):
            return _SCALARS[python_type]
    where.fail(f"has {what} value {value!r}; only str, int, float and bool values can be sent as JSON")


def _enum_of(values: list[Any], where: _Where, what: str) -> dict[str, Any]:
    if not values:
        where.fail(f"has an empty {what}")
    json_types: list[str] = []
    for value in values:
        json_type = _json_type(value, where, what)
        if json_type not in json_types:
            json_types.append(json_type)
    return {"type": json_types[0] if len(json_types) == 1 else json_types, "enum": values}


def _literal_schema(tp: Any, where: _Where) -> dict[str, Any]:
    values = list(get_args(tp))
    nullable = None in values
    schema = _enum_of([value for value in values if value is not None], where, "Literal")
    return _nullable(schema) if nullable else schema


def _enum_schema(cls: type[enum.Enum], where: _Where) -> dict[str, Any]:
    return _enum_of([member.value for member in cls], where, f"Enum {cls.__qualname__}")


def _array_schema(tp: Any, where: _Where) -> dict[str, Any]:
    args = get_args(tp)
    if get_origin(tp) is tuple:
        if len(args) != 2 or args[1] is not Ellipsis:
            where.fail(f"has type {_type_name(tp)}; only homogeneous tuples (tuple[X, ...]) are supported")
        args = args[:1]
    if not args:
        where.fail(f"has type {_type_name(tp)} without an item type; write e.g. list[str]")
    return {"type": "array", "items": _schema_for(args[0], where.item())}


def _mapping_schema(tp: Any, where: _Where) -> dict[str, Any]:
    args = get_args(tp)
    if len(args) != 2 or _unwrap(args[1])[0] in (Any, object):
        where.fail(
            f"has type {_type_name(tp)}; strict mode cannot express a free-form object, so a mapping needs "
            "concrete key and value types, e.g. dict[str, int]"
        )
    key, _ = _unwrap(args[0])
    key_is_enum = isinstance(key, type) and issubclass(key, enum.Enum)
    if key not in (str, int) and get_origin(key) is not Literal and not key_is_enum:
        where.fail(f"has type {_type_name(tp)}; mapping keys must be str, int, a Literal or an Enum")
    entry = _object({
        "key": _schema_for(key, where.item("{key}")),
        "value": _schema_for(args[1], where.item("{}")),
    })
    entry["description"] = "One entry of the mapping; each key at most once."
    return {"type": "array", "items": entry}


def _dataclass_schema(cls: type, where: _Where) -> dict[str, Any]:
    where = where.entering(cls)
    hints = _class_hints(cls, where)
    docs = _docstring_params(cls.__doc__)
    properties = {}
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        properties[field.name] = _property(
            hints[field.name], _field_has_default(field), docs.get(field.name), where.at(field.name)
        )
    return _object(properties)


def _typeddict_schema(cls: type, where: _Where) -> dict[str, Any]:
    where = where.entering(cls)
    hints = _class_hints(cls, where)
    docs = _docstring_params(cls.__doc__)
    optional_keys = getattr(cls, "__optional_keys__", frozenset())
    return _object({
        key: _property(hint, key in optional_keys, docs.get(key), where.at(key))
        for key, hint in hints.items()
    })


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` that also accepts null (a type list for plain scalars, anyOf otherwise)."""
    kind = schema.get("type")
    if kind == "null" or _NULL in schema.get("anyOf", ()):
        return schema
    if "enum" not in schema and "anyOf" not in schema:
        if isinstance(kind, str) and kind in _SCALARS.values():
            return {**schema, "type": [kind, "null"]}
        if isinstance(kind, list) and "null" in kind:
            return schema
    if set(schema) <= {"anyOf", "description"}:
        return {**schema, "anyOf": [*schema["anyOf"], dict(_NULL)]}
    inner = {key: value for key, value in schema.items() if key != "description"}
    nullable: dict[str, Any] = {"anyOf": [inner, dict(_NULL)]}
    if "description" in schema:
        nullable["description"] = schema["description"]
    return nullable


# --- annotations ---------------------------------------------------------------------------


def _unwrap(tp: Any) -> tuple[Any, str | None]:
    """Strip Annotated (keeping its first string as the description), NewType, Required/NotRequired."""
    description = None
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            args = get_args(tp)
            if description is None:
                description = next((meta for meta in args[1:] if isinstance(meta, str)), None)
            tp = args[0]
        elif origin in (typing.Required, typing.NotRequired):
            tp = get_args(tp)[0]
        elif isinstance(tp, typing.NewType):
            tp = tp.__supertype__
        else:
            return tp, description


def _is_typeddict(tp: Any) -> bool:
    if typing.is_typeddict(tp):
        return True
    return bool(_typing_extensions is not None and _typing_extensions.is_typeddict(tp))


def _class_hints(cls: type, where: _Where) -> dict[str, Any]:
    try:
        return get_type_hints(cls, include_extras=True)
    except Exception as exc:
        where.fail(
            f"has type {cls.__qualname__}, whose annotations cannot be resolved ({type(exc).__name__}: {exc})"
        )


def _field_has_default(field: dataclasses.Field[Any]) -> bool:
    return field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING


def _type_name(tp: Any) -> str:
    if isinstance(tp, type) and not get_args(tp):
        return tp.__qualname__
    return repr(tp).replace("typing.", "")


def _unwrap_callable(fn: Any) -> Any:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return fn


def _callable_name(fn: Any) -> str:
    target = _unwrap_callable(fn)
    name = getattr(target, "__qualname__", None) or getattr(type(target), "__qualname__", None)
    return name or repr(target)


# --- docstrings ----------------------------------------------------------------------------

_PARAM_SECTIONS = ("Args", "Arguments", "Parameters", "Params", "Keyword Args", "Keyword Arguments",
                   "Attributes", "Fields")
_OTHER_SECTIONS = ("Returns", "Return", "Yields", "Yield", "Raises", "Example", "Examples", "Note", "Notes",
                   "See Also", "Warning", "Warnings", "Todo")
_SECTION_RE = re.compile(r"^\s*(?P<name>[A-Z][A-Za-z ]*?)\s*:\s*$")
_ENTRY_RE = re.compile(r"^\*{0,2}(?P<name>\w+)\s*(?:\([^)]*\))?\s*:(?P<text>.*)$")


def _section_name(line: str) -> str | None:
    match = _SECTION_RE.match(line)
    if match and match["name"] in _PARAM_SECTIONS + _OTHER_SECTIONS:
        return match["name"]
    return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _docstring_params(doc: str | None) -> dict[str, str]:
    """Parameter descriptions from a Google-style docstring's Args:/Attributes: sections."""
    if not doc:
        return {}
    lines = inspect.cleandoc(doc).splitlines()
    found: dict[str, list[str]] = {}
    index = 0
    while index < len(lines):
        header = lines[index]
        index += 1
        if _section_name(header) not in _PARAM_SECTIONS:
            continue
        entry_indent, current = None, None
        while index < len(lines):
            line = lines[index]
            if line.strip():
                if _indent(line) <= _indent(header):
                    break
                entry_indent = _indent(line) if entry_indent is None else entry_indent
                match = _ENTRY_RE.match(line.strip()) if _indent(line) <= entry_indent else None
                if match:
                    current = match["name"]
                    found[current] = [match["text"]]
                elif current is not None:
                    found[current].append(line)
            index += 1
    return {name: text for name, parts in found.items() if (text := " ".join(" ".join(parts).split()))}


def docstring_summary(obj: Any) -> str | None:
    """The first paragraph of `obj`'s docstring on one line, or None when there is none."""
    doc = inspect.getdoc(_unwrap_callable(obj))
    if not doc:
        return None
    paragraph: list[str] = []
    for line in doc.splitlines():
        if not line.strip():
            if paragraph:
                break
            continue
        if _section_name(line):
            break
        paragraph.append(line.strip())
    return " ".join(paragraph) or None


# --- checking hand-written schemas ---------------------------------------------------------


def check_json_schema(schema: Any) -> None:
    """Raise `ToolSchemaError` unless `schema` is a valid JSON Schema (Draft 2020-12) object schema."""
    if not isinstance(schema, dict):
        raise ToolSchemaError(
            f"parameters_schema must be a JSON object (a dict), got {type(schema).__name__}"
        )
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = _pointer(exc.absolute_path)
        raise ToolSchemaError(
            f"parameters_schema is not a valid JSON Schema at {where}: {exc.message}"
        ) from exc


def check_strict_schema(schema: Any) -> None:
    """Raise `ToolSchemaError` if the Responses API would reject `schema` as a strict tool's parameters.

    Checks: valid JSON Schema; an object root that is not `anyOf`; on every object (nested ones,
    array items, `anyOf` branches and `$defs` included) `additionalProperties: false` and every
    property listed in `required`; every subschema declares a type (or `anyOf`/`$ref`/`enum`/`const`);
    no composition keyword strict mode rejects; and the documented size limits.
    """
    check_json_schema(schema)
    if schema.get("type") != "object" or "anyOf" in schema:
        _strict_fail("#", 'the root must be {"type": "object", ...} (not a type list and not anyOf)')
    totals = {"properties": 0, "enum": 0}
    _check_node(schema, "#", 0, totals)
    if totals["properties"] > MAX_PROPERTIES:
        _strict_fail(
            "#", f"it has {totals['properties']} object properties, over the limit of {MAX_PROPERTIES}"
        )
    if totals["enum"] > MAX_ENUM_VALUES:
        _strict_fail("#", f"it has {totals['enum']} enum values, over the limit of {MAX_ENUM_VALUES}")


def _strict_fail(pointer: str, problem: str) -> NoReturn:
    raise ToolSchemaError(f"parameters_schema is not accepted in strict mode at {pointer}: {problem}")


def _check_node(node: Any, pointer: str, depth: int, totals: dict[str, int]) -> None:
    if not isinstance(node, dict):
        _strict_fail(pointer, f"boolean schemas ({node!r}) are not supported; declare a type")
    for keyword in UNSUPPORTED_KEYWORDS:
        if keyword in node:
            _strict_fail(pointer, f"{keyword!r} is not supported in strict mode")
    if not any(key in node for key in ("type", "anyOf", "$ref", "enum", "const")):
        _strict_fail(pointer, 'every schema must declare a "type" (or use anyOf, $ref, enum or const)')
    kinds = node.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "object" in kinds or "properties" in node:
        depth += 1
        if depth > MAX_NESTING_DEPTH:
            _strict_fail(
                pointer, f"objects are nested {depth} levels deep, over the limit of {MAX_NESTING_DEPTH}"
            )
        if node.get("additionalProperties") is not False:
            _strict_fail(pointer, 'every object needs "additionalProperties": false')
        properties = node.get("properties", {})
        required = node.get("required", [])
        missing = [name for name in properties if name not in required]
        if missing:
            _strict_fail(
                pointer,
                f"properties {missing} are not listed in \"required\"; strict mode requires every property, "
                'so make optional ones nullable instead (e.g. "type": ["string", "null"])',
            )
        unknown = [name for name in required if name not in properties]
        if unknown:
            _strict_fail(pointer, f'"required" lists {unknown}, which are not in "properties"')
        totals["properties"] += len(properties)
        for name, sub in properties.items():
            _check_node(sub, f"{pointer}/properties/{_escape(name)}", depth, totals)
    if "items" in node:
        _check_node(node["items"], f"{pointer}/items", depth, totals)
    for index, sub in enumerate(node.get("anyOf", ())):
        _check_node(sub, f"{pointer}/anyOf/{index}", depth, totals)
    for keyword in ("$defs", "definitions"):
        for name, sub in node.get(keyword, {}).items():
            _check_node(sub, f"{pointer}/{keyword}/{_escape(name)}", depth, totals)
    totals["enum"] += len(node.get("enum", ()))


def _escape(token: str) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def _pointer(path: Any) -> str:
    return "#" + "".join(f"/{_escape(part)}" for part in path)


# --- from JSON arguments back to Python values ---------------------------------------------


def coerce_arguments(fn: Callable[..., Any], schema: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments to call `fn` with, from JSON arguments already validated against `schema`.

    Follows `fn`'s annotations: Enum values become members, objects become dataclasses, key/value
    entries become dicts, arrays become sets/tuples where annotated so, ints become floats for `float`.
    A null sent for a parameter with a default is dropped so the default applies. Values whose
    annotation is not understood (a hand-written `parameters_schema` may describe any type) pass
    through unchanged. Raises `ToolArgumentsError` for an argument the function does not accept, or
    when a value cannot be converted (e.g. a mapping key sent twice).
    """
    owner = _callable_name(fn)
    parameters = _parameters(fn)
    if parameters is None:  # a builtin without a signature: nothing to go by
        return dict(args)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    declared = schema.get("properties")
    closed = schema.get("additionalProperties") is False and isinstance(declared, dict)
    kwargs: dict[str, Any] = {}
    for name, value in args.items():
        if closed and name not in declared:
            raise ToolArgumentsError(f"unexpected argument {name!r}: not a property of the tool's schema")
        param = parameters.get(name)
        if param is None or param.kind in _NOT_BY_NAME:
            if not takes_any:
                raise ToolArgumentsError(f"unexpected argument {name!r}: {owner}() does not accept it")
            kwargs[name] = value
            continue
        if value is None and param.default is not inspect.Parameter.empty:
            continue
        kwargs[name] = _coerce(param.annotation, value, name)
    return kwargs


@functools.lru_cache(maxsize=1024)
def _parameters(fn: Callable[..., Any]) -> Mapping[str, inspect.Parameter] | None:
    """The function's parameters with string annotations resolved; computed once per function."""
    try:
        return inspect.signature(fn, eval_str=True).parameters
    except Exception:
        try:
            return inspect.signature(fn).parameters
        except (TypeError, ValueError):
            return None


def _coerce(tp: Any, value: Any, where: str) -> Any:
    tp, _ = _unwrap(tp)
    if value is None or tp is inspect.Parameter.empty or tp is Any:
        return value
    origin = get_origin(tp)
    if origin in _UNION_ORIGINS:
        for member in (arg for arg in get_args(tp) if arg is not type(None)):
            if _fits(member, value):
                return _coerce(member, value, where)
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise ToolArgumentsError(f"{where}: {value!r} is not a valid {tp.__name__}") from None
    if origin in _ARRAY_ORIGINS and isinstance(value, list):
        item = get_args(tp)[0] if get_args(tp) else Any
        items = [_coerce(item, element, f"{where}[{index}]") for index, element in enumerate(value)]
        return items if origin in (list, Sequence) else origin(items)
    if origin in _MAPPING_ORIGINS:
        key_type, value_type = get_args(tp) or (Any, Any)
        return _coerce_mapping(key_type, value_type, value, where)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp) and isinstance(value, dict):
        return _coerce_dataclass(tp, value, where)
    if _is_typeddict(tp) and isinstance(value, dict):
        hints = _hints_or_empty(tp)
        optional_keys = getattr(tp, "__optional_keys__", frozenset())
        return {
            key: _coerce(hints.get(key, Any), item, f"{where}.{key}")
            for key, item in value.items()
            if not (item is None and key in optional_keys)
        }
    return value


def _coerce_mapping(key_type: Any, value_type: Any, value: Any, where: str) -> Any:
    if isinstance(value, dict):  # a hand-written schema may declare a JSON object
        return {
            _coerce(key_type, key, f"{where}{{key}}"): _coerce(value_type, item, f"{where}[{key!r}]")
            for key, item in value.items()
        }
    if not isinstance(value, list):
        return value
    result: dict[Any, Any] = {}
    for index, entry in enumerate(value):
        if not isinstance(entry, dict) or set(entry) != {"key", "value"}:
            raise ToolArgumentsError(f"{where}[{index}]: expected an object with exactly 'key' and 'value'")
        key = _coerce(key_type, entry["key"], f"{where}[{index}].key")
        if key in result:
            raise ToolArgumentsError(f"{where}: key {entry['key']!r} is given more than once")
        result[key] = _coerce(value_type, entry["value"], f"{where}[{index}].value")
    return result


def _hints_or_empty(cls: type) -> dict[str, Any]:
    try:
        return get_type_hints(cls, include_extras=True)
    except Exception:  # unresolvable annotations: values pass through unconverted
        return {}


def _coerce_dataclass(cls: type, value: dict[str, Any], where: str) -> Any:
    hints = _hints_or_empty(cls)
    fields = {field.name: field for field in dataclasses.fields(cls) if field.init}
    kwargs = {}
    for name, item in value.items():
        field = fields.get(name)
        if field is None:
            raise ToolArgumentsError(f"{where}: unexpected field {name!r} for {cls.__name__}")
        if item is None and _field_has_default(field):
            continue
        kwargs[name] = _coerce(hints.get(name, Any), item, f"{where}.{name}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ToolArgumentsError(f"{where}: cannot build {cls.__name__}: {exc}") from exc


def _fits(member: Any, value: Any) -> bool:
    """Whether `value` is valid JSON for union member `member` (first fitting member wins)."""
    try:
        validator = _member_validator(member)
    except (ToolSchemaError, TypeError):  # unsupported or unhashable annotation: cannot tell
        return False
    return validator.is_valid(value)


@functools.lru_cache(maxsize=256)
def _member_validator(member: Any) -> Draft202012Validator:
    return Draft202012Validator(_schema_for(member, _Where("a union member")))
