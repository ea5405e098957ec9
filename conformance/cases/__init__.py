"""The cases; importing this package registers them (see model.case)."""

from . import cgroups, features, hooks, lifecycle, linux, mounts, process  # noqa: F401
