#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The registrar comes up 5 s after the agent: the agent's exponential
# back-off (1, 2, 4 s, capped) keeps retrying and it registers once the
# registrar answers.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

UUID=9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f
tpm_up tpm1
REG_PORT=$(free_port) || fail "no free port"
agent_conf "$T/agent.conf" "$T/kl" "$UUID"
# The environment overrides the file's quick test values.
export KEYLIME_AGENT_EXPONENTIAL_BACKOFF_INITIAL_DELAY=1000
export KEYLIME_AGENT_EXPONENTIAL_BACKOFF_MAX_RETRIES=6
export KEYLIME_AGENT_EXPONENTIAL_BACKOFF_MAX_DELAY=4000
start=$(date +%s)
agent_register "$tpm1_TCTI" "$T/agent.conf" "$T/agent.log" &
agent_pid=$!
KL_PIDS+=("$agent_pid")
sleep 5
registrar_start_on "$REG_PORT" reg
wait "$agent_pid" || fail "agent gave up: $(tail -5 "$T/agent.log")"
grep -q "retrying" "$T/agent.log" || fail "agent did not retry"
# the back-off starts at the initial delay and doubles up to the cap
want=1000
for ms in $(grep -o 'retrying in [0-9]* ms' "$T/agent.log" | cut -d' ' -f3); do
        [ "$ms" = "$want" ] || fail "retry after $ms ms, expected $want: $(grep retrying "$T/agent.log")"
        want=$((want * 2 > 4000 ? 4000 : want * 2))
done
[ "$(http_get "$REG_URL/v2.6/agents/$UUID" "$T/get.json")" = 200 ] || fail "agent not active"
pass "registered $(($(date +%s) - start)) s after start, registrar started after 5 s"

log "SIGTERM during the back-off: the agent stops at once and leaves no TPM objects behind"
DEAD_PORT=$(free_port) || fail "no free port"
REG_PORT=$DEAD_PORT agent_conf "$T/agent2.conf" "$T/kl2" 1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b
KEYLIME_AGENT_EXPONENTIAL_BACKOFF_INITIAL_DELAY=60000 TCTI=$tpm1_TCTI \
        KEYLIME_AGENT_CONFIG=$T/agent2.conf "$AGENT_BIN" --register-only >"$T/agent2.log" 2>&1 &
pid=$!
KL_PIDS+=("$pid")
for _ in $(seq 100); do
        grep -q "retrying in 60000 ms" "$T/agent2.log" && break
        sleep 0.1
done
grep -q "retrying in 60000 ms" "$T/agent2.log" || fail "agent did not reach the back-off"
kill -TERM "$pid"
start=$(date +%s%N)
wait "$pid" && fail "agent reported success after SIGTERM"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -lt 5000 ] || fail "agent took $ms ms to stop"
grep -q "stopped before the registrar answered" "$T/agent2.log" || fail "$(tail -3 "$T/agent2.log")"
left=$(TPM2TOOLS_TCTI=$tpm1_TCTI tpm2_getcap handles-transient)
[ -z "$left" ] || fail "transient TPM objects left: $left"
pass "stopped in $ms ms during the back-off, no transient objects left"
