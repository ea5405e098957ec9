"""pyrunc's runtime-agnostic OCI runtime conformance harness.

    python -m conformance --runtime PATH [--runtime PATH2 ...] [-k PATTERN] [--json FILE]

runs a catalogue of runtime-spec requirements (``catalogue/``) against runc-compatible
runtimes through their command line only, with an in-container checker
(``checker/checker.c``).  See docs/conformance.md.
"""
