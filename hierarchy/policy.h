// keyward's key policy: every attribute template for roots, KEKs and DEKs, in one place.
//
// docs/KEY-POLICY.md explains, attribute by attribute, which attack each setting closes. Never rely
// on a module's defaults: SoftHSM sets CKA_ENCRYPT/DECRYPT/SIGN/VERIFY/WRAP/UNWRAP to true unless told
// otherwise, so every usage flag is set explicitly here.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "hierarchy/module_profile.h"
#include "pkcs11/attributes.h"
#include "pkcs11/ck.h"
#include "base/secret_bytes.h"

namespace keyward::hierarchy::policy {

inline constexpr CK_ULONG kKeyBytes = 32;  // AES-256 everywhere

// The one wrap mechanism roots and KEKs may be used with (CKA_ALLOWED_MECHANISMS).
const std::vector<CK_MECHANISM_TYPE>& wrap_mechanisms();

// Root key generated in the token (CKA_LOCAL, never extractable): key generation template.
p11::AttributeTemplate root_generate_template(std::string_view label, std::span<const std::uint8_t> id,
                                              const ModuleProfile& profile = {});
// Root key imported from M-of-N shares: object creation template carrying the material.
p11::AttributeTemplate root_import_template(std::string_view label, std::span<const std::uint8_t> id,
                                            const SecretBytes& material, const ModuleProfile& profile = {});
// CKA_UNWRAP_TEMPLATE of a root: whatever is unwrapped under a root is a KEK (private, sensitive,
// non-extractable, non-copyable, non-modifiable, wrap/unwrap only). Token or session as the caller asks.
p11::AttributeTemplate root_unwrap_template(const ModuleProfile& profile = {});

// Fresh KEK material: an extractable session key that exists only to be wrapped under the root.
p11::AttributeTemplate kek_material_template();
// Unwrap template for a KEK under its root: a token object (or a session object, to check a
// blob) with the KEK policy and its own CKA_UNWRAP_TEMPLATE.
p11::AttributeTemplate kek_unwrap_template(std::string_view label, std::span<const std::uint8_t> id, bool token_object,
                                           const ModuleProfile& profile = {});
// CKA_UNWRAP_TEMPLATE of a KEK: it can only ever unwrap session objects that cannot wrap or unwrap
// (no planted token keys, no new wrapping keys).
p11::AttributeTemplate kek_own_unwrap_template();

// A DEK generated in the token: a session key readable once, to be wrapped and used on the CPU.
p11::AttributeTemplate dek_generate_template();
// A DEK unwrapped to be read by the CPU (non-sensitive session object, destroyed at once).
p11::AttributeTemplate dek_unwrap_for_cpu_template();
// A DEK unwrapped for rotation: sensitive (CKA_VALUE unreadable) but extractable so it can be
// wrapped under the new KEK; the plaintext never reaches the host.
p11::AttributeTemplate dek_unwrap_for_rewrap_template();

// The transcript signing key pair (EC P-256, keyward/transcript-signer): explicit templates, never the
// module's defaults (SoftHSM's are modifiable, copyable, sign-recover, any mechanism).
p11::AttributeTemplate transcript_public_template(std::string_view label, std::span<const std::uint8_t> id,
                                                  const ModuleProfile& profile = {});
p11::AttributeTemplate transcript_private_template(std::string_view label, std::span<const std::uint8_t> id,
                                                   const ModuleProfile& profile = {});
// The one mechanism the transcript key signs with: CKM_ECDSA (libp11 hashes with SHA-256 on the CPU
// and passes the digest).
const std::vector<CK_MECHANISM_TYPE>& transcript_sign_mechanisms();

// The published canary key for key check values (docs/KEY-POLICY.md): a session object holding it.
p11::AttributeTemplate kcv_canary_template();
const std::vector<std::uint8_t>& kcv_canary();

// What a root or KEK found on a token must look like. Attributes the profile lacks are left out.
struct Expectation {
  CK_ATTRIBUTE_TYPE type;
  bool expected;              // for boolean attributes
  std::string_view closes;    // the attack the setting closes, for reports
};
std::vector<Expectation> wrapping_key_flags(const ModuleProfile& profile = {});
// What the transcript key's private half must look like.
std::vector<Expectation> transcript_private_flags(const ModuleProfile& profile = {});
// What the transcript key's public half must look like.
std::vector<Expectation> transcript_public_flags(const ModuleProfile& profile = {});

}  // namespace keyward::hierarchy::policy
