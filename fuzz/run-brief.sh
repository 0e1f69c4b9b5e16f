#!/usr/bin/env bash
# Builds every fuzz target and runs each one briefly; exits non-zero on the first crash.
#
# Usage: fuzz/run-brief.sh [SECONDS]     (seconds per target, default 10)
#
# Works on a fresh machine with a stable Rust toolchain: installs cargo-fuzz if it is missing
# and sets RUSTC_BOOTSTRAP=1, because cargo fuzz passes -Z flags (sanitizer, coverage) that a
# stable compiler accepts only then. New inputs go to a scratch directory; the committed seed
# corpora in fuzz/corpus/ stay as they are. A crash leaves its input in fuzz/artifacts/<target>/
# and prints the command that reproduces it.
set -euo pipefail

seconds="${1:-10}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1

if ! command -v c++ >/dev/null 2>&1; then
  # libfuzzer-sys compiles libFuzzer, which is C++.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq g++
  else
    echo "a C++ compiler (c++) is needed to build libFuzzer; install g++ or clang" >&2
    exit 1
  fi
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

# Debug assertions turn integer overflow into a crash the fuzzer reports.
flags=(--debug-assertions)
cargo fuzz build "${flags[@]}"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
summary=()
for target in $(cargo fuzz list); do
  mkdir -p "$scratch/$target"
  # The SMTP reply parser has 4 KiB line and 64 KiB reply caps: give it inputs that reach them.
  case "$target" in
    smtp_reply) max_len=70000 ;;
    tlsrpt_report) max_len=16384 ;;
    # Several log lines, so that the session tracker joins them; datagrams with policies.
    postfix_log | tlsrpt_datagram) max_len=16384 ;;
    # Room for a few thousand mx patterns, enough to outgrow the socketmap reply limit.
    decision) max_len=16384 ;;
    *) max_len=4096 ;;
  esac
  echo "== $target: ${seconds}s"
  cargo fuzz run "${flags[@]}" "$target" "$scratch/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 -print_final_stats=1 \
    2>&1 | tee "$scratch/$target.log"
  runs="$(grep -Eo '^Done [0-9]+ runs' "$scratch/$target.log" | grep -Eo '[0-9]+' || echo '?')"
  summary+=("$target: $runs runs in ${seconds}s, no crash")
done

echo "== summary"
printf '%s\n' "${summary[@]}"
