// keyward inspect FILE: the envelope's header as JSON. No key, no plaintext, no token needed.
#include <nlohmann/json.hpp>

#include <iostream>

#include "keyward/keyward.h"
#include "tools/common/cli.h"
#include "tools/keyward/commands.h"

namespace keyward::cli {

void add_inspect_command(CLI::App& app, EnvelopeCommand& command) {
  auto* sub = app.add_subcommand("inspect", "Show an envelope's header and key section as JSON (no secrets)");
  sub->add_option("FILE", command.in, "envelope file")->required()->check(CLI::ExistingFile);
}

int run_inspect(const EnvelopeCommand& command) {
  auto described = describe_envelope(command.in);
  if (!described) return report("keyward", described.error());
  const auto& d = *described;
  nlohmann::ordered_json out;
  out["format"] = "keyward envelope v1";
  out["suite"] = "AES-256-GCM segments, HKDF-SHA-256, key commitment";
  out["segment_size"] = d.segment_size;
  out["dek_id"] = d.key.dek_id;
  out["context"] = d.context;
  out["key_section"] = {{"active_slot", d.active_slot},
                        {"kek", d.key.kek_family},
                        {"kek_version", d.key.kek_version},
                        {"kek_label", "keyward/kek/" + d.key.kek_family + "/v" + std::to_string(d.key.kek_version)},
                        {"wrapped_dek_bytes", d.wrapped_dek_bytes}};
  out["header_bytes"] = d.header_bytes;
  out["segments"] = d.segments;
  if (d.plaintext_bytes)
    out["plaintext_bytes"] = *d.plaintext_bytes;
  else
    out["plaintext_bytes"] = nullptr;
  out["body_truncated"] = !d.plaintext_bytes.has_value();
  out["file_bytes"] = d.file_bytes;
  std::cout << out.dump(2) << "\n";
  return kExitOk;
}

}  // namespace keyward::cli
