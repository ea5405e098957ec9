"""A yes/no JSON Schema check without jsonschema.

Importing jsonschema costs 60-90 ms, which ``create`` would pay on every call
although nearly every config it sees is valid.  This module interprets just
the keywords our own schema files (``oci_spec/schema/*.json``) use and answers
only "valid or not"; when the answer is "not", the caller asks jsonschema for
the full list of errors, so both stages read the same schema files.

The schema is compiled once into nested closures: validating a config is then
a walk over the document with no keyword dispatch.  A keyword this module does
not know is a compile-time error, so a schema edit cannot silently make the
fast verdict more permissive than jsonschema's.

Semantics follow JSON Schema 2020-12, with one deliberate difference that the
jsonschema stage copies (see ``render.py``): "integer" means a JSON number
written without a fraction, so ``1.0`` is not an integer (Go's decoder, and so
runc, rejects it too).
"""

from __future__ import annotations

import os

from .errors import escape_token

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema")

# Keywords that do not constrain the instance.
_ANNOTATIONS = frozenset({
    "$schema", "$id", "$comment", "$defs", "title", "description", "default",
    "examples", "x-expected", "x-message",
})

_TYPE_TESTS = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    # type() rather than isinstance(): bool is a subclass of int in Python.
    "integer": lambda v: type(v) is int,
    "number": lambda v: type(v) is int or type(v) is float,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
}

_schema_cache: dict[str, dict] = {}
_compiled_cache: dict[tuple[str, str], object] = {}


def load_schema(name: str) -> dict:
    """The parsed schema file ``oci_spec/schema/<name>.json`` (cached)."""
    schema = _schema_cache.get(name)
    if schema is None:
        from .jsontext import loads

        with open(os.path.join(SCHEMA_DIR, name + ".json"), encoding="utf-8") as f:
            schema = loads(f.read())
        _schema_cache[name] = schema
    return schema


def sub_schema(name: str, definition: str | None) -> dict:
    """The schema file itself, or a schema that validates against one of its
    ``$defs`` (e.g. the Process definition for ``exec --process``) while
    keeping every ``#/$defs/...`` reference resolvable."""
    schema = load_schema(name)
    if definition is None:
        return schema
    return {"$schema": schema.get("$schema"), "$defs": schema["$defs"],
            "$ref": "#/$defs/" + definition}


def is_valid(instance, name: str = "config", definition: str | None = None) -> bool:
    """True when ``instance`` satisfies schema ``name`` (or its ``$defs``
    entry ``definition``)."""
    key = (name, definition or "")
    check = _compiled_cache.get(key)
    if check is None:
        check = compile_schema(sub_schema(name, definition))
        _compiled_cache[key] = check
    return check(instance)


def compile_schema(root: dict):
    """Compile ``root`` into a predicate ``instance -> bool``."""
    compiled_refs: dict[str, object] = {}

    def resolve(ref: str):
        if not ref.startswith("#/"):
            raise ValueError(f"schema $ref {ref!r}: only local references are supported")
        fn = compiled_refs.get(ref)
        if fn is not None:
            return fn
        target = root
        for token in ref[2:].split("/"):
            target = target[token.replace("~1", "/").replace("~0", "~")]
        # Bind through a cell first so that recursive definitions terminate.
        cell: list = []
        compiled_refs[ref] = lambda v: cell[0](v)
        cell.append(build(target))
        compiled_refs[ref] = cell[0]
        return cell[0]

    def build(schema):
        if schema is True:
            return lambda v: True
        if schema is False:
            return lambda v: False
        checks = []
        for kw, arg in schema.items():
            if kw in _ANNOTATIONS or kw.startswith("$comment") or kw in ("then", "else"):
                continue
            maker = _KEYWORDS.get(kw)
            if maker is None:
                raise ValueError(f"schema keyword {kw!r} is not supported by the fast validator")
            checks.append(maker(arg, schema, build, resolve))
        if not checks:
            return lambda v: True
        if len(checks) == 1:
            return checks[0]
        checks = tuple(checks)
        return lambda v: all(c(v) for c in checks)

    return build(root)


# Each keyword maker takes (argument, whole schema object, build, resolve)
# and returns a predicate.  Keywords that constrain one JSON type pass any
# value of another type, as in JSON Schema.

def _k_ref(arg, schema, build, resolve):
    # Resolved lazily: a definition may refer to one compiled later.
    slot: list = []

    def check(v):
        if not slot:
            slot.append(resolve(arg))
        return slot[0](v)
    return check


def _k_type(arg, schema, build, resolve):
    if isinstance(arg, str):
        return _TYPE_TESTS[arg]
    tests = tuple(_TYPE_TESTS[t] for t in arg)
    return lambda v: any(t(v) for t in tests)


def _k_enum(arg, schema, build, resolve):
    if all(type(a) is str for a in arg):
        allowed = frozenset(arg)
        return lambda v: type(v) is str and v in allowed
    choices = tuple(arg)
    return lambda v: any(_json_equal(v, c) for c in choices)


def _k_const(arg, schema, build, resolve):
    return lambda v: _json_equal(v, arg)


def _json_equal(a, b) -> bool:
    # JSON equality: true is not 1, and 1 equals 1.0.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _k_properties(arg, schema, build, resolve):
    props = tuple((name, build(sub)) for name, sub in arg.items())

    def check(v):
        if type(v) is not dict:
            return True
        for name, sub in props:
            if name in v and not sub(v[name]):
                return False
        return True
    return check


def _k_additional(arg, schema, build, resolve):
    known = frozenset(schema.get("properties", ()))
    if "patternProperties" in schema:
        raise ValueError("patternProperties is not supported by the fast validator")
    sub = build(arg)

    def check(v):
        if type(v) is not dict:
            return True
        for name, value in v.items():
            if name not in known and not sub(value):
                return False
        return True
    return check


def _k_property_names(arg, schema, build, resolve):
    sub = build(arg)
    return lambda v: type(v) is not dict or all(sub(k) for k in v)


def _k_required(arg, schema, build, resolve):
    names = tuple(arg)
    return lambda v: type(v) is not dict or all(n in v for n in names)


def _k_dependent_required(arg, schema, build, resolve):
    rules = tuple((name, tuple(deps)) for name, deps in arg.items())

    def check(v):
        if type(v) is not dict:
            return True
        return all(d in v for name, deps in rules if name in v for d in deps)
    return check


def _k_items(arg, schema, build, resolve):
    if not isinstance(arg, (dict, bool)):
        raise ValueError("items must be a single schema (2020-12 form)")
    sub = build(arg)
    return lambda v: type(v) is not list or all(sub(x) for x in v)


def _k_min_items(arg, schema, build, resolve):
    return lambda v: type(v) is not list or len(v) >= arg


def _k_min_length(arg, schema, build, resolve):
    return lambda v: type(v) is not str or len(v) >= arg


def _is_number(v) -> bool:
    return (type(v) is int or type(v) is float)


def _k_minimum(arg, schema, build, resolve):
    return lambda v: not _is_number(v) or v >= arg


def _k_maximum(arg, schema, build, resolve):
    return lambda v: not _is_number(v) or v <= arg


def _k_pattern(arg, schema, build, resolve):
    from .patterns import CHECKS

    plain = CHECKS.get(arg)
    if plain is not None:
        return lambda v: type(v) is not str or plain(v)
    compiled: list = []

    def check(v):
        if type(v) is not str:
            return True
        if not compiled:
            # A pattern oci_spec.patterns lacks: `re`, loaded only when a value reaches it.
            import re
            compiled.append(re.compile(arg))
        return compiled[0].search(v) is not None
    return check


def _k_any_of(arg, schema, build, resolve):
    subs = tuple(build(s) for s in arg)
    return lambda v: any(s(v) for s in subs)


def _k_all_of(arg, schema, build, resolve):
    subs = tuple(build(s) for s in arg)
    return lambda v: all(s(v) for s in subs)


def _k_one_of(arg, schema, build, resolve):
    subs = tuple(build(s) for s in arg)
    return lambda v: sum(1 for s in subs if s(v)) == 1


def _k_not(arg, schema, build, resolve):
    sub = build(arg)
    return lambda v: not sub(v)


def _k_if(arg, schema, build, resolve):
    cond = build(arg)
    then = build(schema.get("then", True))
    other = build(schema.get("else", True))
    return lambda v: then(v) if cond(v) else other(v)


_KEYWORDS = {
    "$ref": _k_ref,
    "type": _k_type,
    "enum": _k_enum,
    "const": _k_const,
    "properties": _k_properties,
    "additionalProperties": _k_additional,
    "propertyNames": _k_property_names,
    "required": _k_required,
    "dependentRequired": _k_dependent_required,
    "items": _k_items,
    "minItems": _k_min_items,
    "minLength": _k_min_length,
    "minimum": _k_minimum,
    "maximum": _k_maximum,
    "pattern": _k_pattern,
    "anyOf": _k_any_of,
    "allOf": _k_all_of,
    "oneOf": _k_one_of,
    "not": _k_not,
    "if": _k_if,
}

SUPPORTED_KEYWORDS = frozenset(_KEYWORDS) | _ANNOTATIONS | {"then", "else"}


def unknown_properties(instance, name: str = "config", definition: str | None = None) -> list[str]:
    """Pointers of properties the schema does not define (the spec lets
    runtimes log them; they are otherwise ignored).  Follows properties,
    items, map values and $ref; objects that are maps or closed are skipped."""
    root = load_schema(name)
    found: list[str] = []

    def deref(schema):
        while isinstance(schema, dict) and "$ref" in schema and "properties" not in schema:
            target = root
            for token in schema["$ref"][2:].split("/"):
                target = target[token]
            schema = target
        return schema if isinstance(schema, dict) else {}

    def walk(schema, value, pointer):
        schema = deref(schema)
        if type(value) is dict:
            props = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for key, item in value.items():
                sub = props.get(key)
                if sub is not None:
                    walk(sub, item, pointer + "/" + escape_token(key))
                elif isinstance(extra, dict):
                    walk(extra, item, pointer + "/" + escape_token(key))
                elif extra is None and props:
                    found.append(pointer + "/" + escape_token(key))
        elif type(value) is list and isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                walk(schema["items"], item, f"{pointer}/{i}")

    start = root if definition is None else {"$ref": "#/$defs/" + definition}
    walk(start, instance, "")
    return found
