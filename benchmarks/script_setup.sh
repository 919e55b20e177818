# Sourced by the end-to-end benchmark scripts, from the repository root, with the script's
# arguments: sets `binaries` (the arguments, default build/tools/claimmatch) and `shared` (the
# shared data directory: $CLAIMMATCH_SHARED, else ../shared when it holds data/, else /work/shared).
binaries=("$@")
[[ ${#binaries[@]} -eq 0 ]] && binaries=(build/tools/claimmatch)
shared=${CLAIMMATCH_SHARED:-}
if [[ -z $shared ]]; then
  if [[ -d ../shared/data ]]; then shared=../shared; else shared=/work/shared; fi
fi
