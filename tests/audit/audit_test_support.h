// Shared by the audit tests: the test token's anchor (one per process: each opens a libp11 context
// that lives until exit), fresh log paths, and editing a log's lines as an attacker would.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "audit/log_writer.h"
#include "audit/token_anchor.h"
#include "tests/support/test_token.h"

// A Status or Result expected to be ok, with its message when it is not.
#define AUDIT_EXPECT_OK(expr)                                                    \
  do {                                                                           \
    auto audit_status_ = (expr);                                                 \
    EXPECT_TRUE(audit_status_) << #expr << ": " << audit_status_.error().message; \
  } while (0)

namespace keyward::audit::testing {

inline std::shared_ptr<TokenAnchor> test_anchor() {
  static std::shared_ptr<TokenAnchor> anchor = [] {
    auto opened = TokenAnchor::open(keyward::testing::connect_test_token(), /*create_key=*/true);
    if (!opened) throw std::runtime_error("audit anchor: " + opened.error().message);
    return *opened;
  }();
  return anchor;
}

inline std::string fresh_log_path(const std::string& name) {
  static int counter = 0;
  return keyward::testing::scratch_dir("audit") + "/" + name + "-" + std::to_string(++counter) + ".jsonl";
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const auto& line : lines) out << line << '\n';
}

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Options that make no background thread, so tests decide when checkpoints happen.
inline WriterOptions manual_options(std::uint64_t checkpoint_every = 1000) {
  WriterOptions options;
  options.background = false;
  options.checkpoint_every_records = checkpoint_every;
  return options;
}

}  // namespace keyward::audit::testing
