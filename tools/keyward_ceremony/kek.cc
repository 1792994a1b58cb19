// keyward-ceremony kek create|list|export|import
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

#include "hierarchy/labels.h"
#include "tools/common/cli.h"
#include "base/files.h"
#include "tools/keyward_ceremony/ceremony_log.h"
#include "tools/keyward_ceremony/commands.h"

namespace keyward::cli {
namespace {

constexpr std::string_view kTool = "keyward-ceremony";

nlohmann::json kcv_json(const hierarchy::KeyCheckValue& kcv) {
  nlohmann::json j{{"kw_fingerprint", kcv.kw_fingerprint}};
  if (kcv.check_value) j["check_value"] = *kcv.check_value;
  return j;
}

int kek_create(const KekCommand& command) {
  auto context = open_token(command.common.token);
  if (!context) return report(kTool, context.error());
  auto log = CeremonyLog::open(command.common, *context);
  if (!log) return report(kTool, log.error());
  auto created = context->hierarchy->create_kek(command.family);
  if (!created) {
    (void)log->record_failure("kek-create", created.error());
    return report(kTool, created.error());
  }
  const auto& info = created->info;
  // The blob beside the transcript: the KEK's backup, ciphertext under the root.
  std::string blob_path = log->output_dir() + "/" + command.family + "-v" + std::to_string(info.ref.version) + ".kekblob";
  if (auto written = write_new_file(blob_path, created->blob.to_json(), 0600); !written) return report(kTool, written.error());
  auto recorded = log->record("kek-create", {{"label", info.ref.label()},
                                            {"kek", info.ref.family},
                                            {"version", info.ref.version},
                                            {"kcv", kcv_json(info.kcv)},
                                            {"root_version", created->blob.root_version},
                                            {"blob_file", blob_path},
                                            {"blob", nlohmann::json::parse(created->blob.to_json())},
                                            {"blob_on_token", info.blob_on_token}});
  if (!recorded) return report(kTool, recorded.error());
  std::cout << "created " << info.ref.label() << " (KCV " << info.kcv.kw_fingerprint << "), blob written to "
            << blob_path << "\n";
  return kExitOk;
}

int kek_list(const KekCommand& command) {
  auto context = open_token(command.common.token);
  if (!context) return report(kTool, context.error());
  auto keks = context->hierarchy->list_keks();
  if (!keks) return report(kTool, keks.error());
  // The newest version of a family is the active one; older versions stay for decryption.
  std::map<std::string, std::uint32_t> latest;
  for (const auto& k : *keks) latest[k.ref.family] = std::max(latest[k.ref.family], k.ref.version);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& k : *keks) {
    const char* state = k.ref.version == latest[k.ref.family] ? "active" : "decrypt-only";
    out.push_back({{"name", k.ref.family}, {"version", k.ref.version}, {"label", k.ref.label()}, {"state", state},
                   {"kcv", kcv_json(k.kcv)}, {"blob_on_token", k.blob_on_token}});
  }
  if (command.common.json) {
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (keks->empty()) std::cout << "no KEKs on the token (create one with: keyward-ceremony kek create NAME)\n";
  for (const auto& row : out) {
    std::cout << row["label"].get<std::string>() << "  " << row["state"].get<std::string>()
              << "  KCV " << row["kcv"]["kw_fingerprint"].get<std::string>() << "\n";
  }
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
  auto text = read_small_file(command.file);
  if (!text) return report(kTool, text.error());
  auto blob = hierarchy::KekBlob::from_json(*text);
  if (!blob) return report(kTool, blob.error().with_context(command.file));
  auto context = open_token(command.common.token);
  if (!context) return report(kTool, context.error());
  auto log = CeremonyLog::open(command.common, *context);
  if (!log) return report(kTool, log.error());
  auto imported = context->hierarchy->import_kek(*blob);
  if (!imported) {
    (void)log->record_failure("kek-import", imported.error());
    return report(kTool, imported.error());
  }
  auto recorded = log->record("kek-import", {{"label", imported->ref.label()}, {"kcv", kcv_json(imported->kcv)},
                                            {"from_file", command.file}, {"root_version", blob->root_version}});
  if (!recorded) return report(kTool, recorded.error());
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
