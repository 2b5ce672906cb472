#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The verifier stub replaying evidence from a real agent: a synthetic IMA log
# extended into PCR 10 with a runtime policy and a UEFI event log replayed
# into PCRs 0-7 with an mb policy pass; an appended IMA line passes with only
# the delta fetched; a verifier killed with -9 and restarted resumes from SQLite at the
# same IMA entry (a line appended meanwhile is its first delta); a tampered IMA line is an
# "Invalid Quote" naming it.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/verifier_lib.sh"

IMA=$TESTBED/ima-log.sh
A=d432fbb3-d2f1-4a97-9ef7-75bd81c0e001
tpm_up tpm1
registrar_start reg
pki_up

log "synthetic IMA log in PCR 10 and UEFI log in PCRs 0-7, with their policies"
evidence_up 5

APORT=$(free_port) || fail "no free port"
agent_start a "$tpm1_TCTI" "$A" "$APORT" "ima_ml_path = \"$T/ima.log\"" \
        "measuredboot_ml_path = \"$T/uefi.bin\""
verifier_start --interval 1
vstub add --uuid "$A" --agent "127.0.0.1:$APORT" --ima-policy "$T/ima-policy.json" \
        --mb-policy "$T/mb-policy.json" >/dev/null || fail "add failed"
wait_state "$A" "Get Quote" 20 3
grep -q "mask=0x4ff&" "$T/verifier.log" || fail "quotes do not cover PCRs 0-7 and 10"
grep -q "asked ima_ml_entry=5, got entry 5 (0 bytes)" "$T/verifier.log" ||
        fail "steady state should fetch no IMA lines: $(grep 'ima_ml_entry' "$T/verifier.log" | tail -3)"
pass "IMA (5 lines) and UEFI log replay match their policies: $(jq -r .attestation_count "$T/status.json") quotes"

log "append an IMA line, then extend: passes, only the delta is fetched"
cat "$T/ima-next.log" >>"$T/ima.log"
bash "$IMA" extend "$tpm1_DIR" "$T/ima.log" 5
before=$(count "$A")
wait_state "$A" "Get Quote" 20 $((before + 3))
len=$(wc -c <"$T/ima-next.log")
grep -q "asked ima_ml_entry=5, got entry 5 ($len bytes)" "$T/verifier.log" ||
        fail "the new line was not fetched as a delta: $(grep 'got entry' "$T/verifier.log" | sort | uniq -c)"
grep -q "asked ima_ml_entry=6, got entry 6 (0 bytes)" "$T/verifier.log" ||
        fail "the replay position did not move to 6"
grep -q "got entry 0 ([1-9]" <(grep -v "asked ima_ml_entry=0" "$T/verifier.log") &&
        fail "the whole list was fetched again"
pass "delta of one line ($len bytes) fetched and replayed"

log "verifier killed (-9) and restarted: resumes from SQLite at IMA entry 6"
count_before=$(count "$A")
kill -9 "$VER_PID"
wait "$VER_PID" 2>/dev/null || true
# a line appended while no verifier runs is the first delta after the restart
bash "$IMA" entry /usr/bin/file1 "$(printf '%064d' 1)" >"$T/ima-late.log" # allowed: a repeat
cat "$T/ima-late.log" >>"$T/ima.log"
bash "$IMA" extend "$tpm1_DIR" "$T/ima-late.log"
mark=$(wc -l <"$T/verifier.log")
verifier_start --interval 1
wait_state "$A" "Get Quote" 20 $((count_before + 3))
tail -n +"$((mark + 1))" "$T/verifier.log" >"$T/verifier-restarted.log"
grep -q "agent '$A': resuming after its last good quote (IMA entry 6)" "$T/verifier-restarted.log" ||
        fail "no resume from the stored state: $(grep -i "resum\|$A" "$T/verifier-restarted.log" | head -5)"
late=$(wc -c <"$T/ima-late.log")
grep -q "asked ima_ml_entry=6, got entry 6 ($late bytes)" "$T/verifier-restarted.log" ||
        fail "the line appended while down was not fetched as a delta from 6: $(grep 'got entry' "$T/verifier-restarted.log" | sort | uniq -c)"
grep -q "asked ima_ml_entry=0" "$T/verifier-restarted.log" &&
        fail "the restarted verifier fetched the whole list again"
grep -q "asked ima_ml_entry=7, got entry 7 (0 bytes)" "$T/verifier-restarted.log" ||
        fail "the replay position did not move to 7 after the restart"
pass "restart resumed at entry 6, fetched the one late line ($late bytes), count $count_before -> $(count "$A")"

log "a tampered IMA line: Invalid Quote naming it"
# What was measured: /usr/bin/evil. What the log claims: an allowed file with evil's template hash.
bash "$IMA" entry /usr/bin/evil "$(printf 'e%.0s' {1..64})" >"$T/evil.log"
read -r pcr th tmpl _ _ <"$T/evil.log"
printf '%s %s %s sha256:%064d /usr/bin/file1\n' "$pcr" "$th" "$tmpl" 1 >>"$T/ima.log"
bash "$IMA" extend "$tpm1_DIR" "$T/evil.log"
wait_state "$A" "Invalid Quote" 15
jq -r .last_failure "$T/status.json" | grep -q "line 8" ||
        fail "reason does not name line 8: $(cat "$T/status.json")"
pass "tampered line: $(jq -r .last_failure "$T/status.json")"
kill -0 "$VER_PID" || fail "verifier died"
