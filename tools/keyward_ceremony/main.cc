// keyward-ceremony: the HSM ceremony tool — root setup, KEKs, KCVs, M-of-N backup and recovery,
// signed transcript. Thin over the library: parse → call → print.
#include <CLI/CLI.hpp>

#include "tools/common/cli.h"
#include "tools/keyward_ceremony/commands.h"

int main(int argc, char** argv) {
  using namespace keyward::cli;
  harden_process();
  CLI::App app{"keyward-ceremony: set up and check keyward's key hierarchy in an HSM (PKCS#11)"};
  app.require_subcommand(1);
  InitCommand init;
  KekCommand kek;
  VerifyCommand verify;
  RecoverCommand recover;
  TranscriptCommand transcript;
  ReplicateCommand replicate;
  replicate.common.transcript_path = "ceremony-transcript.jsonl";
  add_init_command(app, init);
  add_kek_commands(app, kek);
  add_verify_command(app, verify);
  add_recover_command(app, recover);
  add_transcript_command(app, transcript);
  add_replicate_command(app, replicate);
  bool done = false;
  int code = parse_or_exit(app, argc, argv, done);
  if (done) return code;
  if (app.got_subcommand("init")) code = run_init(init);
  else if (app.got_subcommand("kek")) code = run_kek(*app.get_subcommand("kek"), kek);
  else if (app.got_subcommand("verify")) code = run_verify(verify);
  else if (app.got_subcommand("recover")) code = run_recover(recover);
  else if (app.got_subcommand("replicate")) code = run_replicate(replicate);
  else code = run_transcript_verify(transcript);
  return finish_audit("keyward-ceremony", code);
}
