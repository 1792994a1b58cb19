// Writing a target's fuzz_seeds() as its corpus (tests/fuzz/write_seeds.sh), in both builds:
//   <target> --write-seeds DIR
// The g++ build's main() (standalone_driver.cc) and, in the libFuzzer build, LLVMFuzzerInitialize
// below (run before libFuzzer reads its flags) call it.
#include "tests/fuzz/seed_writer.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tests/fuzz/fuzz_target.h"

namespace keyward::fuzz {

// Seeds are named by content (FNV-1a), so rewriting them leaves unchanged seeds' files alone.
int write_seeds(const char* dir) {
  std::filesystem::create_directories(dir);
  int written = 0;
  for (const auto& seed : fuzz_seeds()) {
    std::uint64_t hash = 14695981039346656037ull;
    for (auto byte : seed) hash = (hash ^ byte) * 1099511628211ull;
    char name[32];
    std::snprintf(name, sizeof name, "seed-%016llx", static_cast<unsigned long long>(hash));
    std::ofstream(std::filesystem::path(dir) / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(seed.data()), static_cast<std::streamsize>(seed.size()));
    ++written;
  }
  std::printf("%d seeds written to %s\n", written, dir);
  return 0;
}

}  // namespace keyward::fuzz

#ifdef KEYWARD_LIBFUZZER
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  if (*argc == 3 && std::strcmp((*argv)[1], "--write-seeds") == 0) std::exit(keyward::fuzz::write_seeds((*argv)[2]));
  return 0;
}
#endif
