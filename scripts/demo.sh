#!/usr/bin/env bash
# Build a busybox bundle, generate its config with `pyrunc spec`, make the process a short
# non-interactive command, and run it in the foreground. Exits with the container's status.
#
#   scripts/demo.sh [BUNDLE_DIR]        (default /tmp/pyrunc-demo)
#   PYRUNC=runc scripts/demo.sh         (same demo with another runc-compatible runtime)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUNDLE=${1:-/tmp/pyrunc-demo}
ID=demo-$$

if [[ -n ${PYRUNC:-} ]]; then
    RUNTIME=$PYRUNC
elif command -v pyrunc >/dev/null; then
    RUNTIME=pyrunc
elif [[ -x $REPO/.venv/bin/pyrunc ]]; then
    RUNTIME=$REPO/.venv/bin/pyrunc
else
    echo "demo.sh: pyrunc not found; run scripts/install.sh first" >&2
    exit 1
fi

echo "==> building bundle in $BUNDLE"
python3 "$REPO/scripts/make_bundle.py" "$BUNDLE"
cd "$BUNDLE"

echo "==> $RUNTIME spec"
rm -f config.json            # spec refuses to overwrite an existing config.json
"$RUNTIME" spec

python3 -c '
import json
with open("config.json") as f:
    config = json.load(f)
config["process"]["args"] = ["sh", "-c", "echo hi; hostname"]
config["process"]["terminal"] = False
with open("config.json", "w") as f:
    json.dump(config, f, indent=4)
'

echo "==> $RUNTIME run $ID"
# if the run is interrupted, do not leave the container behind
trap '"$RUNTIME" delete --force "$ID" >/dev/null 2>&1 || true' EXIT
status=0
"$RUNTIME" run "$ID" </dev/null || status=$?
echo "==> container exited with status $status"
exit "$status"
