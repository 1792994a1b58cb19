// Session: one PKCS#11 session, closed by its destructor; the typed face of the C_* object calls.
//
// A Session is used by one thread at a time (PKCS#11 v2.40 §6.7.7: sessions are not to be shared
// concurrently); SessionPool hands sessions to threads. Every call checks its CK_RV and returns an
// Error naming the function, the CKR_* code and a hint.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "pkcs11/attributes.h"
#include "pkcs11/ck.h"
#include "base/error.h"
#include "pkcs11/module.h"
#include "base/secret_bytes.h"

namespace keyward::p11 {

using ObjectHandle = CK_OBJECT_HANDLE;

struct Mechanism {
  CK_MECHANISM_TYPE type = 0;
  std::vector<std::uint8_t> parameter;  // empty: no parameter (NULL, as CKM_AES_KEY_WRAP's default IV)
};

// RFC 3394 AES key wrap with the default IV: the one wrap mechanism SoftHSM and NSS implement
// identically (their 0x210A differ), so keyward wraps 32-byte keys with it.
inline Mechanism aes_key_wrap() { return Mechanism{CKM_AES_KEY_WRAP, {}}; }
inline Mechanism aes_key_gen() { return Mechanism{CKM_AES_KEY_GEN, {}}; }

class Session {
 public:
  Session(std::shared_ptr<Module> module, CK_SLOT_ID slot, CK_SESSION_HANDLE handle);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  Session(Session&& other) noexcept;
  Session& operator=(Session&& other) noexcept;
  ~Session();  // C_CloseSession

  CK_SESSION_HANDLE handle() const { return handle_; }
  CK_SLOT_ID slot() const { return slot_; }
  const std::shared_ptr<Module>& module() const { return module_; }

  // C_Login. CKR_USER_ALREADY_LOGGED_IN counts as success (login state is shared by the
  // application's sessions on a token).
  Status login(CK_USER_TYPE user, const SecretBytes& pin);
  Status logout();
  Result<CK_STATE> state() const;
  // C_InitPIN (the session must be logged in as SO).
  Status init_user_pin(const SecretBytes& pin);

  Result<ObjectHandle> generate_key(const Mechanism& mechanism, const AttributeTemplate& key_template);
  Result<std::pair<ObjectHandle, ObjectHandle>> generate_key_pair(const Mechanism& mechanism,
                                                                   const AttributeTemplate& public_template,
                                                                   const AttributeTemplate& private_template);
  Result<ObjectHandle> create_object(const AttributeTemplate& object_template);
  Result<ObjectHandle> copy_object(ObjectHandle object, const AttributeTemplate& changes);
  Status destroy_object(ObjectHandle object);

  // C_WrapKey: `key` encrypted under `wrapping_key`. The result is ciphertext, not a secret.
  Result<std::vector<std::uint8_t>> wrap_key(const Mechanism& mechanism, ObjectHandle wrapping_key,
                                             ObjectHandle key);
  // C_UnwrapKey: a new object holding the key in `wrapped`, with the attributes of `key_template`.
  Result<ObjectHandle> unwrap_key(const Mechanism& mechanism, ObjectHandle unwrapping_key,
                                  std::span<const std::uint8_t> wrapped, const AttributeTemplate& key_template);

  // Single-part C_Encrypt / C_Decrypt / C_Sign. keyward's own keys refuse all of them; they exist for
  // the negative tests that prove it, and for signing with the transcript key.
  Result<std::vector<std::uint8_t>> encrypt(const Mechanism& mechanism, ObjectHandle key,
                                            std::span<const std::uint8_t> data);
  Result<std::vector<std::uint8_t>> decrypt(const Mechanism& mechanism, ObjectHandle key,
                                            std::span<const std::uint8_t> data);
  Result<std::vector<std::uint8_t>> sign(const Mechanism& mechanism, ObjectHandle key,
                                         std::span<const std::uint8_t> data);

  // Objects matching `match`, at most `limit` (0: all).
  Result<std::vector<ObjectHandle>> find_objects(const AttributeTemplate& match, std::size_t limit = 0);

  // C_GetAttributeValue for each type; a sensitive or unknown attribute comes back !available.
  Result<std::vector<AttributeValue>> get_attributes(ObjectHandle object, std::span<const CK_ATTRIBUTE_TYPE> types);
  Result<AttributeValue> get_attribute(ObjectHandle object, CK_ATTRIBUTE_TYPE type);
  // The raw CK_RV of reading one attribute: for tests that assert the token's refusal.
  CK_RV probe_attribute(ObjectHandle object, CK_ATTRIBUTE_TYPE type);
  // An array-of-attributes attribute (CKA_UNWRAP_TEMPLATE, CKA_WRAP_TEMPLATE).
  Result<std::vector<AttributeValue>> get_template_attribute(ObjectHandle object, CK_ATTRIBUTE_TYPE type);
  Status set_attributes(ObjectHandle object, const AttributeTemplate& changes);

  // CKA_VALUE of a non-sensitive, extractable secret key, into zeroizing memory. This is the only
  // call that brings key bytes out of a token; grep for it. Fails (CKR_ATTRIBUTE_SENSITIVE) on keys
  // created under keyward's policy for roots and KEKs.
  Result<SecretBytes> extract_key_value(ObjectHandle key);

  // C_GenerateRandom into zeroizing memory.
  Result<SecretBytes> generate_random(std::size_t length);

  // C_CloseAllSessions on this session's slot. Logs the application out and invalidates every
  // handle: used to simulate a lost token connection in tests. This session is closed too.
  Status close_all_sessions_on_slot();

 private:
  void close() noexcept;
  CK_FUNCTION_LIST* fn() const { return module_->functions(); }

  std::shared_ptr<Module> module_;
  CK_SLOT_ID slot_ = 0;
  CK_SESSION_HANDLE handle_ = CK_INVALID_HANDLE;
};

}  // namespace keyward::p11
