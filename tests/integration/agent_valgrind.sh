#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One whole flow of the agent under valgrind memcheck: start, register and
# activate at the registrar stub, serve a few quotes and the keys routes over
# mTLS, stop on SIGTERM. valgrind must report no error and no leak (definite,
# indirect or possible). Slow, so labelled "valgrind": CI runs it on its own
# (ctest -L valgrind); the normal suite leaves it out (scripts/test.sh).
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

command -v valgrind >/dev/null || fail "valgrind missing: run scripts/install-deps.sh"
UUID=d432fbb3-d2f1-4a97-9ef7-75bd81c0fa11
tpm_up tpm1
registrar_start reg
"$KL_SOURCE_DIR/certs/make-pki.sh" "$T/pki" 2>/dev/null
mkdir -p "$T/kl/cv_ca"
cp "$T/pki/cacert.crt" "$T/kl/cv_ca/cacert.crt"
APORT=$(free_port) || fail "no free port"
agent_conf "$T/agent.conf" "$T/kl" "$UUID" "port = $APORT"

log "agent under memcheck: register, 5 quotes, keys routes, SIGTERM"
TCTI=$tpm1_TCTI KEYLIME_AGENT_CONFIG=$T/agent.conf valgrind --tool=memcheck --leak-check=full \
        --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
        --error-exitcode=99 --track-fds=no --log-file="$T/valgrind.log" \
        "$AGENT_BIN" >"$T/agent.log" 2>&1 &
AGENT_PID=$!
KL_PIDS+=("$AGENT_PID")
for _ in $(seq 1200); do
        grep -q "serving the agent API" "$T/agent.log" && break
        kill -0 "$AGENT_PID" 2>/dev/null || fail "agent exited: $(tail -5 "$T/agent.log")"
        sleep 0.1
done
grep -q "serving the agent API" "$T/agent.log" || fail "agent API did not start under valgrind"
[ "$(reg_get "/v2.6/agents/$UUID" "$T/reg.json")" = 200 ] || fail "agent not active"
api() {
        curl -s -o "$T/out.json" -w '%{http_code}' --max-time 60 --cacert "$T/kl/server-cert.crt" \
                --cert "$T/pki/client-cert.crt" --key "$T/pki/client-private.pem" \
                "https://127.0.0.1:$APORT$1"
}
for i in 1 2 3 4 5; do
        [ "$(api "/v2.6/quotes/integrity?nonce=vg$i&mask=0x400&partial=$((i % 2))")" = 200 ] ||
                fail "quote $i failed: $(cat "$T/out.json")"
done
[ "$(api /v2.6/keys/pubkey)" = 200 ] || fail "pubkey failed"
[ "$(api "/v2.6/keys/verify?challenge=abc")" = 400 ] || fail "verify without K should be 400"
kill -TERM "$AGENT_PID"
rc=0
wait "$AGENT_PID" || rc=$?
grep -q "ERROR SUMMARY: 0 errors" "$T/valgrind.log" ||
        fail "memcheck found errors: $(grep -A3 'ERROR SUMMARY\|definitely\|possibly' "$T/valgrind.log" | head -20)"
[ "$rc" = 0 ] || fail "agent exited $rc under valgrind: $(tail -5 "$T/agent.log")"
pass "memcheck: $(grep -o 'ERROR SUMMARY: .*' "$T/valgrind.log" | head -1); $(grep -o 'in use at exit: .*' "$T/valgrind.log" | head -1)"
