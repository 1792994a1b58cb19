// The fuzz targets' main() in the g++ builds (plain and ASan+UBSan), where libFuzzer is not the
// driver. ctest runs each target as fuzz.<name>: every committed corpus file (the seeds and every
// reproducer of a past finding) once, then seeded mutations of the corpus (fixed seed, so a failure
// reproduces): flips, truncations, insertions, splices. Coverage-guided runs are the libFuzzer build's
// (tests/fuzz/CMakeLists.txt, `make fuzz`).
//
//   <target> [ITERATIONS] [CORPUS_DIR]...   replay the corpus, then ITERATIONS mutations
//   <target> --write-seeds DIR              write fuzz_seeds() to DIR (tests/fuzz/write_seeds.sh)
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "tests/fuzz/fuzz_target.h"
#include "tests/fuzz/seed_writer.h"

namespace {

// The input being run, written to ./fuzz-failure-input when a property check aborts, to reproduce it
// with the libFuzzer build (`<target> fuzz-failure-input`) or to add to the corpus.
const std::vector<std::uint8_t>* current_input = nullptr;

extern "C" void save_current_input(int) {
  if (current_input != nullptr) {
    if (FILE* out = std::fopen("fuzz-failure-input", "wb")) {
      std::fwrite(current_input->data(), 1, current_input->size(), out);
      std::fclose(out);
    }
  }
  std::signal(SIGABRT, SIG_DFL);
}

void run(const std::vector<std::uint8_t>& input) {
  current_input = &input;
  LLVMFuzzerTestOneInput(input.data(), input.size());
  current_input = nullptr;
}

std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--write-seeds") == 0) return keyward::fuzz::write_seeds(argv[2]);
  const long iterations = argc > 1 ? std::atol(argv[1]) : 20000;
  auto inputs = fuzz_seeds();
  std::size_t corpus_files = 0;
  for (int i = 2; i < argc; ++i) {
    if (!std::filesystem::is_directory(argv[i])) continue;
    for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
      if (!entry.is_regular_file()) continue;
      inputs.push_back(read_file(entry.path()));
      ++corpus_files;
    }
  }
  inputs.push_back({});
  std::signal(SIGABRT, save_current_input);
  for (const auto& input : inputs) run(input);

  std::mt19937_64 rng(0x6b6579776172);  // fixed seed: failures reproduce
  for (long i = 0; i < iterations; ++i) {
    auto input = inputs[rng() % inputs.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 5) {
        case 0:
          if (!input.empty()) input[rng() % input.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
          break;
        case 1:
          if (!input.empty()) input.resize(rng() % input.size());
          break;
        case 2:
          input.insert(input.begin() + static_cast<long>(input.empty() ? 0 : rng() % input.size()), static_cast<std::uint8_t>(rng()));
          break;
        case 3:
          if (!input.empty()) input[rng() % input.size()] = static_cast<std::uint8_t>(rng());
          break;
        default: {
          const auto& other = inputs[rng() % inputs.size()];
          if (!other.empty()) input.insert(input.end(), other.begin() + static_cast<long>(rng() % other.size()), other.end());
        }
      }
    }
    run(input);
  }
  std::printf("%zu corpus files, %zu seeds and %ld mutated inputs: no crash, every property held\n", corpus_files,
              inputs.size() - corpus_files, iterations);
  return 0;
}
