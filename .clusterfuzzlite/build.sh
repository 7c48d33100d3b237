#!/bin/bash -eu
# Builds every fuzz target into $OUT with its seed corpus, dictionary and options,
# as OSS-Fuzz and ClusterFuzzLite expect ($CC, $CFLAGS, $LIB_FUZZING_ENGINE, $OUT).
# Locally: CC=clang CFLAGS="-fsanitize=address,fuzzer-no-link" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer,address OUT=/tmp/out SRC=$PWD/.. .clusterfuzzlite/build.sh
# The shebang's -eu is lost under `bash build.sh`: say it here too.
set -eu
cd "${SRC}/tunnelsim"
# lwIP's source: third_party/lwip/ when scripts/deps.sh fetched it (a local run), else
# the tree the Dockerfile's Debian stage unpacked into $SRC/lwip.
lwip_src="$PWD/third_party/lwip"
if [ ! -f "$lwip_src/src/core/tcp.c" ]; then lwip_src="${SRC}/lwip"; fi
if [ ! -f "$lwip_src/src/core/tcp.c" ]; then
  echo "build.sh: no lwIP source in third_party/lwip or \$SRC/lwip; run scripts/deps.sh" >&2
  exit 1
fi
cmake -S . -B "${WORK:-/tmp}/tunnelsim-fuzz" -G Ninja -DTUNNELSIM_FUZZ=oss-fuzz \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTUNNELSIM_LWIP_SRC="$lwip_src"
targets=$(for src in fuzz/fuzz_*.c; do basename "$src" .c; done)
cmake --build "${WORK:-/tmp}/tunnelsim-fuzz" --target $targets
for src in fuzz/fuzz_*.c; do
  t=$(basename "$src" .c)
  cp "${WORK:-/tmp}/tunnelsim-fuzz/fuzz/$t" "$OUT/"
  if [ -d "corpus/$t" ]; then (cd "corpus/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .); fi
  # `if`, not `[ ] &&`: a missing file of the last target would be the script's status.
  if [ -f "fuzz/$t.dict" ]; then cp "fuzz/$t.dict" "$OUT/"; fi
  if [ -f "fuzz/$t.options" ]; then cp "fuzz/$t.options" "$OUT/"; fi
done
