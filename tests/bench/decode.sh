#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Instructions per frame of the libnmbus decoder, counted by callgrind over
# the libmbus corpus: decode only, and decode + JSON.
#
#   tests/bench/decode.sh [BUILD_DIR] [PASSES]
#
# Targets (issue 5): < 800 instructions per frame decode-only, < 14,000
# with JSON. Run from the repository root after `make lib`.
set -eu

O=${1:-build}
N=${2:-20}
BIN=$O/bench/bench-decode
CORPUS=${NMBUS_CORPUS:-../shared/corpus/libmbus}

if [ ! -d "$CORPUS/test-frames" ]; then
	echo "SKIP: corpus not found at $CORPUS (set NMBUS_CORPUS)"
	exit 0
fi
command -v valgrind >/dev/null || { echo "SKIP: valgrind not installed"; exit 0; }

mkdir -p "$O/bench"
${CC:-cc} -std=c11 -O2 -g -D_GNU_SOURCE -Ilib/include -o "$BIN" \
	tests/bench/bench-decode.c "$O/libnmbus.a" -lm

frames=$(ls "$CORPUS"/test-frames/*.hex | wc -l)

# Ir counted inside the library calls (nmbus_decode() and
# nmbus_frame_format(), with all they call), divided by passes x frames.
# PER_FRAME_FN=bench_run counts the benchmark's loop as well.
per_frame() {
	out=$(mktemp)
	if [ -n "${PER_FRAME_FN:-}" ]; then
		set -- --toggle-collect="$PER_FRAME_FN" "$BIN" "$@"
	else
		set -- --toggle-collect=nmbus_decode \
			--toggle-collect=nmbus_frame_format "$BIN" "$@"
	fi
	valgrind --tool=callgrind --callgrind-out-file="$out" \
		"$@" -n "$N" "$CORPUS" >/dev/null 2>&1
	ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p; s/^totals: *\([0-9]*\).*/\1/p' \
		"$out" | head -n 1)
	rm -f "$out"
	echo $((ir / (N * frames)))
}

dec=$(per_frame)
json=$(per_frame -j)
xml=$(per_frame -x)
loop=$(PER_FRAME_FN=bench_run per_frame)
echo "decode-bench: $frames frames x $N passes (callgrind Ir per frame)"
echo "decode only:          $dec (target < 800)"
echo "decode + JSON:        $json (target < 14000)"
echo "decode + XML (norm.): $xml"
echo "decode only with the benchmark's own loop: $loop"
"$BIN" -n 2000 "$CORPUS" | sed 's/^/native: /'
"$BIN" -n 2000 -j "$CORPUS" | sed 's/^/native: /'
