// keyward inspect FILE: the envelope's header as JSON. No key, no plaintext, no token needed.
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <iostream>

#include "envelope/key_slots.h"
#include "hierarchy/kek_blob.h"
#include "tools/common/cli.h"
#include "tools/keyward/commands.h"

namespace keyward::cli {

void add_inspect_command(CLI::App& app, EnvelopeCommand& command) {
  auto* sub = app.add_subcommand("inspect", "Show an envelope's header and key section as JSON (no secrets)");
  sub->add_option("FILE", command.in, "envelope file")->required()->check(CLI::ExistingFile);
}

int run_inspect(const EnvelopeCommand& command) {
  auto prefix = envelope::read_envelope_prefix(command.in);
  if (!prefix) return report("keyward", prefix.error());
  struct stat info {};
  ::stat(command.in.c_str(), &info);
  const auto& h = prefix->header;
  const std::uint64_t body = static_cast<std::uint64_t>(info.st_size) - prefix->body_offset();
  const std::uint64_t chunk = h.segment_size + envelope::kTagBytes;
  const std::uint64_t segments = body / chunk + (body % chunk ? 1 : 0);
  nlohmann::ordered_json out;
  out["format"] = "keyward envelope v1";
  out["suite"] = "AES-256-GCM segments, HKDF-SHA-256, key commitment";
  out["segment_size"] = h.segment_size;
  out["dek_id"] = envelope::dek_id_hex(h.dek_id);
  out["context"] = h.context;
  out["key_section"] = {{"active_slot", prefix->active_slot},
                        {"kek", prefix->key_section.kek_family},
                        {"kek_version", prefix->key_section.kek_version},
                        {"kek_label", "keyward/kek/" + prefix->key_section.kek_family + "/v" +
                                          std::to_string(prefix->key_section.kek_version)},
                        {"wrapped_dek_bytes", prefix->key_section.wrapped_dek.size()}};
  out["header_bytes"] = prefix->body_offset();
  out["segments"] = segments;
  // A body cut inside a tag (or empty) has no plaintext length: say so rather than underflow.
  const bool complete = segments > 0 && (body % chunk == 0 || body % chunk >= envelope::kTagBytes);
  if (complete)
    out["plaintext_bytes"] = body - segments * envelope::kTagBytes;
  else
    out["plaintext_bytes"] = nullptr;
  out["body_truncated"] = !complete;
  out["file_bytes"] = info.st_size;
  std::cout << out.dump(2) << "\n";
  return kExitOk;
}

}  // namespace keyward::cli
