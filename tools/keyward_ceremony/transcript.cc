// keyward-ceremony transcript verify FILE
#include <iostream>

#include "ceremony/ceremony_transcript.h"
#include "tools/common/cli.h"
#include "base/files.h"
#include "tools/keyward_ceremony/commands.h"

namespace keyward::cli {

void add_transcript_command(CLI::App& app, TranscriptCommand& command) {
  auto* transcript = app.add_subcommand("transcript", "Work with ceremony transcripts");
  transcript->require_subcommand(1);
  auto* verify = transcript->add_subcommand("verify", "Check a transcript's hash chain and every signature");
  verify->add_option("FILE", command.file, "the transcript (JSON lines)")->required()->check(CLI::ExistingFile);
  verify->add_option("--public-key", command.public_key,
                     "PEM file of the signer's key to trust (default: the key in the header; compare its fingerprint)")
      ->check(CLI::ExistingFile);
}

int run_transcript_verify(const TranscriptCommand& command) {
  std::optional<std::string> key;
  if (!command.public_key.empty()) {
    auto pem = read_small_file(command.public_key, 64 * 1024);
    if (!pem) return report("keyward-ceremony", pem.error());
    key = *pem;
  }
  auto summary = ceremony::verify_transcript(command.file, key);
  if (!summary) return report("keyward-ceremony", summary.error());
  std::cout << "transcript OK: " << summary->lines << " lines, chain and signatures verify\n"
            << "  head hash:          " << summary->head_hash << "\n"
            << "  signer key SHA-256: " << summary->public_key_sha256
            << (key ? " (the key given with --public-key)" : " (from the header: compare with the recorded fingerprint)") << "\n";
  return kExitOk;
}

}  // namespace keyward::cli
