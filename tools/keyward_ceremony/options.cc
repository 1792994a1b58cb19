// What every ceremony subcommand shares: transcript options, the transcript, a fresh token.
#include <iostream>

#include "ceremony/fresh_token.h"
#include "tools/common/cli.h"
#include "tools/keyward_ceremony/commands.h"

namespace keyward::cli {

void add_ceremony_options(CLI::App& command, CeremonyOptions& options, bool records) {
  if (records && options.transcript_path.empty()) options.transcript_path = "ceremony-transcript.jsonl";
  add_token_options(command, options.token);
  command.add_option("--transcript", options.transcript_path, "the ceremony transcript (JSON lines, signed in the token)")
      ->capture_default_str();
  command.add_option("--operator", options.operator_name, "name of the operator, recorded in the transcript");
  command.add_option("--witness", options.witness_name, "name of the witness, recorded in the transcript");
  command.add_flag("--json", options.json, "machine-readable output");
}

Result<ceremony::CeremonyLog> open_ceremony_log(const CeremonyOptions& options, TokenContext& context) {
  return ceremony::CeremonyLog::open({options.transcript_path, options.operator_name, options.witness_name},
                                     *context.connection, *context.hierarchy);
}

Status initialize_token_if_asked(const TokenOptions& token, const std::string& so_pin_source,
                                 const std::string& user_pin_out) {
  if (so_pin_source.empty()) return {};
  KW_ASSIGN_OR_RETURN(auto uri, parse_token_option(token.uri));
  KW_ASSIGN_OR_RETURN(auto fresh, ceremony::initialize_fresh_token_for(uri, so_pin_source, user_pin_out));
  std::cout << "initialised token " << fresh.description << "; user PIN written to " << fresh.user_pin_file
            << " (mode 0600)\n";
  return {};
}

}  // namespace keyward::cli
