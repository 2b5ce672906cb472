#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# IMA ASCII measurement lists for the test bed: write lines the way the kernel would, make the
# PCR 10 of a software TPM match them, and write a runtime policy that allows them.
#
#   ima-log.sh entry PATH HEXDIGEST          one ima-ng line, sha256 file digest (64 hex)
#   ima-log.sh violation PATH                one violation line (all-zero hashes)
#   ima-log.sh extend STATE_DIR LOG [FROM]   extend PCR 10 (sha1 + sha256 banks) for the lines
#                                            FROM.. of LOG (0-based, like ima_ml_entry; 0 default)
#   ima-log.sh policy LOG                    runtime-policy JSON allowing every digest in LOG
#
# What the kernel extends (Linux >= 5.8): the template data is every field as a u32le length
# plus its bytes (d-ng = "sha256:" NUL digest, n-ng = path NUL, then sig/buf for ima-sig and
# ima-buf); column 2 is its SHA-1 and goes into the sha1 bank, its SHA-256 into the sha256
# bank. A violation logs zeros and extends all-0xff. Needs xxd, sha1sum, sha256sum, tpm2-tools.
set -euo pipefail

die() {
        echo "ima-log.sh: $*" >&2
        exit 1
}

# u32 little-endian as 8 hex digits
le32() {
        printf '%02x%02x%02x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) \
                $(($1 >> 24 & 255))
}

str_hex() {
        printf '%s' "$1" | xxd -p | tr -d '\n'
}

# template_hex TEMPLATE ALG DIGESTHEX NAME [EXTRAHEX]: the template data, in hex
template_hex() {
        local tmpl=$1 alg=$2 dig=$3 name=$4 extra=${5:-}
        local ahex nhex
        ahex=$(str_hex "$alg:")
        nhex=$(str_hex "$name")
        printf '%s%s00%s' "$(le32 $((${#ahex} / 2 + 1 + ${#dig} / 2)))" "$ahex" "$dig"
        printf '%s%s00' "$(le32 $((${#nhex} / 2 + 1)))" "$nhex"
        case $tmpl in
        ima-ng) ;;
        ima-sig | ima-buf) printf '%s%s' "$(le32 $((${#extra} / 2)))" "$extra" ;;
        *) die "template $tmpl not supported" ;;
        esac
}

hash_hex() { # ALG < hex
        xxd -r -p | "${1}sum" | cut -d' ' -f1
}

cmd_entry() {
        local path=$1 dig=${2,,} th
        [[ $dig =~ ^[0-9a-f]{64}$ ]] || die "entry: digest must be 64 hex digits"
        [[ $path != *" "* && -n $path ]] || die "entry: the kernel shows no spaces in names"
        th=$(template_hex ima-ng sha256 "$dig" "$path" | hash_hex sha1)
        printf '10 %s ima-ng sha256:%s %s\n' "$th" "$dig" "$path"
}

cmd_violation() {
        [[ $1 != *" "* && -n $1 ]] || die "violation: bad path"
        printf '10 %040d ima-ng sha256:%064d %s\n' 0 0 "$1"
}

cmd_extend() {
        local sd=$1 logf=$2 from=${3:-0} n=0 pcr th tmpl dig name extra alg s256 s1
        local -a specs=()
        [ -r "$sd/env" ] || die "extend: no $sd/env (is the TPM up?)"
        # shellcheck source=/dev/null
        . "$sd/env"
        export TPM2TOOLS_TCTI
        while read -r pcr th tmpl dig name extra; do
                n=$((n + 1))
                [ $((n - 1)) -ge "$from" ] || continue
                [ "$pcr" = 10 ] || die "extend: line $n: PCR $pcr"
                if [[ $th =~ ^0{40}$ ]]; then
                        s1=$(printf 'f%.0s' {1..40})
                        s256=$(printf 'f%.0s' {1..64})
                else
                        alg=${dig%%:*}
                        s256=$(template_hex "$tmpl" "$alg" "${dig#*:}" "$name" "$extra" |
                                hash_hex sha256)
                        s1=$th
                fi
                specs+=("10:sha1=$s1,sha256=$s256")
                # one process per 32 digests: tpm2_pcrextend takes many specs
                if [ ${#specs[@]} -ge 32 ]; then
                        tpm2_pcrextend "${specs[@]}" >/dev/null
                        specs=()
                fi
        done <"$logf"
        if [ ${#specs[@]} -gt 0 ]; then
                tpm2_pcrextend "${specs[@]}" >/dev/null
        fi
}

cmd_policy() {
        # column 4 is alg:hex, column 5 the name; JSON-escape backslashes and quotes
        awk '
        function esc(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return s }
        $1 == 10 && NF >= 5 {
                d = $4; sub(/^[^:]*:/, "", d)
                if (!($5 in seen)) { order[++n] = $5; seen[$5] = "" }
                if (index(seen[$5], "\"" d "\"") == 0)
                        seen[$5] = seen[$5] (seen[$5] == "" ? "" : ", ") "\"" d "\""
        }
        END {
                printf "{\"meta\": {\"version\": 1, \"generator\": \"ima-log.sh\"}, \"digests\": {"
                for (i = 1; i <= n; i++)
                        printf "%s\"%s\": [%s]", (i > 1 ? ", " : ""), esc(order[i]), seen[order[i]]
                printf "}, \"excludes\": []}\n"
        }' "$1"
}

case ${1:-} in
entry) [ $# = 3 ] || die "usage: entry PATH HEXDIGEST"; cmd_entry "$2" "$3" ;;
violation) [ $# = 2 ] || die "usage: violation PATH"; cmd_violation "$2" ;;
extend) [ $# = 3 ] || [ $# = 4 ] || die "usage: extend STATE_DIR LOGFILE [FROM_LINE]"
        cmd_extend "$2" "$3" "${4:-0}" ;;
policy) [ $# = 2 ] || die "usage: policy LOGFILE"; cmd_policy "$2" ;;
*) die "usage: ima-log.sh entry|violation|extend|policy ..." ;;
esac
