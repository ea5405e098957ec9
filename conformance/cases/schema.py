"""Validating state and features documents against the spec's JSON schemas (those kept in
oci_spec/schema of this repository), with jsonschema when it is installed."""

from __future__ import annotations

import json
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "oci_spec" / "schema"


def validate(kind: str, doc: object) -> list[str]:
    """Problems found (empty: valid, or no validator available)."""
    try:
        import jsonschema
    except ImportError:
        return []
    path = SCHEMA_DIR / f"{kind}.json"
    if not path.exists():
        return []
    schema = json.loads(path.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)][:5]
