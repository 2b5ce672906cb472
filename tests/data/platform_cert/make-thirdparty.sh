#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Regenerates thirdparty.der: a TCG platform attribute certificate assembled by
# `openssl asn1parse -genconf` (not by libkl), signed with `openssl dgst -sign`.
# Its holder is ek.pem (issued by ek-ca.pem), its issuer platform-ca.pem. The
# private keys live only in a temporary directory and are deleted at the end.
# Valid 2025-01-01 .. 2049-12-31, so the unit tests do not expire.
set -euo pipefail
here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
cd "$tmp"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ekca.key \
        -out ek-ca.pem -subj "/C=DE/O=Third Party TPM Vendor/CN=Third Party EK CA" -days 9000 \
        -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout ek.key -subj "/CN=third party EK" -out ek.csr \
        2>/dev/null
openssl x509 -req -in ek.csr -CA ek-ca.pem -CAkey ekca.key -set_serial 0x1234abcd5678 \
        -days 9000 -out ek.pem 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pca.key \
        -out platform-ca.pem -subj "/C=DE/O=Third Party OEM/CN=Third Party Platform CA" \
        -days 9000 -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null

# The sections shared by the signed part and the whole certificate.
cat >body.cnf <<'CNF'
[acinfo]
version = INTEGER:1
holder = SEQUENCE:holder
issuer = IMPLICIT:0C,SEQUENCE:v2form
signature = SEQUENCE:sigalg
serial = INTEGER:0x2a
validity = SEQUENCE:validity
attributes = SEQUENCE:attributes
extensions = SEQUENCE:extensions
[holder]
base = IMPLICIT:0C,SEQUENCE:issuerserial
[issuerserial]
issuer = SEQUENCE:ek_issuer_names
serial = INTEGER:0x1234abcd5678
[ek_issuer_names]
dn = EXPLICIT:4C,SEQUENCE:ek_issuer_dn
[ek_issuer_dn]
c = SET:ek_c
o = SET:ek_o
cn = SET:ek_cn
[ek_c]
a = SEQUENCE:ek_c_atv
[ek_c_atv]
t = OID:countryName
v = PRINTABLESTRING:DE
[ek_o]
a = SEQUENCE:ek_o_atv
[ek_o_atv]
t = OID:organizationName
v = UTF8:Third Party TPM Vendor
[ek_cn]
a = SEQUENCE:ek_cn_atv
[ek_cn_atv]
t = OID:commonName
v = UTF8:Third Party EK CA
[v2form]
names = SEQUENCE:pca_names
[pca_names]
dn = EXPLICIT:4C,SEQUENCE:pca_dn
[pca_dn]
c = SET:pca_c
o = SET:pca_o
cn = SET:pca_cn
[pca_c]
a = SEQUENCE:pca_c_atv
[pca_c_atv]
t = OID:countryName
v = PRINTABLESTRING:DE
[pca_o]
a = SEQUENCE:pca_o_atv
[pca_o_atv]
t = OID:organizationName
v = UTF8:Third Party OEM
[pca_cn]
a = SEQUENCE:pca_cn_atv
[pca_cn_atv]
t = OID:commonName
v = UTF8:Third Party Platform CA
[sigalg]
alg = OID:ecdsa-with-SHA256
[validity]
not_before = GENTIME:20250101000000Z
not_after = GENTIME:20491231235959Z
[attributes]
credential_type = SEQUENCE:credential_type
[credential_type]
t = OID:2.23.133.2.25
v = SET:credential_type_values
[credential_type_values]
v = SEQUENCE:credential_type_value
[credential_type_value]
kind = OID:2.23.133.8.2
[extensions]
san = SEQUENCE:san
[san]
id = OID:subjectAltName
value = OCTWRAP,SEQUENCE:san_names
[san_names]
dn = EXPLICIT:4C,SEQUENCE:platform_dn
[platform_dn]
manufacturer = SET:manufacturer
model = SET:model
version = SET:version
serial = SET:serial
[manufacturer]
a = SEQUENCE:manufacturer_atv
[manufacturer_atv]
t = OID:2.23.133.5.1.1
v = UTF8:Third Party OEM
[model]
a = SEQUENCE:model_atv
[model_atv]
t = OID:2.23.133.5.1.4
v = UTF8:TP-1000
[version]
a = SEQUENCE:version_atv
[version_atv]
t = OID:2.23.133.5.1.5
v = UTF8:rev B
[serial]
a = SEQUENCE:serial_atv
[serial_atv]
t = OID:2.23.133.5.1.6
v = UTF8:SN-000042
CNF

{ echo "asn1 = SEQUENCE:acinfo"; cat body.cnf; } >tbs.cnf
openssl asn1parse -genconf tbs.cnf -noout -out tbs.der
openssl dgst -sha256 -sign pca.key -out sig.bin tbs.der
{
        echo "asn1 = SEQUENCE:ac"
        echo "[ac]"
        echo "acinfo = SEQUENCE:acinfo"
        echo "alg = SEQUENCE:sigalg"
        echo "sig = FORMAT:HEX,BITSTRING:$(od -An -v -tx1 sig.bin | tr -d ' \n')"
        cat body.cnf
} >ac.cnf
openssl asn1parse -genconf ac.cnf -noout -out thirdparty.der
cp -- thirdparty.der ek.pem ek-ca.pem ac.cnf "$here/"
cp -- platform-ca.pem "$here/ca/"
