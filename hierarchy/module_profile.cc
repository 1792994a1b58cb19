#include "hierarchy/module_profile.h"

#include "hierarchy/token_objects.h"

#include <functional>

#include "hierarchy/policy.h"
#include "pkcs11/scoped_object.h"

namespace keyward::hierarchy {
namespace {

// SoftHSM 2.6.1 answers CKR_GENERAL_ERROR now and then when token objects are created while other
// sessions or processes create and destroy theirs (measured: 3 of 15 runs of 6 concurrent KEK
// creators misjudged CKA_ALLOWED_MECHANISMS as missing). NSS answers it every time for an
// attribute it lacks. So a CKR_GENERAL_ERROR is asked again before it counts.
constexpr int kGeneralErrorTries = 4;

Result<p11::ObjectHandle> make_probe_object(p11::Session& session, const p11::AttributeTemplate& t, bool create) {
  for (int attempt = 1;; ++attempt) {
    auto key = create ? session.create_object(t) : session.generate_key(p11::aes_key_gen(), t);
    if (key || attempt == kGeneralErrorTries || key.error().ck_rv != std::optional<unsigned long>(CKR_GENERAL_ERROR))
      return key;
  }
}

// True if the module accepts `extra` on a throwaway session key. CKR_ATTRIBUTE_TYPE_INVALID and
// NSS's CKR_GENERAL_ERROR both mean "not implemented"; anything else is a real failure.
Result<bool> accepts(p11::Session& session, const p11::AttributeTemplate& extra_base, bool create = false) {
  auto key = make_probe_object(session, extra_base, create);
  if (key) {
    p11::ScopedObject destroy(session, *key);
    return true;
  }
  const CK_RV rv = key.error().ck_rv.value_or(CKR_OK);
  if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_GENERAL_ERROR || rv == CKR_ATTRIBUTE_VALUE_INVALID ||
      rv == CKR_TEMPLATE_INCONSISTENT)
    return false;
  return std::unexpected(std::move(key).error().with_context("probing the module's attribute support"));
}

// Accepting CKA_UNWRAP_TEMPLATE is not enforcing it (NSS 3.87 stores it and ignores it): unwrap
// a key under a session wrapping key whose template forbids CKA_WRAP, asking for CKA_WRAP.
Result<bool> unwrap_template_enforced(p11::Session& session) {
  p11::AttributeTemplate wrapping = policy::kek_material_template();
  wrapping.set_bool(CKA_EXTRACTABLE, false).set_bool(CKA_WRAP, true).set_bool(CKA_UNWRAP, true);
  wrapping.set_template(CKA_UNWRAP_TEMPLATE, policy::kek_own_unwrap_template());
  KW_ASSIGN_OR_RETURN(p11::ObjectHandle wrapper, session.generate_key(p11::aes_key_gen(), wrapping));
  p11::ScopedObject destroy_wrapper(session, wrapper);
  KW_ASSIGN_OR_RETURN(p11::ObjectHandle sample, session.generate_key(p11::aes_key_gen(), policy::dek_generate_template()));
  p11::ScopedObject destroy_sample(session, sample);
  KW_ASSIGN_OR_RETURN(auto wrapped, session.wrap_key(p11::aes_key_wrap(), wrapper, sample));
  p11::AttributeTemplate forbidden = policy::dek_unwrap_for_cpu_template();
  forbidden.set_bool(CKA_WRAP, true);
  auto unwrapped = session.unwrap_key(p11::aes_key_wrap(), wrapper, wrapped, forbidden);
  if (!unwrapped) return true;
  (void)session.destroy_object(*unwrapped);
  return false;
}

using TemplateEdit = std::function<void(p11::AttributeTemplate&)>;

// Does a wrapping key whose unwrap template carries `pin` accept an unwrap that asks for `pin` and
// refuse one that asks for `other`? False when the module does not even accept the template.
Result<bool> unwrap_template_pins(p11::Session& session, const TemplateEdit& pin, const TemplateEdit& other) {
  p11::AttributeTemplate unwrap_template = policy::kek_own_unwrap_template();
  pin(unwrap_template);
  p11::AttributeTemplate wrapping = policy::kek_material_template();
  wrapping.set_bool(CKA_EXTRACTABLE, false).set_bool(CKA_WRAP, true).set_bool(CKA_UNWRAP, true);
  wrapping.set_template(CKA_UNWRAP_TEMPLATE, unwrap_template);
  auto wrapper = session.generate_key(p11::aes_key_gen(), wrapping);
  if (!wrapper) {
    const CK_RV rv = wrapper.error().ck_rv.value_or(CKR_OK);
    if (rv == CKR_ATTRIBUTE_VALUE_INVALID || rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_TEMPLATE_INCONSISTENT ||
        rv == CKR_GENERAL_ERROR)
      return false;
    return std::unexpected(std::move(wrapper).error().with_context("probing unwrap-template pins"));
  }
  p11::ScopedObject destroy_wrapper(session, *wrapper);
  KW_ASSIGN_OR_RETURN(p11::ObjectHandle sample, session.generate_key(p11::aes_key_gen(), policy::dek_generate_template()));
  p11::ScopedObject destroy_sample(session, sample);
  KW_ASSIGN_OR_RETURN(auto wrapped, session.wrap_key(p11::aes_key_wrap(), *wrapper, sample));
  auto asking = [](const TemplateEdit& edit) {
    p11::AttributeTemplate t = policy::dek_unwrap_for_cpu_template();
    edit(t);
    return t;
  };
  auto same = session.unwrap_key(p11::aes_key_wrap(), *wrapper, wrapped, asking(pin));
  if (!same) return false;
  (void)session.destroy_object(*same);
  auto different = session.unwrap_key(p11::aes_key_wrap(), *wrapper, wrapped, asking(other));
  if (!different) return true;
  (void)session.destroy_object(*different);
  return false;
}

Result<ModuleProfile::UnwrapPins> probe_unwrap_pins(p11::Session& session) {
  ModuleProfile::UnwrapPins pins;
  // Where a pin is not enforced the probe may create a token object: it carries the probe label
  // and is destroyed at once.
  KW_ASSIGN_OR_RETURN(pins.token, unwrap_template_pins(
                                      session, [](auto& t) { t.set_bool(CKA_TOKEN, false).set_string(CKA_LABEL, "keyward/probe"); },
                                      [](auto& t) { t.set_bool(CKA_TOKEN, true).set_string(CKA_LABEL, "keyward/probe"); }));
  KW_ASSIGN_OR_RETURN(pins.label, unwrap_template_pins(
                                      session, [](auto& t) { t.set_string(CKA_LABEL, "keyward/probe"); },
                                      [](auto& t) { t.set_string(CKA_LABEL, "keyward/probe-other"); }));
  static const std::vector<CK_MECHANISM_TYPE> wider = {CKM_AES_KEY_WRAP, CKM_AES_ECB};
  KW_ASSIGN_OR_RETURN(pins.allowed_mechanisms,
                      unwrap_template_pins(
                          session, [](auto& t) { t.set_mechanisms(CKA_ALLOWED_MECHANISMS, policy::wrap_mechanisms()); },
                          [](auto& t) { t.set_mechanisms(CKA_ALLOWED_MECHANISMS, wider); }));
  auto nested = [](bool inner_wrap) {
    return [inner_wrap](p11::AttributeTemplate& t) {
      p11::AttributeTemplate inner;
      inner.set_bool(CKA_WRAP, inner_wrap);
      t.set_template(CKA_UNWRAP_TEMPLATE, inner);
    };
  };
  KW_ASSIGN_OR_RETURN(pins.nested_template, unwrap_template_pins(session, nested(false), nested(true)));
  return pins;
}

}  // namespace

std::vector<std::string> ModuleProfile::missing() const {
  std::vector<std::string> out;
  if (!copyable) out.push_back("CKA_COPYABLE (the token could copy a key into an object with a looser policy)");
  if (!allowed_mechanisms)
    out.push_back("CKA_ALLOWED_MECHANISMS (a KEK could be used with a weaker wrap mechanism)");
  if (!unwrap_template)
    out.push_back(
        "CKA_UNWRAP_TEMPLATE, implemented and enforced (keys unwrapped under a root or KEK are not forced into "
        "policy)");
  if (!data_objects) out.push_back(
        "CKO_DATA token objects (KEK blobs are kept only in the ceremony's files; destroyed KEKs' fingerprints are not "
        "recorded, so verify cannot prove that no copy of a retired KEK remains)");
  if (!unextractable_enforced)
    out.push_back("CKA_EXTRACTABLE=false is not enforced by the token's wrap operation (any wrapping key can export a root or KEK)");
  if (!modifiable_enforced)
    out.push_back("CKA_MODIFIABLE=false is not enforced when attributes are set (labels can be changed)");
  return out;
}

Status remove_stray_probe_objects(p11::Session& session) {
  KW_ASSIGN_OR_RETURN(auto objects, list_keyward_objects(session));
  for (const auto& object : objects)
    if (object.label.starts_with("keyward/probe")) (void)session.destroy_object(object.handle);
  return {};
}

Result<ModuleProfile> probe_module_profile(p11::Session& session) {
  auto base = [] {
    // A token object, as roots and KEKs are: NSS accepts on session objects attributes that it
    // then fails to store in its database. Destroyed at once; never a usable key (no label match).
    p11::AttributeTemplate t = policy::kek_material_template();
    t.set_bool(CKA_TOKEN, true)
        .set_string(CKA_LABEL, "keyward/probe")
        .set_bool(CKA_EXTRACTABLE, false)
        .set_bool(CKA_WRAP, true)
        .set_bool(CKA_UNWRAP, true);
    return t;
  };
  ModuleProfile profile;
  auto with_copyable = base();
  with_copyable.set_bool(CKA_COPYABLE, false);
  KW_ASSIGN_OR_RETURN(profile.copyable, accepts(session, with_copyable));
  auto with_mechanisms = base();
  with_mechanisms.set_mechanisms(CKA_ALLOWED_MECHANISMS, policy::wrap_mechanisms());
  KW_ASSIGN_OR_RETURN(profile.allowed_mechanisms, accepts(session, with_mechanisms));
  auto with_template = base();
  with_template.set_template(CKA_UNWRAP_TEMPLATE, policy::kek_own_unwrap_template());
  KW_ASSIGN_OR_RETURN(profile.unwrap_template, accepts(session, with_template));
  if (profile.unwrap_template) {
    KW_ASSIGN_OR_RETURN(profile.unwrap_template, unwrap_template_enforced(session));
  }
  p11::AttributeTemplate data;
  data.set_ulong(CKA_CLASS, CKO_DATA)
      .set_bool(CKA_TOKEN, true)
      .set_bool(CKA_PRIVATE, true)
      .set_string(CKA_LABEL, "keyward/probe")
      .set_string(CKA_VALUE, "probe");
  KW_ASSIGN_OR_RETURN(profile.data_objects, accepts(session, data, true));
  if (profile.unwrap_template) {
    KW_ASSIGN_OR_RETURN(profile.unwrap_pins, probe_unwrap_pins(session));
  }

  // Enforcement, not just acceptance: try to break a throwaway non-extractable, non-modifiable key.
  auto victim_template = base();
  victim_template.set_bool(CKA_MODIFIABLE, false);
  KW_ASSIGN_OR_RETURN(p11::ObjectHandle victim, make_probe_object(session, victim_template, false));
  p11::ScopedObject destroy_victim(session, victim);
  p11::AttributeTemplate wrapper_template = policy::kek_material_template();
  wrapper_template.set_bool(CKA_WRAP, true);
  KW_ASSIGN_OR_RETURN(p11::ObjectHandle wrapper, session.generate_key(p11::aes_key_gen(), wrapper_template));
  p11::ScopedObject destroy_wrapper(session, wrapper);
  profile.unextractable_enforced = !session.wrap_key(p11::aes_key_wrap(), wrapper, victim).has_value();
  profile.modifiable_enforced =
      !session.set_attributes(victim, p11::AttributeTemplate().set_string(CKA_LABEL, "keyward/probe-relabelled"))
           .has_value();
  return profile;
}

}  // namespace keyward::hierarchy
