// keyward: envelope encryption for apps — one function pair per subcommand.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "tools/common/token_context.h"

namespace keyward::cli {

struct EnvelopeCommand {
  TokenOptions token;
  std::string kek_family;
  std::vector<std::string> context;  // k=v
  std::string in, out;
  unsigned threads = 1;
  std::uint32_t segment_size = 1024 * 1024;
  bool json = false;
  bool force = false;  // --force: replace an existing regular OUT
};

void add_encrypt_command(CLI::App& app, EnvelopeCommand& command);
int run_encrypt(const EnvelopeCommand& command);
void add_decrypt_command(CLI::App& app, EnvelopeCommand& command);
int run_decrypt(const EnvelopeCommand& command);
void add_inspect_command(CLI::App& app, EnvelopeCommand& command);
int run_inspect(const EnvelopeCommand& command);

}  // namespace keyward::cli
