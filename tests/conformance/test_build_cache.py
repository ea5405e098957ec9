"""The harness's build cache keeps the current rootfs and drops stale builds of other versions."""

import os
import time

from conformance.build import STALE_AFTER, prune_stale


def test_prune_stale_removes_only_old_builds_of_other_versions(tmp_path):
    now = time.time()
    current = tmp_path / "rootfs-current"
    old = tmp_path / "rootfs-old"
    recent = tmp_path / "rootfs-recent"
    bundles = tmp_path / "bundles"
    for d in (current, old, recent, bundles):
        (d / "bin").mkdir(parents=True)
    for d in (current, old, bundles):
        os.utime(d, (now - 2 * STALE_AFTER, now - 2 * STALE_AFTER))
    removed = prune_stale(tmp_path, keep=current, now=now)
    assert removed == [old]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundles", "rootfs-current", "rootfs-recent"]
