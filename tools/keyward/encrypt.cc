// keyward encrypt --kek NAME [--context k=v]... IN OUT
#include <iostream>

#include "tools/common/cli.h"
#include "tools/keyward/commands.h"
#include "tools/keyward/context_option.h"
#include "tools/keyward/open_client.h"

namespace keyward::cli {

void add_encrypt_command(CLI::App& app, EnvelopeCommand& command) {
  auto* sub = app.add_subcommand("encrypt", "Encrypt IN into an envelope OUT under a fresh DEK wrapped by KEK family NAME");
  add_token_options(*sub, command.token);
  sub->add_option("--kek", command.kek_family, "KEK family; the DEK is wrapped under its newest version")->required();
  sub->add_option("--context", command.context, "key=value bound to the ciphertext (repeat); decrypt needs the same");
  sub->add_option("--threads", command.threads, "threads for AES-GCM segments")->check(CLI::Range(1u, 64u))->capture_default_str();
  sub->add_option("--segment-size", command.segment_size, "plaintext bytes per segment")
      ->check(CLI::Range(4096u, 16u * 1024 * 1024))->capture_default_str();
  sub->add_option("IN", command.in, "plaintext file, or - for stdin")->required();
  sub->add_option("OUT", command.out, "envelope file to create, or - for stdout")->required();
  sub->add_flag("--force", command.force, "replace OUT if it is an existing file (default: refuse)");
}

int run_encrypt(const EnvelopeCommand& command) {
  auto context = parse_context(command.context);
  if (!context) return report("keyward", context.error());
  ClientOptions options;
  options.crypto_threads = command.threads;
  options.segment_size = command.segment_size;
  auto client = open_client(command.token, options);
  if (!client) return report("keyward", client.error());
  auto written = client->encrypt_file(command.kek_family, command.in, command.out, *context,
                                      FileOptions{.replace_existing = command.force});
  if (!written) return report("keyward", written.error());
  std::cerr << "keyward: encrypted " << written->plaintext_bytes << " bytes under " << command.kek_family << " v"
            << written->key.kek_version << " (DEK " << written->key.dek_id << ")\n";
  return kExitOk;
}

}  // namespace keyward::cli
