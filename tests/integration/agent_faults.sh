#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The agent under faults, each ending with nothing lost and a log line that
# says what happened: the registrar answers 403 (exit non-zero, reason
# logged); kill -9 during registration (restart completes, agent_data.json
# is never half-written); keylime_dir full (clear error, no corrupt state,
# works once there is room); the TPM in dictionary-attack lockout (clear
# error); swtpm restarted under a running agent (the quote in between fails
# cleanly with a 500, the agent exits non-zero for systemd to restart it, and
# the restarted agent quotes with the same AK).
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

UUID=d432fbb3-d2f1-4a97-9ef7-75bd81c0fa17
tpm_up tpm1
tpm_up tpm2 own
registrar_start reg

# valid_state DIR: agent_data.json is absent or whole JSON, and no temporary file is left
valid_state() {
        [ ! -e "$1/agent_data.json" ] || jq -e .ak_tpm "$1/agent_data.json" >/dev/null 2>&1 ||
                jq -e . "$1/agent_data.json" >/dev/null || fail "agent_data.json is not valid JSON"
}

log "the registrar answers 403: the agent exits non-zero and says why"
agent_conf "$T/a1.conf" "$T/kl1" "$UUID"
agent_register "$tpm1_TCTI" "$T/a1.conf" "$T/a1.log" || fail "first registration failed: $(tail -3 "$T/a1.log")"
agent_conf "$T/a2.conf" "$T/kl2" "$UUID"
rc=0
agent_register "$tpm2_TCTI" "$T/a2.conf" "$T/a2.log" || rc=$?
[ "$rc" != 0 ] || fail "an agent with another TPM under the same ID registered"
grep -q "refused agent $UUID (403" "$T/a2.log" || fail "no reason logged: $(tail -3 "$T/a2.log")"
grep -q "retrying" "$T/a2.log" && fail "a 403 was retried"
[ "$(reg_get "/v2.6/agents/$UUID" "$T/get.json")" = 200 ] || fail "the first agent lost its record"
pass "403: exit $rc, reason in the log, the registered agent untouched"

log "kill -9 during registration, at 5 points: a restart completes"
U3=d432fbb3-d2f1-4a97-9ef7-75bd81c0fa18
agent_conf "$T/a3.conf" "$T/kl3" "$U3"
for delay in 0.05 0.2 0.4 0.7 1.0; do
        TCTI=$tpm2_TCTI KEYLIME_AGENT_CONFIG=$T/a3.conf "$AGENT_BIN" --register-only \
                >>"$T/a3-killed.log" 2>&1 &
        pid=$!
        sleep "$delay"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        valid_state "$T/kl3"
done
agent_register "$tpm2_TCTI" "$T/a3.conf" "$T/a3.log" ||
        fail "restart after kill -9 did not register: $(tail -3 "$T/a3.log")"
valid_state "$T/kl3"
[ "$(reg_get "/v2.6/agents/$U3" "$T/get3.json")" = 200 ] || fail "not active after restart"
aik=$(json_get "$T/get3.json" .results.aik_tpm)
agent_register "$tpm2_TCTI" "$T/a3.conf" "$T/a3b.log" || fail "second restart failed"
reg_get "/v2.6/agents/$U3" "$T/get3b.json" >/dev/null
[ "$(json_get "$T/get3b.json" .results.aik_tpm)" = "$aik" ] || fail "AK changed after the kill -9 runs"
pass "registered after 5 kill -9s; agent_data.json whole each time; AK kept across restarts"

if [ "$(id -u)" = 0 ]; then
        log "keylime_dir full: a clear error, no corrupt state; works once there is room"
        U4=d432fbb3-d2f1-4a97-9ef7-75bd81c0fa19
        mkdir -p "$T/full"
        mount -t tmpfs -o size=8k,mode=0700 kl-test-full "$T/full"
        agent_conf "$T/a4.conf" "$T/full/kl" "$U4"
        # fill what is left, so the agent's first write fails
        dd if=/dev/zero of="$T/full/filler" bs=1k count=64 2>/dev/null || true
        rc=0
        agent_register "$tpm2_TCTI" "$T/a4.conf" "$T/a4.log" || rc=$?
        [ "$rc" != 0 ] || fail "the agent registered with keylime_dir full"
        grep -qi "no space left on device" "$T/a4.log" ||
                fail "no clear error for a full keylime_dir: $(tail -3 "$T/a4.log")"
        valid_state "$T/full/kl"
        ls "$T/full/kl" | grep -q '\.tmp-' && fail "temporary files left: $(ls "$T/full/kl")"
        rm -f "$T/full/filler"
        mount -o remount,size=4m "$T/full"
        agent_register "$tpm2_TCTI" "$T/a4.conf" "$T/a4b.log" ||
                fail "the agent did not register once there was room: $(tail -3 "$T/a4b.log")"
        valid_state "$T/full/kl"
        pass "full keylime_dir: exit $rc with 'No space left on device'; registered once freed"
else
        skip_part "keylime_dir full needs root (tmpfs mount)"
fi

log "TPM in dictionary-attack lockout: a clear error"
(
        export TPM2TOOLS_TCTI=$tpm2_TCTI
        tpm2_dictionarylockout -s -n 1 -t 600 -l 600 >/dev/null
        tpm2_nvdefine 0x1500017 -C o -s 8 -a "authread|authwrite" -p secret >/dev/null
        tpm2_nvread 0x1500017 -C 0x1500017 -P wrong >/dev/null 2>&1 || true
        tpm2_nvread 0x1500017 -C 0x1500017 -P wrong >/dev/null 2>&1 || true
) || fail "could not put the TPM into lockout"
rc=0
agent_register "$tpm2_TCTI" "$T/a3.conf" "$T/a5.log" || rc=$?
[ "$rc" != 0 ] || fail "the agent registered with the TPM in lockout"
grep -q "dictionary-attack lockout" "$T/a5.log" || fail "no clear lockout error: $(tail -3 "$T/a5.log")"
valid_state "$T/kl3"
TPM2TOOLS_TCTI=$tpm2_TCTI tpm2_dictionarylockout -c >/dev/null || fail "cannot clear the lockout"
agent_register "$tpm2_TCTI" "$T/a3.conf" "$T/a5b.log" || fail "no registration after the lockout was cleared"
pass "lockout: exit $rc, 'dictionary-attack lockout' logged; registers once cleared"

log "swtpm restarted under a running agent: quotes fail cleanly, then work with the same AK"
"$KL_SOURCE_DIR/certs/make-pki.sh" "$T/pki" 2>/dev/null
mkdir -p "$T/kl3/cv_ca"
cp "$T/pki/cacert.crt" "$T/kl3/cv_ca/cacert.crt"
APORT=$(free_port) || fail "no free port"
agent_conf "$T/a6.conf" "$T/kl3" "$U3" "port = $APORT"
agent_serve "$tpm2_TCTI" "$T/a6.conf" "$T/a6.log"
quote() { # quote N: HTTP status of an integrity quote
        curl -s -o "$T/q.json" -w '%{http_code}' --max-time 30 --cacert "$T/kl3/server-cert.crt" \
                --cert "$T/pki/client-cert.crt" --key "$T/pki/client-private.pem" \
                "https://127.0.0.1:$APORT/v2.6/quotes/integrity?nonce=restart$1&mask=0x400&partial=0" || true
}
[ "$(quote 0)" = 200 ] || fail "first quote failed: $(cat "$T/q.json")"
ak_before=$(jq -r .ak_tpm "$T/kl3/agent_data.json" 2>/dev/null || true)
"$TESTBED/tpm-down.sh" "$tpm2_DIR" >/dev/null
code=$(quote 1)
[ "$code" != 200 ] || fail "a quote was served with the TPM down"
"$TESTBED/tpm-up.sh" "$tpm2_DIR" >/dev/null || fail "swtpm did not come back"
ok=0
for i in $(seq 2 30); do
        kill -0 "$AGENT_PID" 2>/dev/null || break
        [ "$(quote "$i")" = 200 ] && ok=1 && break
        sleep 0.5
done
if [ "$ok" = 1 ]; then
        how="the running agent recovered"
else
        # the agent may exit instead, for systemd to restart it
        tpm_lost_exit "$AGENT_PID" "$T/a6.log"
        agent_serve "$tpm2_TCTI" "$T/a6.conf" "$T/a6b.log"
        [ "$(quote 99)" = 200 ] || fail "no quote after a restart: $(tail -3 "$T/a6b.log")"
        how="the agent exited $LOST_RC saying the TPM connection was lost, and its restart serves"
fi
[ "$(jq -r .ak_tpm "$T/kl3/agent_data.json" 2>/dev/null || true)" = "$ak_before" ] || fail "AK changed"
pass "swtpm restart: HTTP $code while down; $how; AK unchanged"
