#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole IMA list (ima_ml_entry=0, a verifier's first poll) of a long log is
# streamed at constant memory: the agent's peak RSS (VmHWM) stays within a few
# MiB of its RSS before, where holding the answer would cost several times its
# size; the JSON carries the log byte for byte with the right entry; the
# verifier stub attests a whole streamed list (replayed against PCR 10); lines
# appended while an answer is being sent are not in it (its end is fixed at
# the quote); a log that shrinks mid-answer breaks the answer instead of
# shortening it.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/verifier_lib.sh"

# Lines the verifier attests (PCR 10 extended for each; its client takes answers up to
# 8 MiB) and lines the log then grows to for the memory check.
N_ATTEST=${KL_IMA_STREAM_ATTEST:-30000}
N_BIG=${KL_IMA_STREAM_LINES:-300000}
# Peak RSS allowed above the RSS before the first whole list: the old code held the
# answer three times over (the file text, the JSON string, the serialised envelope).
RSS_SLACK_KIB=8192
# Under ASan, freed memory waits in a quarantine (256 MiB by default), so RSS grows with
# every byte ever allocated: cap the quarantine and allow for it.
if grep -q '^KL_SANITIZE:[A-Z]*=.' "$KL_BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
        export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16
        RSS_SLACK_KIB=$((RSS_SLACK_KIB + 24 * 1024))
fi
A=d432fbb3-d2f1-4a97-9ef7-75bd81c0e5a0
command -v python3 >/dev/null || skip "needs python3"

tpm_up tpm1
registrar_start reg
pki_up

log "a synthetic IMA log of $N_ATTEST ima-ng lines, extended into PCR 10"
# One line per file as the kernel writes it (Linux >= 5.8 template data, see
# tests/testbed/ima-log.sh), and the tpm2_pcrextend specs for it.
python3 - "$N_ATTEST" "$T/ima.log" "$T/ima.specs" <<'PY'
import hashlib, struct, sys
n, log, specs = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(log, "w") as lf, open(specs, "w") as sf:
    for i in range(1, n + 1):
        digest = hashlib.sha256(b"file%d" % i).digest()
        name = b"/usr/lib/stream/file%d" % i
        d = b"sha256:\0" + digest
        data = struct.pack("<I", len(d)) + d + struct.pack("<I", len(name) + 1) + name + b"\0"
        th = hashlib.sha1(data).hexdigest()
        lf.write("10 %s ima-ng sha256:%s %s\n" % (th, digest.hex(), name.decode()))
        sf.write("10:sha1=%s,sha256=%s\n" % (th, hashlib.sha256(data).hexdigest()))
PY
(
        # shellcheck source=/dev/null
        . "$tpm1_DIR/env"
        TPM2TOOLS_TCTI=$TCTI xargs -n 1000 tpm2_pcrextend <"$T/ima.specs" >/dev/null
) || fail "tpm2_pcrextend failed"

APORT=$(free_port) || fail "no free port"
agent_start a "$tpm1_TCTI" "$A" "$APORT" "ima_ml_path = \"$T/ima.log\""
BASE=https://127.0.0.1:$APORT
# whole ENTRY OUT [CURL ARGS...]: an integrity quote with the IMA list from ENTRY; the
# headers go to OUT.h; prints curl's exit status and the HTTP code.
whole() {
        local entry=$1 out=$2 rc=0 code
        shift 2
        code=$(curl -s -o "$out" -D "$out.h" -w '%{http_code}' --max-time 120 "$@" \
                --cacert "$T/a/server-cert.crt" --cert "$T/pki/client-cert.crt" \
                --key "$T/pki/client-private.pem" \
                "$BASE/v2.6/quotes/integrity?nonce=s$RANDOM&mask=0x400&partial=1&ima_ml_entry=$entry") ||
                rc=$?
        echo "$rc $code"
}
kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$a_PID/status"; }
# check_list OUT ENTRY FILE: the answer parses, starts at ENTRY, and carries FILE exactly.
check_list() {
        [ "$(jq -r .results.ima_measurement_list_entry "$1")" = "$2" ] ||
                fail "entry $(jq -r .results.ima_measurement_list_entry "$1"), expected $2"
        jq -j .results.ima_measurement_list "$1" >"$1.list" || fail "answer does not parse"
        cmp -s "$1.list" "$3" || fail "the list differs from the log ($(wc -c <"$1.list") bytes vs $(wc -c <"$3"))"
}

log "the whole list of $N_ATTEST lines: streamed, the log byte for byte"
# a short answer first, so the RSS before includes what every quote needs
[ "$(whole "$N_ATTEST" "$T/q0.json")" = "0 200" ] || fail "quote failed: $(cat "$T/q0.json")"
grep -qi '^content-length:' "$T/q0.json.h" || fail "a short answer should keep its Content-Length"
rss_before=$(kib VmRSS)
[ "$(whole 0 "$T/q1.json")" = "0 200" ] || fail "whole list failed: $(head -c 300 "$T/q1.json")"
grep -qi '^transfer-encoding: chunked' "$T/q1.json.h" || fail "not streamed: $(cat "$T/q1.json.h")"
check_list "$T/q1.json" 0 "$T/ima.log"
pass "whole list of $N_ATTEST lines ($(wc -c <"$T/ima.log") bytes) streamed, entry 0"

log "the verifier stub attests it from scratch (whole list, replayed against PCR 10)"
# every file excluded: the policy passes them all, PCR 10 and the template hashes are still checked
echo '{"meta": {"version": 1}, "digests": {}, "excludes": ["^/usr/lib/stream/"]}' >"$T/policy.json"
verifier_start --interval 1
vstub add --uuid "$A" --agent "127.0.0.1:$APORT" --ima-policy "$T/policy.json" >/dev/null ||
        fail "add failed"
wait_state "$A" "Get Quote" 60 2
size=$(wc -c <"$T/ima.log")
grep -q "asked ima_ml_entry=0, got entry 0 ($size bytes)" "$T/verifier.log" ||
        fail "the verifier did not get the whole list: $(grep 'got entry' "$T/verifier.log" | head -3)"
grep -q "asked ima_ml_entry=$N_ATTEST, got entry $N_ATTEST (0 bytes)" "$T/verifier.log" ||
        fail "the replay position did not move to $N_ATTEST"
pass "attested: $(jq -r .attestation_count "$T/status.json") quotes, first with $size bytes of IMA list"
# what follows grows the log past what PCR 10 holds: no verifier from here on
kill "$VER_PID"
wait "$VER_PID" 2>/dev/null || true

log "the log grows to $N_BIG lines: the whole list at the same memory"
awk -v a="$N_ATTEST" -v b="$N_BIG" 'BEGIN { for (i = a + 1; i <= b; i++)
        printf "10 %040x ima-ng sha256:%064x /usr/lib/stream/file%d\n", i, i, i }' >>"$T/ima.log"
[ "$(whole 0 "$T/q2.json")" = "0 200" ] || fail "whole list failed: $(head -c 300 "$T/q2.json")"
check_list "$T/q2.json" 0 "$T/ima.log"
hwm=$(kib VmHWM)
[ "$hwm" -le $((rss_before + RSS_SLACK_KIB)) ] ||
        fail "peak RSS $hwm KiB for a $(($(wc -c <"$T/q2.json") / 1048576)) MiB answer; RSS before was $rss_before KiB"
pass "whole list of $N_BIG lines ($(($(wc -c <"$T/q2.json") / 1048576)) MiB): peak RSS $hwm KiB, $rss_before KiB before"

log "from the middle: the right entry and the lines from it"
mid=$((N_BIG / 3))
[ "$(whole "$mid" "$T/q3.json")" = "0 200" ] || fail "quote from $mid failed"
tail -n +"$((mid + 1))" "$T/ima.log" >"$T/tail.log"
check_list "$T/q3.json" "$mid" "$T/tail.log"
[ "$(whole $((N_BIG + 1)) "$T/q4.json")" = "0 200" ] || fail "quote past the end failed"
check_list "$T/q4.json" 0 "$T/ima.log"
pass "entry $mid gives lines $((mid + 1)).. and past the end gives the whole list from 0"

log "lines appended while the answer is sent are not in it"
cp "$T/ima.log" "$T/ima-at-quote.log"
whole 0 "$T/q5.json" --limit-rate 8M >"$T/q5.rc" &
slow=$!
sleep 1
for i in $(seq 10); do printf '10 %040d ima-ng sha256:%064d /late%d\n' 0 "$i" "$i"; done >>"$T/ima.log"
wait "$slow"
[ "$(cat "$T/q5.rc")" = "0 200" ] || fail "slow whole list failed: $(cat "$T/q5.rc")"
check_list "$T/q5.json" 0 "$T/ima-at-quote.log"
pass "the answer ends where the log ended at the quote"

log "the log shrinks mid-answer: the answer breaks, it is not a shorter list"
whole 0 "$T/q6.json" --limit-rate 4M >"$T/q6.rc" &
slow=$!
sleep 1
truncate -s 1M "$T/ima.log"
wait "$slow"
read -r rc code <"$T/q6.rc"
[ "$rc" != 0 ] || fail "curl got a complete answer ($code, $(wc -c <"$T/q6.json") bytes)"
jq -e . "$T/q6.json" >/dev/null 2>&1 && fail "the broken answer parses as JSON"
grep -q "a streamed answer failed" "$T/a.log" || fail "the agent did not log the failure"
kill -0 "$a_PID" || fail "agent died"
pass "curl exit $rc after $(wc -c <"$T/q6.json") bytes; the agent keeps serving"
