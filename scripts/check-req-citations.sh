#!/usr/bin/env bash
# Every `REQ <id>` cited in the repository's code, tests, scripts and documents must be listed in
# docs/REQUIREMENTS.md (the project's own requirement index), so a citation always resolves inside
# the repository. A cited step (`REQ 6.2 step 3`) resolves to its clause (`6.2`). The same for
# the protocol reference: every `PROTOCOLS.md §x` cited must be a section of docs/PROTOCOLS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
index=docs/REQUIREMENTS.md
cited=$(git ls-files '*.rs' '*.md' '*.toml' '*.sh' '*.yml' '*.yaml' '*.js' '*.html' \
  | grep -v "^$index$" \
  | xargs grep -ohE 'REQ (§[0-9]+(\.[0-9]+)*|[A-Z]{1,2}-[0-9]+(\.[0-9]+)*[a-z]?|[0-9]+\.[0-9]+(\.[0-9]+)?)' \
  | sed -E 's/^REQ //' | sort -u)
missing=0
for id in $cited; do
  if ! grep -qF "| $id |" "$index"; then
    echo "REQ $id is cited but not in $index" >&2
    missing=1
  fi
done
[ "$missing" = 0 ] && echo "every REQ citation ($(echo "$cited" | wc -w) ids) is in $index"
protocols=docs/PROTOCOLS.md
sections=$(git ls-files '*.rs' '*.md' '*.toml' '*.sh' \
  | grep -v "^$protocols$" \
  | xargs grep -ohE 'PROTOCOLS\.md §[0-9]+(\.[0-9]+)?' | sed -E 's/.*§//' | sort -u)
for section in $sections; do
  if ! grep -qE "^##+ ${section//./\\.}[. ]" "$protocols"; then
    echo "PROTOCOLS.md §$section is cited but $protocols has no such section" >&2
    missing=1
  fi
done
[ "$missing" = 0 ] && echo "every protocol citation ($(echo "$sections" | wc -w) sections) is in $protocols"
exit "$missing"
