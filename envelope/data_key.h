// DataKey: one envelope's key material as a unit — the plaintext DEK, its id and the key section
// that carries it wrapped under a KEK. Encryption takes the three together, so a DEK cannot be
// sealed under a key section that belongs to another DEK.
#pragma once

#include "base/secret_bytes.h"
#include "envelope/format.h"

namespace keyward::envelope {

struct DataKey {
  SecretBytes dek;  // 32 bytes, for the CPU
  DekId id{};
  KeySection section;
};

}  // namespace keyward::envelope
