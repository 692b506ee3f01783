#!/bin/sh
# The one way openslots is installed for production. The Dockerfile runs it, and CI runs it into
# a fresh virtual environment before exercising docker-compose.yml's commands outside Docker
# (tests/test_deployment.py), so the image and what CI tested cannot drift apart.
#   PYTHON=/path/to/python sh deploy/install.sh [SOURCE]      (SOURCE: the project folder, default .)
set -eu
PYTHON="${PYTHON:-python}"
"$PYTHON" -m pip install --no-cache-dir --disable-pip-version-check "${1:-.}"
