#!/usr/bin/env bash
# Install everything pyrunc needs to build, test and be compared on a Debian 12 machine,
# then install pyrunc itself into .venv and write the launcher /usr/local/bin/pyrunc.
#
# Idempotent: Debian packages already installed are not touched, an existing working .venv
# is reused, and the editable install is refreshed (which also rebuilds the C extension).
# Quiet on success (details go to the log file), loud on failure.
#
# Environment:
#   PYRUNC_INSTALL_LOG   log file (default: <repo>/.install.log)
#   PYTHON               interpreter for the venv (default: Debian's /usr/bin/python3 when it is
#                        >= 3.11, else the first python3 on PATH). Debian's build links
#                        libpython statically and is PGO-optimised: it starts ~1 ms faster
#                        than a pyenv build, on every pyrunc command.
#   PYRUNC_NO_LINK=1     do not create /usr/local/bin/pyrunc (nor the man page pyrunc(8))
set -eEuo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOG=${PYRUNC_INSTALL_LOG:-$REPO/.install.log}
PYTHON=${PYTHON:-}
VENV=$REPO/.venv
LINK=/usr/local/bin/pyrunc
MAN_DIR=/usr/local/share/man/man8

# busybox-static: rootfs of test bundles; gcc, libc6-dev (only a recommendation of gcc, and
# recommendations are not installed), libffi-dev, python3-dev: the cffi extension;
# python3-venv: `python3 -m venv` on Debian's python; libseccomp-dev: seccomp support;
# util-linux, iproute2: test tooling (unshare, nsenter, ip); runc, crun: comparisons;
# time (GNU time): peak RSS of each runtime command (the benchmark suite's rss scenario);
# podman, containerd: the engines the engine tests drive pyrunc with.
PACKAGES=(busybox-static gcc libc6-dev libffi-dev python3-dev python3-venv libseccomp-dev
          util-linux iproute2 runc crun time podman containerd catatonit containernetworking-plugins iptables)

export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1

: >"$LOG"
STEP=""

on_error() {
    local rc=$?
    {
        echo
        echo "############################################################"
        echo "### install.sh FAILED (exit $rc) during: $STEP"
        echo "### last lines of $LOG:"
        echo "############################################################"
        tail -n 60 "$LOG" | sed 's/^/    /'
        echo "############################################################"
        echo "### full log: $LOG"
    } >&2
    exit "$rc"
}
trap on_error ERR

step() {
    STEP=$1
    printf '\n==> %s\n' "$STEP" >>"$LOG"
}

die() {
    echo "install.sh: $*" >>"$LOG"
    false
}

as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "need root for: $*"
    fi
}

# --- Debian packages ---------------------------------------------------------------------
step "checking Debian packages"
missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$pkg")
done
echo "missing: ${missing[*]:-none}" >>"$LOG"
if ((${#missing[@]})); then
    step "apt-get update"
    as_root apt-get update >>"$LOG" 2>&1
    step "apt-get install ${missing[*]}"
    as_root apt-get install -y --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1
fi

# --- Python ------------------------------------------------------------------------------
if [[ -z $PYTHON ]]; then
    PYTHON=python3
    if /usr/bin/python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        PYTHON=/usr/bin/python3
    fi
fi
step "checking $PYTHON (>= 3.11)"
command -v "$PYTHON" >>"$LOG" 2>&1 || die "$PYTHON not found on PATH"
"$PYTHON" - >>"$LOG" 2>&1 <<'PY' || die "$PYTHON is older than 3.11"
import sys
print(sys.executable, sys.version)
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
want_version=$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')

step "virtual environment $VENV"
have_version=$("$VENV/bin/python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' \
               2>/dev/null || true)
if [[ -n $have_version && $have_version != "$want_version" ]]; then
    echo "existing venv has Python $have_version, wanted $want_version: recreating" >>"$LOG"
    rm -rf "$VENV"
    have_version=""
fi
if [[ -z $have_version ]]; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" >>"$LOG" 2>&1
else
    echo "reusing venv with Python $have_version" >>"$LOG"
fi

step "pip install -e '.[test,lint]'"
[[ -f $REPO/pyproject.toml ]] || die "$REPO/pyproject.toml is missing"
(cd "$REPO" && "$VENV/bin/python" -m pip install --no-input -e '.[test,lint]') >>"$LOG" 2>&1

step "compiling bytecode"
# The environment may set PYTHONDONTWRITEBYTECODE: without .pyc files every pyrunc command
# would recompile its modules (~20 ms).
"$VENV/bin/python" -m compileall -q "$REPO/runtime" "$REPO/oci_spec" "$REPO/cext" >>"$LOG" 2>&1

step "installing $LINK"
[[ -x $VENV/bin/pyrunc ]] || die "$VENV/bin/pyrunc was not installed (console script missing?)"
if [[ ${PYRUNC_NO_LINK:-0} != 1 ]]; then
    # Engines run pyrunc several times per container: the launcher skips `site` (-S) and the
    # editable-install hooks, which cost more than pyrunc's own imports, and names its paths.
    site_packages=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    as_root mkdir -p "$(dirname "$LINK")"
    as_root rm -f "$LINK"
    as_root tee "$LINK" >/dev/null <<LAUNCHER
#!$VENV/bin/python -IS
# pyrunc launcher written by scripts/install.sh (the console script in $VENV/bin works too).
import sys
sys.path[:0] = ["$REPO", "$site_packages"]
from runtime.cli import run
run()
LAUNCHER
    as_root chmod 755 "$LINK"
    # pyrunc(8), rendered from the same tables as the parser (scripts/gen_cli_docs.py).
    as_root mkdir -p "$MAN_DIR"
    "$VENV/bin/python" "$REPO/scripts/gen_cli_docs.py" --man | as_root tee "$MAN_DIR/pyrunc.8" >/dev/null
fi

step "checking the installed pyrunc"
version=$("$VENV/bin/pyrunc" --version 2>>"$LOG" | head -n 1) || die "pyrunc --version failed"
if [[ ${PYRUNC_NO_LINK:-0} != 1 ]]; then
    "$LINK" --version >>"$LOG" 2>&1 || die "$LINK --version failed"
fi
echo "$version" >>"$LOG"

trap - ERR
echo "pyrunc installed: ${version:-pyrunc} (Python $want_version, venv $VENV)"
if [[ ${PYRUNC_NO_LINK:-0} != 1 ]]; then
    echo "  $LINK: launcher for $REPO (Python of $VENV); man page $MAN_DIR/pyrunc.8"
fi
if ((${#missing[@]})); then
    echo "  Debian packages installed: ${missing[*]}"
fi
echo "  log: $LOG"
