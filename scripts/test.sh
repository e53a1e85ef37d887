#!/usr/bin/env bash
# `make test`: the whole suite as two pytest sessions at once. One runs the tests that drive
# real processes (the app under daphne, Chromium, the local model server, restarts); they
# spend most of their time waiting on those processes, which is when the other session, the
# in-process tests, gets the CPU. Each session makes its own databases (the process tests
# use SQLite files and databases of their own), so they do not meet.
# With arguments, one session runs them: `make test PYTEST_ARGS="tests/chat -x"`.
set -uo pipefail
PYTHON=${PYTHON:-.venv/bin/python}
if [ "$#" -gt 0 ]; then
  exec "$PYTHON" -m pytest "$@"
fi

PROCESS_TESTS=(tests/e2e tests/real_model tests/lifecycle tests/v1)
# Uses the test database of the in-process session (pytest-django's), so it runs there.
IN_PROCESS_TOO=(tests/v1/test_tools_across_processes.py)

log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$PYTHON" -m pytest -p no:cacheprovider "${PROCESS_TESTS[@]}" \
  "${IN_PROCESS_TOO[@]/#/--ignore=}" >"$log" 2>&1 &
process_pid=$!
"$PYTHON" -m pytest -p no:cacheprovider tests "${PROCESS_TESTS[@]/#/--ignore=}" "${IN_PROCESS_TOO[@]}"
in_process=$?
wait "$process_pid"
processes=$?
echo
echo "=== the tests that drive real processes: ${PROCESS_TESTS[*]} ==="
cat "$log"
echo "=== in-process tests: exit $in_process; process tests: exit $processes ==="
[ "$in_process" -eq 0 ] && [ "$processes" -eq 0 ]
