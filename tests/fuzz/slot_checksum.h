// Repairs a key slot's checksum (docs/FORMAT.md: the first 8 bytes of SHA-256 over the slot's first
// 120 bytes), so that mutations of a slot's fields reach the field checks behind the checksum.
// Written from the format document, not with envelope/'s code, so it also checks that the two agree.
#pragma once

#include <openssl/evp.h>

#include <cstring>
#include <span>

#include "envelope/format.h"

namespace keyward::fuzz {

inline void repair_slot_checksum(std::span<std::uint8_t, envelope::kSlotBytes> slot) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(slot.data(), envelope::kSlotBytes - 8, digest, &length, EVP_sha256(), nullptr);
  std::memcpy(slot.data() + envelope::kSlotBytes - 8, digest, 8);
}

}  // namespace keyward::fuzz
