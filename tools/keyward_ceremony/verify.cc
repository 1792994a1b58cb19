// keyward-ceremony verify: every keyward object, and every secret key, on the token against the key policy.
#include <iostream>

#include "ceremony/policy_record.h"
#include "hierarchy/policy_check.h"
#include "tools/common/cli.h"
#include "tools/keyward_ceremony/commands.h"

namespace keyward::cli {

void add_verify_command(CLI::App& app, VerifyCommand& command) {
  auto* verify = app.add_subcommand("verify", "Check every keyward object, and every secret key on the token (copies of roots and "
                                               "KEKs, survivors of retired KEKs, foreign wrapping keys), against the key policy "
                                               "(exit 1 on any deviation)");
  add_ceremony_options(*verify, command.common, /*records=*/false);
}

int run_verify(const VerifyCommand& command) {
  auto context = open_token(command.common.token);
  if (!context) return report("keyward-ceremony", context.error());
  // A set of tokens: each is checked (they were compared by fingerprint when the set opened).
  std::vector<hierarchy::KeyHierarchy*> tokens{context->hierarchy.get()};
  if (auto* set = dynamic_cast<hierarchy::TokenSet*>(context->hierarchy.get())) tokens = set->reached_tokens();
  auto result = hierarchy::verify_token_policy(*tokens.front());
  if (!result) return report("keyward-ceremony", result.error());
  for (std::size_t i = 1; i < tokens.size(); ++i) {
    auto more = hierarchy::verify_token_policy(*tokens[i]);
    if (!more) return report("keyward-ceremony", more.error());
    result->objects.insert(result->objects.end(), more->objects.begin(), more->objects.end());
    result->module_limits.insert(result->module_limits.end(), more->module_limits.begin(), more->module_limits.end());
  }

  const auto out = ceremony::policy_report_json(*result);
  if (!command.common.transcript_path.empty()) {
    auto log = open_ceremony_log(command.common, *context);
    if (!log) return report("keyward-ceremony", log.error());
    if (auto recorded = log->record("verify", out); !recorded) return report("keyward-ceremony", recorded.error());
  }
  if (command.common.json) {
    std::cout << out.dump(2) << "\n";
  } else {
    for (const auto& check : result->objects) {
      std::cout << (check.ok() ? "[ok]   " : "[FAIL] ") << check.label << " (" << check.kind << ")\n";
      for (const auto& d : check.deviations)
        std::cout << "         " << d.attribute << ": expected " << d.expected << ", found " << d.actual << " — " << d.why << "\n";
    }
    for (const auto& limit : result->module_limits) std::cout << "module limit: " << limit << "\n";
    std::cout << (result->ok() ? "all keyward objects conform to the key policy, and no other secret key on the token copies "
                                 "or can wrap keyward's keys\n"
                               : "policy deviations found\n");
  }
  if (result->objects.empty()) std::cerr << "keyward-ceremony: note: no keyward objects on this token\n";
  return result->ok() ? kExitOk : kExitFailed;
}

}  // namespace keyward::cli
