#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The packages: packaging/build.sh builds the .deb and .rpm; lintian and
# rpmlint find no errors; file lists, modes and unit contents match what this
# test expects; the units pass systemd-analyze verify; the shipped agent.conf
# loads unchanged. As root, the .deb installs, the agent answers --version and
# --check against a software TPM, and a purge leaves nothing behind.
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

for tool in dpkg-buildpackage dh lintian rpmbuild rpmlint systemd-analyze; do
        command -v "$tool" >/dev/null || fail "$tool missing: run scripts/install-deps.sh"
done
V=$(sed -n 's/^project(keylime-agent-c VERSION \([0-9.]*\).*/\1/p' "$KL_SOURCE_DIR/CMakeLists.txt")
ARCH=$(dpkg --print-architecture)
DEB=$T/out/keylime-agent-c_${V}_$ARCH.deb
STUBS_DEB=$T/out/keylime-stubs-c_${V}_$ARCH.deb
RPM=$(printf '%s' "$T/out/keylime-agent-c-$V-1."*.rpm)

log "build both packages out of tree"
"$KL_SOURCE_DIR/packaging/build.sh" deb "$T/out" >"$T/build-deb.log" 2>&1 ||
        fail "deb build failed: $(tail -20 "$T/build-deb.log")"
"$KL_SOURCE_DIR/packaging/build.sh" rpm "$T/out" >"$T/build-rpm.log" 2>&1 ||
        fail "rpm build failed: $(tail -20 "$T/build-rpm.log")"
RPM=$(ls "$T/out/keylime-agent-c-$V-1."*.rpm)
STUBS_RPM=$(ls "$T/out/keylime-stubs-c-$V-1."*.rpm)
for f in "$DEB" "$STUBS_DEB" "$RPM" "$STUBS_RPM"; do
        [ -s "$f" ] || fail "missing package $f"
        log "$(basename "$f"): $(stat -c %s "$f") bytes"
done
# what dpkg-buildpackage and rpmbuild would leave behind if they ran in place
# (a full git status comparison would race with people editing the tree)
for p in debian obj-* rpmbuild-obj ./*.deb ./*.rpm ./*.buildinfo ./*.changes; do
        [ -e "$KL_SOURCE_DIR/$p" ] && fail "the build left $p in the source tree"
done
pass "packages built, source tree untouched"

log "lintian and rpmlint: no errors"
lintian --fail-on error "$DEB" "$STUBS_DEB" >"$T/lintian.log" 2>&1 ||
        fail "lintian: $(grep '^E:' "$T/lintian.log")"
rpmlint -c "$KL_SOURCE_DIR/packaging/rpm/rpmlint.toml" "$RPM" "$STUBS_RPM" >"$T/rpmlint.log" 2>&1 || true
grep -q ' 0 errors' "$T/rpmlint.log" || fail "rpmlint: $(grep ': E: ' "$T/rpmlint.log")"
cat "$T/lintian.log" "$T/rpmlint.log" >&2
pass "lintian and rpmlint clean of errors"

log "file lists and modes"
expected_deb='-rw-r----- ./etc/keylime/agent.conf
-rw-r--r-- ./lib/systemd/system/keylime_agent.service
-rw-r--r-- ./lib/systemd/system/var-lib-keylime-secure.mount
-rw-r--r-- ./usr/lib/sysusers.d/keylime-agent-c.conf
-rw-r--r-- ./usr/lib/tmpfiles.d/keylime-agent-c.conf
-rwxr-xr-x ./usr/bin/keylime_agent
drwx------ ./var/lib/keylime/
drwxr-xr-x ./etc/keylime/
drwxr-xr-x ./etc/keylime/agent.conf.d/
drwxr-xr-x ./usr/libexec/keylime/'
got=$(dpkg-deb -c "$DEB" | awk '{print $1, $6}' | grep -E ' \./(etc/keylime/|lib/systemd/system/.|usr/lib/(sysusers|tmpfiles)\.d/.|usr/bin/.|usr/libexec/keylime/|var/lib/keylime/)' | sort)
[ "$got" = "$(sort <<<"$expected_deb")" ] ||
        fail "deb file list differs: $(diff <(sort <<<"$expected_deb") <(printf '%s\n' "$got"))"
# listings go to files first: grep -q on a pipe would kill the writer (pipefail)
dpkg-deb -c "$STUBS_DEB" >"$T/stubs-deb.list"
grep -q ' \./usr/bin/keylime_registrar_stub$' "$T/stubs-deb.list" || fail "stub not in keylime-stubs-c"
grep -q keylime_agent "$T/stubs-deb.list" && fail "agent binary in the stubs package"
dpkg-deb -f "$DEB" Provides Conflicts Replaces >"$T/rel"
for rel in "Provides: keylime-agent" "Conflicts: keylime-agent" "Replaces: keylime-agent"; do
        grep -qx "$rel" "$T/rel" || fail "deb lacks '$rel'"
done
dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles >"$T/conffiles"
grep -qx /etc/keylime/agent.conf "$T/conffiles" ||
        fail "agent.conf is not a conffile"
expected_rpm='-rw-r----- keylime tss /etc/keylime/agent.conf
-rw-r--r-- root root /usr/lib/systemd/system/keylime_agent.service
-rw-r--r-- root root /usr/lib/systemd/system/var-lib-keylime-secure.mount
-rw-r--r-- root root /usr/lib/sysusers.d/keylime-agent-c.conf
-rw-r--r-- root root /usr/lib/tmpfiles.d/keylime-agent-c.conf
-rwxr-xr-x root root /usr/bin/keylime_agent
drwx------ keylime tss /var/lib/keylime
drwxr-xr-x root root /etc/keylime
drwxr-xr-x root root /etc/keylime/agent.conf.d
drwxr-xr-x root root /usr/libexec/keylime'
got=$(rpm -qlpv "$RPM" 2>/dev/null | awk '{print $1, $3, $4, $9}' | grep -vE ' /usr/(lib/\.build-id|share/licenses)' | sort)
[ "$got" = "$(sort <<<"$expected_rpm")" ] ||
        fail "rpm file list differs: $(diff <(sort <<<"$expected_rpm") <(printf '%s\n' "$got"))"
rpm -qp --configfiles "$RPM" >"$T/rpm-config" 2>/dev/null
grep -qx /etc/keylime/agent.conf "$T/rpm-config" || fail "rpm: agent.conf not %config"
rpm -qp --scripts "$RPM" >"$T/rpm-scripts" 2>/dev/null
grep -q 'systemctl try-restart keylime_agent.service' "$T/rpm-scripts" ||
        fail "rpm: no restart-on-upgrade scriptlet"
rpm -qlp "$STUBS_RPM" >"$T/rpm-stubs" 2>/dev/null
grep -qx /usr/bin/keylime_registrar_stub "$T/rpm-stubs" || fail "stub not in keylime-stubs-c rpm"
rpm -qp --provides "$RPM" >"$T/rpm-provides" 2>/dev/null
grep -q '^keylime-agent$' "$T/rpm-provides" || fail "rpm does not provide keylime-agent"
pass "file lists, modes and relations as expected"

log "unit contents and systemd-analyze verify"
X=$T/deb-root
dpkg-deb -x "$DEB" "$X"
svc=$X/lib/systemd/system/keylime_agent.service
mnt=$X/lib/systemd/system/var-lib-keylime-secure.mount
cmp -s "$X/etc/keylime/agent.conf" "$KL_SOURCE_DIR/tests/data/config/keylime-agent.conf" ||
        fail "shipped agent.conf is not the upstream default"
for l in ExecStart=/usr/bin/keylime_agent Restart=on-failure After=network-online.target \
        Wants=network-online.target Requires=var-lib-keylime-secure.mount NoNewPrivileges=yes \
        ProtectSystem=strict ReadWritePaths=/var/lib/keylime ProtectHome=yes PrivateTmp=yes \
        DevicePolicy=closed "DeviceAllow=/dev/tpmrm0 rw" "DeviceAllow=/dev/tpm0 rw" \
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" \
        "CapabilityBoundingSet=CAP_SETUID CAP_SETGID CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH"; do
        grep -qxF "$l" "$svc" || fail "service lacks '$l'"
done
grep -q 'SYS_ADMIN' <(grep -v '^#' "$svc") && fail "service keeps CAP_SYS_ADMIN"
for l in What=tmpfs Where=/var/lib/keylime/secure Type=tmpfs \
        Options=mode=0700,size=1m,uid=keylime,gid=tss,nodev,nosuid; do
        grep -qxF "$l" "$mnt" || fail "mount unit lacks '$l'"
done
# verify checks that ExecStart exists: point it at the build's binary
mkdir -p "$T/units"
sed "s|^ExecStart=/usr/bin/keylime_agent|ExecStart=$AGENT_BIN|" "$svc" >"$T/units/keylime_agent.service"
cp "$mnt" "$T/units/"
systemd-analyze verify "$T/units/keylime_agent.service" "$T/units/var-lib-keylime-secure.mount" \
        >"$T/verify.log" 2>&1 || fail "systemd-analyze verify: $(cat "$T/verify.log")"
pass "units carry upstream ordering, restart policy and hardening; verify passes"

log "the shipped agent.conf loads unchanged"
mkdir -p "$T/kl"
KEYLIME_AGENT_CONFIG=$X/etc/keylime/agent.conf KEYLIME_DIR=$T/kl TCTI=swtpm:host=127.0.0.1,port=1 \
        "$AGENT_BIN" --check >"$T/conf-check.out" 2>"$T/conf-check.err" || true
grep -qF "ok    config: $X/etc/keylime/agent.conf" "$T/conf-check.out" ||
        fail "shipped agent.conf did not load: $(cat "$T/conf-check.err")"
grep -q 'ERROR' "$T/conf-check.err" && fail "errors loading the shipped config: $(cat "$T/conf-check.err")"
pass "shipped agent.conf accepted"

[ "$(id -u)" = 0 ] || skip "install and purge need root"
if dpkg-query -W keylime-agent-c >/dev/null 2>&1 || [ -e /etc/keylime ] || [ -e /var/lib/keylime ] ||
        [ -e /run/keylime ]; then
        skip "install test: this machine already has a Keylime agent installation"
fi

log "dpkg -i, --version, --check on a software TPM"
installed=0
purge() {
        [ "$installed" = 1 ] && dpkg --purge keylime-agent-c >/dev/null 2>&1 || true
        installed=0
}
trap 'rc=$?; purge; (exit "$rc"); it_cleanup' EXIT
dpkg -i "$DEB" >"$T/dpkg-i.log" 2>&1 || { installed=1; fail "dpkg -i: $(tail -5 "$T/dpkg-i.log")"; }
installed=1
[ "$(stat -c '%a %U %G' /etc/keylime/agent.conf)" = "640 keylime tss" ] ||
        fail "agent.conf is $(stat -c '%a %U %G' /etc/keylime/agent.conf)"
[ "$(stat -c '%a %U %G' /var/lib/keylime)" = "700 keylime tss" ] ||
        fail "/var/lib/keylime is $(stat -c '%a %U %G' /var/lib/keylime)"
id -nG keylime | tr ' ' '\n' >"$T/groups"
grep -qx tss "$T/groups" || fail "keylime is not in group tss"
[ "$(/usr/bin/keylime_agent --version)" = "keylime_agent $V" ] || fail "--version"
systemd-analyze verify /lib/systemd/system/keylime_agent.service \
        /lib/systemd/system/var-lib-keylime-secure.mount >"$T/verify2.log" 2>&1 ||
        fail "verify of the installed units: $(cat "$T/verify2.log")"
tpm_up tpm1
rc=0
TCTI=$tpm1_TCTI /usr/bin/keylime_agent --check >"$T/check.out" 2>"$T/check.err" || rc=$?
cat "$T/check.out" >&2
for what in "config: /etc/keylime/agent.conf" "TPM: $tpm1_TCTI" "EK: " "EK certificate: " "PCR banks: "; do
        grep -qF "ok    $what" "$T/check.out" || fail "installed agent: no ok line for '$what'"
done
pass "installed agent runs; --check sees the TPM and EK (exit $rc; logs absent in containers)"

log "dpkg --purge leaves nothing"
dpkg --purge keylime-agent-c >"$T/purge.log" 2>&1 || fail "purge: $(tail -5 "$T/purge.log")"
installed=0
for p in /usr/bin/keylime_agent /etc/keylime /var/lib/keylime /run/keylime \
        /lib/systemd/system/keylime_agent.service /lib/systemd/system/var-lib-keylime-secure.mount \
        /usr/lib/sysusers.d/keylime-agent-c.conf /usr/lib/tmpfiles.d/keylime-agent-c.conf \
        /usr/libexec/keylime; do
        [ -e "$p" ] && fail "$p left after purge"
done
dpkg-statoverride --list >"$T/overrides"
grep -q keylime "$T/overrides" && fail "stat overrides left after purge"
pass "purged cleanly"
