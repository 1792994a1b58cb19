// keyward-token init: initialise the module's first free slot as a token and set its user PIN, PINs read from files.
#include <iostream>

#include "pkcs11/module.h"
#include "pkcs11/pin_source.h"
#include "pkcs11/token_setup.h"
#include "tools/common/cli.h"
#include "tools/keyward_token/commands.h"

namespace keyward::cli {

void add_init_token_command(CLI::App& app, InitTokenCommand& command) {
  auto* sub = app.add_subcommand("init", "Initialise the module's first free token slot (SO and user PINs from files)");
  sub->add_option("--module", command.module_path, "PKCS#11 module path")->capture_default_str();
  sub->add_option("--x-init-reserved", command.init_reserved, "module initialisation string (pReserved; NSS softoken needs one)");
  sub->add_option("--label", command.label, "token label (1-32 bytes)")->required();
  sub->add_option("--so-pin-source", command.so_pin_source, "file:PATH or env:NAME holding the SO PIN")->required();
  sub->add_option("--user-pin-source", command.user_pin_source, "file:PATH or env:NAME holding the user PIN")
      ->required();
}

int run_init_token(const InitTokenCommand& command) {
  auto run = [&]() -> Result<p11::Token> {
    KW_ASSIGN_OR_RETURN(auto so_pin, p11::read_pin(command.so_pin_source, "SO PIN"));
    KW_ASSIGN_OR_RETURN(auto user_pin, p11::read_pin(command.user_pin_source, "user PIN"));
    p11::ModuleOptions options{command.module_path, std::nullopt};
    if (!command.init_reserved.empty()) options.init_reserved = command.init_reserved;
    KW_ASSIGN_OR_RETURN(auto module, p11::Module::load(options));
    return p11::initialize_fresh_token(module, command.label, so_pin, user_pin);
  };
  auto token = run();
  if (!token) return report("keyward-token", token.error());
  std::cout << "initialised token " << token->info().describe() << "\n";
  return kExitOk;
}

}  // namespace keyward::cli
