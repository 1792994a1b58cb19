// keyward-token report: module, token and the mechanisms keyward needs (present or missing).
#include <nlohmann/json.hpp>

#include <iostream>

#include "pkcs11/connection.h"
#include "pkcs11/mechanisms.h"
#include "tools/common/cli.h"
#include "tools/keyward_token/commands.h"

namespace keyward::cli {

void add_report_command(CLI::App& app, ReportCommand& command) {
  auto* sub = app.add_subcommand("report", "Show the token and whether it has every mechanism keyward needs");
  add_token_option(*sub, command.token_uri);
  sub->add_flag("--json", command.json, "machine-readable output");
}

int run_report(const ReportCommand& command) {
  auto uri = parse_token_option(command.token_uri);
  if (!uri) return report("keyward-token", uri.error());
  // Reading token info and mechanisms needs no login.
  auto connection = p11::Connection::open(*uri, p11::ConnectOptions{.login = false});
  if (!connection) return report("keyward-token", connection.error());
  const auto& token = (*connection)->token();
  auto module_info = token.module()->info();
  if (!module_info) return report("keyward-token", module_info.error());
  auto mechanisms = p11::check_mechanisms(token);
  if (!mechanisms) return report("keyward-token", mechanisms.error());

  bool all_required = true;
  nlohmann::json out;
  out["module"] = {{"path", token.module()->options().path},
                   {"manufacturer", module_info->manufacturer},
                   {"description", module_info->description},
                   {"cryptoki", std::to_string(module_info->cryptoki_major) + "." +
                                    std::to_string(module_info->cryptoki_minor)}};
  const auto& info = token.info();
  out["token"] = {{"label", info.label},  {"serial", info.serial},
                  {"model", info.model},  {"manufacturer", info.manufacturer},
                  {"slot", info.slot},    {"user_pin_initialized", info.user_pin_initialized()}};
  for (const auto& status : *mechanisms) {
    if (status.requirement.required && !status.flags_ok) all_required = false;
    out["mechanisms"].push_back({{"name", p11::mechanism_name(status.requirement.type)},
                                 {"present", status.present},
                                 {"usable", status.flags_ok},
                                 {"required", status.requirement.required},
                                 {"purpose", status.requirement.purpose}});
  }
  out["ready"] = all_required;
  if (command.json) {
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "module:  " << token.module()->options().path << " (" << module_info->manufacturer << ", "
              << module_info->description << ", Cryptoki " << out["module"]["cryptoki"].get<std::string>() << ")\n";
    std::cout << "token:   " << info.describe() << "\n";
    std::cout << "mechanisms keyward needs:\n";
    for (const auto& status : *mechanisms) {
      const char* state = status.flags_ok ? "present" : status.present ? "present, lacks flags" : "MISSING";
      std::cout << "  " << (status.flags_ok ? "[ok]  " : "[--]  ") << p11::mechanism_name(status.requirement.type)
                << " — " << state << (status.requirement.required ? "" : " (optional)") << ": "
                << status.requirement.purpose << "\n";
    }
    std::cout << (all_required ? "token is ready for keyward\n" : "token LACKS required mechanisms\n");
  }
  return all_required ? kExitOk : kExitFailed;
}

}  // namespace keyward::cli
