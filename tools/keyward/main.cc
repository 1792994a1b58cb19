// keyward: envelope encryption on the CPU with keys from the HSM. Thin over the library.
#include <CLI/CLI.hpp>

#include "tools/common/cli.h"
#include "tools/keyward/audit_command.h"
#include "tools/keyward/commands.h"
#include "tools/keyward/field_command.h"

int main(int argc, char** argv) {
  using namespace keyward::cli;
  harden_process();
  CLI::App app{"keyward: envelope encryption (AES-256-GCM on the CPU, keys wrapped in a PKCS#11 token)"};
  app.require_subcommand(1);
  EnvelopeCommand encrypt, decrypt, inspect;
  add_encrypt_command(app, encrypt);
  add_decrypt_command(app, decrypt);
  add_inspect_command(app, inspect);
  FieldCommand field;
  add_field_commands(app, field);
  AuditCommand audit;
  add_audit_commands(app, audit);
  bool done = false;
  int code = parse_or_exit(app, argc, argv, done);
  if (done) return code;
  if (app.got_subcommand("encrypt")) return run_encrypt(encrypt);
  if (app.got_subcommand("decrypt")) return run_decrypt(decrypt);
  if (app.got_subcommand("field")) return run_field(*app.get_subcommand("field"), field);
  if (app.got_subcommand("audit")) return run_audit(*app.get_subcommand("audit"), audit);
  return run_inspect(inspect);
}
