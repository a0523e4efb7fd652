#!/usr/bin/env bash
# Creates medstream's S3 buckets through the S3 API. The one list of buckets lives here.
#
# Run twice over: by LocalStack's ready hook under docker-compose (localstack/init is mounted at
# /etc/localstack/init, so `awslocal` is on PATH), and natively by scripts/stack.sh against moto
# with AWS_ENDPOINT_URL set, where only curl or python3 is available. Idempotent: an existing
# bucket is left alone. Unsigned requests are fine for moto and LocalStack; real AWS would refuse
# them, which is why stack.sh only runs this against a local endpoint.
set -euo pipefail

BUCKETS=(
  medstream-drops     # CSV drops picked up by the file connectors
  medstream-artifacts # build and replay artifacts
)

endpoint=${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}
endpoint=${endpoint%/}

create_with_awslocal() {
  if awslocal s3api head-bucket --bucket "$1" >/dev/null 2>&1; then return 0; fi
  awslocal s3api create-bucket --bucket "$1" >/dev/null
}

create_with_curl() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -I "$endpoint/$1" || true)
  [[ $code == 200 ]] && return 0
  curl -fsS -o /dev/null --max-time 10 -X PUT "$endpoint/$1"
}

create_with_python() {
  python3 - "$endpoint/$1" <<'PY'
import sys, urllib.request, urllib.error
url = sys.argv[1]
try:
    urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=10)
except urllib.error.HTTPError:
    urllib.request.urlopen(urllib.request.Request(url, method="PUT"), timeout=10)
PY
}

if command -v awslocal >/dev/null 2>&1; then
  create=create_with_awslocal
elif command -v curl >/dev/null 2>&1; then
  create=create_with_curl
else
  create=create_with_python
fi

for bucket in "${BUCKETS[@]}"; do
  "$create" "$bucket"
done
echo "buckets ready: ${BUCKETS[*]}"
