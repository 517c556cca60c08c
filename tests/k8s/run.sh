#!/usr/bin/env bash
# The offline manifest checks (tests/k8s/validate.py), with the API models fetched once into
# build/ (tests/k8s/fetch-schema.sh). Ends with "k8s: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."

# Debian's python3 with Debian's python3-yaml (scripts/deps.sh), whatever python3 is first on
# PATH.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
if ! models=$(tests/k8s/fetch-schema.sh); then
	echo "k8s: the API models could not be fetched (see above)"
	echo "k8s: 0 passed, 1 failed"
	exit 1
fi
exec "$py" tests/k8s/validate.py "$models" --interceptor "${BUILD:-build}"/interceptor
