"""Fuzzing of config.json: `create` never shows a traceback; it succeeds (and `delete --force`
then leaves nothing) or exits 1 with a message, leaving nothing.

Most examples run the validation in-process (cheap); fewer run `pyrunc create` for real.
Examples per test: PYRUNC_FUZZ_EXAMPLES (default 200 in-process, a tenth of it for real
creates); the example database lives in /var/tmp/pyrunc-hypothesis.
"""

from __future__ import annotations

import json
import os
import tempfile

import pytest

hypothesis = pytest.importorskip(
    "hypothesis", reason="the config fuzz tests need hypothesis (the `test` extra: hypothesis>=6.100)")

import make_bundle  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.database import DirectoryBasedExampleDatabase  # noqa: E402
from integration.util import unique_id  # noqa: E402

from .helpers import cgroup_candidates, mounts_under, processes_rooted_in  # noqa: E402
from .strategies import (  # noqa: E402
    config_schema,
    from_schema,
    leaf_mutations,
    structural_mutations,
)

EXAMPLES = int(os.environ.get("PYRUNC_FUZZ_EXAMPLES", "200"))
REAL_EXAMPLES = max(10, EXAMPLES // 10)
DATABASE = DirectoryBasedExampleDatabase("/var/tmp/pyrunc-hypothesis")
BASE = make_bundle.default_config(["true"])
SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
           HealthCheck.function_scoped_fixture, HealthCheck.large_base_example]

in_process = settings(max_examples=EXAMPLES, deadline=None, database=DATABASE,
                      suppress_health_check=SLOW_OK)
real = settings(max_examples=REAL_EXAMPLES, deadline=None, database=DATABASE,
                suppress_health_check=SLOW_OK)

CONFIGS = st.one_of(from_schema(config_schema()), leaf_mutations(BASE), structural_mutations(BASE))


@st.composite
def raw_texts(draw):
    """config.json text that is not a JSON document (or barely is)."""
    valid = json.dumps(BASE)
    return draw(st.one_of(
        st.integers(0, len(valid) - 1).map(lambda n: valid[:n]),
        st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
        st.integers(1, 200_000).map(lambda n: "[" * n + "]" * n),
        st.integers(1, 200_000).map(lambda n: '{"a":' * n + "1" + "}" * n),
        st.just('{"ociVersion": "1.0.2", "ociVersion": "1.0.2"}'),
        st.just("\ufeff" + valid),
        st.just(valid.replace('"true"', '"\\ud800"')),
    ))


def _encode(doc) -> bytes:
    try:
        return json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except RecursionError:
        return b"[" * 5000 + b"]" * 5000


@pytest.fixture(scope="module")
def scratch_bundle():
    """A bundle with an empty rootfs, for validation in-process (nothing is created)."""
    path = tempfile.mkdtemp(prefix="fuzz-inproc-", dir="/var/tmp")
    os.mkdir(os.path.join(path, "rootfs"))
    yield path
    for name in ("config.json",):
        if os.path.exists(os.path.join(path, name)):
            os.unlink(os.path.join(path, name))
    os.rmdir(os.path.join(path, "rootfs"))
    os.rmdir(path)


def _validate_in_process(bundle_dir: str, data: bytes) -> None:
    from runtime.errors import PyruncError
    from runtime.ops.create import load_spec

    with open(os.path.join(bundle_dir, "config.json"), "wb") as f:
        f.write(data)
    try:
        load_spec(bundle_dir)
    except PyruncError as e:
        message = str(e)
        assert message.strip(), "an error without a message"
        assert len(message.splitlines()) <= 200, message[:2000]


@in_process
@given(doc=CONFIGS)
def test_generated_configs_in_process(scratch_bundle, doc):
    _validate_in_process(scratch_bundle, _encode(doc))


@in_process
@given(text=raw_texts())
def test_config_text_in_process(scratch_bundle, text):
    _validate_in_process(scratch_bundle, text.encode("utf-8", "surrogatepass"))


@pytest.mark.pyrunc_only
@real
@given(doc=st.one_of(leaf_mutations(BASE), leaf_mutations(BASE, count=1), structural_mutations(BASE)))
def test_create_with_mutated_configs(runtime, bundle, doc):
    b = _fuzz_bundle(bundle)
    b.config_path.write_bytes(_encode(doc))
    cid = unique_id("fuzz")
    res = runtime.run("create", "--bundle", b, cid, timeout=30)
    assert "Traceback" not in res.stderr + res.stdout, res.describe()
    if res.returncode == 0:
        gone = runtime.run("delete", "--force", cid, timeout=30)
        assert gone.returncode == 0, gone.describe()
    else:
        assert res.returncode == 1, res.describe()
        assert res.stderr.strip(), res.describe()
    _assert_nothing_left(runtime, b, cid, doc)


_bundles: dict[int, object] = {}


def _fuzz_bundle(bundle):
    """One bundle per test (hypothesis calls the test body many times with the same fixtures)."""
    key = id(bundle)
    if key not in _bundles:
        _bundles.clear()
        _bundles[key] = bundle(["true"])
    return _bundles[key]


def _assert_nothing_left(runtime, b, cid: str, doc) -> None:
    assert not (runtime.root / cid).exists(), f"state dir left for {cid}"
    assert not mounts_under(str(b.path)), f"mounts left: {mounts_under(str(b.path))}"
    left = processes_rooted_in(str(b.rootfs))
    assert not left, f"processes left: {left}"
    candidates = cgroup_candidates(cid)
    linux = doc.get("linux") if isinstance(doc, dict) else None
    path = linux.get("cgroupsPath") if isinstance(linux, dict) else None
    if isinstance(path, str) and path.strip("/") and "\x00" not in path and ".." not in path:
        candidates += cgroup_candidates(path)
    left = [c for c in candidates if os.path.isdir(c)]
    assert not left, f"cgroups left: {left}"
