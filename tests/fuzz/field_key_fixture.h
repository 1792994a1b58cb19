// The one field key the field targets decrypt with (a fixed DEK, ID and scope) and the context they
// bind, so that their seeds — values made by FieldKey::encrypt — decrypt in every run.
#pragma once

#include <vector>

#include "envelope/field.h"

namespace keyward::fuzz {

inline const envelope::FieldKey& fixture_field_key() {
  static const envelope::FieldKey key = [] {
    envelope::DekId id{};
    id.fill(0x5a);
    auto derived = envelope::FieldKey::derive(SecretBytes::copy_of(std::vector<std::uint8_t>(32, 0x42)), id, "tenant-7");
    if (!derived) std::abort();
    return std::move(*derived);
  }();
  return key;
}

inline const envelope::EncryptionContext& fixture_context() {
  static const envelope::EncryptionContext context{{"table", "users"}, {"column", "email"}};
  return context;
}

}  // namespace keyward::fuzz
