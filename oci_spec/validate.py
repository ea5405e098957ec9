"""Validation of the spec's JSON documents: reading, schema, semantics.

Two schema stages share the files in ``oci_spec/schema/``:

1. ``validate_fast.is_valid`` -- a yes/no answer without importing
   jsonschema; the only stage a valid config goes through.
2. ``render.schema_errors`` -- jsonschema, imported only when stage 1 says
   "invalid", lists every error with its pointer and a plain-words message.

jsonschema is the reference: should the two stages ever disagree (a bug the
unit tests look for), the verdict of stage 2 wins.

Semantic checks (``semantic.py``) run in both cases, so one run reports
schema and semantic problems together.
"""

from __future__ import annotations

from . import jsontext
from .errors import ConfigError, FieldError, sort_errors
from .semantic import config_checks, features_checks, process_checks
from .validate_fast import is_valid, unknown_properties


def schema_problems(instance, name: str = "config", definition: str | None = None) -> list[FieldError]:
    if is_valid(instance, name, definition):
        return []
    from .render import schema_errors  # imports jsonschema: error path only
    return schema_errors(instance, name, definition)


def validate_config(config, bundle_dir: str | None = None) -> list[FieldError]:
    """Every error of a config dict (schema and semantic), sorted by pointer.
    With ``bundle_dir``, ``root.path`` must name a directory (a relative path
    is relative to the bundle)."""
    errors = schema_problems(config, "config")
    errors += config_checks(config, bundle_dir)[0]
    return sort_errors(errors)


def config_warnings(config) -> list[FieldError]:
    """What a runtime should log about a valid config: unknown properties
    (ignored, as the spec requires), unknown capabilities, deprecated forms."""
    warnings = config_checks(config)[1]
    warnings += [FieldError(p, "unknown property, ignored") for p in unknown_properties(config)]
    return sort_errors(warnings)


def validate_process(process) -> list[FieldError]:
    """Errors of a process object as given to ``exec --process``: the
    config schema's Process definition plus the process checks."""
    errors = schema_problems(process, "config", "Process")
    errors += process_checks(process)[0]
    return sort_errors(errors)


def validate_state(state) -> list[FieldError]:
    """Errors of a state document (``runtime.md``, State)."""
    return sort_errors(schema_problems(state, "state"))


def validate_features(features) -> list[FieldError]:
    """Errors of a features document (``features.md``)."""
    return sort_errors(schema_problems(features, "features") + features_checks(features))


def read_json(path: str, source: str):
    """The parsed JSON document at ``path``; on failure a ConfigError whose
    lines start with ``source``."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError([FieldError("", f"cannot read {path}: {e.strerror}")], source) from None
    return parse_json(data, source)


def parse_json(data: bytes | str, source: str):
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as e:
        raise ConfigError([FieldError("", f"invalid JSON: not UTF-8 text (byte {e.start})")],
                          source) from None
    try:
        return jsontext.loads(text)
    except jsontext.Invalid as e:
        where = f" at line {e.lineno} column {e.colno}:" if e.lineno else ":"
        raise ConfigError([FieldError("", f"invalid JSON{where} {e.msg}")], source) from None
