#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The verifier stub holding a fleet: 200 simulated agents (100 in a sanitizer
# build; kl_fleet: software
# EK and AK, ECC and RSA, each on its own 127.1.0.x address with mTLS) that
# registered and activated at the registrar stub, attested every 2 s with
# an IMA policy over a growing log. Every good agent stays in "Get Quote" and
# is attested every round once all are added (the quotes each answered since then
# differ by at most 2); each bad
# one is flagged with its own reason after two good quotes: wrong PCR 15,
# bad signature, stale nonce ("Invalid Quote"), silence ("Failed"). Keep-alive:
# the verifier opened about one connection per agent for all those quotes.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname -- "${BASH_SOURCE[0]}")/verifier_lib.sh"

FLEET_BIN=$KL_BUILD_DIR/tests/kl_fleet
N=${KL_FLEET_AGENTS:-200}
# Sanitizers make every quote several times dearer on both sides (verifier and
# simulator share the machine): half the fleet keeps the same load per core,
# so the every-round check below still measures the poller, not the build.
if [ -z "${KL_FLEET_AGENTS:-}" ] && grep -q '^KL_SANITIZE:[A-Z]*=.' "$KL_BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
        N=100
fi
K=4 # quotes each good agent must answer once all are added

registrar_start reg
pki_up
verifier_start --interval 2 --max-retries 1 --log-level info

log "$N agents, 2 of each bad mode, until every good agent answered $K quotes"
"$FLEET_BIN" --agents "$N" --registrar "$REG_URL" --verifier "$VER_URL" "${VER_TLS[@]}" \
        --interval 2 --rsa-every 16 --bad wrong-pcr:2 --bad bad-sig:2 --bad stale-nonce:2 --bad silent:2 \
        --bad-after 2 --min-quotes "$K" --duration 200 --report "$T/report.jsonl" \
        2>"$T/fleet.log" || fail "kl_fleet failed: $(tail -5 "$T/fleet.log")"
jq -e -s 'map(select(.summary)) | length == 1' "$T/report.jsonl" >/dev/null ||
        fail "no summary in the report"
jq -c 'select(.summary)' "$T/report.jsonl" >&2

agents() { jq -c "select(.agent and $1)" "$T/report.jsonl"; }

[ "$(agents true | wc -l)" = "$N" ] || fail "the report does not list $N agents"
[ "$(agents '.ak == "rsa"' | wc -l)" -gt 0 ] || fail "no agent with an RSA AK"
bad=$(agents '.mode == "good" and (.state != "Get Quote" or .reason != "" or .count < '$((K - 1))')')
[ -z "$bad" ] || fail "good agents not attested: $(head -3 <<<"$bad")"
spread=$(agents '.mode == "good"' | jq -s 'map(.run_quotes) | max - min')
[ "$spread" -le 2 ] || fail "some good agents were polled $spread rounds more than others"
pass "$((N - 8)) good agents in Get Quote, each attested >= $((K - 1)) times (rounds spread $spread)"

# expect MODE STATE REASON-PART: both agents of MODE flagged so, after their good quotes
expect() {
        local mode=$1 state=$2 part=$3 wrong
        [ "$(agents ".mode == \"$mode\"" | wc -l)" = 2 ] || fail "not 2 $mode agents"
        wrong=$(agents ".mode == \"$mode\" and (.state != \"$state\" or (.reason |
                contains(\"$part\") | not) or .count < 2)")
        [ -z "$wrong" ] || fail "$mode agent not flagged as expected: $(head -1 <<<"$wrong")"
        pass "$mode: $state, \"$(agents ".mode == \"$mode\"" | head -1 | jq -r .reason | cut -c1-60)\""
}
expect wrong-pcr "Invalid Quote" "PCR 15 (sha256) is"
expect bad-sig "Invalid Quote" "signature does not verify"
expect stale-nonce "Invalid Quote" "nonce in quote does not match"
expect silent "Failed" "unreachable"

# the verifier's totals when it stops: quotes on kept-alive connections, one per agent
# (plus the silent agents' reconnects)
kill "$VER_PID" 2>/dev/null || true
wait "$VER_PID" 2>/dev/null || true
totals=$(grep -o 'poller stopped: [0-9]* quotes verified, [0-9]* connections opened' \
        "$T/verifier.log" | tail -1)
[ -n "$totals" ] || fail "no totals from the verifier: $(tail -3 "$T/verifier.log")"
quotes=$(awk '{print $3}' <<<"$totals")
conns=$(awk '{print $6}' <<<"$totals")
[ "$quotes" -ge $(((N - 8) * (K - 1))) ] || fail "only $quotes quotes verified"
[ "$conns" -le $((N + N / 10 + 16)) ] || fail "$conns connections for $N agents: no keep-alive"
pass "keep-alive: $quotes quotes verified over $conns connections ($N agents)"
