// KeyHierarchy basics: handles and key check values. Roots, KEKs and DEKs are in their own files.
#include "hierarchy/key_hierarchy.h"

#include <chrono>
#include <thread>

#include "hierarchy/labels.h"
#include "hierarchy/policy.h"
#include "hierarchy/version_lock.h"
#include "pkcs11/scoped_object.h"

namespace keyward::hierarchy {
namespace {
constexpr int kProfileProbes = 3;
}  // namespace

std::string KekRef::label() const { return kek_label(family, version); }

KeyHierarchy::KeyHierarchy(std::shared_ptr<p11::SessionPool> pool, HierarchyOptions options)
    : pool_(std::move(pool)), options_(options) {}

Result<ModuleProfile> KeyHierarchy::measured_module_profile() {
  std::lock_guard lock(profile_mutex_);
  if (!profile_) {
    // Under concurrent object creation SoftHSM 2.6.1 now and then refuses a probe object with an
    // error that reads as "not implemented" (CKR_GENERAL_ERROR, CKR_TEMPLATE_INCONSISTENT: seen in 1
    // of 6 runs of KekVersions.ConcurrentCreators on a loaded machine). A module that really lacks an
    // attribute lacks it every time, so a short verdict is probed again before it stands.
    KW_ASSIGN_OR_RETURN(auto probe_lock, lock_version_series(*pool_->connection(), "module-probe"));
    KW_TRY(pool_->run([](p11::Session& session) { return remove_stray_probe_objects(session); }));
    for (int attempt = 1;; ++attempt) {
      KW_ASSIGN_OR_RETURN(auto probed, pool_->run([](p11::Session& session) { return probe_module_profile(session); }));
      profile_ = probed;
      if (probed.complete() || attempt == kProfileProbes) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20 * attempt));
    }
  }
  return *profile_;
}

Result<ModuleProfile> KeyHierarchy::module_profile() {
  KW_ASSIGN_OR_RETURN(auto profile, measured_module_profile());
  if (!profile.complete() && !options_.accept_module_limits) {
    std::string missing;
    for (const auto& item : profile.missing()) missing += (missing.empty() ? "" : "; ") + item;
    return make_error(ErrorCategory::policy, "the PKCS#11 module does not implement " + missing +
                                                 ": refusing to create keys under a weaker policy (accept the module's "
                                                 "limits explicitly with --accept-module-limits)");
  }
  return profile;
}

Result<p11::ObjectHandle> KeyHierarchy::key_handle(p11::Session& session, std::string_view label) {
  return pool_->key_handles().find(session, label);
}

Result<KeyCheckValue> KeyHierarchy::key_check_value(p11::Session& session, p11::ObjectHandle key) {
  // KW fingerprint: RFC 3394 wrap of the published canary under the key. AES key wrap is
  // deterministic, so any HSM holding the same key (or `openssl enc -id-aes256-wrap`) reproduces it,
  // and it reveals nothing usable about the key.
  KW_ASSIGN_OR_RETURN(p11::ObjectHandle canary, session.create_object(policy::kcv_canary_template()));
  p11::ScopedObject destroy_canary(session, canary);
  KW_ASSIGN_OR_RETURN(auto wrapped, session.wrap_key(p11::aes_key_wrap(), key, canary));
  KeyCheckValue kcv;
  kcv.kw_fingerprint = to_hex(std::span(wrapped).first(8));
  KW_ASSIGN_OR_RETURN(auto check_value, session.get_attribute(key, CKA_CHECK_VALUE));
  if (check_value.available && !check_value.bytes.empty()) kcv.check_value = to_hex(check_value.bytes);
  return kcv;
}

Result<KeyCheckValue> KeyHierarchy::key_check_value(std::string_view label) {
  return pool_->run([&](p11::Session& session) -> Result<KeyCheckValue> {
    KW_ASSIGN_OR_RETURN(p11::ObjectHandle key, key_handle(session, label));
    return key_check_value(session, key);
  });
}

}  // namespace keyward::hierarchy
