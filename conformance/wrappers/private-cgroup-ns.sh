#!/bin/sh
# Runtime wrapper for the conformance harness: runs the runtime (given as the first
# argument, followed by its arguments) in a private mount namespace without the empty
# cgroup2 mount at /sys/fs/cgroup/unified, so that runtimes which take its presence for a
# unified hierarchy (crun on this hybrid-cgroup machine) use the v1 controllers.
exec unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' wrapper "$@"
