// keyward-rotate: rewrap every DEK under a new KEK version inside the token, without touching data.
#include <CLI/CLI.hpp>

#include "tools/common/cli.h"
#include "tools/keyward_rotate/commands.h"

int main(int argc, char** argv) {
  using namespace keyward::cli;
  harden_process();
  CLI::App app{"keyward-rotate: KEK rotation (start, run, status, retire) and crypto-shredding"};
  app.require_subcommand(1);
  RotateOptions options;
  add_rotate_commands(app, options);
  bool done = false;
  int code = parse_or_exit(app, argc, argv, done);
  if (done) return code;
  if (app.got_subcommand("start")) code = run_start(options);
  else if (app.got_subcommand("run")) code = run_rotation(options, argv[0]);
  else if (app.got_subcommand("worker")) code = run_worker(options);
  else if (app.got_subcommand("status")) code = run_status(options);
  else if (app.got_subcommand("retire")) code = run_retire(options);
  else code = run_shred(options);
  return finish_audit("keyward-rotate", code);
}
