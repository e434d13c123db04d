#!/usr/bin/env bash
# Builds and runs skimhunt's libFuzzer targets on the STABLE toolchain:
# coverage instrumentation comes from LLVM's sancov pass, which stable rustc
# exposes through -C passes / -C llvm-args (the same flags cargo-fuzz passes
# with `-s none`); libfuzzer-sys compiles libFuzzer itself with the system
# C++ compiler. No sanitizer (ASan needs nightly); debug assertions and
# overflow checks are on in the fuzz profile.
#
#   fuzz/fuzz.sh build                 build every target
#   fuzz/fuzz.sh run TARGET [SECONDS]  fuzz TARGET (default 600 s) with its
#                                      corpus in fuzz/corpus/TARGET
#   fuzz/fuzz.sh list                  the target names
set -euo pipefail
cd "$(dirname "$0")"

TARGETS=(parse_line time decode card rules scan app)
TRIPLE="$(rustc -vV | sed -n 's/^host: //p')"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks"

build() {
    # --target keeps the instrumentation off build scripts and proc macros.
    cargo build --locked --release --target "$TRIPLE" --bins
}

case "${1:-}" in
    build) build ;;
    list) printf '%s\n' "${TARGETS[@]}" ;;
    run)
        t="${2:?target name}"
        secs="${3:-600}"
        build
        mkdir -p "corpus/$t" "artifacts/$t"
        seeds=()
        [ -d "seeds/$t" ] && seeds=("seeds/$t")
        exec "$CARGO_TARGET_DIR/$TRIPLE/release/$t" \
            -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
            "corpus/$t" "${seeds[@]}"
        ;;
    *)
        echo "usage: $0 build | list | run TARGET [SECONDS]" >&2
        exit 2
        ;;
esac
