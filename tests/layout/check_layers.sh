#!/bin/sh
# check_layers.sh SRC_DIR -- the stages of engine/src depend one way only.
# Each folder may include the headers of its own stage and of the stages
# before it in ORDER; an include of a later stage's header is a layering
# violation (it would make a cycle: the later stage already depends on it).
# resilience/ is a self-contained subsystem any stage may use.
set -eu
src=${1:?usage: check_layers.sh engine/src}
ORDER="base core lua matching deciding loading engine"
rank() { i=0; for s in $ORDER; do [ "$s" = "$1" ] && { echo $i; return; }; i=$((i + 1)); done; echo -1; }
bad=0
for stage in $ORDER; do
  [ -d "$src/$stage" ] || { echo "missing stage folder $src/$stage"; bad=1; continue; }
  me=$(rank "$stage")
  for f in "$src/$stage"/*.c "$src/$stage"/*.h; do
    [ -e "$f" ] || continue
    for h in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
      owner=""
      for s in $ORDER; do [ -e "$src/$s/$h" ] && owner=$s; done
      [ -n "$owner" ] || continue # faultline.h, bindings.h, resilience/...
      if [ "$(rank "$owner")" -gt "$me" ]; then
        echo "layering: $f ($stage) includes $h from the later stage $owner"
        bad=1
      fi
    done
  done
done
# Every source file of the library sits in a stage folder (or resilience/).
for f in "$src"/*.c "$src"/*.h; do
  [ -e "$f" ] && { echo "layering: $f is outside the stage folders"; bad=1; }
done
[ $bad -eq 0 ] && echo "layers ok: $ORDER"
exit $bad
