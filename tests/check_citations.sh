#!/usr/bin/env bash
# Citation check (CTest "citations"): every citation key written in brackets in the sources and
# documents, e.g. [HS18] or [CKKS17, KeyGen], must have an entry "### [KEY]" in docs/references.md,
# and no hedge phrase may stand in place of a checked citation.
#
# Usage: tests/check_citations.sh [source root]   (default: the directory above this script)
# Exit status 0 when both checks pass; 1 with one line per problem otherwise.
set -u
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
refs="$root/docs/references.md"
dirs="ckks ml tutorials docs bench tests scripts"
status=0

if [ ! -f "$refs" ]; then
  echo "check_citations: $refs not found (pass the source root as the first argument)"
  exit 1
fi

cd "$root" || exit 1

# 1. Hedge phrases: allowed only in docs/references.md (which says what was checked and where).
#    The bracket in each word keeps this file from matching its own pattern.
hedges=$(grep -rniE "not ve[r]ified|as re[c]alled|unve[r]ified|re[c]alled" $dirs \
           --exclude=references.md 2>/dev/null)
if [ -n "$hedges" ]; then
  echo "check_citations: hedge phrases found (check the source, then cite it by key, or drop the number):"
  echo "$hedges"
  status=1
fi

# 2. Keys. A key is an upper-case letter, letters or '-', a two-digit year and an optional suffix
#    (CKKS17, HS18, CHKKS18b, Chiang22QG, Lee22MPC), or one of the named keys below, written as
#    "[KEY]", "[KEY, ...]" or "[...; KEY, ...]". Tensor shapes such as [C1, C_in, 3, 3] do not match.
named_keys="Shoup HEAAN FHETB ATAP Boston-CKKS"
# Keys are defined by headings "### [KEY]" (one heading may define several: "### [A] and [B]").
defined=$(grep -E '^### \[' "$refs" | grep -oE '\[[^]]+\]' | sed -E 's/^\[//; s/\]$//' | sort -u)
# Candidate bracket groups from the code, tutorials, tests, benchmarks and documents.
used=$(grep -rhoE '\[[A-Z][A-Za-z0-9-]*[^]]{0,200}\]' $dirs \
         --include='*.h' --include='*.cpp' --include='*.md' --include='*.sh' --include='*.txt' \
         --include='*.py' --exclude=check_citations.sh 2>/dev/null |
       sed -E 's/^\[//; s/\]$//' | tr ';' '\n' | sed -E 's/^ +//' |
       grep -oE '^[A-Z][A-Za-z0-9-]*' | sort -u)
for key in $used; do
  case "$key" in
    [A-Z]*[0-9][0-9]|[A-Z]*[0-9][0-9][a-zA-Z]*)    # letters, a two-digit year, a suffix
      printf '%s' "$key" | grep -qE '^[A-Z][A-Za-z-]*[0-9]{2}[A-Za-z]*$' || continue ;;
    *) case " $named_keys " in *" $key "*) ;; *) continue ;; esac ;;
  esac
  if ! printf '%s\n' "$defined" | grep -qxF "$key"; then
    where=$(grep -rnF "[$key" $dirs --exclude=references.md 2>/dev/null | head -3)
    echo "check_citations: key [$key] is cited but has no '### [$key]' entry in docs/references.md:"
    echo "$where"
    status=1
  fi
done

if [ "$status" -eq 0 ]; then
  echo "check_citations: $(printf '%s\n' $used | wc -l | tr -d ' ') bracketed names checked," \
       "$(printf '%s\n' "$defined" | wc -l | tr -d ' ') keys defined, no hedge phrases"
fi
exit "$status"
