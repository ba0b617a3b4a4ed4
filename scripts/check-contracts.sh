#!/usr/bin/env bash
# Contract checks: buf lint, gen/ in sync with proto/, and no breaking change
# against the previous commit.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"
say "buf lint"
buf lint
say "gen/ in sync with proto/"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
buf generate -o "$tmp"
if ! diff -r "$tmp/gen" gen >/dev/null; then
  diff -r "$tmp/gen" gen | head -20 >&2
  echo "gen/ is stale: run 'npm run generate' and commit gen/" >&2
  exit 1
fi
if git rev-parse --verify -q HEAD~1 >/dev/null && git cat-file -e HEAD~1:buf.yaml 2>/dev/null; then
  say "buf breaking against HEAD~1"
  buf breaking --against ".git#ref=HEAD~1"
else
  say "buf breaking skipped: no previous commit with buf.yaml in this clone"
fi
