#!/usr/bin/env bash
# Runs the cargo-fuzz targets, each for a given number of seconds, seeded from the fixtures.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default: 60 seconds, every target)
# Needs nightly (`rustup toolchain install nightly`) and `cargo install cargo-fuzz`.
# A crash leaves its input in fuzz/artifacts/<target>/; turn it into a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(json_scanner cron_dialect checks human_renderer)
fi

seed() {
  local target="$1" corpus="fuzz/corpus/$1"
  mkdir -p "$corpus"
  case "$target" in
    json_scanner)
      find fixtures -name '*.json' -type f -size -64k | while read -r f; do
        cp "$f" "$corpus/$(sha1sum "$f" | cut -c1-16)"
      done ;;
    cron_dialect)
      # The fuzzer's input is (i64, &str): seed with the schedules the fixtures use.
      grep -rhoE '"schedule": *"[^"]*"' fixtures | sed -E 's/.*"([^"]*)"$/\1/' | sort -u |
        while IFS= read -r line; do
          printf '\0\0\0\0\0\0\0\0%s' "$line" > "$corpus/$(printf '%s' "$line" | sha1sum | cut -c1-16)"
        done ;;
    checks|human_renderer)
      # First byte: which state file the rest replaces (see the target's FILES table).
      local i=0
      for name in config.json jobs.json identity.json registry.json; do
        find fixtures -name "$name" -type f -size -64k | while read -r f; do
          { printf "\\x$(printf %02x $i)"; cat "$f"; } > "$corpus/$(sha1sum "$f" | cut -c1-16)-$i"
        done
        i=$((i + 1))
      done ;;
  esac
}

for target in "${targets[@]}"; do
  seed "$target"
  echo "== $target for ${seconds}s"
  (cd fuzz && cargo +nightly fuzz run "$target" -O -- \
      -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
      "corpus/$target")
done
