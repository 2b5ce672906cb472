#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The registrar comes up 5 s after the agent: the agent's exponential
# back-off keeps retrying and it registers once the registrar answers.
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
[ "$(http_get "$REG_URL/v2.6/agents/$UUID" "$T/get.json")" = 200 ] || fail "agent not active"
pass "registered $(($(date +%s) - start)) s after start, registrar started after 5 s"
