// standalone_main: a main() for fuzz targets when there is no libFuzzer (a
// g++ build). Runs LLVMFuzzerTestOneInput once on each file named on the
// command line, or on each regular file (sorted) of a directory named there,
// so CTest can replay the seed corpus and saved crashes as regression tests.
//
//   jws_parse_fuzz tests/testdata/fuzz-corpus/jws_parse [more files or dirs]
//
// Exits 1 if a path cannot be read or no input was found; a failing
// property aborts.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc,
                                                          char*** argv);

namespace {

bool RunFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return false;
  }
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
  // A heap copy of exactly `size` bytes, so ASan sees reads past the end.
  std::unique_ptr<uint8_t[]> exact(new uint8_t[data.size()]);
  std::copy(data.begin(), data.end(), exact.get());
  LLVMFuzzerTestOneInput(exact.get(), data.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) {
    LLVMFuzzerInitialize(&argc, &argv);
  }
  size_t runs = 0;
  bool ok = true;
  for (int i = 1; i < argc; i++) {
    std::filesystem::path path(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
        if (entry.is_regular_file()) {
          files.push_back(entry.path());
        }
      }
      if (ec) {
        std::fprintf(stderr, "cannot list %s: %s\n", path.c_str(),
                     ec.message().c_str());
        ok = false;
      }
      std::sort(files.begin(), files.end());
      for (const auto& file : files) {
        ok = RunFile(file) && ok;
        runs++;
      }
    } else {
      ok = RunFile(path) && ok;
      runs++;
    }
  }
  if (runs == 0) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIR...: no inputs found\n",
                 argv[0]);
    return 1;
  }
  std::printf("%s: ran %zu inputs\n", argv[0], runs);
  return ok ? 0 : 1;
}
