#!/bin/sh
# Starts the Lambda package in an empty chroot that holds only the unpacked package (at
# /var/task, as on Lambda), a CA bundle at the Amazon Linux path, /dev/null, /dev/urandom and an
# empty /tmp. Then checks that it handles one EventBridge scheduled event from the Runtime API
# double on loopback. A chroot shares the network namespace, so 127.0.0.1 reaches the double.
#
# Usage: chroot_test.sh PACKAGE_ZIP
# Environment: LAMBDA_RUNTIME_DOUBLE (required), UPWORK_SIM and UPWORK_SIM_DATA (optional: with
# them the fetch runs against the simulator and must succeed; without them every Upwork URL points
# at a closed loopback port and the run must be reported as an /error).
# Exit codes: 0 passed, 1 failed, 77 skipped (not root: chroot and mknod need root).
set -eu

zip="${1:?usage: chroot_test.sh PACKAGE_ZIP}"
double="${LAMBDA_RUNTIME_DOUBLE:?set LAMBDA_RUNTIME_DOUBLE to the lambda-runtime-double program}"

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIPPED: chroot and mknod need root; run ctest -L package as root (CI does)"
  exit 77
fi
[ -f "$zip" ] || { echo "FAILED: package $zip does not exist; build the lambda-package target"; exit 1; }

work=$(mktemp -d)
root="$work/root"
double_pid=""
sim_pid=""
bootstrap_pid=""
cleanup() {
  for pid in $bootstrap_pid $double_pid $sim_pid; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAILED: $*"
  for log in double.out bootstrap.out sim.out; do
    if [ -s "$work/$log" ]; then
      echo "--- $log"
      tail -n 40 "$work/$log"
    fi
  done
  exit 1
}

# Waits up to 10 s for the first line of FILE to read "listening ..." and prints its address.
listening_address() {
  for _ in $(seq 100); do
    line=$(head -n 1 "$1" 2>/dev/null || true)
    case "$line" in
      listening*) echo "${line#listening }"; return 0 ;;
    esac
    sleep 0.1
  done
  return 1
}

# Step 1: the chroot.
mkdir -p "$root/var/task" "$root/dev" "$root/tmp" "$root/etc/pki/tls/certs"
unzip -q "$zip" -d "$root/var/task"
[ -x "$root/var/task/bootstrap" ] || fail "the package has no executable bootstrap at its root"
ca_bundle=""
for candidate in "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do
  if [ -n "$candidate" ] && [ -r "$candidate" ]; then ca_bundle="$candidate"; break; fi
done
[ -n "$ca_bundle" ] || fail "no CA bundle on this host to copy into the chroot"
cp -L "$ca_bundle" "$root/etc/pki/tls/certs/ca-bundle.crt"
mknod -m 666 "$root/dev/null" c 1 3
mknod -m 444 "$root/dev/urandom" c 1 9
chmod 1777 "$root/tmp"

# Step 2: the Upwork endpoints. Defaults would name upwork.com, so every URL is set explicitly.
if [ -n "${UPWORK_SIM:-}" ] && [ -x "${UPWORK_SIM}" ] && [ -r "${UPWORK_SIM_DATA:-}" ]; then
  "$UPWORK_SIM" --data "$UPWORK_SIM_DATA" --port 0 > "$work/sim.out" 2>&1 &
  sim_pid=$!
  upwork=$(listening_address "$work/sim.out") || fail "upwork-sim did not start"
  expect="response"
else
  echo "NOTE: upwork-sim is not available; checking that a failed fetch is posted to /error"
  upwork="http://127.0.0.1:9"
  expect="error"
fi

# Step 3: the Runtime API double with one scheduled event.
event='{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2025-06-15T18:59:18Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/job-fetcher"],"detail":{"feed":"package-test","max_pages":2}}'
"$double" --event "$event" --timeout-ms 60000 > "$work/double.out" 2>&1 &
double_pid=$!
endpoint=$(listening_address "$work/double.out") || fail "lambda-runtime-double did not start"

# Step 4: bootstrap with an environment like Lambda's, and nothing from this host.
chroot_program=$(command -v chroot) || fail "chroot is not installed (Debian: coreutils)"
env -i \
  AWS_LAMBDA_RUNTIME_API="$endpoint" LAMBDA_TASK_ROOT=/var/task _HANDLER=fetch \
  AWS_REGION=us-east-1 AWS_LAMBDA_FUNCTION_NAME=job-fetcher TZ=UTC \
  JOB_FETCHER_FEED=package-test JOB_FETCHER_STORE=sqlite:/tmp/job-fetcher.db \
  UPWORK_SOURCE=visitor UPWORK_HOME_URL="$upwork/" \
  UPWORK_VISITOR_URL="$upwork/api/graphql/v1?alias=visitorJobSearch" \
  UPWORK_MARKETPLACE_URL="$upwork/graphql" UPWORK_TOKEN_URL="$upwork/api/v3/oauth2/token" \
  JOB_FETCHER_MAX_ATTEMPTS=1 \
  "$chroot_program" "$root" /var/task/bootstrap > "$work/bootstrap.out" 2>&1 &
bootstrap_pid=$!

# Step 5: the double exits once the runtime posted the result, and bootstrap must still be polling.
for _ in $(seq 600); do
  kill -0 "$double_pid" 2>/dev/null || break
  kill -0 "$bootstrap_pid" 2>/dev/null || fail "bootstrap exited before posting a result for the event"
  sleep 0.1
done
if ! wait "$double_pid"; then
  double_pid=""
  fail "no result was posted for the event"
fi
double_pid=""
kill -0 "$bootstrap_pid" 2>/dev/null ||
  fail "bootstrap exited after one invocation; it must keep polling /next"

answer=$(sed -n '2p' "$work/double.out")
case "$answer" in
  *'"kind":"init_error"'*) fail "bootstrap failed to start: $answer" ;;
  *"\"kind\":\"$expect\""*'"status":202'*) ;;
  *) fail "expected a $expect accepted with HTTP 202, got: $answer" ;;
esac
if [ "$expect" = "response" ]; then
  # The body is a JSON string inside the double's JSON line, hence the escaped quote.
  echo "$answer" | grep -Eq 'postings_new\\":[1-9]' || fail "the run stored no postings: $answer"
fi
grep -q '"_aws"' "$work/bootstrap.out" || fail "bootstrap wrote no CloudWatch EMF line"

echo "PASSED: the package started in an empty chroot and answered the scheduled event ($expect)"
echo "$answer"
