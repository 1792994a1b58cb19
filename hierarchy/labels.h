// Object labels on the token (shared/INTERFACE.md): keyward/root/v<N>, keyward/kek/<NAME>/v<N>.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace keyward::hierarchy {

inline constexpr std::string_view kLabelPrefix = "keyward/";

std::string root_label(std::uint32_t version);
std::string kek_label(std::string_view family, std::uint32_t version);
// The CKO_DATA object that keeps a KEK's blob (the KEK wrapped under the root) on the token.
std::string kek_blob_label(std::string_view family, std::uint32_t version);
std::string transcript_key_label();
// The CKO_DATA record that a KEK version was destroyed (retire), with its KW fingerprint, so that
// verify can prove no copy of the key survives: keyward/destroyed-kek/<NAME>/v<N>.
std::string destroyed_kek_label(std::string_view family, std::uint32_t version);
// A per-process session copy of a KEK (never a token object): keyward/kek-session/<NAME>/v<N>.
std::string session_kek_label(std::string_view family, std::uint32_t version);

// KEK family names: [a-z0-9][a-z0-9_-]{0,62}. Errors: usage, naming the rule.
Status validate_kek_family(std::string_view family);

struct ParsedLabel {
  enum class Kind { root, kek, kek_blob, destroyed_kek, transcript_key, audit_signer, audit_head } kind;
  std::string kek_family;   // empty for roots
  std::uint32_t version = 0;
};

// Parses a keyward label; nullopt for labels that are not keyward's or do not follow the scheme.
std::optional<ParsedLabel> parse_label(std::string_view label);

}  // namespace keyward::hierarchy
