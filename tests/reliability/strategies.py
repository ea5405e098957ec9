"""Hypothesis strategies for config.json: documents drawn from our JSON Schema, and hostile
mutations of a valid busybox config (most of which still reach the kernel steps)."""

from __future__ import annotations

import copy
import json
import os

from hypothesis import strategies as st

SCHEMA_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "oci_spec", "schema", "config.json")
MAX_DEPTH = 6

# -- drawn from the schema --------------------------------------------------------------------

_JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10)
ANY_JSON = st.recursive(_JSON_LEAVES, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def config_schema() -> dict:
    with open(SCHEMA_FILE) as f:
        return json.load(f)


def from_schema(schema: dict):
    """Documents shaped by ``schema`` (types, required and optional properties, enums,
    bounds); patterns are ignored, so many strings are still invalid, as a fuzzer wants."""
    return _node(schema, schema, 0)


def _node(node: dict, root: dict, depth: int):
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return st.deferred(lambda: _node(root["$defs"][name], root, depth + 1))
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if "anyOf" in node:
        return st.one_of([_node(n, root, depth) for n in node["anyOf"]])
    kind = node.get("type")
    if isinstance(kind, list):
        return st.one_of([_node(dict(node, type=k), root, depth) for k in kind])
    if kind == "object" or "properties" in node:
        return _object(node, root, depth)
    if kind == "array":
        items = _node(node.get("items", {}), root, depth + 1)
        least = node.get("minItems", 0)
        return st.lists(items, min_size=least, max_size=least if depth > MAX_DEPTH else least + 3)
    if kind == "string":
        return st.text(min_size=node.get("minLength", 0), max_size=24)
    if kind == "integer":
        return st.integers(node.get("minimum", -(2**64)), node.get("maximum", 2**64))
    if kind == "number":
        return st.floats(allow_nan=False) | st.integers()
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return ANY_JSON


def _object(node: dict, root: dict, depth: int):
    props = node.get("properties", {})
    required = [k for k in node.get("required", []) if k in props]
    optional = {} if depth > MAX_DEPTH else {k: _node(v, root, depth + 1) for k, v in props.items()
                                              if k not in required}
    fixed = st.fixed_dictionaries({k: _node(props[k], root, depth + 1) for k in required},
                                  optional=optional)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and depth <= MAX_DEPTH:
        more = st.dictionaries(st.text(min_size=1, max_size=12), _node(extra, root, depth + 1), max_size=2)
        return st.tuples(fixed, more).map(lambda pair: {**pair[1], **pair[0]})
    return fixed


# -- mutations of a valid config --------------------------------------------------------------

def _deep(levels: int):
    value: object = "bottom"
    for _ in range(levels):
        value = [value]
    return value


HOSTILE_VALUES = st.one_of(
    st.sampled_from([None, True, False, 0, -1, 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64,
                     -(2**63), -(2**63) - 1, 10**30, -(10**30), 1.5, -0.0, 1e308, "", " ", "..",
                     "/", "../../..", "a\x00b", "\x00", "é", "\u202e\U0001f600", "%s%n", "-1",
                     "x" * 5000, "/" + "a/" * 2000, [], {}, [None], {"": None}, ["a\x00"]]),
    st.integers(),
    st.text(max_size=40),
    st.binary(max_size=20).map(lambda b: b.decode("latin-1")),
    st.integers(2, 200).map(_deep),
    ANY_JSON,
)


def leaf_paths(doc, prefix=()) -> list[tuple]:
    """Every path (keys and indexes) to a scalar of ``doc``."""
    if isinstance(doc, dict):
        return [p for k, v in doc.items() for p in leaf_paths(v, prefix + (k,))]
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in leaf_paths(v, prefix + (i,))]
    return [prefix]


def node_paths(doc, prefix=()) -> list[tuple]:
    """Every path to a value of ``doc`` (objects and arrays included), the root excluded."""
    out = []
    if isinstance(doc, dict):
        items = doc.items()
    elif isinstance(doc, list):
        items = enumerate(doc)
    else:
        return out
    for k, v in items:
        out.append(prefix + (k,))
        out += node_paths(v, prefix + (k,))
    return out


def _set(doc, path, value):
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def _delete(doc, path):
    for key in path[:-1]:
        doc = doc[key]
    del doc[path[-1]]


@st.composite
def leaf_mutations(draw, base: dict, count: int = 3):
    """``base`` with 1..count scalars replaced by hostile values (the shape stays valid, so
    many of these pass validation and reach the kernel steps)."""
    doc = copy.deepcopy(base)
    paths = leaf_paths(doc)
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=count, unique=True)):
        _set(doc, path, draw(HOSTILE_VALUES))
    return doc


@st.composite
def structural_mutations(draw, base: dict):
    """``base`` with members removed (required ones too), replaced, or unknown ones added."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = node_paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["delete", "replace", "add"]))
        if action == "delete":
            _delete(doc, path)
        elif action == "replace":
            _set(doc, path, draw(HOSTILE_VALUES))
        else:
            parent = doc
            for key in path[:-1]:
                parent = parent[key]
            if isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=12))] = draw(HOSTILE_VALUES)
            else:
                parent.append(draw(HOSTILE_VALUES))
    return doc
