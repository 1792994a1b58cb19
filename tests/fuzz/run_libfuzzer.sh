#!/usr/bin/env bash
# Runs libFuzzer targets one after the other and prints, per target, the inputs executed, coverage
# (cov: edges, ft: features, from libFuzzer's last status line), the corpus units it added and its
# findings (crash-/leak-/timeout-/oom- artifacts). Exit 1 if any target found something.
#
#   run_libfuzzer.sh --bin-dir DIR --corpus DIR --work DIR (--runs N | --seconds S) [--seed N] [--fresh]
#                    [--jobs N] TARGET...
#
# --jobs N: N targets at a time (the targets dealt round robin to N sequential runs), one core each.
#
# New corpus units go to WORK/corpus/<target> (read together with the committed CORPUS/<target>, which
# is never written); artifacts to WORK/artifacts/<target>/, logs to WORK/logs/<target>.log. --fresh
# starts from the committed corpus alone (ctest); without it, a long run builds on the last one.
set -uo pipefail

bin_dir= corpus= work= budget= seed= fresh=0 jobs=1 targets=() options=()
while [ $# -gt 0 ]; do
  case $1 in
    --bin-dir) bin_dir=$2; options+=("$1" "$2"); shift 2 ;;
    --corpus) corpus=$2; options+=("$1" "$2"); shift 2 ;;
    --work) work=$2; options+=("$1" "$2"); shift 2 ;;
    --runs) budget=-runs=$2; options+=("$1" "$2"); shift 2 ;;
    --seconds) budget=-max_total_time=$2; options+=("$1" "$2"); shift 2 ;;
    --seed) seed=-seed=$2; options+=("$1" "$2"); shift 2 ;;
    --fresh) fresh=1; options+=("$1"); shift ;;
    --jobs) jobs=$2; shift 2 ;;
    -*) echo "run_libfuzzer.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ -z "$bin_dir" ] || [ -z "$corpus" ] || [ -z "$work" ] || [ -z "$budget" ] || [ ${#targets[@]} -eq 0 ]; then
  echo "usage: run_libfuzzer.sh --bin-dir DIR --corpus DIR --work DIR (--runs N | --seconds S) [--seed N] [--fresh] TARGET..." >&2
  exit 2
fi

if ! [[ "$jobs" =~ ^[1-9][0-9]*$ ]]; then echo "run_libfuzzer.sh: --jobs needs a positive number" >&2; exit 2; fi
if [ "$jobs" -gt 1 ]; then
  # Deal the targets to $jobs sequential runs of this script, then print their tables as one.
  mkdir -p "$work"
  pids=() tables=()
  for ((group = 0; group < jobs && group < ${#targets[@]}; group++)); do
    mine=()
    for ((i = group; i < ${#targets[@]}; i += jobs)); do mine+=("${targets[$i]}"); done
    tables+=("$work/table-$group.txt")
    bash "$0" "${options[@]}" "${mine[@]}" >"$work/table-$group.txt" 2>&1 &
    pids+=($!)
  done
  status=0
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
  head -n 1 "${tables[0]}"
  for table in "${tables[@]}"; do tail -n +2 "$table"; done
  exit $status
fi

# Leaks are findings too; UBSan stops at the first report (the build also has -fno-sanitize-recover).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
printf '%-22s %12s %8s %8s %8s %9s  %s\n' target executions cov ft new findings seconds
for target in "${targets[@]}"; do
  new_units=$work/corpus/$target artifacts=$work/artifacts/$target log=$work/logs/$target.log
  [ "$fresh" = 1 ] && rm -rf "$new_units"
  rm -rf "$artifacts"
  mkdir -p "$new_units" "$artifacts" "$work/logs"
  start=$SECONDS
  # -timeout: one input taking this long is a finding (a hang); -rss_limit_mb: so is this much memory.
  "$bin_dir/$target" $budget $seed -print_final_stats=1 -timeout=20 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" "$new_units" "$corpus/$target" >"$log" 2>&1
  rc=$?
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  added=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  findings=$(find "$artifacts" -type f | wc -l)
  printf '%-22s %12s %8s %8s %8s %9s  %s\n' "$target" "${executions:-?}" "${cov:-?}" "${ft:-?}" "${added:-?}" \
    "$findings" $((SECONDS - start))
  if [ "$rc" != 0 ] || [ "$findings" != 0 ]; then
    status=1
    echo "--- $target: exit $rc; artifacts in $artifacts; log $log (tail):"
    tail -n 40 "$log"
  fi
done
exit $status
