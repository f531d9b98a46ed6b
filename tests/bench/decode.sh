#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Instructions per frame of the libnmbus decoder, counted by callgrind over
# the libmbus corpus: decode only, decode + JSON, decode + libmbus XML
# (plain and normalized), side by side with rscada/libmbus on the same
# frames, and the ratios.
#
#   tests/bench/decode.sh [BUILD_DIR] [PASSES]
#   LIBMBUS_DIR=/path/to/libmbus tests/bench/decode.sh [BUILD_DIR] [PASSES]
#
# Targets (issues 5 and 17): decode at least 10x cheaper than libmbus's
# decode; decode + JSON and decode + XML each at least 10x cheaper than
# libmbus's decode + XML. Run from the repository root after `make lib`.
#
# libmbus is never built here (CI has neither network nor its source).
# With LIBMBUS_DIR naming a libmbus build (LIBMBUS_DIR/mbus/mbus.h and
# LIBMBUS_DIR/libmbus.a or LIBMBUS_DIR/mbus/.libs/libmbus.a), its figures
# are measured live with tests/bench/bench-libmbus.c, the same frames and
# passes; without it the figures recorded below are printed.
set -eu

O=${1:-build}
N=${2:-20}
BIN=$O/bench/bench-decode
LBIN=$O/bench/bench-libmbus
CORPUS=${NMBUS_CORPUS:-../shared/corpus/libmbus}

# Recorded on 2026-12-03 (Debian 12, gcc 12.2, glibc 2.36, valgrind
# 3.19) with rscada/libmbus f09d613 (0.10.0 + fixes), its five mbus/*.c
# compiled with gcc -O2 -g into libmbus.a, by
#   LIBMBUS_DIR=/work/libmbus-build/dist tests/bench/decode.sh build 5
# (76 frames of the corpus; Ir per frame of bench-libmbus.c's one()).
LIBMBUS_RECORDED="2026-12-03, libmbus f09d613"
LIBMBUS_DECODE=7993
LIBMBUS_XML=143920
LIBMBUS_XML_NORM=149651

if [ ! -d "$CORPUS/test-frames" ]; then
	echo "SKIP: corpus not found at $CORPUS (set NMBUS_CORPUS)"
	exit 0
fi
command -v valgrind >/dev/null || { echo "SKIP: valgrind not installed"; exit 0; }

mkdir -p "$O/bench"
${CC:-cc} -std=c11 -O2 -g -D_GNU_SOURCE -Ilib/include -o "$BIN" \
	tests/bench/bench-decode.c "$O/libnmbus.a" -lm

frames=$(ls "$CORPUS"/test-frames/*.hex | wc -l)

# Ir counted inside the toggled functions with all they call, divided by
# passes x frames. The first argument is the program, the second the
# functions to count (comma-separated), the rest its options.
count() {
	out=$(mktemp)
	bin=$1
	fns=$2
	shift 2
	set -- "$bin" "$@"
	for fn in $(echo "$fns" | tr , ' '); do
		set -- --toggle-collect="$fn" "$@"
	done
	valgrind --tool=callgrind --callgrind-out-file="$out" \
		"$@" -n "$N" "$CORPUS" >/dev/null 2>&1
	ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p; s/^totals: *\([0-9]*\).*/\1/p' \
		"$out" | head -n 1)
	rm -f "$out"
	echo $((ir / (N * frames)))
}

# nmbus_decode() and nmbus_frame_format(), with all they call.
per_frame() {
	count "$BIN" nmbus_decode,nmbus_frame_format "$@"
}

dec=$(per_frame)
json=$(per_frame -j)
xml=$(per_frame -p)
norm=$(per_frame -x)
loop=$(count "$BIN" bench_run)

src="recorded $LIBMBUS_RECORDED"
if [ -n "${LIBMBUS_DIR:-}" ]; then
	lib=$LIBMBUS_DIR/libmbus.a
	[ -f "$lib" ] || lib=$LIBMBUS_DIR/mbus/.libs/libmbus.a
	if [ -f "$LIBMBUS_DIR/mbus/mbus.h" ] && [ -f "$lib" ] &&
	   ${CC:-cc} -std=c11 -O2 -g -D_GNU_SOURCE -Ilib/include \
		-I"$LIBMBUS_DIR" -o "$LBIN" tests/bench/bench-libmbus.c \
		"$lib" "$O/libnmbus.a" -lm; then
		LIBMBUS_DECODE=$(count "$LBIN" one)
		LIBMBUS_XML=$(count "$LBIN" one -p)
		LIBMBUS_XML_NORM=$(count "$LBIN" one -x)
		src="measured now in $LIBMBUS_DIR"
	else
		echo "decode-bench: no libmbus build in LIBMBUS_DIR=$LIBMBUS_DIR: recorded figures"
	fi
fi

# ratio A B: A / B with one decimal
ratio() {
	echo "$1 $2" | awk '{ printf "%.1fx", $1 / $2 }'
}

echo "decode-bench: $frames frames x $N passes (callgrind Ir per frame)"
echo "libmbus: $src"
printf '%-34s %9s %9s  %s\n' "" n_mbus libmbus "libmbus / n_mbus"
printf '%-34s %9s %9s  %s\n' "decode only" "$dec" "$LIBMBUS_DECODE" \
	"$(ratio "$LIBMBUS_DECODE" "$dec") (target >= 10x)"
printf '%-34s %9s %9s  %s\n' "decode + JSON (vs libmbus XML)" "$json" \
	"$LIBMBUS_XML" "$(ratio "$LIBMBUS_XML" "$json") (target >= 10x)"
printf '%-34s %9s %9s  %s\n' "decode + XML" "$xml" "$LIBMBUS_XML" \
	"$(ratio "$LIBMBUS_XML" "$xml") (target >= 10x)"
printf '%-34s %9s %9s  %s\n' "decode + XML normalized" "$norm" \
	"$LIBMBUS_XML_NORM" "$(ratio "$LIBMBUS_XML_NORM" "$norm") (target >= 10x)"
echo "decode only with the benchmark's own loop: $loop"
"$BIN" -n 2000 "$CORPUS" | sed 's/^/native: /'
"$BIN" -n 2000 -j "$CORPUS" | sed 's/^/native: /'
"$BIN" -n 2000 -p "$CORPUS" | sed 's/^/native: /'
