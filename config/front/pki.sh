#!/usr/bin/env bash
# Throwaway PKI for the TLS front (config/front/front.sh) and the tests that go through it.
#
#   bash config/front/pki.sh [DIR]        (default: <repo>/.build/front/pki)
#
# Made with the openssl CLI only. Idempotent: an existing PKI is reused as long as every file is
# there, it was made by this version of the script, and no certificate that should be valid
# expires within PKI_RENEW_DAYS (default 30) days; otherwise the whole PKI is made afresh (new CAs
# too) and swapped in as one directory rename. Prints the manifest's path on stdout.
#
# Contents (all X.509 v3 except the one deliberate v1 certificate; RSA 2048, SHA-256):
#   server-ca.pem                 CA that signs the front's server certificate (clients trust this)
#   server.pem, server-key.pem    the front's certificate: SAN IP:127.0.0.1, DNS:localhost; serverAuth
#   customer-ca.pem               stand-in for the entitlement CA (production paths trust it)
#   entitlement/<serial>.pem      entitlement-like client cert from the customer CA, and
#   entitlement/<serial>-key.pem  its key (separate files and PKCS#1 key, as subscription-manager writes them)
#   client.pem                    the same key + certificate in one PEM (what pip and uv take)
#   internal-ca.pem               internal CA (the staging "-test" paths trust it)
#   staging.pem, staging-key.pem, staging-client.pem   client cert from the internal CA (+ combined)
#   other-ca.pem                  an unrelated CA nobody trusts
#   other.pem, other-key.pem, other-client.pem         client cert from the other CA (+ combined)
#   expired.pem, expired-key.pem, expired-client.pem   customer-CA client cert valid only in 2024
#   entitlement-expired/<serial>.pem + <serial>-key.pem  the expired one, laid out like an entitlement
#   v1.pem, v1-key.pem, v1-client.pem                  X.509 v1 client cert from the customer CA
#                                                     (rustls refuses it: UnsupportedCertVersion)
#   client-cas.pem                customer CA + internal CA (the front's ssl_client_certificate)
#   pki.env                       manifest: KEY=VALUE lines, no quoting, no spaces in values
#   *-ca-key.pem                  CA keys (to issue more certificates in tests)
#
# Environment: PKI_RENEW_DAYS (30), PKI_CA_DAYS (3650), PKI_LEAF_DAYS (825).
# Exit status: 0 ok; 1 error; 2 usage.

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
PKI_FORMAT=1 # bump when the layout of the PKI changes: an older PKI is then remade
RENEW_DAYS="${PKI_RENEW_DAYS:-30}"
CA_DAYS="${PKI_CA_DAYS:-3650}"
LEAF_DAYS="${PKI_LEAF_DAYS:-825}"

# Subject DNs. No spaces, commas or quotes inside values: pki.env stays unquoted and the front's
# nginx map can compare $ssl_client_i_dn (RFC 2253) literally. The four CAs must differ.
O="wheelgate-test-PKI"
SERVER_CA_SUBJ="/O=$O/CN=wheelgate-test-server-CA"
CUSTOMER_CA_SUBJ="/O=$O/CN=wheelgate-test-customer-CA"
INTERNAL_CA_SUBJ="/O=$O/CN=wheelgate-test-internal-CA"
OTHER_CA_SUBJ="/O=$O/CN=wheelgate-test-other-CA"

msg() { echo "pki.sh: $*" >&2; }
die() { echo "pki.sh: error: $*" >&2; exit 1; }

[[ $# -le 1 ]] || { echo "usage: bash config/front/pki.sh [DIR]" >&2; exit 2; }
case "${1:-}" in -h | --help) echo "usage: bash config/front/pki.sh [DIR]" >&2; exit 2 ;; esac
DIR="${1:-$ROOT/.build/front/pki}"
mkdir -p "$(dirname "$DIR")"
DIR="$(cd "$(dirname "$DIR")" && pwd)/$(basename "$DIR")"
[[ $DIR != *[[:space:]]* ]] || die "the PKI directory must not contain whitespace: $DIR"
command -v openssl >/dev/null || die "openssl not found"

# Certificates that must stay valid (the expired one is expired on purpose).
LIVE=(server-ca.pem server.pem customer-ca.pem client.pem internal-ca.pem staging.pem other-ca.pem
  other.pem v1.pem)

pki_ok() { # dir
  local d="$1" f serial
  [[ -f $d/pki.env ]] || return 1
  grep -qxF "PKI_FORMAT=$PKI_FORMAT" "$d/pki.env" || return 1
  grep -qxF "PKI_DIR=$d" "$d/pki.env" || return 1
  serial="$(sed -n 's/^PKI_ENTITLEMENT_SERIAL=//p' "$d/pki.env")"
  for f in "${LIVE[@]}" server-key.pem client-cas.pem entitlement/"$serial".pem \
    entitlement/"$serial"-key.pem staging-client.pem other-client.pem expired-client.pem v1-client.pem; do
    [[ -s $d/$f ]] || return 1
  done
  for f in "${LIVE[@]}"; do
    openssl x509 -noout -checkend $((RENEW_DAYS * 86400)) -in "$d/$f" >/dev/null 2>&1 || return 1
  done
}

exec 9>"$DIR.lock"
flock 9 # two layouts may ask at once
if pki_ok "$DIR"; then
  echo "$DIR/pki.env"
  exit 0
fi
[[ -e $DIR ]] && msg "existing PKI in $DIR is incomplete, outdated or expiring: making a new one"

NEW="$DIR.new.$$"
rm -rf "$NEW"
trap 'rm -rf "$NEW"' EXIT
mkdir -p "$NEW"/{entitlement,entitlement-expired,work}
chmod 700 "$NEW"
W="$NEW/work"
umask 077

# A minimal config so the system openssl.cnf adds nothing of its own.
cat >"$W/req.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
cat >"$W/ext.cnf" <<'EOF'
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[entitlement]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment, dataEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
# Red Hat entitlement version (as in Simple Content Access certificates); informational only.
1.3.6.1.4.1.2312.9.6 = ASN1:UTF8String:3.4
EOF

ossl() { openssl "$@" 2>"$W/openssl.err" || { cat "$W/openssl.err" >&2; die "openssl $1 failed"; }; }

newkey() { ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"; }

# Decimal serial of 19 digits, like the ones subscription-manager names entitlement files by.
new_serial() { echo $(((0x$(openssl rand -hex 8) & 0x0fffffffffffffff) | 0x1000000000000000)); }

make_ca() { # name subject
  newkey "$NEW/$1-ca-key.pem"
  ossl req -new -x509 -config "$W/req.cnf" -extensions v3_ca -key "$NEW/$1-ca-key.pem" \
    -subj "$2" -days "$CA_DAYS" -sha256 -set_serial "$(new_serial)" -out "$NEW/$1-ca.pem"
}

csr() { # key subject out
  ossl req -new -config "$W/req.cnf" -key "$1" -subj "$2" -out "$3"
}

sign() { # ca csr out serial [extensions-section]   (no section: an X.509 v1 certificate)
  local args=(x509 -req -in "$2" -CA "$NEW/$1-ca.pem" -CAkey "$NEW/$1-ca-key.pem"
    -set_serial "$4" -days "$LEAF_DAYS" -sha256 -out "$3")
  [[ -n ${5:-} ]] && args+=(-extfile "$W/ext.cnf" -extensions "$5")
  ossl "${args[@]}"
}

combine() { cat "$1" "$2" >"$3"; } # key cert out

msg "making a throwaway PKI in $DIR"
make_ca server "$SERVER_CA_SUBJ"
make_ca customer "$CUSTOMER_CA_SUBJ"
make_ca internal "$INTERNAL_CA_SUBJ"
make_ca other "$OTHER_CA_SUBJ"

# Server certificate for the front.
newkey "$NEW/server-key.pem"
csr "$NEW/server-key.pem" "/O=$O/CN=localhost" "$W/server.csr"
sign server "$W/server.csr" "$NEW/server.pem" "$(new_serial)" server

# Entitlement-like client certificate: <serial>.pem + <serial>-key.pem (PKCS#1 "RSA PRIVATE KEY").
ENT_SERIAL="$(new_serial)"
ENT_CN="$(openssl rand -hex 16)"
newkey "$W/ent.key"
ossl pkey -in "$W/ent.key" -traditional -out "$NEW/entitlement/$ENT_SERIAL-key.pem"
csr "$W/ent.key" "/O=wheelgate-test-org/CN=$ENT_CN" "$W/ent.csr"
sign customer "$W/ent.csr" "$NEW/entitlement/$ENT_SERIAL.pem" "$ENT_SERIAL" entitlement
combine "$NEW/entitlement/$ENT_SERIAL-key.pem" "$NEW/entitlement/$ENT_SERIAL.pem" "$NEW/client.pem"

# Staging (internal CA) and unrelated (other CA) client certificates.
for spec in staging:internal other:other; do
  name="${spec%%:*}" ca="${spec#*:}"
  newkey "$NEW/$name-key.pem"
  csr "$NEW/$name-key.pem" "/O=$O/CN=wheelgate-test-$name-client" "$W/$name.csr"
  sign "$ca" "$W/$name.csr" "$NEW/$name.pem" "$(new_serial)" client
  combine "$NEW/$name-key.pem" "$NEW/$name.pem" "$NEW/$name-client.pem"
done

# Expired client certificate from the customer CA (OpenSSL 3.0's `x509 -req` cannot set dates in
# the past: `openssl ca` with -startdate/-enddate can).
EXP_SERIAL="$(new_serial)"
newkey "$NEW/expired-key.pem"
csr "$NEW/expired-key.pem" "/O=wheelgate-test-org/CN=$(openssl rand -hex 16)" "$W/expired.csr"
mkdir -p "$W/ca"
: >"$W/ca/index.txt"
printf '%X\n' "$EXP_SERIAL" | sed 's/^\(.\(..\)*\)$/0\1/' >"$W/ca/serial" # even number of hex digits
cat >"$W/ca.cnf" <<EOF
[ca]
default_ca = ca_expired
[ca_expired]
dir = $W/ca
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[policy_any]
organizationName = optional
commonName = supplied
EOF
ossl ca -batch -notext -config "$W/ca.cnf" -cert "$NEW/customer-ca.pem" -keyfile "$NEW/customer-ca-key.pem" \
  -startdate 20240101000000Z -enddate 20240201000000Z -extfile "$W/ext.cnf" -extensions entitlement \
  -in "$W/expired.csr" -out "$NEW/expired.pem"
combine "$NEW/expired-key.pem" "$NEW/expired.pem" "$NEW/expired-client.pem"
cp "$NEW/expired.pem" "$NEW/entitlement-expired/$EXP_SERIAL.pem"
cp "$NEW/expired-key.pem" "$NEW/entitlement-expired/$EXP_SERIAL-key.pem"

# X.509 v1 client certificate from the customer CA: `x509 -req` without -extfile.
newkey "$NEW/v1-key.pem"
csr "$NEW/v1-key.pem" "/O=wheelgate-test-org/CN=wheelgate-test-v1-client" "$W/v1.csr"
sign customer "$W/v1.csr" "$NEW/v1.pem" "$(new_serial)"
combine "$NEW/v1-key.pem" "$NEW/v1.pem" "$NEW/v1-client.pem"

cat "$NEW/customer-ca.pem" "$NEW/internal-ca.pem" >"$NEW/client-cas.pem"

# Checks: versions, chains, purposes, SAN.
version_of() { openssl x509 -noout -text -in "$1" | sed -n 's/^ *Version: \([0-9]\).*/\1/p'; }
for f in server-ca.pem customer-ca.pem internal-ca.pem other-ca.pem server.pem \
  "entitlement/$ENT_SERIAL.pem" staging.pem other.pem expired.pem; do
  [[ $(version_of "$NEW/$f") == 3 ]] || die "$f is not an X.509 v3 certificate"
done
[[ $(version_of "$NEW/v1.pem") == 1 ]] || die "v1.pem is not an X.509 v1 certificate"
verify() { ossl verify -CAfile "$NEW/$1-ca.pem" ${3:+-purpose "$3"} "$NEW/$2" >/dev/null; }
verify server server.pem sslserver
verify customer "entitlement/$ENT_SERIAL.pem" sslclient
verify internal staging.pem sslclient
verify other other.pem sslclient
verify customer v1.pem
if openssl verify -CAfile "$NEW/customer-ca.pem" "$NEW/expired.pem" >/dev/null 2>&1; then
  die "expired.pem verifies as valid"
fi
openssl x509 -noout -checkend 0 -in "$NEW/expired.pem" >/dev/null && die "expired.pem has not expired"
openssl x509 -noout -ext subjectAltName -in "$NEW/server.pem" | grep -q 'IP Address:127.0.0.1, DNS:localhost' ||
  die "server.pem lacks subjectAltName IP:127.0.0.1, DNS:localhost"

dn() { openssl x509 -noout -subject -nameopt RFC2253 -in "$1" | sed 's/^subject=//'; }
not_after() { openssl x509 -noout -enddate -in "$1" | sed 's/^notAfter=//'; }
earliest="$(for f in "${LIVE[@]}"; do [[ $f == client.pem ]] && f="entitlement/$ENT_SERIAL.pem"
  date -u -d "$(not_after "$NEW/$f")" +%Y-%m-%dT%H:%M:%SZ; done | sort | head -n 1)"

cat >"$NEW/pki.env" <<EOF
PKI_FORMAT=$PKI_FORMAT
PKI_DIR=$DIR
PKI_CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
PKI_NOT_AFTER=$earliest
PKI_SERVER_CA=$DIR/server-ca.pem
PKI_SERVER_CERT=$DIR/server.pem
PKI_SERVER_KEY=$DIR/server-key.pem
PKI_CUSTOMER_CA=$DIR/customer-ca.pem
PKI_CUSTOMER_CA_KEY=$DIR/customer-ca-key.pem
PKI_CUSTOMER_CA_DN=$(dn "$NEW/customer-ca.pem")
PKI_INTERNAL_CA=$DIR/internal-ca.pem
PKI_INTERNAL_CA_KEY=$DIR/internal-ca-key.pem
PKI_INTERNAL_CA_DN=$(dn "$NEW/internal-ca.pem")
PKI_OTHER_CA=$DIR/other-ca.pem
PKI_CLIENT_CAS=$DIR/client-cas.pem
PKI_ENTITLEMENT_DIR=$DIR/entitlement
PKI_ENTITLEMENT_SERIAL=$ENT_SERIAL
PKI_ENTITLEMENT_CERT=$DIR/entitlement/$ENT_SERIAL.pem
PKI_ENTITLEMENT_KEY=$DIR/entitlement/$ENT_SERIAL-key.pem
PKI_CLIENT_PEM=$DIR/client.pem
PKI_STAGING_CERT=$DIR/staging.pem
PKI_STAGING_KEY=$DIR/staging-key.pem
PKI_STAGING_PEM=$DIR/staging-client.pem
PKI_OTHER_CERT=$DIR/other.pem
PKI_OTHER_KEY=$DIR/other-key.pem
PKI_OTHER_PEM=$DIR/other-client.pem
PKI_EXPIRED_CERT=$DIR/expired.pem
PKI_EXPIRED_KEY=$DIR/expired-key.pem
PKI_EXPIRED_PEM=$DIR/expired-client.pem
PKI_EXPIRED_ENTITLEMENT_DIR=$DIR/entitlement-expired
PKI_EXPIRED_SERIAL=$EXP_SERIAL
PKI_V1_CERT=$DIR/v1.pem
PKI_V1_KEY=$DIR/v1-key.pem
PKI_V1_PEM=$DIR/v1-client.pem
EOF
grep -q '[[:space:]"]' <(cut -d= -f2- "$NEW/pki.env") && die "a manifest value contains whitespace or quotes"

rm -rf "$W"
chmod 700 "$NEW"
chmod 600 "$NEW"/*.pem "$NEW"/entitlement*/*.pem
chmod 644 "$NEW"/pki.env "$NEW"/*-ca.pem "$NEW"/client-cas.pem
if [[ -e $DIR ]]; then
  rm -rf "$DIR.old"
  mv "$DIR" "$DIR.old"
fi
mv "$NEW" "$DIR"
rm -rf "$DIR.old"
trap - EXIT
msg "PKI ready (valid until $earliest): $DIR/pki.env"
echo "$DIR/pki.env"
