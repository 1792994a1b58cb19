// keyward-rotate: one function pair per subcommand.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "tools/common/token_context.h"

namespace keyward::cli {

struct RotateOptions {
  TokenOptions token;
  std::string catalog = "keyward-catalog.db";
  std::string kek_family;
  unsigned version = 0;
  unsigned workers = 1;
  std::size_t batch = 1000;
  std::vector<std::string> paths;
  std::string escrow;
  bool accept_data_loss = false;
  std::string scope;
  bool json = false;
  // worker (internal): which shard of how many
  unsigned shard = 0, shards = 1;
  std::uint32_t target = 0;
  std::int64_t run_id = 0;  // the run whose claimed batches this worker counts (PostgreSQL)
};

void add_rotate_commands(CLI::App& app, RotateOptions& options);
int run_start(const RotateOptions& options);
int run_rotation(const RotateOptions& options, const char* self_path);
int run_worker(const RotateOptions& options);
int run_status(const RotateOptions& options);
int run_retire(const RotateOptions& options);
int run_shred(const RotateOptions& options);

}  // namespace keyward::cli
