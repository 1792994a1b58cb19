// Rotation progress: counts, rate and ETA on a terminal (one updating line on stderr), or JSON lines
// on stdout with --json, or a line per 10% otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace keyward::cli {

class ProgressDisplay {
 public:
  ProgressDisplay(std::string phase, std::uint64_t total, bool json);
  // `total` (when non-zero) replaces the total given at construction (file counts are known late).
  void update(std::uint64_t done, std::uint64_t total = 0);
  void finish(std::uint64_t done);

 private:
  void print(std::uint64_t done, bool final);
  std::string phase_;
  std::uint64_t total_;
  bool json_, terminal_;
  std::chrono::steady_clock::time_point start_, last_print_{};
  std::uint64_t last_decile_ = 0;
  std::uint64_t last_printed_ = UINT64_MAX;
};

}  // namespace keyward::cli
