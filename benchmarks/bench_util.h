// What several benchmark programs share: widening the CPU affinity that
// benchmarks/run gives them, and Google Benchmark's main.

#ifndef MAYFLY_BENCHMARKS_BENCH_UTIL_H_
#define MAYFLY_BENCHMARKS_BENCH_UTIL_H_

#include <sched.h>
#include <unistd.h>

#include "benchmark/benchmark.h"

namespace mayfly_bench {

// UnpinToAllCores widens the affinity to every online core: benchmarks/run
// pins each binary to one, and a figure with two threads needs two.
inline void UnpinToAllCores() {
  cpu_set_t all;
  CPU_ZERO(&all);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  for (long i = 0; i < n && i < CPU_SETSIZE; i++) {
    CPU_SET(static_cast<int>(i), &all);
  }
  sched_setaffinity(0, sizeof(all), &all);
}

// RunBenchmarks is BENCHMARK_MAIN's body.
inline int RunBenchmarks(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace mayfly_bench

#endif  // MAYFLY_BENCHMARKS_BENCH_UTIL_H_
