#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The stubs' --config files: options come from the file ([registrar] or
# [verifier] table, long names with '_'), the command line wins, and a bad
# file is refused with its file:line before anything starts.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

VERIFIER_BIN=$KL_BUILD_DIR/verifier-stub/keylime_verifier_stub
VEC=$KL_SOURCE_DIR/tests/data/registrar/registrar-docs-example.json
EK=$(jq -r .get_agent_response_example.results.ek_tpm "$VEC")
AIK=$(jq -r .get_agent_response_example.results.aik_tpm "$VEC")
ID=d432fbb3-d2f1-4a97-9ef7-75bd81c00000
no_ekcert=$(jq -n --arg ek "$EK" --arg aik "$AIK" \
        '{ek_tpm: $ek, aik_tpm: $aik, mtls_cert: "disabled", ip: "127.0.0.1", port: 9002}')

log "registrar: db, port_file and require_ek_cert from the file; --listen from the command line"
cat >"$T/registrar.conf" <<CONF
# a comment
[registrar]
listen = "127.0.0.1:1"
db = "$T/from-file.sqlite"
port_file = "$T/reg.port"
require_ek_cert = true
log_level = "debug"
CONF
"$REGISTRAR_BIN" --config "$T/registrar.conf" --listen 127.0.0.1:0 >"$T/reg.log" 2>&1 &
KL_PIDS+=("$!")
wait_for_file "$T/reg.port" 10 || fail "registrar did not start: $(cat "$T/reg.log")"
[ "$(cat "$T/reg.port")" != 1 ] || fail "the file's listen won over the command line"
[ -s "$T/from-file.sqlite" ] || fail "the file's db was not used"
code=$(curl -s -o "$T/out" -w '%{http_code}' --data-binary "$no_ekcert" \
        "http://127.0.0.1:$(cat "$T/reg.port")/v2.6/agents/$ID")
[ "$code" = 403 ] || fail "require_ek_cert = true from the file not applied: $code $(cat "$T/out")"
grep -qE 'main\.c:[0-9]+ main\)$' "$T/reg.log" || fail "log_level = \"debug\" from the file not applied"
pass "file options applied, command line won for listen"

log "bad files are refused with file:line, exit 2, nothing started"
bad() { # bad PROGRAM-ARGS... -- FILE-TEXT EXPECTED-MESSAGE
        local text=$1 want=$2
        shift 2
        printf '%s\n' "$text" >"$T/bad.conf"
        rc=0
        "$@" --config "$T/bad.conf" >"$T/bad.out" 2>&1 || rc=$?
        [ "$rc" = 2 ] || fail "'$text': exit $rc, want 2: $(cat "$T/bad.out")"
        grep -qF -- "$want" "$T/bad.out" || fail "'$text': message lacks '$want': $(cat "$T/bad.out")"
}
bad $'[registrar]\nlisten_port = 1' "bad.conf:2: listen_port: unknown option" "$REGISTRAR_BIN"
bad $'[verifier]\nlisten = "x:1"' "bad.conf:2: unknown table '[verifier]'" "$REGISTRAR_BIN"
bad 'db = "x"' "bad.conf:1: db is outside the [registrar] table" "$REGISTRAR_BIN"
bad $'[registrar]\nrequire_ek_cert = "yes"' "require_ek_cert: expected true or false" "$REGISTRAR_BIN"
bad $'[verifier]\ninterval = 0' "bad.conf:2: interval: invalid value '0' (0.1 to 3600 s)" \
        "$VERIFIER_BIN" serve
bad $'[verifier]\nuuid = "x"' "bad.conf:2: uuid: unknown option" "$VERIFIER_BIN" status
bad $'[verifier]\ndb = ' "bad.conf:" "$VERIFIER_BIN" serve
rc=0
"$REGISTRAR_BIN" --config "$T/none.conf" >"$T/none.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -qF "cannot read --config '$T/none.conf'" "$T/none.out" ||
        fail "missing file: exit $rc: $(cat "$T/none.out")"
pass "unknown keys, wrong tables, wrong types, bad values and missing files refused"

log "verifier: interval and max_retries from the file reach serve"
cat >"$T/verifier.conf" <<CONF
[verifier]
listen = "127.0.0.1:0"
db = ":memory:"
port_file = "$T/ver.port"
interval = "0.5"
max_retries = 7
revocation_pub = ""
CONF
"$VERIFIER_BIN" serve --config "$T/verifier.conf" >"$T/ver.log" 2>&1 &
KL_PIDS+=("$!")
wait_for_file "$T/ver.port" 10 || fail "verifier did not start: $(cat "$T/ver.log")"
grep -q "interval 500 ms" "$T/ver.log" || fail "interval from the file not applied: $(cat "$T/ver.log")"
pass "verifier serve configured from its file"
