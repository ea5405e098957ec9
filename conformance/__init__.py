"""pyrunc's runtime-agnostic conformance harness (the conformance issue builds it here).

Until then, docs/runtime-tools.md records how pyrunc and runc fare in the OCI runtime-tools
validation suite on the development machine.
"""
