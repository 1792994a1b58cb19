// KeyHierarchy: roots, KEKs and DEK wrapping on one token, under keyward's key policy.
//
// Roots (keyward/root/vN) wrap KEK material for backup and transfer. KEKs (keyward/kek/NAME/vN)
// wrap DEKs. DEKs never become token objects: they exist in the token only as short-lived session
// objects during generate / unwrap / rewrap. All PKCS#11 calls go through pkcs11/; the session pool
// makes every method safe to call from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hierarchy/kek_blob.h"
#include "hierarchy/module_profile.h"
#include "base/error.h"
#include "base/secret_bytes.h"
#include "pkcs11/session_pool.h"

namespace keyward::hierarchy {

// Key check values that reveal nothing about the key (docs/KEY-POLICY.md).
struct KeyCheckValue {
  std::string kw_fingerprint;               // hex: first 8 bytes of RFC 3394 wrap(canary) under the key
  std::optional<std::string> check_value;   // hex CKA_CHECK_VALUE where the module fills it
};

struct RootInfo {
  std::uint32_t version = 0;
  std::string label;
  bool generated_in_token = false;  // CKA_LOCAL: never existed outside the token
  KeyCheckValue kcv;
};

struct KekRef {
  std::string family;
  std::uint32_t version = 0;
  std::string label() const;
};

struct KekInfo {
  KekRef ref;
  KeyCheckValue kcv;
  bool blob_on_token = false;  // its backup blob (wrapped under the root) is kept on the token
};

struct KekCreated {
  KekInfo info;
  KekBlob blob;  // the KEK wrapped under the root: backup, and transfer to an HSM with the same root
};

// A DEK fresh from the token: wrapped under the KEK, and its plaintext for the CPU.
struct NewDek {
  std::vector<std::uint8_t> wrapped;
  SecretBytes plaintext;
};

struct HierarchyOptions {
  // Proceed on a module that does not implement some policy attributes (see ModuleProfile), e.g.
  // NSS softoken in tests. Off by default: such a module is refused with the attributes named.
  bool accept_module_limits = false;
  // rewrap_dek_in_token uses session copies of the KEKs, unwrapped once from their on-token blobs
  // under the root (the root's unwrap template imposes the KEK policy on them). SoftHSM re-reads a
  // token object's file on every use (4 file opens and 12 fcntl locks per rewrap, measured); a
  // session object costs none. For short-lived rotation workers only: a session copy outlives a
  // retire in the process that holds it. Where a KEK's blob is not on the token (NSS keeps no
  // data objects), the token KEK is used.
  bool session_kek_copies_for_rewrap = false;
};

class KeyHierarchy {
 public:
  explicit KeyHierarchy(std::shared_ptr<p11::SessionPool> pool, HierarchyOptions options = {});
  // Virtual so that a set of tokens holding the same keys (TokenSet, hierarchy/token_set.h) can stand
  // in for one token wherever a KeyHierarchy is used, adding failover.
  virtual ~KeyHierarchy() = default;

  // What the module implements of the policy (probed once). With accept_module_limits off, a
  // module lacking anything is an ErrorCategory::policy error naming the attributes.
  virtual Result<ModuleProfile> module_profile();
  // The same, measured, without the acceptance check (for reports).
  virtual Result<ModuleProfile> measured_module_profile();

  // --- roots ---
  virtual Result<std::vector<RootInfo>> roots();
  // Generates root v(latest+1) in the token (CKA_LOCAL). Refuses a second root unless `new_version`.
  virtual Result<RootInfo> create_generated_root(bool new_version = false);
  // The version the next root gets: 1 on an empty token; latest+1 with `new_version`; otherwise
  // a usage error (a second root is refused).
  virtual Result<std::uint32_t> next_root_version(bool new_version);
  // 32 bytes from the token's RNG, for a root that will be split into shares.
  virtual Result<SecretBytes> root_material_from_token_rng();
  // Imports root material (from shares) as root `version` (0: next version).
  virtual Result<RootInfo> import_root(const SecretBytes& material, std::uint32_t version = 0, bool new_version = false);

  // --- KEKs ---
  // Creates the next version of `family` under the latest root; keeps its blob on the token.
  virtual Result<KekCreated> create_kek(std::string_view family);
  virtual Result<std::vector<KekInfo>> list_keks();
  virtual Result<std::uint32_t> latest_kek_version(std::string_view family);
  // Every KEK version on this token, from one listing of labels (no key check values: cheap).
  Result<std::vector<KekRef>> kek_versions_on_token();
  virtual Result<KekBlob> export_kek(const KekRef& ref);
  // Unwraps a KEK blob under the root named in it, as the token KEK; its KCV must match the blob's.
  virtual Result<KekInfo> import_kek(const KekBlob& blob);
  // Destroys a KEK version in the token (retire / shred). Its blob object goes too.
  virtual Status destroy_kek(const KekRef& ref);

  // --- DEKs ---
  virtual Result<NewDek> generate_dek(const KekRef& kek);
  virtual Result<SecretBytes> unwrap_dek_for_cpu(const KekRef& kek, std::span<const std::uint8_t> wrapped);
  // Unwraps under `from` as a sensitive session object, wraps under `to`, destroys it: the DEK
  // never reaches host memory. `from` and `to` are versions of one family (usage error otherwise).
  virtual Result<std::vector<std::uint8_t>> rewrap_dek_in_token(const KekRef& from, const KekRef& to,
                                                        std::span<const std::uint8_t> wrapped);
  // The same for a batch of DEKs of `to.family`, each under its own older version, in one pooled
  // session: the KEK handles are resolved once per batch, not per DEK. Fails as a whole.
  struct WrappedUnder {
    std::uint32_t kek_version = 0;
    std::span<const std::uint8_t> wrapped;
  };
  virtual Result<std::vector<std::vector<std::uint8_t>>> rewrap_deks_in_token(std::span<const WrappedUnder> deks, const KekRef& to);

  // --- checks ---
  virtual Result<KeyCheckValue> key_check_value(std::string_view label);
  Result<KeyCheckValue> key_check_value(p11::Session& session, p11::ObjectHandle key);

  p11::SessionPool& pool() { return *pool_; }

 private:
  // generate_dek and unwrap_dek_for_cpu without their audit records.
  Result<NewDek> generate_dek_in_token(const KekRef& kek);
  Result<SecretBytes> unwrap_dek_in_token(const KekRef& kek, std::span<const std::uint8_t> wrapped);
  Result<p11::ObjectHandle> key_handle(p11::Session& session, std::string_view label);
  // The KEK to rewrap with: a session copy (see HierarchyOptions) or the token object.
  Result<p11::ObjectHandle> rewrap_kek_handle(p11::Session& session, const KekRef& ref);
  Result<RootInfo> root_info(p11::Session& session, std::uint32_t version);

  std::shared_ptr<p11::SessionPool> pool_;
  HierarchyOptions options_;
  std::mutex profile_mutex_;
  std::optional<ModuleProfile> profile_;
};

}  // namespace keyward::hierarchy
