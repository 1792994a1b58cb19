// keyward-token: developer tool for tokens — set up a fresh token, report what keyward sees.
#include <CLI/CLI.hpp>

#include "tools/common/cli.h"
#include "tools/keyward_token/commands.h"

int main(int argc, char** argv) {
  keyward::cli::harden_process();
  CLI::App app{"keyward-token: set up a fresh PKCS#11 token and report what keyward sees in one"};
  app.require_subcommand(1);
  keyward::cli::InitTokenCommand init;
  keyward::cli::ReportCommand report;
  keyward::cli::add_init_token_command(app, init);
  keyward::cli::add_report_command(app, report);
  bool done = false;
  int code = keyward::cli::parse_or_exit(app, argc, argv, done);
  if (done) return code;
  if (app.got_subcommand("init")) return keyward::cli::run_init_token(init);
  return keyward::cli::run_report(report);
}
