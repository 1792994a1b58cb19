#include "hierarchy/policy.h"

namespace keyward::hierarchy::policy {
namespace {

// Usage flags that a wrapping key must not have. Each is set explicitly false.
// Clulow 2003 / Delaune–Kremer–Steel 2008: a key that can both wrap and decrypt lets an attacker
// wrap a sensitive key and decrypt the blob; keyward's wrapping keys can do nothing but wrap/unwrap.
void deny_data_usage(p11::AttributeTemplate& t) {
  t.set_bool(CKA_ENCRYPT, false)
      .set_bool(CKA_DECRYPT, false)
      .set_bool(CKA_SIGN, false)
      .set_bool(CKA_VERIFY, false)
      .set_bool(CKA_DERIVE, false);
}

void aes_secret_key(p11::AttributeTemplate& t) {
  t.set_ulong(CKA_CLASS, CKO_SECRET_KEY).set_ulong(CKA_KEY_TYPE, CKK_AES);
}

// The policy shared by roots and KEKs on the token.
void wrapping_key_policy(p11::AttributeTemplate& t, const ModuleProfile& profile) {
  t.set_bool(CKA_PRIVATE, true).set_bool(CKA_SENSITIVE, true).set_bool(CKA_EXTRACTABLE, false);
  if (profile.copyable) t.set_bool(CKA_COPYABLE, false);
  t.set_bool(CKA_WRAP, true).set_bool(CKA_UNWRAP, true);
  deny_data_usage(t);
  if (profile.allowed_mechanisms) t.set_mechanisms(CKA_ALLOWED_MECHANISMS, wrap_mechanisms());
}

// A data key object in the token: no wrapping, no in-token data use.
void data_key_policy(p11::AttributeTemplate& t) {
  aes_secret_key(t);
  t.set_bool(CKA_TOKEN, false).set_bool(CKA_PRIVATE, true).set_bool(CKA_WRAP, false).set_bool(CKA_UNWRAP, false);
  deny_data_usage(t);
}

}  // namespace

const std::vector<CK_MECHANISM_TYPE>& wrap_mechanisms() {
  static const std::vector<CK_MECHANISM_TYPE> mechanisms{CKM_AES_KEY_WRAP};
  return mechanisms;
}

p11::AttributeTemplate root_generate_template(std::string_view label, std::span<const std::uint8_t> id,
                                              const ModuleProfile& profile) {
  p11::AttributeTemplate t;
  aes_secret_key(t);
  t.set_ulong(CKA_VALUE_LEN, kKeyBytes).set_bool(CKA_TOKEN, true).set_string(CKA_LABEL, label).set_bytes(CKA_ID, id);
  wrapping_key_policy(t, profile);
  if (profile.unwrap_template) t.set_template(CKA_UNWRAP_TEMPLATE, root_unwrap_template(profile));
  // SoftHSM refuses attributes after CKA_MODIFIABLE=false in some calls: it goes last.
  t.set_bool(CKA_MODIFIABLE, false);
  return t;
}

p11::AttributeTemplate root_import_template(std::string_view label, std::span<const std::uint8_t> id,
                                            const SecretBytes& material, const ModuleProfile& profile) {
  p11::AttributeTemplate t;
  aes_secret_key(t);
  t.set_secret(CKA_VALUE, material).set_bool(CKA_TOKEN, true).set_string(CKA_LABEL, label).set_bytes(CKA_ID, id);
  wrapping_key_policy(t, profile);
  if (profile.unwrap_template) t.set_template(CKA_UNWRAP_TEMPLATE, root_unwrap_template(profile));
  t.set_bool(CKA_MODIFIABLE, false);
  return t;
}

p11::AttributeTemplate root_unwrap_template(const ModuleProfile& profile) {
  p11::AttributeTemplate t;
  aes_secret_key(t);
  t.set_bool(CKA_PRIVATE, true).set_bool(CKA_SENSITIVE, true).set_bool(CKA_EXTRACTABLE, false);
  if (profile.copyable) t.set_bool(CKA_COPYABLE, false);
  t.set_bool(CKA_WRAP, true).set_bool(CKA_UNWRAP, true);
  deny_data_usage(t);
  // Where the module enforces it (SoftHSM: byte-equal), a key unwrapped under the root is also
  // restricted to RFC 3394 wrapping, even when an independent client asks for less.
  if (profile.allowed_mechanisms && profile.unwrap_pins.allowed_mechanisms)
    t.set_mechanisms(CKA_ALLOWED_MECHANISMS, wrap_mechanisms());
  t.set_bool(CKA_MODIFIABLE, false);
  return t;
}

p11::AttributeTemplate kek_material_template() {
  p11::AttributeTemplate t;
  aes_secret_key(t);
  t.set_ulong(CKA_VALUE_LEN, kKeyBytes)
      .set_bool(CKA_TOKEN, false)
      .set_bool(CKA_PRIVATE, true)
      .set_bool(CKA_SENSITIVE, true)
      .set_bool(CKA_EXTRACTABLE, true)  // only so that it can be wrapped under the root, once
      .set_bool(CKA_WRAP, false)
      .set_bool(CKA_UNWRAP, false);
  deny_data_usage(t);
  return t;
}

p11::AttributeTemplate kek_unwrap_template(std::string_view label, std::span<const std::uint8_t> id, bool token_object,
                                           const ModuleProfile& profile) {
  p11::AttributeTemplate t;
  aes_secret_key(t);
  t.set_bool(CKA_TOKEN, token_object).set_string(CKA_LABEL, label).set_bytes(CKA_ID, id);
  wrapping_key_policy(t, profile);
  if (profile.unwrap_template) t.set_template(CKA_UNWRAP_TEMPLATE, kek_own_unwrap_template());
  t.set_bool(CKA_MODIFIABLE, false);
  return t;
}

p11::AttributeTemplate kek_own_unwrap_template() {
  p11::AttributeTemplate t;
  data_key_policy(t);
  return t;
}

p11::AttributeTemplate dek_generate_template() {
  p11::AttributeTemplate t;
  data_key_policy(t);
  t.set_ulong(CKA_VALUE_LEN, kKeyBytes).set_bool(CKA_SENSITIVE, false).set_bool(CKA_EXTRACTABLE, true);
  return t;
}

p11::AttributeTemplate dek_unwrap_for_cpu_template() {
  p11::AttributeTemplate t;
  data_key_policy(t);
  t.set_bool(CKA_SENSITIVE, false).set_bool(CKA_EXTRACTABLE, true);
  return t;
}

p11::AttributeTemplate dek_unwrap_for_rewrap_template() {
  p11::AttributeTemplate t;
  data_key_policy(t);
  t.set_bool(CKA_SENSITIVE, true).set_bool(CKA_EXTRACTABLE, true);
  return t;
}

const std::vector<CK_MECHANISM_TYPE>& transcript_sign_mechanisms() {
  static const std::vector<CK_MECHANISM_TYPE> mechanisms{CKM_ECDSA};
  return mechanisms;
}

p11::AttributeTemplate transcript_public_template(std::string_view label, std::span<const std::uint8_t> id,
                                                  const ModuleProfile& profile) {
  // DER OID of prime256v1 (RFC 5480 §2.1.1.1: secp256r1 = 1.2.840.10045.3.1.7).
  static const std::vector<std::uint8_t> p256 = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
  p11::AttributeTemplate t;
  t.set_ulong(CKA_CLASS, CKO_PUBLIC_KEY)
      .set_ulong(CKA_KEY_TYPE, CKK_EC)
      .set_bytes(CKA_EC_PARAMS, p256)
      .set_bool(CKA_TOKEN, true)
      .set_bool(CKA_PRIVATE, false)  // anyone may check the transcript's signer
      .set_bool(CKA_VERIFY, true)
      .set_bool(CKA_VERIFY_RECOVER, false)
      .set_bool(CKA_ENCRYPT, false)
      .set_bool(CKA_WRAP, false)
      .set_bool(CKA_DERIVE, false)
      .set_string(CKA_LABEL, label)
      .set_bytes(CKA_ID, id);
  if (profile.copyable) t.set_bool(CKA_COPYABLE, false);
  t.set_bool(CKA_MODIFIABLE, false);  // last, as for the other keys
  return t;
}

p11::AttributeTemplate transcript_private_template(std::string_view label, std::span<const std::uint8_t> id,
                                                   const ModuleProfile& profile) {
  p11::AttributeTemplate t;
  t.set_ulong(CKA_CLASS, CKO_PRIVATE_KEY)
      .set_ulong(CKA_KEY_TYPE, CKK_EC)
      .set_bool(CKA_TOKEN, true)
      .set_bool(CKA_PRIVATE, true)
      .set_bool(CKA_SENSITIVE, true)
      .set_bool(CKA_EXTRACTABLE, false)
      .set_bool(CKA_SIGN, true)
      .set_bool(CKA_SIGN_RECOVER, false)
      .set_bool(CKA_DECRYPT, false)
      .set_bool(CKA_UNWRAP, false)
      .set_bool(CKA_DERIVE, false)
      .set_string(CKA_LABEL, label)
      .set_bytes(CKA_ID, id);
  if (profile.copyable) t.set_bool(CKA_COPYABLE, false);
  if (profile.allowed_mechanisms) t.set_mechanisms(CKA_ALLOWED_MECHANISMS, transcript_sign_mechanisms());
  t.set_bool(CKA_MODIFIABLE, false);
  return t;
}

std::vector<Expectation> transcript_private_flags(const ModuleProfile& profile) {
  std::vector<Expectation> flags = {
      {CKA_PRIVATE, true, "visible only after login"},
      {CKA_SENSITIVE, true, "the signing key can never be read out"},
      {CKA_EXTRACTABLE, false, "the signing key cannot be wrapped out of the token"},
      {CKA_COPYABLE, false, "no copy of the object with a looser policy"},
      {CKA_MODIFIABLE, false, "no attribute change to loosen the policy later"},
      {CKA_SIGN, true, "its one job: sign transcript lines"},
      {CKA_SIGN_RECOVER, false, "no signature-with-recovery oracle"},
      {CKA_DECRYPT, false, "no decryption with the signing key"},
      {CKA_UNWRAP, false, "no unwrapping with the signing key"},
      {CKA_DERIVE, false, "no key agreement with the signing key"},
  };
  if (!profile.copyable) std::erase_if(flags, [](const Expectation& e) { return e.type == CKA_COPYABLE; });
  return flags;
}

std::vector<Expectation> transcript_public_flags(const ModuleProfile& profile) {
  std::vector<Expectation> flags = {
      {CKA_COPYABLE, false, "no copy of the signer's public key"},
      {CKA_MODIFIABLE, false, "the signer's public key cannot be swapped for another in place"},
      {CKA_VERIFY, true, "its one job: verify transcript signatures"},
      {CKA_VERIFY_RECOVER, false, "no recovery mode"},
      {CKA_ENCRYPT, false, "no encryption under the signing key pair"},
      {CKA_WRAP, false, "no wrapping under the signing key pair"},
      {CKA_DERIVE, false, "no key agreement"},
  };
  if (!profile.copyable) std::erase_if(flags, [](const Expectation& e) { return e.type == CKA_COPYABLE; });
  return flags;
}

const std::vector<std::uint8_t>& kcv_canary() {
  // SHA-256("keyward KCV canary v1"), published in docs/KEY-POLICY.md.
  static const std::vector<std::uint8_t> canary = {
      0xf1, 0xbe, 0x09, 0xf8, 0x6d, 0xc0, 0x4c, 0x4d, 0xe8, 0x06, 0xae, 0xb2, 0x00, 0x7a, 0xba, 0x16,
      0x6b, 0x76, 0xe3, 0x41, 0xaf, 0x0e, 0x14, 0xb7, 0xe5, 0xa7, 0x4c, 0x88, 0x8e, 0xae, 0x3b, 0x02};
  return canary;
}

p11::AttributeTemplate kcv_canary_template() {
  p11::AttributeTemplate t;
  aes_secret_key(t);
  t.set_bytes(CKA_VALUE, kcv_canary())
      .set_bool(CKA_TOKEN, false)
      .set_bool(CKA_PRIVATE, true)
      .set_bool(CKA_SENSITIVE, false)
      .set_bool(CKA_EXTRACTABLE, true)
      .set_bool(CKA_WRAP, false)
      .set_bool(CKA_UNWRAP, false);
  deny_data_usage(t);
  return t;
}

std::vector<Expectation> wrapping_key_flags(const ModuleProfile& profile) {
  std::vector<Expectation> flags = {
      {CKA_TOKEN, true, "a root or KEK must persist in the token"},
      {CKA_PRIVATE, true, "visible only after login: an unauthenticated session cannot even find it"},
      {CKA_SENSITIVE, true, "CKA_VALUE can never be read out in plaintext"},
      {CKA_EXTRACTABLE, false, "cannot be wrapped out of the token under any key (key export)"},
      {CKA_COPYABLE, false, "no copy of the object with a looser policy"},
      {CKA_MODIFIABLE, false, "no attribute change to loosen the policy later"},
      {CKA_WRAP, true, "its one job: wrap keys"},
      {CKA_UNWRAP, true, "its one job: unwrap keys"},
      {CKA_ENCRYPT, false, "wrap/encrypt conflict (Clulow 2003): no encrypting chosen data"},
      {CKA_DECRYPT, false, "wrap/decrypt conflict (Clulow 2003, DKS 2008): no decrypting a wrapped key"},
      {CKA_SIGN, false, "no use as a MAC key"},
      {CKA_VERIFY, false, "no use as a MAC key"},
      {CKA_DERIVE, false, "no derivation of keys with a known relation"},
  };
  if (!profile.copyable) std::erase_if(flags, [](const Expectation& e) { return e.type == CKA_COPYABLE; });
  return flags;
}

}  // namespace keyward::hierarchy::policy
