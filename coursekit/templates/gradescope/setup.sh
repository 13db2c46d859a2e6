#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu base image).
# It installs Python, bubblewrap (the sandbox the grading engine runs student code in) and the
# course's pinned packages into a virtual environment at /autograder/venv.
set -euo pipefail
SOURCE=/autograder/source
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip bubblewrap >/dev/null
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup.sh: the pinned packages need Python 3.11 or newer; this image has $(python3 --version)." >&2
    echo "setup.sh: choose Gradescope's Ubuntu 24.04 base image (Python 3.12) in the autograder settings." >&2
    exit 1
fi
# A failed build leaves no environment: run_autograder then reports "not built" for every upload.
trap 'rm -rf /autograder/venv; echo "setup.sh: FAILED (line $LINENO): /autograder/venv removed; every upload will be reported as not graded." >&2' ERR
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --quiet --upgrade pip
/autograder/venv/bin/python -m pip install --quiet -r "$SOURCE/requirements.txt"
chmod +x "$SOURCE/run_autograder"
# A quick self-check: the engine's sandbox must start here, or run_autograder reports why.
/autograder/venv/bin/python -c "import sys; sys.path.insert(0, '$SOURCE'); from isograde.sandbox import check_available; check_available()" \
    || echo "setup.sh: WARNING: the bubblewrap sandbox cannot start in this image; every upload will be reported as not gradable." >&2
