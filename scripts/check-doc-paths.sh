#!/usr/bin/env bash
# Every repository path the contributor documents name in backticks from the repository's root
# (`workflows/src/payment/mod.rs`, `scripts/run.sh`) exists: a file moved without its
# documentation is a newcomer's first dead end. A crate's `src/...` path (ARCHITECTURE.md's code
# map) is resolved against the crate named first on the same line (or, in a table whose column
# header names the crate, against any crate); other relative paths
# (`wire/bank.rs` under a heading that names the crate) are left to the reader. Exit 1 naming
# each missing path.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=0
for doc in ARCHITECTURE.md README.md docs/REQUIREMENTS.md docs/PROTOCOLS.md; do
  while IFS=: read -r line path; do
    [ -e "$path" ] && continue
    top=${path%%/*}
    if [ "$top" != src ] && ! git ls-files --error-unmatch "$top" >/dev/null 2>&1; then continue; fi
    # A crate-relative path: the first `crate/` named on the line is its root.
    root=$(sed -n "${line}p" "$doc" | grep -oE '`[a-z]+/`' | tr -d '`' | while read -r d; do
      [ -f "$d/Cargo.toml" ] && echo "$d" && break
    done || true)
    [ -n "$root" ] && [ -e "$root$path" ] && continue
    # A table whose column names the crate (docs/PROTOCOLS.md): some crate must hold it.
    [ "$top" = src ] && [ -z "$root" ] && compgen -G "*/$path" >/dev/null && continue
    echo "$doc:$line: \`$path\` does not exist" >&2
    missing=1
  done < <(grep -noE '`[A-Za-z0-9_./-]+\.(rs|sh|toml|md|json|yml|py)`' "$doc" | tr -d '`' \
    | grep -vE ':(https?|[a-z]+\.(example|invalid))' | grep -E ':[A-Za-z0-9_.-]+/' || true)
done
[ "$missing" = 0 ] && echo "check-doc-paths: every path named in the contributor docs exists"
exit "$missing"
