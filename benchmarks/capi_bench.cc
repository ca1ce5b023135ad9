// capi_bench: issuance through the C ABI, to compare with the C++ API.
//
// Figure (key of benchmarks/out/summary.json):
// - capi.issuance_1thread_per_s: the workload of issuance_bench's
//   issuance.memory_1thread_per_s (a CA on the memory store, one
//   pre-generated sign token per call, 16 pre-built CSRs, one Sign per
//   iteration), but through mayfly_ca_sign with pre-parsed mayfly_csr_t
//   handles, freeing the returned chain each time.
// Target (issue #8): >= 0.95 x issuance.memory_1thread_per_s.
//
// Only mayfly/c.h is used, against the shared library, as a binding would.
// The CA is made the way a binding makes one: mayfly_pki_init into a
// temporary folder, mayfly_ca_open on the memory store, and a provisioner
// added with a key the benchmark holds. Like issuance_bench, it widens its
// CPU affinity to every core first (benchmarks/run pins each binary to one)
// so that both figures are measured under the same affinity.

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_util.h"
#include "benchmark/benchmark.h"
#include "mayfly/c.h"

namespace {

constexpr char kCaUrl[] = "https://localhost:9000";
constexpr char kName[] = "svc.example.com";

// Bench is the CA, a token signer for its "bench" provisioner and the CSRs,
// made once and never freed (like issuance_bench's).
struct Bench {
  mayfly_ca_t* ca = nullptr;
  mayfly_token_signer_t* signer = nullptr;
  std::string root_fingerprint;
  std::vector<mayfly_csr_t*> csrs;
  std::string error;
};

// Fail records the error of a failed call (and frees it).
bool Fail(Bench& b, const char* what, mayfly_error_t* err) {
  b.error = std::string(what) + ": " + mayfly_error_message(err);
  mayfly_error_free(err);
  return false;
}

// MakeCa writes a PKI into a temporary folder, opens it on the memory store
// and removes the folder: the CA reads its files only when opened.
bool MakeCa(Bench& b) {
  char dir[] = "/tmp/capi_bench.XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    b.error = "mkdtemp failed";
    return false;
  }
  mayfly_init_options_t* opts = mayfly_init_options_new();
  mayfly_init_result_t* result = nullptr;
  mayfly_error_t* err = nullptr;
  bool ok = opts != nullptr &&
            mayfly_init_options_set_dir(opts, dir) == MAYFLY_OK &&
            mayfly_init_options_set_name(opts, "Bench") == MAYFLY_OK &&
            mayfly_init_options_set_password(opts, "password") == MAYFLY_OK &&
            mayfly_init_options_set_store(opts, "memory:") == MAYFLY_OK &&
            mayfly_init_options_set_kdf_iterations(opts, 1000) == MAYFLY_OK;
  if (!ok) {
    b.error = "init options refused";
  } else if (mayfly_pki_init(opts, &result, &err) != MAYFLY_OK) {
    ok = Fail(b, "mayfly_pki_init", err);
  } else if (mayfly_ca_open(mayfly_init_result_config_path(result), "password",
                            "memory:", &b.ca, &err) != MAYFLY_OK) {
    ok = Fail(b, "mayfly_ca_open", err);
  } else {
    b.root_fingerprint = mayfly_init_result_root_fingerprint(result);
  }
  mayfly_init_result_free(result);
  mayfly_init_options_free(opts);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return ok;
}

// AddProvisioner adds "bench" for a new key (default claims, PBES2 with 1000
// iterations as issuance_bench's) and makes its signer.
bool AddProvisioner(Bench& b) {
  mayfly_key_t* key = nullptr;
  mayfly_provisioner_options_t* opts = mayfly_provisioner_options_new();
  mayfly_error_t* err = nullptr;
  bool ok = opts != nullptr && mayfly_provisioner_options_set_kdf_iterations(
                                   opts, 1000) == MAYFLY_OK;
  if (!ok) {
    b.error = "provisioner options refused";
  } else if (mayfly_key_generate(MAYFLY_KEY_P256, &key, &err) != MAYFLY_OK) {
    ok = Fail(b, "mayfly_key_generate", err);
  } else if (mayfly_ca_add_provisioner(b.ca, "bench", key, "password", opts,
                                       &err) != MAYFLY_OK) {
    ok = Fail(b, "mayfly_ca_add_provisioner", err);
  } else if (mayfly_token_signer_new(key, nullptr, "bench", &b.signer, &err) !=
             MAYFLY_OK) {
    ok = Fail(b, "mayfly_token_signer_new", err);
  }
  mayfly_key_free(key);
  mayfly_provisioner_options_free(opts);
  return ok;
}

// MakeCsrs builds 16 CSRs for kName, each with its own key.
bool MakeCsrs(Bench& b) {
  const char* sans[] = {kName};
  for (int i = 0; i < 16; i++) {
    mayfly_key_t* key = nullptr;
    mayfly_csr_t* csr = nullptr;
    mayfly_error_t* err = nullptr;
    if (mayfly_key_generate(MAYFLY_KEY_P256, &key, &err) != MAYFLY_OK) {
      return Fail(b, "mayfly_key_generate", err);
    }
    int rc = mayfly_csr_new(key, kName, sans, 1, &csr, &err);
    mayfly_key_free(key);
    if (rc != MAYFLY_OK) {
      return Fail(b, "mayfly_csr_new", err);
    }
    b.csrs.push_back(csr);
  }
  return true;
}

Bench& GetBench() {
  static Bench* bench = [] {
    auto* b = new Bench;  // never destroyed
    if (MakeCa(*b) && AddProvisioner(*b)) {
      MakeCsrs(*b);
    }
    return b;
  }();
  return *bench;
}

// Tokens mints `n` sign tokens (outside the timed loop), as issuance_bench
// does: subject = the only SAN, the CA URL's audience, the root pinned.
bool Tokens(Bench& b, int64_t n, std::vector<char*>* out,
            benchmark::State& state) {
  mayfly_token_options_t* opts = mayfly_token_options_new();
  if (opts == nullptr ||
      mayfly_token_options_set_subject(opts, kName) != MAYFLY_OK ||
      mayfly_token_options_set_ca_url(opts, kCaUrl) != MAYFLY_OK ||
      mayfly_token_options_set_root_fingerprint(
          opts, b.root_fingerprint.c_str()) != MAYFLY_OK) {
    mayfly_token_options_free(opts);
    state.SkipWithError("token options refused");
    return false;
  }
  out->reserve(static_cast<size_t>(n));
  bool ok = true;
  for (int64_t i = 0; i < n && ok; i++) {
    char* token = nullptr;
    mayfly_error_t* err = nullptr;
    if (mayfly_token_sign(b.signer, opts, &token, nullptr, &err) != MAYFLY_OK) {
      state.SkipWithError(mayfly_error_message(err));
      mayfly_error_free(err);
      ok = false;
    } else {
      out->push_back(token);
    }
  }
  mayfly_token_options_free(opts);
  return ok;
}

void BM_CapiSign(benchmark::State& state) {
  Bench& b = GetBench();
  if (!b.error.empty()) {
    state.SkipWithError(b.error.c_str());
    return;
  }
  std::vector<char*> tokens;
  if (Tokens(b, static_cast<int64_t>(state.max_iterations), &tokens, state)) {
    size_t i = 0;
    for (auto _ : state) {
      mayfly_chain_t* chain = nullptr;
      mayfly_error_t* err = nullptr;
      if (mayfly_ca_sign(b.ca, b.csrs[i % b.csrs.size()], tokens[i], nullptr,
                         nullptr, &chain, &err) != MAYFLY_OK) {
        state.SkipWithError(mayfly_error_message(err));
        mayfly_error_free(err);
        break;
      }
      benchmark::DoNotOptimize(mayfly_chain_get(chain, 0));
      mayfly_chain_free(chain);
      i++;
    }
  }
  for (char* token : tokens) {
    mayfly_free(token);
  }
  state.counters["capi.issuance_1thread_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_CapiSign)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  mayfly_bench::UnpinToAllCores();
  return mayfly_bench::RunBenchmarks(argc, argv);
}
