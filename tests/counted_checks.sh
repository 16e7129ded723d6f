# Sourced by tests/package/package_test.sh and tests/checks/checks_test.sh, after they set $work (a
# temporary folder): `check NAME COMMAND...` runs one counted check and prints "ok - NAME (Ns): <its
# last line>", or its output's last 60 lines and then "not ok - NAME (Ns)". `checks_tally LABEL`
# prints "LABEL: N passed, N failed", the line tests/run.sh reads.
passed=0 failed=0

check() { # name, command...: one counted check
  local name=$1; shift
  local start=$SECONDS
  if "$@" >"$work/out.log" 2>&1; then
    passed=$((passed + 1)); echo "ok - $name ($((SECONDS - start))s): $(sed 's/\x1b\[[0-9;]*m//g' "$work/out.log" | grep -v '^\s*$' | tail -n 1)"
  else
    failed=$((failed + 1)); sed 's/\x1b\[[0-9;]*m//g' "$work/out.log" | tail -n 60; echo "not ok - $name ($((SECONDS - start))s)"
  fi
}

checks_tally() { # label
  echo "$1: $passed passed, $failed failed"
}
