"""Every schema error of a document, worded for people, via jsonschema.

Only reached when the fast verdict (``validate_fast``) says a document is
invalid, so the cost of importing jsonschema is paid only on the error path.
jsonschema's own messages are Python reprs ("'abc' is not of type
'integer'"); they are reworded here from the error's keyword, value and
schema, using the ``x-expected``/``x-message`` annotations of our schema files
where a plain keyword would say too little ("does not match '^/'").
"""

from __future__ import annotations

import json

from .errors import FieldError, make_pointer
from .validate_fast import sub_schema

_validator_classes: dict[str, type] = {}

_TYPE_WORDS = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}


def _validator_class():
    """Draft 2020-12, except that "integer" excludes numbers written with a
    fraction (``1.0``), matching ``validate_fast`` and Go's decoder."""
    cls = _validator_classes.get("2020-12")
    if cls is None:
        import jsonschema
        from jsonschema import validators

        base = jsonschema.Draft202012Validator

        def is_integer(checker, value):
            return isinstance(value, int) and not isinstance(value, bool)

        checker = base.TYPE_CHECKER.redefine("integer", is_integer)
        cls = validators.extend(base, type_checker=checker)
        _validator_classes["2020-12"] = cls
    return cls


def reference_validator(name: str = "config", definition: str | None = None):
    """The jsonschema validator of schema ``name`` (or its ``$defs`` entry
    ``definition``), with pyrunc's meaning of "integer"."""
    return _validator_class()(sub_schema(name, definition))


def schema_errors(instance, name: str = "config", definition: str | None = None) -> list[FieldError]:
    """All schema errors of ``instance``, each with the JSON pointer of the
    offending value and a plain-words message."""
    validator = reference_validator(name, definition)
    out: list[FieldError] = []
    for error in validator.iter_errors(instance):
        out.extend(_render(error))
    return out


def show(value) -> str:
    """A JSON rendering of ``value`` short enough for a one-line message."""
    if isinstance(value, (dict, list)) and _nested_deeper_than(value, 8):
        return "{...}" if isinstance(value, dict) else "[...]"  # json.dumps could overflow the stack
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if len(text) > 60:
        if isinstance(value, str):
            text = text[:56] + '..."'
        elif isinstance(value, dict):
            text = "{...}"
        elif isinstance(value, list):
            text = "[...]"
        else:
            text = text[:57] + "..."
    return text


def _nested_deeper_than(value, limit: int) -> bool:
    level = [value]
    for _ in range(limit):
        level = [v for c in level for v in (c.values() if isinstance(c, dict) else c)
                 if isinstance(v, (dict, list))]
        if not level:
            return False
    return True


def _type_words(types) -> str:
    if isinstance(types, str):
        types = [types]
    return " or ".join(_TYPE_WORDS.get(t, t) for t in types)


def _render(error) -> list[FieldError]:
    keyword = error.validator
    value = error.instance
    arg = error.validator_value
    schema = error.schema if isinstance(error.schema, dict) else {}
    pointer = make_pointer(error.absolute_path)
    expected = schema.get("x-expected")
    # propertyNames errors are about a key of the object at ``pointer``.
    is_key = "propertyNames" in error.relative_schema_path
    subject = ("key " if is_key else "") + show(value)

    if keyword == "required":
        missing = [n for n in arg if isinstance(value, dict) and n not in value]
        return [FieldError(pointer, f'"{n}" is required') for n in missing]
    if keyword == "dependentRequired":
        out = []
        for name, deps in arg.items():
            if isinstance(value, dict) and name in value:
                out.extend(FieldError(pointer, f'"{d}" is required when "{name}" is set')
                           for d in deps if d not in value)
        return out
    if keyword == "type":
        message = f"{subject} is not {_type_words(arg)}"
    elif keyword == "enum":
        names = ", ".join(a if isinstance(a, str) else show(a) for a in arg)
        message = f"{subject} is not one of {names}"
    elif keyword == "const":
        message = f"{subject} is not {show(arg)}"
    elif keyword in ("minimum", "maximum"):
        if expected:
            message = f"{subject} is not {expected}"
        elif keyword == "minimum":
            message = f"{subject} is less than the minimum {arg}"
        else:
            message = f"{subject} is greater than the maximum {arg}"
    elif keyword == "pattern":
        if expected:
            message = f"{subject} is not {expected}"
        else:
            message = f"{subject} does not match the pattern {arg}"
    elif keyword == "minLength":
        if arg == 1:
            message = f"{subject} must not be empty" if is_key else "must not be empty"
        else:
            message = f"{subject} is shorter than {arg} characters"
    elif keyword == "minItems":
        if arg == 1:
            message = "must have at least one entry"
        else:
            message = f"must have at least {arg} entries"
    elif keyword == "additionalProperties":
        extra = sorted(k for k in value if k not in schema.get("properties", {}))
        return [FieldError(pointer, f'unknown property "{k}"') for k in extra] or \
            [FieldError(pointer, "has a property that is not allowed")]
    elif keyword in ("anyOf", "oneOf"):
        message = schema.get("x-message") or (
            f"{subject} does not match {'any' if keyword == 'anyOf' else 'exactly one'}"
            " of the allowed forms")
    elif keyword == "not":
        message = f"{subject} is not allowed here"
    elif keyword is None:  # a ``false`` schema
        message = "is not allowed here"
    else:
        # A keyword our schemas do not use yet: fall back to jsonschema's text.
        message = error.message
    return [FieldError(pointer, message)]
