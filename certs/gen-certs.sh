#!/usr/bin/env bash
# gen-certs.sh: a private CA and a serving certificate for the ambient-guard webhook, for clusters
# without cert-manager (with cert-manager use deploy/overlays/cert-manager/* instead).
# Needs bash, coreutils and openssl; kubectl only to apply what it writes.
#
#   certs/gen-certs.sh --out DIR [--namespace NS] [--service NAME] [--days N] [--ca-days N]
#                      [--overlay PATH]... [--image REF] [--patch FILE]...
#                      [--rotate-ca | --drop-previous-ca]
#
# Writes into DIR (created 0700; refused inside a git work tree, so keys are never committed):
#   ca.crt, ca.key            the CA (kept and reused by later runs)
#   ca-previous.crt           the CA before the last --rotate-ca, until --drop-previous-ca
#   ca-bundle.crt             ca.crt + ca-previous.crt: what the API server trusts (caBundle)
#   tls.crt, tls.key          serving certificate: ECDSA P-256, serverAuth, DNS SANs
#                             NAME, NAME.NS, NAME.NS.svc (the name the API server verifies),
#                             NAME.NS.svc.cluster.local
#   tls/secret.yaml           Secret "ambient-guard-tls" (tls.crt, tls.key, ca.crt = bundle), plus
#                             tls/kustomization.yaml
#   pilot/, enforce/          kustomizations: deploy/overlays/<phase> + the Secret, with every
#                             webhook's clientConfig.caBundle replaced by the bundle. Written for
#                             the default namespace and service; --overlay PATH writes one for
#                             any other overlay (named after its last path element).
#                             --image REGISTRY/ambient-guard:TAG (or @sha256:...) sets the image;
#                             it is remembered in DIR/image for later runs.
# --patch FILE replaces every `caBundle:` value in an already rendered manifest (kubectl kustomize
# output, e.g. for GitOps) with the bundle. The bundle, base64-encoded, goes to stdout; messages go
# to stderr.
#
# Install:
#   certs/gen-certs.sh --out ~/.ambient-guard/pki --image REGISTRY/ambient-guard:TAG
#   kubectl apply -k ~/.ambient-guard/pki/pilot          # later: .../pki/enforce
#
# Rotation
#   Serving certificate (before tls.crt expires; every run re-issues it from the same CA, so the
#   caBundle does not change):
#     certs/gen-certs.sh --out DIR && kubectl apply -k DIR/<phase>
#   The kubelet refreshes the mounted Secret within a minute or two and the server reloads it;
#   `kubectl -n ambient-guard rollout restart deploy/ambient-guard` makes it immediate (three
#   replicas, maxUnavailable 0, PDB: no gap).
#   CA (before ca.crt expires, or when ca.key may have leaked), in three steps so that the API server always
#   trusts the certificate every replica serves:
#     1. certs/gen-certs.sh --out DIR --rotate-ca       && kubectl apply -k DIR/<phase>
#        New CA; the bundle holds new + previous CA; tls.crt (previous CA) stays as it is.
#     2. certs/gen-certs.sh --out DIR                   && kubectl apply -k DIR/<phase>
#        Re-issues tls.crt from the new CA; then
#        kubectl -n ambient-guard rollout restart deploy/ambient-guard
#        kubectl -n ambient-guard rollout status deploy/ambient-guard
#     3. certs/gen-certs.sh --out DIR --drop-previous-ca && kubectl apply -k DIR/<phase>
#        Refuses unless tls.crt verifies against the new CA alone; then the bundle holds only it.
#   The expiry of the served certificate is exported as ambient_guard_cert_expiry_timestamp_seconds.
set -euo pipefail

prog=$(basename "$0")
script_dir=$(cd "$(dirname "$0")" && pwd -P)
repo_root=$(cd "$script_dir/.." && pwd -P)

die() {
  echo "$prog: $*" >&2
  exit 1
}
usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit "${1:-2}"
}

out=""
namespace=ambient-guard
service=ambient-guard
days=365
ca_days=3650
rotate_ca=0
drop_previous=0
overlays=()
patch_files=()
image=""
while (($# > 0)); do
  case "$1" in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --namespace) namespace=${2:?--namespace needs a value}; shift 2 ;;
    --service) service=${2:?--service needs a value}; shift 2 ;;
    --days) days=${2:?--days needs a value}; shift 2 ;;
    --ca-days) ca_days=${2:?--ca-days needs a value}; shift 2 ;;
    --overlay) overlays+=("${2:?--overlay needs a path}"); shift 2 ;;
    --image) image=${2:?--image needs an image reference}; shift 2 ;;
    --patch) patch_files+=("${2:?--patch needs a file}"); shift 2 ;;
    --rotate-ca) rotate_ca=1; shift ;;
    --drop-previous-ca) drop_previous=1; shift ;;
    -h | --help) usage 0 ;;
    *) echo "$prog: unknown argument: $1" >&2; usage 2 ;;
  esac
done

[[ -n "$out" ]] || { echo "$prog: --out DIR is required" >&2; usage 2; }
((rotate_ca + drop_previous <= 1)) || die "--rotate-ca and --drop-previous-ca are separate steps"
[[ "$days" =~ ^[1-9][0-9]*$ ]] || die "--days must be a positive integer"
[[ "$ca_days" =~ ^[1-9][0-9]*$ ]] || die "--ca-days must be a positive integer"
dns_label='^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
[[ "$namespace" =~ $dns_label ]] || die "--namespace must be a DNS label: $namespace"
[[ "$service" =~ $dns_label ]] || die "--service must be a DNS label: $service"
[[ -z "$image" || "$image" =~ ^[A-Za-z0-9][A-Za-z0-9./:@_+-]*$ ]] || die "--image: not an image reference: $image"
command -v openssl >/dev/null || die "openssl not found on PATH"
# Check every input before anything is generated.
for overlay in "${overlays[@]}"; do
  [[ -f "$overlay/kustomization.yaml" ]] || die "--overlay $overlay: no kustomization.yaml there"
done
for f in "${patch_files[@]}"; do
  [[ -f "$f" ]] || die "--patch $f: no such file"
  grep -qE '^[[:space:]]*caBundle:' "$f" \
    || die "--patch $f: no caBundle field (cert-manager manifests get theirs from cainjector)"
done

# Keys never go into a git work tree (or into this repository, even as an unpacked tarball).
nearest=$out
while [[ ! -d "$nearest" ]]; do
  nearest=$(dirname "$nearest")
done
nearest=$(cd "$nearest" && pwd -P)
d=$nearest
while :; do
  [[ -e "$d/.git" ]] && die "refusing to write private keys into a git work tree ($d); choose --out outside it"
  [[ "$d" == / ]] && break
  d=$(dirname "$d")
done
case "$nearest/" in
  "$repo_root"/*) die "refusing to write private keys inside the source tree ($repo_root)" ;;
esac

umask 077
mkdir -p "$out"
out=$(cd "$out" && pwd -P)
chmod 700 "$out"
work=$(mktemp -d "$out/.gen-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT

fqdn="$service.$namespace.svc"
# A private config: the result must not depend on the system's openssl.cnf.
cat >"$work/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:$service, DNS:$service.$namespace, DNS:$fqdn, DNS:$fqdn.cluster.local
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

new_ca() {
  # A random suffix keeps the subjects of the current and previous CA apart in the bundle.
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -sha256 \
    -config "$work/openssl.cnf" -extensions ca_ext -days "$ca_days" \
    -subj "/O=ambient-guard/CN=ambient-guard-ca-$(openssl rand -hex 4)" \
    -keyout "$work/ca.key" -out "$work/ca.crt" 2>"$work/err" || { cat "$work/err" >&2; die "CA creation failed"; }
  mv "$work/ca.key" "$out/ca.key"
  mv "$work/ca.crt" "$out/ca.crt"
  echo "$prog: new CA $(openssl x509 -noout -subject -in "$out/ca.crt"), valid $ca_days days" >&2
}

issue_leaf() {
  if ! openssl x509 -checkend $((days * 86400)) -noout -in "$out/ca.crt" >/dev/null; then
    die "the CA expires within $days days: rotate it first (--rotate-ca), or lower --days"
  fi
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -sha256 \
    -config "$work/openssl.cnf" -subj "/O=ambient-guard/CN=$fqdn" \
    -keyout "$work/tls.key" -out "$work/tls.csr" 2>"$work/err" || { cat "$work/err" >&2; die "key generation failed"; }
  openssl x509 -req -in "$work/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$days" -sha256 \
    -extfile "$work/openssl.cnf" -extensions leaf_ext -out "$work/tls.crt" 2>"$work/err" \
    || { cat "$work/err" >&2; die "signing the serving certificate failed"; }
  mv "$work/tls.key" "$out/tls.key"
  mv "$work/tls.crt" "$out/tls.crt"
  echo "$prog: serving certificate for $fqdn, valid $days days" >&2
}

if ((drop_previous)); then
  [[ -f "$out/ca.crt" && -f "$out/tls.crt" ]] || die "no CA or serving certificate in $out"
  openssl verify -CAfile "$out/ca.crt" "$out/tls.crt" >/dev/null 2>&1 \
    || die "tls.crt is not signed by the current CA: run once without flags (re-issue), roll the pods, then drop"
  rm -f "$out/ca-previous.crt"
  echo "$prog: the bundle now holds the current CA only" >&2
elif ((rotate_ca)); then
  [[ -f "$out/ca.crt" ]] || die "no CA in $out to rotate; run without --rotate-ca first"
  mv "$out/ca.crt" "$out/ca-previous.crt"
  rm -f "$out/ca.key"  # nothing is signed with the previous CA any more
  new_ca
  # The serving certificate stays (signed by the previous CA, still in the bundle) until the
  # API servers trust the new CA; the next run without flags re-issues it.
  [[ -f "$out/tls.crt" && -f "$out/tls.key" ]] || issue_leaf
else
  if [[ ! -f "$out/ca.crt" || ! -f "$out/ca.key" ]]; then
    [[ ! -f "$out/ca.crt" ]] || die "$out/ca.crt exists without ca.key: restore the key or use --rotate-ca"
    new_ca
  fi
  issue_leaf
fi

cat "$out/ca.crt" >"$work/ca-bundle.crt"
if [[ -f "$out/ca-previous.crt" ]]; then
  cat "$out/ca-previous.crt" >>"$work/ca-bundle.crt"
fi
mv "$work/ca-bundle.crt" "$out/ca-bundle.crt"

# What the API server will check: the chain to the bundle and the name it dials.
openssl verify -purpose sslserver -CAfile "$out/ca-bundle.crt" "$out/tls.crt" >/dev/null \
  || die "tls.crt does not verify against ca-bundle.crt"
openssl x509 -noout -checkhost "$fqdn" -in "$out/tls.crt" | grep -q "does match" \
  || die "tls.crt does not carry the DNS name $fqdn"

b64() { base64 <"$1" | tr -d '\n'; }
bundle_b64=$(b64 "$out/ca-bundle.crt")

mkdir -p "$out/tls"
cat >"$work/secret.yaml" <<EOF
# Written by certs/gen-certs.sh. Holds a private key: never commit it.
apiVersion: v1
kind: Secret
metadata:
  name: ambient-guard-tls
  namespace: $namespace
  labels:
    app.kubernetes.io/part-of: ambient-guard
type: kubernetes.io/tls
data:
  tls.crt: $(b64 "$out/tls.crt")
  tls.key: $(b64 "$out/tls.key")
  ca.crt: $bundle_b64
EOF
mv "$work/secret.yaml" "$out/tls/secret.yaml"
cat >"$out/tls/kustomization.yaml" <<EOF
# Written by certs/gen-certs.sh.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- secret.yaml
EOF

if ((${#overlays[@]} == 0)) && [[ "$namespace" == ambient-guard && "$service" == ambient-guard ]]; then
  overlays=("$repo_root/deploy/overlays/pilot" "$repo_root/deploy/overlays/enforce")
fi
# kustomize `images:` entry for --image: name[:tag][@digest], the tag after the last '/'.
# Remembered so that renewals keep the image without repeating the flag.
if [[ -n "$image" ]]; then
  echo "$image" >"$out/image"
elif [[ -f "$out/image" ]]; then
  image=$(<"$out/image")
fi
images_block=""
if [[ -n "$image" ]]; then
  ref=$image
  digest=""
  tag=""
  if [[ "$ref" == *@* ]]; then
    digest=${ref#*@}
    ref=${ref%%@*}
  fi
  if [[ "${ref##*/}" == *:* ]]; then
    tag=${ref##*:}
    ref=${ref%:*}
  fi
  images_block=$'images:\n- name: ambient-guard\n  newName: '"$ref"
  [[ -z "$tag" ]] || images_block+=$'\n  newTag: "'"$tag"'"'
  [[ -z "$digest" ]] || images_block+=$'\n  digest: '"$digest"
fi
declare -A written=()
for overlay in "${overlays[@]}"; do
  overlay=$(cd "$overlay" && pwd -P)
  name=$(basename "$overlay")
  [[ "$name" != tls && -z "${written[$name]:-}" ]] || die "two overlays named $name (or named tls)"
  written[$name]=1
  mkdir -p "$out/$name"
  # kustomize accepts only relative paths to other kustomizations.
  rel=$(realpath -m --relative-to="$out/$name" "$overlay")
  cat >"$out/$name/kustomization.yaml" <<EOF
# Written by certs/gen-certs.sh: $overlay
# plus the serving Secret, with every webhook's caBundle set to the CA bundle.
# Apply with: kubectl apply -k $out/$name
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- $rel
- ../tls
replacements:
- source:
    kind: Secret
    name: ambient-guard-tls
    fieldPath: data.[ca.crt]
  targets:
  - select:
      kind: ValidatingWebhookConfiguration
    fieldPaths:
    - webhooks.*.clientConfig.caBundle
    options:
      create: true
  - select:
      kind: MutatingWebhookConfiguration
    fieldPaths:
    - webhooks.*.clientConfig.caBundle
    options:
      create: true
$images_block
EOF
  echo "$prog: wrote $out/$name (kubectl apply -k $out/$name)" >&2
done

for f in "${patch_files[@]}"; do
  n=$(grep -cE '^[[:space:]]*caBundle:' "$f")
  # base64 never contains '#'.
  sed -E "s#^([[:space:]]*caBundle:).*\$#\\1 $bundle_b64#" "$f" >"$work/patched"
  cat "$work/patched" >"$f"
  echo "$prog: set caBundle in $f ($n webhooks)" >&2
done

echo "$bundle_b64"
