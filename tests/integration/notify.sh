#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Readiness as systemd sees it (Type=notify): with NOTIFY_SOCKET pointing at a
# socket this test reads, the agent reports each phase in STATUS= lines,
# including the registration back-off, and sends READY=1 only once the
# registrar has activated it and its API listens; WATCHDOG_USEC makes it send
# WATCHDOG=1 while it waits. Both stubs send READY=1 once listening and
# STOPPING=1 on SIGTERM.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

command -v python3 >/dev/null || fail "python3 missing: run scripts/install-deps.sh"
VERIFIER_BIN=$KL_BUILD_DIR/verifier-stub/keylime_verifier_stub
UUID=5e0f7c1a-2b3d-4e5f-8a9b-1c2d3e4f5a6b

# listen NAME: a notify socket $T/NAME.sock whose messages go to $T/NAME.notify
listen() {
        python3 "$KL_SOURCE_DIR/tests/tools/notify_listen.py" "$T/$1.sock" "$T/$1.notify" &
        KL_PIDS+=("$!")
        wait_for_file "$T/$1.notify" 10 || fail "notify listener did not start"
}
# wait_notify NAME PATTERN [SECONDS]: waits until a line of $T/NAME.notify matches
wait_notify() {
        for _ in $(seq $((${3:-30} * 10))); do
                grep -q -- "$2" "$T/$1.notify" && return 0
                sleep 0.1
        done
        return 1
}

tpm_up tpm1
"$KL_SOURCE_DIR/certs/make-pki.sh" "$T/pki" 2>/dev/null
mkdir -p "$T/kl/cv_ca"
cp "$T/pki/cacert.crt" "$T/kl/cv_ca/cacert.crt"
REG_PORT=$(free_port) || fail "no free port"
APORT=$(free_port) || fail "no free port"
agent_conf "$T/agent.conf" "$T/kl" "$UUID" "port = $APORT"
# the environment overrides the file's quick test values: a back-off long enough to watch
export KEYLIME_AGENT_EXPONENTIAL_BACKOFF_INITIAL_DELAY=1500
export KEYLIME_AGENT_EXPONENTIAL_BACKOFF_MAX_RETRIES=8
export KEYLIME_AGENT_EXPONENTIAL_BACKOFF_MAX_DELAY=1500

log "agent: STATUS on each phase and on the back-off, no READY=1 before activation"
listen agent
NOTIFY_SOCKET=$T/agent.sock WATCHDOG_USEC=600000 TCTI=$tpm1_TCTI \
        KEYLIME_AGENT_CONFIG=$T/agent.conf "$AGENT_BIN" >"$T/agent.log" 2>&1 &
AGENT_PID=$!
KL_PIDS+=("$AGENT_PID")
wait_notify agent '^STATUS=registrar not reachable.*retry 1 of 8' ||
        fail "no back-off STATUS: $(cat "$T/agent.notify") $(tail -5 "$T/agent.log")"
sleep 1.5 # a watchdog interval or two inside the back-off
grep -q '^READY=1' "$T/agent.notify" && fail "READY=1 before the registrar was even up"
[ "$(grep -c '^WATCHDOG=1' "$T/agent.notify")" -ge 2 ] ||
        fail "no WATCHDOG=1 during the back-off: $(cat "$T/agent.notify")"
registrar_start_on "$REG_PORT" reg
wait_notify agent '^READY=1' 60 || fail "no READY=1: $(cat "$T/agent.notify") $(tail -5 "$T/agent.log")"
# activation came first: the registrar already has the agent as active
[ "$(http_get "$REG_URL/v2.6/agents/$UUID" "$T/get.json")" = 200 ] ||
        fail "READY=1 but the registrar does not have the agent active"
(exec 3<>"/dev/tcp/127.0.0.1/$APORT") 2>/dev/null || fail "READY=1 but the API is not listening"
# the phases, in order, with READY=1 last
order=$(grep -nE '^STATUS=(opening the TPM|loading the TPM identity|registering with|registrar not reachable|registered with)|^READY=1' \
        "$T/agent.notify" | sed -E 's/^[0-9]+:(STATUS=)?//; s/^(opening|loading|registering|registrar not|registered|READY=1).*/\1/' | uniq | tr '\n' ' ')
[ "$order" = "opening loading registering registrar not registered READY=1 " ] ||
        fail "phases out of order: '$order': $(cat "$T/agent.notify")"
grep -A1 '^READY=1' "$T/agent.notify" | grep -q "^STATUS=registered and activated as $UUID; serving" ||
        fail "READY=1 without the serving STATUS"
pass "agent phases: $order"

log "agent: WATCHDOG=1 keeps coming while serving; STOPPING=1 on SIGTERM"
n1=$(grep -c '^WATCHDOG=1' "$T/agent.notify")
sleep 1.5
n2=$(grep -c '^WATCHDOG=1' "$T/agent.notify")
[ "$n2" -gt "$n1" ] || fail "no WATCHDOG=1 while serving ($n1 -> $n2)"
kill -TERM "$AGENT_PID"
wait "$AGENT_PID" || fail "agent exit status after SIGTERM"
wait_notify agent '^STOPPING=1' 5 || fail "no STOPPING=1"
pass "watchdog fed while serving ($n1 -> $n2), STOPPING=1 on stop"

log "registrar and verifier stubs: READY=1 once listening, STOPPING=1 on SIGTERM"
listen reg2
NOTIFY_SOCKET=$T/reg2.sock "$REGISTRAR_BIN" --listen 127.0.0.1:0 --port-file "$T/reg2.port" \
        --db :memory: >"$T/reg2.log" 2>&1 &
pid=$!
KL_PIDS+=("$pid")
wait_notify reg2 '^READY=1' 10 || fail "registrar stub: no READY=1: $(cat "$T/reg2.log")"
grep -q "^STATUS=registrar API .* port $(cat "$T/reg2.port")\$" "$T/reg2.notify" ||
        fail "registrar stub STATUS lacks its port: $(cat "$T/reg2.notify")"
kill -TERM "$pid"
wait "$pid" || fail "registrar stub exit status"
wait_notify reg2 '^STOPPING=1' 5 || fail "registrar stub: no STOPPING=1"
listen ver
NOTIFY_SOCKET=$T/ver.sock WATCHDOG_USEC=400000 "$VERIFIER_BIN" serve --listen 127.0.0.1:0 \
        --port-file "$T/ver.port" --db :memory: --revocation-pub "" >"$T/ver.log" 2>&1 &
pid=$!
KL_PIDS+=("$pid")
wait_notify ver '^READY=1' 10 || fail "verifier stub: no READY=1: $(cat "$T/ver.log")"
grep -q "^STATUS=verifier API .* port $(cat "$T/ver.port"), attesting" "$T/ver.notify" ||
        fail "verifier stub STATUS lacks its port: $(cat "$T/ver.notify")"
sleep 1
[ "$(grep -c '^WATCHDOG=1' "$T/ver.notify")" -ge 2 ] || fail "verifier stub: no WATCHDOG=1"
kill -TERM "$pid"
wait "$pid" || fail "verifier stub exit status"
wait_notify ver '^STOPPING=1' 5 || fail "verifier stub: no STOPPING=1"
pass "both stubs notify readiness, watchdog and stop"
