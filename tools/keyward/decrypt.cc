// keyward decrypt [--context k=v]... IN OUT
#include <iostream>

#include "tools/common/cli.h"
#include "tools/keyward/commands.h"
#include "tools/keyward/context_option.h"
#include "tools/keyward/open_client.h"

namespace keyward::cli {

void add_decrypt_command(CLI::App& app, EnvelopeCommand& command) {
  auto* sub = app.add_subcommand(
      "decrypt",
      "Decrypt envelope IN into OUT. A file OUT appears only after every segment and the key commitment verified (nothing "
      "is left on failure or kill); with OUT = - (stdout), a FIFO or a character device, each segment is written once "
      "verified, and the output is valid only if the exit status is 0");
  add_token_options(*sub, command.token);
  sub->add_option("--context", command.context, "the key=value pairs given at encryption (repeat)");
  sub->add_option("--threads", command.threads, "threads for AES-GCM segments")->check(CLI::Range(1u, 64u))->capture_default_str();
  sub->add_option("IN", command.in, "envelope file, or - for stdin")->required();
  sub->add_option("OUT", command.out, "plaintext file to create, or - for stdout")->required();
  sub->add_flag("--force", command.force, "replace OUT if it is an existing file (default: refuse)");
}

int run_decrypt(const EnvelopeCommand& command) {
  auto context = parse_context(command.context);
  if (!context) return report("keyward", context.error());
  ClientOptions options;
  options.crypto_threads = command.threads;
  auto client = open_client(command.token, options);
  if (!client) return report("keyward", client.error());
  auto summary = client->decrypt_file(command.in, command.out, *context, FileOptions{.replace_existing = command.force});
  if (!summary) return report("keyward", summary.error());
  const auto& key = summary->key;
  if (key.under_older_kek_version) {
    auto latest = client->newest_kek_version(key.kek_family);
    if (latest && *latest > key.kek_version)
      std::cerr << "keyward: note: this envelope's DEK is under " << key.kek_family << " v" << key.kek_version
                << "; the active version is v" << *latest << " (keyward-rotate run rewraps it)\n";
  }
  return kExitOk;
}

}  // namespace keyward::cli
