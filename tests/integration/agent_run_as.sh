#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run_as: started as root, the agent registers, then runs as nobody:nogroup for
# good (uid, gid, groups and no-new-privs read from /proc/<pid>/status of the
# running agent); keylime_dir was handed to that user, so a restart reuses the
# AK. Needs root to switch users: skipped otherwise.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" = 0 ] || skip "run_as needs root"
RUN_USER=nobody
RUN_GROUP=nogroup
getent passwd "$RUN_USER" >/dev/null && getent group "$RUN_GROUP" >/dev/null ||
        skip "no $RUN_USER:$RUN_GROUP on this machine"
want_uid=$(id -u "$RUN_USER")
want_gid=$(getent group "$RUN_GROUP" | cut -d: -f3)

UUID=5e0f3a4c-9b7d-4e2a-8c61-0d3b2a1f9e77
tpm_up tpm1
registrar_start reg
# the dropped agent must still reach its own keylime_dir under the private temp dir
chmod 0711 "$T"
"$KL_SOURCE_DIR/certs/make-pki.sh" "$T/pki" 2>/dev/null
mkdir -p "$T/kl/cv_ca"
cp "$T/pki/cacert.crt" "$T/kl/cv_ca/cacert.crt"
APORT=$(free_port) || fail "no free port"
agent_conf "$T/agent.conf" "$T/kl" "$UUID" "port = $APORT" \
        "ima_ml_path = \"$T/ima.log\"" "measuredboot_ml_path = \"$T/event.log\""
# agent_conf writes run_as = "" for the other tests; the last key wins here
sed -i "s/^run_as = .*/run_as = \"$RUN_USER:$RUN_GROUP\"/" "$T/agent.conf"
: >"$T/ima.log"

log "agent started as root registers, then runs as $RUN_USER:$RUN_GROUP"
TCTI=$tpm1_TCTI KEYLIME_AGENT_CONFIG=$T/agent.conf "$AGENT_BIN" >"$T/agent.log" 2>&1 &
AGENT_PID=$!
KL_PIDS+=("$AGENT_PID")
active=no
for _ in $(seq 150); do
        kill -0 "$AGENT_PID" 2>/dev/null || fail "agent exited: $(tail -5 "$T/agent.log")"
        if [ "$(http_get "$REG_URL/v2.6/agents/$UUID" "$T/get.json")" = 200 ]; then
                active=yes
                break
        fi
        sleep 0.2
done
[ "$active" = yes ] || fail "agent never became active: $(tail -5 "$T/agent.log")"
grep '^Uid:\|^Gid:\|^Groups:\|^NoNewPrivs:' "/proc/$AGENT_PID/status" | tee "$T/status" >&2
read -r _ u1 u2 u3 u4 < <(grep '^Uid:' "$T/status")
read -r _ g1 g2 g3 g4 < <(grep '^Gid:' "$T/status")
for v in "$u1" "$u2" "$u3" "$u4"; do
        [ "$v" = "$want_uid" ] || fail "uid is $u1/$u2/$u3/$u4, want $want_uid everywhere"
done
for v in "$g1" "$g2" "$g3" "$g4"; do
        [ "$v" = "$want_gid" ] || fail "gid is $g1/$g2/$g3/$g4, want $want_gid everywhere"
done
groups=$(sed -n 's/^Groups:[[:space:]]*//p' "$T/status")
for g in $groups; do
        [ "$g" != 0 ] || fail "supplementary group 0 kept: $groups"
done
grep -q '^NoNewPrivs:[[:space:]]*1' "$T/status" || fail "no-new-privs is not set"
grep -q "running as $RUN_USER:$RUN_GROUP" "$T/agent.log" || fail "log does not say it dropped"
for f in "$T/kl" "$T/kl/agent_data.json" "$T/kl/server-private.pem" "$T/kl/cv_ca/cacert.crt"; do
        [ "$(stat -c %u:%g "$f")" = "$want_uid:$want_gid" ] ||
                fail "$f belongs to $(stat -c %U:%G "$f"), not $RUN_USER:$RUN_GROUP"
done
[ "$(stat -c %a "$T/kl/agent_data.json")" = 600 ] || fail "agent_data.json lost mode 0600"
kill -TERM "$AGENT_PID"
rc=0
wait "$AGENT_PID" || rc=$?
[ "$rc" = 0 ] || fail "agent exited $rc on SIGTERM: $(tail -5 "$T/agent.log")"
pass "uid/gid $want_uid/$want_gid for good, no-new-privs, keylime_dir handed over"

log "restart as root reuses the AK from the handed-over keylime_dir"
agent_register "$tpm1_TCTI" "$T/agent.conf" "$T/agent2.log" ||
        fail "restart failed: $(tail -5 "$T/agent2.log")"
grep -q "AK loaded from agent data" "$T/agent2.log" || fail "restart did not reuse the AK"
pass "restart reused the AK"

log "an unknown run_as user refuses to start"
sed -i 's/^run_as = .*/run_as = "no-such-user-kl:nogroup"/' "$T/agent.conf"
rc=0
agent_register "$tpm1_TCTI" "$T/agent.conf" "$T/agent3.log" || rc=$?
[ "$rc" != 0 ] || fail "agent started with an unknown run_as user"
grep -q "no user 'no-such-user-kl'" "$T/agent3.log" || fail "no error naming the user"
pass "unknown user refused"
