// keyward-ceremony replicate --from URI --to URI: every KEK version of one token copied to another that
// holds the same root (bringing a token into a set; docs/CEREMONY.md "Bringing a token into a set").
#include <iostream>

#include "ceremony/replicate.h"
#include "tools/common/cli.h"
#include "tools/keyward_ceremony/commands.h"

namespace keyward::cli {

void add_replicate_command(CLI::App& app, ReplicateCommand& command) {
  auto* sub = app.add_subcommand("replicate", "Copy every KEK version of one token to another holding the same root (blob "
                                              "flow, checked by fingerprint): brings a token into a set");
  sub->add_option("--from", command.from.uri, "PKCS#11 URI of a token of the set")->required()->type_name("URI");
  sub->add_option("--to", command.to.uri, "PKCS#11 URI of the token to bring in (its root recovered from the shares)")
      ->required()
      ->type_name("URI");
  sub->add_flag("--accept-module-limits", command.from.accept_module_limits, "see --help of the other commands");
  sub->add_option("--transcript", command.common.transcript_path, "the ceremony transcript (signed in the target token)")
      ->capture_default_str();
  sub->add_option("--operator", command.common.operator_name, "name of the operator, recorded in the transcript");
  sub->add_option("--witness", command.common.witness_name, "name of the witness, recorded in the transcript");
}

int run_replicate(ReplicateCommand command) {
  for (const auto* uri : {&command.from.uri, &command.to.uri})
    if (uri->find("pin-value=") != std::string::npos)
      return report(kTool, Error{ErrorCategory::usage,
                                 "refusing pin-value in a URI on the command line: use pin-source=file:PATH", std::nullopt});
  command.to.accept_module_limits = command.from.accept_module_limits;
  auto from = open_token(command.from);
  if (!from) return report(kTool, from.error());
  auto to = open_token(command.to);
  if (!to) return report(kTool, to.error());
  const auto from_name = from->connection->token().info().describe();
  const auto to_name = to->connection->token().info().describe();
  auto copied = ceremony::replicate_keks(*from->hierarchy, *to->hierarchy, from_name, to_name);
  if (!copied) return report(kTool, copied.error());
  auto log = open_ceremony_log(command.common, *to);
  if (!log) return report(kTool, log.error());
  nlohmann::json record{{"from", from_name}, {"to", to_name}, {"copied", nlohmann::json::array()}};
  for (const auto& kek : copied->copied)
    record["copied"].push_back({{"label", kek.ref.label()}, {"kw_fingerprint", kek.kcv.kw_fingerprint}});
  if (auto recorded = log->record("replicate", record); !recorded) return report(kTool, recorded.error());
  for (const auto& kek : copied->copied)
    std::cout << "copied " << kek.ref.label() << " (KCV " << kek.kcv.kw_fingerprint << ")\n";
  std::cout << to_name << " now holds the same root and " << (copied->copied.size() + copied->present.size())
            << " KEK version(s) as " << from_name << " (" << copied->present.size() << " were there already)\n";
  return kExitOk;
}

}  // namespace keyward::cli
