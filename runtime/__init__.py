"""pyrunc: an OCI runtime in Python. See docs/architecture.md for the layers."""
