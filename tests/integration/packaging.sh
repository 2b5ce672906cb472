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

log "lintian and rpmlint: no errors and no warnings (each exception is justified where it is made)"
lintian --fail-on error,warning "$DEB" "$STUBS_DEB" >"$T/lintian.log" 2>&1 ||
        fail "lintian: $(grep -E '^[EW]:' "$T/lintian.log")"
rpmlint -c "$KL_SOURCE_DIR/packaging/rpm/rpmlint.toml" "$RPM" "$STUBS_RPM" >"$T/rpmlint.log" 2>&1 || true
grep -q ' 0 errors, 0 warnings' "$T/rpmlint.log" || fail "rpmlint: $(grep -E ': [EW]: ' "$T/rpmlint.log")"
cat "$T/lintian.log" "$T/rpmlint.log" >&2
pass "lintian and rpmlint clean"

log "file lists and modes"
expected_deb='-rw-r----- ./etc/keylime/agent.conf
-rw-r--r-- ./usr/share/man/man5/keylime-agent.conf.5.gz
-rw-r--r-- ./usr/share/man/man8/keylime_agent.8.gz
-rw-r--r-- ./lib/systemd/system/keylime_agent.service
-rw-r--r-- ./lib/systemd/system/var-lib-keylime-secure.mount
-rw-r--r-- ./usr/lib/sysusers.d/keylime-agent-c.conf
-rw-r--r-- ./usr/lib/tmpfiles.d/keylime-agent-c.conf
-rwxr-xr-x ./usr/bin/keylime_agent
drwx------ ./var/lib/keylime/
drwxr-xr-x ./etc/keylime/
drwxr-xr-x ./etc/keylime/agent.conf.d/
drwxr-xr-x ./usr/libexec/keylime/'
got=$(dpkg-deb -c "$DEB" | awk '{print $1, $6}' | grep -E ' \./(etc/keylime/|lib/systemd/system/.|usr/lib/(sysusers|tmpfiles)\.d/.|usr/bin/.|usr/libexec/keylime/|var/lib/keylime/|usr/share/man/man./.)' | sort)
[ "$got" = "$(sort <<<"$expected_deb")" ] ||
        fail "deb file list differs: $(diff <(sort <<<"$expected_deb") <(printf '%s\n' "$got"))"
# listings go to files first: grep -q on a pipe would kill the writer (pipefail)
expected_stubs='-rw-r--r-- ./etc/keylime-stubs/registrar.conf
-rw-r--r-- ./etc/keylime-stubs/verifier.conf
-rw-r--r-- ./lib/systemd/system/keylime_registrar_stub.service
-rw-r--r-- ./lib/systemd/system/keylime_verifier_stub.service
-rw-r--r-- ./usr/lib/sysusers.d/keylime-stubs-c.conf
-rw-r--r-- ./usr/share/man/man8/keylime_registrar_stub.8.gz
-rw-r--r-- ./usr/share/man/man8/keylime_verifier_stub.8.gz
-rwxr-xr-x ./usr/bin/keylime_registrar_stub
-rwxr-xr-x ./usr/bin/keylime_verifier_stub'
got=$(dpkg-deb -c "$STUBS_DEB" | awk '$1 !~ /^d/ {print $1, $6}' | grep -vE '/usr/share/doc/' | sort)
[ "$got" = "$(sort <<<"$expected_stubs")" ] ||
        fail "stubs deb file list differs: $(diff <(sort <<<"$expected_stubs") <(printf '%s\n' "$got"))"
dpkg-deb -f "$DEB" Provides Conflicts Replaces >"$T/rel"
for rel in "Provides: keylime-agent" "Conflicts: keylime-agent" "Replaces: keylime-agent"; do
        grep -qx "$rel" "$T/rel" || fail "deb lacks '$rel'"
done
dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles >"$T/conffiles"
grep -qx /etc/keylime/agent.conf "$T/conffiles" ||
        fail "agent.conf is not a conffile"
dpkg-deb --ctrl-tarfile "$STUBS_DEB" | tar -xOf - ./conffiles >"$T/stubs-conffiles"
for f in /etc/keylime-stubs/registrar.conf /etc/keylime-stubs/verifier.conf; do
        grep -qx "$f" "$T/stubs-conffiles" || fail "$f is not a conffile"
done
expected_rpm='-rw-r----- keylime tss /etc/keylime/agent.conf
-rw-r--r-- root root /usr/lib/systemd/system/keylime_agent.service
-rw-r--r-- root root /usr/lib/systemd/system/var-lib-keylime-secure.mount
-rw-r--r-- root root /usr/lib/sysusers.d/keylime-agent-c.conf
-rw-r--r-- root root /usr/lib/tmpfiles.d/keylime-agent-c.conf
-rwxr-xr-x root root /usr/bin/keylime_agent
-rw-r--r-- root root /usr/share/man/man5/keylime-agent.conf.5.gz
-rw-r--r-- root root /usr/share/man/man8/keylime_agent.8.gz
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
systemd-analyze verify --man=no "$T/units/keylime_agent.service" "$T/units/var-lib-keylime-secure.mount" \
        >"$T/verify.log" 2>&1 || fail "systemd-analyze verify: $(cat "$T/verify.log")"
for l in Type=notify WatchdogSec=120s TimeoutStartSec=infinity; do
        grep -qxF "$l" "$svc" || fail "service lacks '$l'"
done
pass "units carry upstream ordering, restart policy and hardening; verify passes"

log "stub units: own users, own state, read-only OS, no capabilities, their config files"
X2=$T/stubs-root
dpkg-deb -x "$STUBS_DEB" "$X2"
for stub in registrar verifier; do
        u=$X2/lib/systemd/system/keylime_${stub}_stub.service
        for l in Type=notify "User=keylime-$stub-stub" "StateDirectory=keylime-stubs/$stub" \
                ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
                NoNewPrivileges=yes CapabilityBoundingSet= WatchdogSec=30s \
                SystemCallFilter=@system-service; do
                grep -qxF "$l" "$u" || fail "keylime_${stub}_stub.service lacks '$l'"
        done
        grep -qE "^ExecStart=/usr/bin/keylime_${stub}_stub( serve)? --config /etc/keylime-stubs/$stub.conf\$" "$u" ||
                fail "keylime_${stub}_stub.service does not read its config file"
        grep -q "^u keylime-$stub-stub " "$X2/usr/lib/sysusers.d/keylime-stubs-c.conf" ||
                fail "no sysusers entry for keylime-$stub-stub"
        sed "s|^ExecStart=/usr/bin/keylime_${stub}_stub|ExecStart=$KL_BUILD_DIR/$stub-stub/keylime_${stub}_stub|" \
                "$u" >"$T/units/keylime_${stub}_stub.service"
done
systemd-analyze verify --man=no "$T/units/keylime_registrar_stub.service" \
        "$T/units/keylime_verifier_stub.service" >"$T/verify-stubs.log" 2>&1 ||
        fail "systemd-analyze verify (stubs): $(cat "$T/verify-stubs.log")"
# the shipped files are what the binaries accept: --help exits 0 only after the file parsed
"$KL_BUILD_DIR/registrar-stub/keylime_registrar_stub" --config "$X2/etc/keylime-stubs/registrar.conf" \
        --db :memory: --listen 127.0.0.1:0 --port-file "$T/stub-reg.port" >"$T/stub-reg.log" 2>&1 &
pid=$!
KL_PIDS+=("$pid")
wait_for_file "$T/stub-reg.port" 10 || fail "registrar stub refused the shipped registrar.conf: $(cat "$T/stub-reg.log")"
kill "$pid"
"$KL_BUILD_DIR/verifier-stub/keylime_verifier_stub" status --config "$X2/etc/keylime-stubs/verifier.conf" \
        --uuid x --verifier http://127.0.0.1:1 >"$T/stub-ver.log" 2>&1 || true
grep -q 'verifier.conf' "$T/stub-ver.log" && fail "verifier stub refused the shipped verifier.conf: $(cat "$T/stub-ver.log")"
# the exposure scores the README records; a unit change that raises one fails here
for unit in keylime_agent:3.0 keylime_registrar_stub:1.5 keylime_verifier_stub:1.5; do
        score=$(systemd-analyze security --offline=true "$T/units/${unit%%:*}.service" 2>/dev/null |
                sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
        [ -n "$score" ] || fail "no exposure score for ${unit%%:*}"
        awk -v s="$score" -v max="${unit##*:}" 'BEGIN { exit !(s <= max) }' ||
                fail "${unit%%:*}.service exposure $score > ${unit##*:}"
        log "systemd-analyze security ${unit%%:*}.service: $score"
done
pass "stub units hardened, verify passes, shipped config files load"

log "the shipped agent.conf loads unchanged"
mkdir -p "$T/kl"
KEYLIME_AGENT_CONFIG=$X/etc/keylime/agent.conf KEYLIME_DIR=$T/kl TCTI=swtpm:host=127.0.0.1,port=1 \
        "$AGENT_BIN" --check >"$T/conf-check.out" 2>"$T/conf-check.err" || true
grep -qF "ok    config: $X/etc/keylime/agent.conf" "$T/conf-check.out" ||
        fail "shipped agent.conf did not load: $(cat "$T/conf-check.err")"
grep -q 'ERROR' "$T/conf-check.err" && fail "errors loading the shipped config: $(cat "$T/conf-check.err")"
pass "shipped agent.conf accepted"

log "rpm --root: the payload installs into an empty root and removes cleanly; Requires are declared or libraries the binaries link"
R=$T/rpm-root
mkdir -p "$R"
rpm --root "$R" --dbpath /var/lib/rpm --initdb
# an empty root has no shell and no libc: scripts and dependencies cannot run there
rpm --root "$R" --dbpath /var/lib/rpm -i --nodeps --noscripts "$RPM" "$STUBS_RPM" >"$T/rpm-i.log" 2>&1 ||
        fail "rpm -i --root: $(cat "$T/rpm-i.log")"
for f in /usr/bin/keylime_agent /usr/bin/keylime_registrar_stub /etc/keylime/agent.conf \
        /etc/keylime-stubs/verifier.conf /usr/share/man/man5/keylime-agent.conf.5.gz; do
        [ -e "$R$f" ] || fail "rpm --root: $f not installed"
done
rpm --root "$R" --dbpath /var/lib/rpm -e --noscripts keylime-agent-c keylime-stubs-c >"$T/rpm-e.log" 2>&1 ||
        fail "rpm -e --root: $(cat "$T/rpm-e.log")"
left=$(cd "$R" && find . -path ./var/lib/rpm -prune -o -path ./usr/lib/sysimage -prune -o \
        ! -type d -print)
[ -z "$left" ] || fail "rpm -e left files: $left"
for pkg in "$RPM" "$STUBS_RPM"; do
        rpm -qpR "$pkg" 2>/dev/null | sed 's/ .*//' | sort -u >"$T/reqs"
        rpm2cpio "$pkg" | (mkdir -p "$T/x-rpm" && cd "$T/x-rpm" && cpio -idm --quiet)
        needed=$(for b in "$T"/x-rpm/usr/bin/*; do readelf -d "$b" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'; done | sort -u)
        while read -r req; do
                case $req in
                rpmlib\(*|rtld\(*|/bin/sh|shadow-utils|config\(*) continue ;; # rpm's own markers, %pre's needs
                lib*.so*\(*) req=${req%%(*} ;;
                esac
                grep -qxF "$req" <<<"$needed" || fail "$(basename "$pkg") requires '$req', which no binary links and the spec does not declare"
        done <"$T/reqs"
        for lib in $needed; do
                grep -q "^$lib" "$T/reqs" || fail "$(basename "$pkg") does not require $lib, which a binary links"
        done
        rm -rf "$T/x-rpm"
done
pass "rpm payload installs into and leaves an empty root; Requires match the linked libraries and %pre"

[ "$(id -u)" = 0 ] || skip "a clean Debian 12 root needs root (mmdebstrap, chroot)"
command -v mmdebstrap >/dev/null || fail "mmdebstrap missing: run scripts/install-deps.sh"
MIRROR=${KL_DEBIAN_MIRROR:-http://deb.debian.org/debian}

log "clean Debian 12 root from $MIRROR: apt installs both .debs with their dependencies"
D=$T/debian-root
start=$(date +%s)
# what a purge may leave: what was there before the packages, plus the users' lines
snap='find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./tmp -o -path ./run'
snap+=' -o -path ./var/cache -o -path ./var/log -o -path ./var/lib/apt -o -path ./var/lib/dpkg \)'
snap+=' -prune -o -print | sort'
# the packages go in while mmdebstrap still has the package lists (it drops them at the end)
mmdebstrap --variant=apt --quiet --dpkgopt=force-unsafe-io \
        --customize-hook="cd \"\$1\" && $snap >'$T/before.list'" \
        --customize-hook="copy-in '$DEB' '$STUBS_DEB' /tmp" \
        --customize-hook="chroot \"\$1\" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
                --no-install-recommends /tmp/$(basename "$DEB") /tmp/$(basename "$STUBS_DEB")" \
        --customize-hook="rm -f \"\$1\"/tmp/*.deb" \
        bookworm "$D" "$MIRROR" >"$T/mmdebstrap.log" 2>&1 ||
        fail "mmdebstrap and apt-get install: $(tail -10 "$T/mmdebstrap.log")"
pass "installed in $(($(date +%s) - start)) s (root and packages)"

log "in the clean root: owners, users, --version, --check against a software TPM"
[ "$(chroot "$D" stat -c '%a %U %G' /etc/keylime/agent.conf)" = "640 keylime tss" ] ||
        fail "agent.conf is $(chroot "$D" stat -c '%a %U %G' /etc/keylime/agent.conf)"
[ "$(chroot "$D" stat -c '%a %U %G' /var/lib/keylime)" = "700 keylime tss" ] ||
        fail "/var/lib/keylime is $(chroot "$D" stat -c '%a %U %G' /var/lib/keylime)"
chroot "$D" id -nG keylime | tr ' ' '\n' >"$T/groups"
grep -qx tss "$T/groups" || fail "keylime is not in group tss"
for u in keylime-registrar-stub keylime-verifier-stub; do
        chroot "$D" getent passwd "$u" >/dev/null || fail "user $u not created"
done
[ "$(chroot "$D" keylime_agent --version)" = "keylime_agent $V" ] || fail "--version"
chroot "$D" keylime_agent --help | grep -q 'See keylime_agent(8)' || fail "--help does not name the page"
chroot "$D" keylime_registrar_stub --version >/dev/null || fail "registrar stub does not run"
[ -s "$D/usr/share/man/man5/keylime-agent.conf.5.gz" ] || fail "keylime-agent.conf(5) not installed"
tpm_up tpm1
rc=0
chroot "$D" env TCTI="$tpm1_TCTI" keylime_agent --check >"$T/check.out" 2>"$T/check.err" || rc=$?
cat "$T/check.out" >&2
for what in "config: /etc/keylime/agent.conf" "TPM: $tpm1_TCTI" "EK: " "EK certificate: " "PCR banks: "; do
        grep -qF "ok    $what" "$T/check.out" || fail "installed agent: no ok line for '$what': $(cat "$T/check.err")"
done
pass "installed agent runs in the clean root; --check sees the TPM and EK (exit $rc: no IMA log or registrar there)"

log "dpkg --purge, then apt-get autoremove: nothing left but the users, as Debian policy allows"
chroot "$D" dpkg --purge keylime-agent-c keylime-stubs-c >"$T/purge.log" 2>&1 ||
        fail "purge: $(tail -5 "$T/purge.log")"
chroot "$D" env DEBIAN_FRONTEND=noninteractive apt-get autoremove --purge -y >"$T/autoremove.log" 2>&1 ||
        fail "autoremove: $(tail -5 "$T/autoremove.log")"
chroot "$D" dpkg-statoverride --list >"$T/overrides" || true # exits 1 when there are none
grep -q keylime "$T/overrides" && fail "stat overrides left after purge"
(cd "$D" && eval "$snap") >"$T/after.list"
# the account databases and their backups change (the users stay, by policy);
# ldconfig's cache and the CA bundle are rebuilt by the dependencies' triggers
left=$(comm -13 "$T/before.list" "$T/after.list" |
        grep -vxE '\./etc/(passwd|group|shadow|gshadow)-?|\./etc/ld\.so\.cache|\./etc/ssl/certs/.*' || true)
[ -z "$left" ] || fail "left after purge: $left"
pass "purged cleanly in a clean root ($(($(date +%s) - start)) s for the whole clean-root test)"
