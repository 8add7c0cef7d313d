# Shared by fuzz/run.sh and fuzz/ci.sh (sourced from the project root).
shared=../shared/corpus/mail

# Builds every target with clang-14 under libFuzzer with ASan+UBSan, and
# cuts the PST layer targets' seeds from the shared corpus's PSTs (read in
# place, never committed) into build-fuzz/seeds/.
build_fuzz() {
  CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMAILFSCK_FUZZ=ON -DMAILFSCK_SANITIZE=ON -DMAILFSCK_TESTS=OFF >/dev/null
  # A failed build must stop the caller, not leave it running old binaries.
  local out
  if ! out=$(cmake --build build-fuzz -j "$(nproc)" 2>&1); then
    printf '%s\n' "$out" | grep -E -A3 'error|FAILED' >&2
    return 1
  fi
  if [ -d "$shared" ]; then
    find "$shared/../pst" -type f \( -name '*.pst' -o -name '*.ost' \) -size -4M -print0 \
      | xargs -0 python3 fuzz/layer_seeds.py build-fuzz/seeds >/dev/null
  fi
}

dict_for() {
  case $1 in
    fuzz_mime_walker|fuzz_header_block) echo fuzz/dict/mime.dict ;;
    fuzz_maildir_*) echo fuzz/dict/maildir.dict ;;
    fuzz_pst_*) echo fuzz/dict/pst.dict ;;
    *) echo fuzz/dict/mbox.dict ;;
  esac
}

# Whole PSTs of the corpus are a few hundred KB: mutate them whole.
max_len_for() {
  case $1 in fuzz_pst_scan|fuzz_pst_repair) echo 300000 ;; *) echo 65536 ;; esac
}
