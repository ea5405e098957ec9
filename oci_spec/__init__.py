"""The OCI runtime-spec 1.3.0 (Linux) as data: schemas, validation, model.

    from oci_spec import load_bundle_config, ConfigError
    spec = load_bundle_config(bundle_dir)      # -> oci_spec.model.Spec

Importing this package does not import jsonschema: a valid config is checked
by a small built-in interpreter of our schema files, and jsonschema is loaded
only to describe the errors of an invalid one.
"""

from __future__ import annotations

import os

from .errors import ConfigError, FieldError
from .model import Process, Spec
from .semantic import config_checks
from .validate import (
    config_warnings,
    parse_json,
    read_json,
    schema_problems,
    validate_config,
    validate_features,
    validate_process,
    validate_state,
)
from .validate_fast import unknown_properties

__all__ = [
    "ConfigError",
    "FieldError",
    "Process",
    "Spec",
    "config_warnings",
    "load_bundle_config",
    "load_process",
    "parse_json",
    "read_json",
    "validate_config",
    "validate_features",
    "validate_process",
    "validate_state",
]

CONFIG_NAME = "config.json"


def load_bundle_config(bundle_dir: str) -> Spec:
    """Read, validate and model ``<bundle_dir>/config.json``.

    Raises ConfigError listing every problem: unreadable file, invalid JSON,
    schema errors, semantic errors (including a ``root.path`` that is not a
    directory).  ``Spec.warnings`` lists what a runtime should log.
    """
    try:
        config = read_json(os.path.join(bundle_dir, CONFIG_NAME), CONFIG_NAME)
        errors = schema_problems(config, "config")
        semantic_errors, warnings = config_checks(config, bundle_dir)
    except RecursionError:
        # The parser and the checks recurse once per level; no valid config is this deep.
        raise ConfigError([FieldError("", "nested too deeply")], CONFIG_NAME) from None
    errors += semantic_errors
    if errors:
        raise ConfigError(errors, CONFIG_NAME)
    spec = Spec.from_dict(config)
    spec.warnings = warnings + [FieldError(p, "unknown property, ignored")
                                for p in unknown_properties(config)]
    return spec


def load_process(path_or_dict) -> Process:
    """The process of ``exec --process <file>`` (a path) or of an already
    parsed dict, validated against the config schema's process definition.
    Error lines start with the path (or "process" for a dict)."""
    if isinstance(path_or_dict, dict):
        source, process = "process", path_or_dict
    else:
        source = os.fspath(path_or_dict)
        process = read_json(source, source)
    errors = validate_process(process)
    if errors:
        raise ConfigError(errors, source)
    return Process.from_dict(process)
