#include "tools/keyward_rotate/progress.h"

#include <unistd.h>

#include <cstdio>

namespace keyward::cli {

ProgressDisplay::ProgressDisplay(std::string phase, std::uint64_t total, bool json)
    : phase_(std::move(phase)), total_(total), json_(json), terminal_(isatty(2) == 1), start_(std::chrono::steady_clock::now()) {}

void ProgressDisplay::update(std::uint64_t done, std::uint64_t total) {
  if (total != 0) total_ = total;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_print_ < std::chrono::milliseconds(json_ ? 500 : 200)) {
    if (terminal_ || json_ || total_ == 0 || done * 10 / total_ == last_decile_) return;
  }
  last_print_ = now;
  print(done, false);
}

void ProgressDisplay::finish(std::uint64_t done) {
  if (total_ < done) total_ = done;
  if (!terminal_ && !json_ && last_printed_ == done) return;  // the last line already said it
  print(done, true);
}

void ProgressDisplay::print(std::uint64_t done, bool final) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  const double eta = rate > 0 && total_ > done ? static_cast<double>(total_ - done) / rate : 0;
  const double percent = total_ ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 100.0;
  if (json_) {
    std::printf("{\"phase\":\"%s\",\"done\":%llu,\"total\":%llu,\"rate_per_s\":%.0f,\"eta_s\":%.1f,\"final\":%s}\n",
                phase_.c_str(), static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_), rate, eta,
                final ? "true" : "false");
    std::fflush(stdout);
    return;
  }
  if (!terminal_) {
    if (total_ == 0 && !final) return;
    const std::uint64_t decile = total_ ? done * 10 / total_ : 10;
    if (!final && decile == last_decile_) return;
    last_decile_ = decile;
  }
  last_printed_ = done;
  std::fprintf(stderr, "%s%s: %llu/%llu (%.1f%%), %.0f/s, ETA %.0fs%s", terminal_ ? "\r\033[K" : "", phase_.c_str(),
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_), percent, rate, eta,
               terminal_ && !final ? "" : "\n");
}

}  // namespace keyward::cli
