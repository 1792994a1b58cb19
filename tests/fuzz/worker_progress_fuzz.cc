// The progress lines `keyward-rotate run` reads from its worker processes' pipes
// (rotation/worker_processes.h). Properties: never crashes; a line that parses carries exactly the
// count its JSON holds; every line a worker writes parses back to its count.
#include <nlohmann/json.hpp>

#include <string>

#include "rotation/worker_processes.h"
#include "tests/fuzz/fuzz_target.h"

using namespace keyward;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto line = fuzz::text_of(data, size);
  auto done = rotation::parse_worker_progress_line(line);
  if (done) {
    const auto j = nlohmann::json::parse(line);
    FUZZ_CHECK(j.at("done").is_number_unsigned() && j.at("done").get<std::uint64_t>() == *done);
  }
  std::uint64_t count = 0;
  for (std::size_t i = 0; i < std::min<std::size_t>(size, 8); ++i) count = count << 8 | data[i];
  std::string written = rotation::worker_progress_line(count);
  FUZZ_CHECK(!written.empty() && written.back() == '\n' && written.find('\n') == written.size() - 1);
  written.pop_back();
  FUZZ_CHECK(rotation::parse_worker_progress_line(written) == count);
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  std::vector<std::vector<std::uint8_t>> seeds;
  for (std::uint64_t count : {std::uint64_t{0}, std::uint64_t{1000}, UINT64_MAX}) {
    auto line = rotation::worker_progress_line(count);
    line.pop_back();
    seeds.push_back(fuzz::bytes_of(line));
  }
  return seeds;
}
