// keyward-ceremony: one function pair per subcommand (add_* declares options, run_* does the work).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "ceremony/ceremony_log.h"
#include "tools/common/token_context.h"

namespace keyward::cli {

// How the ceremony tool names itself in messages.
inline constexpr std::string_view kTool = "keyward-ceremony";

// Flags every ceremony step records in the transcript.
struct CeremonyOptions {
  TokenOptions token;
  std::string transcript_path;  // --transcript FILE (default: ceremony-transcript.jsonl beside the outputs)
  std::string operator_name;    // --operator
  std::string witness_name;     // --witness
  bool json = false;
};
// `records`: the command changes the token, so it always appends to a transcript (default
// ceremony-transcript.jsonl); read-only commands record only when --transcript is given.
void add_ceremony_options(CLI::App& command, CeremonyOptions& options, bool records = true);
// Opens the transcript the options name on the token of `context`.
Result<ceremony::CeremonyLog> open_ceremony_log(const CeremonyOptions& options, TokenContext& context);
// With --so-pin-source: initialises the token the URI names first and prints where its user PIN went.
Status initialize_token_if_asked(const TokenOptions& token, const std::string& so_pin_source,
                                 const std::string& user_pin_out);

struct InitCommand {
  CeremonyOptions common;
  bool new_version = false;
  unsigned shares = 0, threshold = 0;
  std::string share_dir = ".";
  std::string so_pin_source;
  std::string token_label;        // label for a freshly initialised token
  std::string user_pin_out;       // where a fresh token's user PIN is written (0600)
  std::string passphrase_source;  // optional custodian passphrase for the share files
};
void add_init_command(CLI::App& app, InitCommand& command);
int run_init(const InitCommand& command);

struct KekCommand {
  CeremonyOptions common;
  std::string family;
  unsigned version = 0;
  std::string file;
  std::string out;
};
void add_kek_commands(CLI::App& app, KekCommand& command);
int run_kek(const CLI::App& kek_app, const KekCommand& command);

struct VerifyCommand {
  CeremonyOptions common;
};
void add_verify_command(CLI::App& app, VerifyCommand& command);
int run_verify(const VerifyCommand& command);

struct RecoverCommand {
  CeremonyOptions common;
  std::vector<std::string> share_files;
  std::string passphrase_source;
  std::string expect_kcv;
  std::string so_pin_source;
  std::string user_pin_out;
};
void add_recover_command(CLI::App& app, RecoverCommand& command);
int run_recover(const RecoverCommand& command);

struct ReplicateCommand {
  CeremonyOptions common;  // transcript, operator, witness (the token options are --from and --to)
  TokenOptions from, to;
};
void add_replicate_command(CLI::App& app, ReplicateCommand& command);
int run_replicate(ReplicateCommand command);

struct TranscriptCommand {
  std::string file;
  std::string public_key;  // PEM file; default: the key embedded in the transcript's first line
};
void add_transcript_command(CLI::App& app, TranscriptCommand& command);
int run_transcript_verify(const TranscriptCommand& command);

}  // namespace keyward::cli
