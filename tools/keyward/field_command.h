#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "tools/common/token_context.h"

namespace keyward::cli {

struct FieldCommand {
  TokenOptions token;
  std::string catalog = "keyward-catalog.db";
  std::string scope, kek_family, suite = "randomized";
  std::vector<std::string> context;
  unsigned blind_index = 0;
  bool unscoped_values = false;  // lookup: also print version 1 (pre-scope-binding) values
};
void add_field_commands(CLI::App& app, FieldCommand& command);
int run_field(const CLI::App& field_app, const FieldCommand& command);

}  // namespace keyward::cli
