#!/bin/bash -eu
# Builds every fuzz target into $OUT with its seed corpus, dictionary and options,
# as OSS-Fuzz and ClusterFuzzLite expect ($CC, $CFLAGS, $LIB_FUZZING_ENGINE, $OUT).
# Locally: CC=clang CFLAGS="-fsanitize=address,fuzzer-no-link" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer,address OUT=/tmp/out SRC=$PWD/.. .clusterfuzzlite/build.sh
cd "${SRC}/tunnelsim"
cmake -S . -B "${WORK:-/tmp}/tunnelsim-fuzz" -G Ninja -DTUNNELSIM_FUZZ=oss-fuzz \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_BUILD_TYPE=RelWithDebInfo
targets=$(for src in fuzz/fuzz_*.c; do basename "$src" .c; done)
cmake --build "${WORK:-/tmp}/tunnelsim-fuzz" --target $targets
for src in fuzz/fuzz_*.c; do
  t=$(basename "$src" .c)
  cp "${WORK:-/tmp}/tunnelsim-fuzz/fuzz/$t" "$OUT/"
  if [ -d "corpus/$t" ]; then (cd "corpus/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .); fi
  [ -f "fuzz/$t.dict" ] && cp "fuzz/$t.dict" "$OUT/"
  [ -f "fuzz/$t.options" ] && cp "fuzz/$t.options" "$OUT/"
done
