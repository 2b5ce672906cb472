#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The test-bed log generators against libkl: after uefi-log.sh replay (tpm2_eventlog parses)
# the TPM's PCRs equal kl_uefi_log_replay's; after ima-log.sh extend (shell + coreutils
# hashes) PCR 10 in both banks equals kl_ima_replay's, also when extended in two steps; the
# generated policies are accepted and pass the logs they came from.
# shellcheck disable=SC2154 # tpm_up sets tpm1_TCTI and tpm1_DIR
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

EVID=$KL_BUILD_DIR/tests/kl_evidence_tool
UEFI=$KL_SOURCE_DIR/tests/data/uefi/uefi_log.bin
[ -x "$EVID" ] || fail "no $EVID"
tpm_up tpm1
export TPM2TOOLS_TCTI=$tpm1_TCTI

# pcr_hex BANK:N -> lower-case hex of that PCR
pcr_hex() {
        tpm2_pcrread "$1" | awk -F: '/0x/ { gsub(/[ \t]|0x/, "", $2); print tolower($2) }'
}

log "UEFI: replay the Keylime event log into the TPM"
"$TESTBED/uefi-log.sh" replay "$tpm1_DIR" "$UEFI" || fail "uefi-log.sh replay"
"$EVID" uefi-pcrs "$UEFI" >"$T/uefi.pcrs" || fail "kl_evidence_tool uefi-pcrs"
n=0
while IFS='=' read -r sel want; do
        case $sel in sha1:*) continue ;; esac # this log has no sha1 bank
        got=$(pcr_hex "$sel")
        [ "$got" = "$want" ] || fail "$sel: TPM $got, libkl replay $want"
        n=$((n + 1))
done <"$T/uefi.pcrs"
[ "$n" = 11 ] || fail "expected 11 sha256 PCRs from the log, got $n"
for p in 0 7; do
        grep -qx "sha256:$p=$(pcr_hex sha256:$p)" "$T/uefi.pcrs" || fail "sha256:$p differs"
done
pass "tpm2_pcrread sha256:0-9,14 equal kl_uefi_log_replay"

"$TESTBED/uefi-log.sh" policy "$UEFI" >"$T/mb.json" || fail "uefi-log.sh policy"
grep -q "\"7\": \"$(pcr_hex sha256:7)\"" "$T/mb.json" || fail "mb policy lacks the TPM's PCR 7"
"$EVID" mb-check "$UEFI" "$T/mb.json" || fail "generated mb policy does not pass its log"
pass "mb policy generated and accepted"

log "IMA: generated list extended into PCR 10"
L=$T/ima.log
files=()
for i in 1 2 3; do
        printf 'file %s\n' "$i" >"$T/f$i"
        files+=("$T/f$i")
done
{
        for f in "${files[@]}"; do
                "$TESTBED/ima-log.sh" entry "$f" "$(sha256sum "$f" | cut -d' ' -f1)"
        done
        "$TESTBED/ima-log.sh" violation /var/log/messages
        "$TESTBED/ima-log.sh" entry /usr/bin/true "$(printf '%064d' 7)"
} >"$L"
"$TESTBED/ima-log.sh" extend "$tpm1_DIR" "$L" || fail "ima-log.sh extend"
for bank in sha1 sha256; do
        want=$("$EVID" ima-pcr10 "$L" "$bank") || fail "kl_evidence_tool ima-pcr10 $bank"
        got=$(pcr_hex "$bank:10")
        [ "$got" = "$want" ] || fail "$bank:10: TPM $got, kl_ima_replay $want"
done
pass "PCR 10 (sha1, sha256) equals kl_ima_replay after 5 lines"

# the kernel keeps appending: extend only the new lines
for i in 4 5; do
        printf 'file %s\n' "$i" >"$T/f$i"
        "$TESTBED/ima-log.sh" entry "$T/f$i" "$(sha256sum "$T/f$i" | cut -d' ' -f1)" >>"$L"
done
"$TESTBED/ima-log.sh" violation /tmp/open-writer >>"$L"
"$TESTBED/ima-log.sh" extend "$tpm1_DIR" "$L" 5 || fail "ima-log.sh extend from 5"
for bank in sha1 sha256; do
        want=$("$EVID" ima-pcr10 "$L" "$bank")
        got=$(pcr_hex "$bank:10")
        [ "$got" = "$want" ] || fail "$bank:10 after 8 lines: TPM $got, kl_ima_replay $want"
done
pass "PCR 10 equals kl_ima_replay after an incremental extend"

"$TESTBED/ima-log.sh" policy "$L" >"$T/policy.json"
"$EVID" ima-pcr10 "$L" sha256 "$T/policy.json" >/dev/null || fail "generated policy rejects its log"
printf '{"digests": {"%s": ["%064d"]}}' "${files[0]}" 0 >"$T/bad.json"
if "$EVID" ima-pcr10 "$L" sha256 "$T/bad.json" 2>"$T/bad.err"; then
        fail "a policy without the files passed"
fi
grep -q "line 1: .*not in allowlist" "$T/bad.err" || fail "unexpected error: $(cat "$T/bad.err")"
pass "runtime policy generated and enforced"
