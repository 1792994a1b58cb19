#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace keyward::cli {

struct InitTokenCommand {
  std::string module_path = KEYWARD_DEFAULT_MODULE;
  std::string init_reserved;
  std::string label;
  std::string so_pin_source;
  std::string user_pin_source;
};
void add_init_token_command(CLI::App& app, InitTokenCommand& command);
int run_init_token(const InitTokenCommand& command);

struct ReportCommand {
  std::string token_uri;
  bool json = false;
};
void add_report_command(CLI::App& app, ReportCommand& command);
int run_report(const ReportCommand& command);

}  // namespace keyward::cli
