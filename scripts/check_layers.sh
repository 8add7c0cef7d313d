#!/usr/bin/env bash
# Fails when a lower layer includes a higher one. Layers, lowest first:
#   parsers/bytes -> parsers/{mime,mbox,maildir,pst} -> repair/{catalogue,log} -> repair/pst_writer
#   -> repair/{store,mbox,maildir,eml,pst} -> cli
# CMake links each layer only to those below it; this catches header-only
# upward includes, which the linker cannot see.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
check() {  # check DIR FORBIDDEN-INCLUDE-PREFIX...
  local dir=$1; shift
  for prefix in "$@"; do
    if grep -rn --include='*.h' --include='*.cpp' "#include \"$prefix" "$dir"; then
      echo "layering violation: $dir must not include $prefix"
      status=1
    fi
  done
}
check parsers/bytes parsers/mime parsers/mbox parsers/maildir repair/ cli/
check parsers/mime parsers/mbox parsers/maildir repair/ cli/
check parsers/mbox repair/ cli/
check parsers/maildir repair/ cli/ parsers/mbox
check repair/catalogue repair/store repair/mbox cli/
check repair/log repair/store repair/mbox cli/
check repair/pst_writer repair/store repair/mbox repair/maildir repair/eml repair/pst/ cli/
check repair/store cli/
check repair/mbox cli/
[ $status -eq 0 ] && echo "layers ok"
exit $status
