// keyward-ceremony kek create|list|export|import
#include <iostream>

#include "base/files.h"
#include "ceremony/kek_ceremony.h"
#include "tools/common/cli.h"
#include "tools/keyward_ceremony/commands.h"

namespace keyward::cli {
namespace {

int kek_create(const KekCommand& command) {
  auto context = open_token(command.common.token);
  if (!context) return report(kTool, context.error());
  auto log = open_ceremony_log(command.common, *context);
  if (!log) return report(kTool, log.error());
  auto created = context->hierarchy->create_kek(command.family);
  if (!created) {
    (void)log->record_failure("kek-create", created.error());
    return report(kTool, created.error());
  }
  // The blob beside the transcript: the KEK's backup, ciphertext under the root.
  auto blob_path = ceremony::write_kek_blob_file(log->output_dir(), *created);
  if (!blob_path) return report(kTool, blob_path.error());
  if (auto recorded = log->record("kek-create", ceremony::kek_create_record(*created, *blob_path)); !recorded)
    return report(kTool, recorded.error());
  std::cout << "created " << created->info.ref.label() << " (KCV " << created->info.kcv.kw_fingerprint
            << "), blob written to " << *blob_path << "\n";
  return kExitOk;
}

int kek_list(const KekCommand& command) {
  auto context = open_token(command.common.token);
  if (!context) return report(kTool, context.error());
  auto keks = ceremony::list_keks_with_state(*context->hierarchy);
  if (!keks) return report(kTool, keks.error());
  if (command.common.json) {
    std::cout << ceremony::kek_list_json(*keks).dump(2) << "\n";
    return kExitOk;
  }
  if (keks->empty()) std::cout << "no KEKs on the token (create one with: keyward-ceremony kek create NAME)\n";
  for (const auto& k : *keks)
    std::cout << k.info.ref.label() << "  " << (k.active ? "active" : "decrypt-only") << "  KCV "
              << k.info.kcv.kw_fingerprint << "\n";
  return kExitOk;
}

int kek_export(const KekCommand& command) {
  auto context = open_token(command.common.token);
  if (!context) return report(kTool, context.error());
  auto blob = context->hierarchy->export_kek(hierarchy::KekRef{command.family, command.version});
  if (!blob) return report(kTool, blob.error());
  if (command.out.empty() || command.out == "-") {
    std::cout << blob->to_json();
    return kExitOk;
  }
  if (auto written = write_new_file(command.out, blob->to_json(), 0600); !written) return report(kTool, written.error());
  std::cerr << "wrote " << command.out << "\n";
  return kExitOk;
}

int kek_import(const KekCommand& command) {
  auto blob = ceremony::read_kek_blob_file(command.file);
  if (!blob) return report(kTool, blob.error());
  auto context = open_token(command.common.token);
  if (!context) return report(kTool, context.error());
  auto log = open_ceremony_log(command.common, *context);
  if (!log) return report(kTool, log.error());
  auto imported = context->hierarchy->import_kek(*blob);
  if (!imported) {
    (void)log->record_failure("kek-import", imported.error());
    return report(kTool, imported.error());
  }
  if (auto recorded = log->record("kek-import", ceremony::kek_import_record(*imported, command.file, *blob)); !recorded)
    return report(kTool, recorded.error());
  std::cout << "imported " << imported->ref.label() << " (KCV " << imported->kcv.kw_fingerprint << ", matches the blob)\n";
  return kExitOk;
}

}  // namespace

void add_kek_commands(CLI::App& app, KekCommand& command) {
  auto* kek = app.add_subcommand("kek", "Create, list, export and import KEKs (key-encryption keys)");
  kek->require_subcommand(1);
  auto* create = kek->add_subcommand("create", "Create the next version of KEK family NAME under the latest root");
  create->add_option("NAME", command.family, "KEK family name: [a-z0-9][a-z0-9_-]{0,62}")->required();
  add_ceremony_options(*create, command.common);
  auto* list = kek->add_subcommand("list", "List KEK families, versions, states and KCVs");
  add_token_options(*list, command.common.token);
  list->add_flag("--json", command.common.json, "machine-readable output");
  auto* exported = kek->add_subcommand("export", "Print a KEK's blob (the KEK wrapped under the root)");
  exported->add_option("NAME", command.family, "KEK family name")->required();
  exported->add_option("--version", command.version, "KEK version")->required();
  exported->add_option("--out", command.out, "write the blob to this new file instead of stdout");
  add_token_options(*exported, command.common.token);
  auto* imported = kek->add_subcommand("import", "Import a KEK blob on a token that holds the same root");
  imported->add_option("FILE", command.file, "a .kekblob file from kek create or kek export")->required()->check(CLI::ExistingFile);
  add_ceremony_options(*imported, command.common);
}

int run_kek(const CLI::App& kek_app, const KekCommand& command) {
  if (kek_app.got_subcommand("create")) return kek_create(command);
  if (kek_app.got_subcommand("list")) return kek_list(command);
  if (kek_app.got_subcommand("export")) return kek_export(command);
  return kek_import(command);
}

}  // namespace keyward::cli
