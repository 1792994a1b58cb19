// Object labels read from the token (hierarchy/labels.h parse_label): listing a token finds keyward's
// keys by label. Properties: never crashes; a label that parses is exactly the label keyward would
// write for what it parsed to (so no second spelling — v01, v1 with a suffix — names the same key).
#include <string>

#include "hierarchy/labels.h"
#include "tests/fuzz/fuzz_target.h"

using namespace keyward::hierarchy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto label = keyward::fuzz::text_of(data, size);
  auto parsed = parse_label(label);
  if (!parsed) return 0;
  std::string canonical;
  switch (parsed->kind) {
    case ParsedLabel::Kind::root: canonical = root_label(parsed->version); break;
    case ParsedLabel::Kind::kek: canonical = kek_label(parsed->kek_family, parsed->version); break;
    case ParsedLabel::Kind::kek_blob: canonical = kek_blob_label(parsed->kek_family, parsed->version); break;
    case ParsedLabel::Kind::destroyed_kek: canonical = destroyed_kek_label(parsed->kek_family, parsed->version); break;
    case ParsedLabel::Kind::transcript_key: canonical = transcript_key_label(); break;
    case ParsedLabel::Kind::audit_signer: canonical = "keyward/audit/signer"; break;  // audit/audit_key.h
    case ParsedLabel::Kind::audit_head: canonical = "keyward/audit/head"; break;
  }
  FUZZ_CHECK(canonical == label);
  // The transcript and audit objects are single, unversioned objects: no family, version 0.
  const bool single = parsed->kind == ParsedLabel::Kind::transcript_key || parsed->kind == ParsedLabel::Kind::audit_signer ||
                      parsed->kind == ParsedLabel::Kind::audit_head;
  if (single) FUZZ_CHECK(parsed->kek_family.empty() && parsed->version == 0);
  if (!single && parsed->kind != ParsedLabel::Kind::root) FUZZ_CHECK(validate_kek_family(parsed->kek_family).has_value());
  if (!single) FUZZ_CHECK(parsed->version > 0);
  return 0;
}

std::vector<std::vector<std::uint8_t>> fuzz_seeds() {
  using keyward::fuzz::bytes_of;
  return {bytes_of(root_label(1)), bytes_of(kek_label("payments", 12)), bytes_of(kek_blob_label("payments", 3)),
          bytes_of(destroyed_kek_label("a_b-c", 4294967295u)), bytes_of(transcript_key_label()),
          bytes_of(session_kek_label("payments", 2))};
}
