#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# keylime_agent --check: with a software TPM, the registrar stub and readable
# log files every check passes (exit 0); the EK certificate chains to the
# TPM's CA; with the registrar down the run fails (exit 1) and says why.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

tpm_up tpm1
registrar_start reg
echo "10 0000 ima-ng sha256:00 boot_aggregate" >"$T/ima.log"
printf '\0\0\0\0' >"$T/event.log"
agent_conf "$T/agent.conf" "$T/kl" d432fbb3-d2f1-4a97-9ef7-75bd81c00000 \
        "ima_ml_path = \"$T/ima.log\"" "measuredboot_ml_path = \"$T/event.log\""

check() {
        TCTI=$tpm1_TCTI KEYLIME_AGENT_CONFIG=$T/agent.conf "$AGENT_BIN" --check "$@"
}

log "everything up: all checks pass"
check --check-ek-ca "$tpm1_EK_CA_DIR" >"$T/check1.out" 2>"$T/check1.err" ||
        fail "--check failed: $(cat "$T/check1.out" "$T/check1.err")"
cat "$T/check1.out" >&2
for what in "config: $T/agent.conf" "keylime_dir: $T/kl" "TPM: $tpm1_TCTI" "EK: " \
        "EK certificate: found in NV, chains" "PCR banks: " "IMA log: $T/ima.log" \
        "event log: $T/event.log" "registrar: $REG_URL/version"; do
        grep -qF "ok    $what" "$T/check1.out" || fail "no ok line for '$what'"
done
grep -q sha256 "$T/check1.out" || fail "PCR banks line lacks sha256"
grep -q '^FAIL' "$T/check1.out" && fail "a FAIL line although everything is up"
[ -z "$(ls -A "$T/kl")" ] || fail "--check wrote into keylime_dir: $(ls -A "$T/kl")"
pass "all checks ok, nothing written"

log "wrong EK CA: the chain check fails"
mkdir -p "$T/otherca"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=other \
        -keyout "$T/otherca.key" -out "$T/otherca/ca.pem" -days 1 2>/dev/null
rc=0
check --check-ek-ca "$T/otherca" >"$T/check2.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "wrong EK CA: exit $rc, want 1"
grep -q '^FAIL  EK certificate: does not chain' "$T/check2.out" || fail "no FAIL line for the chain"
pass "EK chain failure reported"

log "registrar and IMA log gone: exit 1 with FAIL lines naming them"
kill "$REG_PID"
wait "$REG_PID" 2>/dev/null || true
rm -f "$T/ima.log"
rc=0
check >"$T/check3.out" 2>&1 || rc=$?
cat "$T/check3.out" >&2
[ "$rc" = 1 ] || fail "registrar down: exit $rc, want 1"
grep -qF "FAIL  registrar: $REG_URL/version not reachable" "$T/check3.out" ||
        fail "no FAIL line naming the registrar"
grep -qF "FAIL  IMA log: $T/ima.log: No such file or directory" "$T/check3.out" ||
        fail "no FAIL line naming the IMA log"
grep -qF "ok    TPM: " "$T/check3.out" || fail "TPM line not ok"
pass "failures reported, exit 1"

log "no TPM: the TPM line fails and names the TCTI"
rc=0
TCTI=swtpm:host=127.0.0.1,port=1 KEYLIME_AGENT_CONFIG=$T/agent.conf "$AGENT_BIN" --check \
        >"$T/check4.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "no TPM: exit $rc"
grep -q "^FAIL  TPM: .*swtpm:host=127.0.0.1,port=1" "$T/check4.out" || fail "TPM FAIL line lacks TCTI"
pass "missing TPM reported"
