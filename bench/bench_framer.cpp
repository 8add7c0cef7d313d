// The mbox framing pass alone, over an in-memory store built from the
// shared corpus (bench/make_mbox.py), reported in bytes per second.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "parsers/mbox/framer.h"

namespace {

const std::string& store() {
    static const std::string bytes = [] {
        const char* path = std::getenv("MAILFSCK_BENCH_MBOX");
        std::ifstream in(path ? path : "/tmp/mailfsck-bench.mbox", std::ios::binary);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }();
    return bytes;
}

void BM_Framer(benchmark::State& state) {
    const mailfsck::ByteView in(store());
    std::uint64_t segments = 0;
    for (auto _ : state) {
        mailfsck::mbox::Framer framer(in);
        while (auto s = framer.next()) ++segments;
    }
    benchmark::DoNotOptimize(segments);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_Framer)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
