// ModuleProfile: which of keyward's policy attributes a PKCS#11 module implements and enforces.
//
// SoftHSM 2.6.1 implements and enforces all of them. NSS softoken 3.87, measured by the probe below:
// refuses CKA_COPYABLE and CKA_ALLOWED_MECHANISMS on token keys (CKR_GENERAL_ERROR), stores
// CKA_UNWRAP_TEMPLATE without enforcing it, cannot store CKO_DATA objects, and lets its wrap operation export a
// key whose CKA_EXTRACTABLE is false. NSS softoken must never hold a production root.
//
// keyward never drops an attribute silently: a module that lacks one is refused unless the caller
// accepts its limits explicitly (--accept-module-limits), and reports name what is not enforced.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "pkcs11/session.h"

namespace keyward::hierarchy {

struct ModuleProfile {
  bool copyable = true;            // CKA_COPYABLE
  bool allowed_mechanisms = true;  // CKA_ALLOWED_MECHANISMS
  bool unwrap_template = true;     // CKA_UNWRAP_TEMPLATE, accepted and enforced on unwrap
  bool data_objects = true;        // private CKO_DATA token objects (where KEK blobs are kept)
  bool unextractable_enforced = true;  // wrapping refuses a key with CKA_EXTRACTABLE=false
  bool modifiable_enforced = true;     // setting an attribute is refused when CKA_MODIFIABLE=false

  // What a wrapping key's CKA_UNWRAP_TEMPLATE can pin on the keys unwrapped under it (measured; not
  // part of complete(): keyward relies on none of them but the mechanisms pin, which it uses where
  // it works). SoftHSM 2.6.1: every attribute of the template must appear, byte-equal, in the
  // caller's unwrap template; nested arrays are refused. NSS 3.87: none enforced.
  struct UnwrapPins {
    bool token = false;               // CKA_TOKEN (a root pinning false would forbid token clones… and keyward's own import)
    bool label = false;               // CKA_LABEL (one fixed label: useless for versioned KEKs)
    bool allowed_mechanisms = false;  // CKA_ALLOWED_MECHANISMS
    bool nested_template = false;     // CKA_UNWRAP_TEMPLATE inside CKA_UNWRAP_TEMPLATE
  } unwrap_pins;

  bool complete() const {
    return copyable && allowed_mechanisms && unwrap_template && data_objects && unextractable_enforced &&
           modifiable_enforced;
  }
  // "CKA_COPYABLE (…what it closes…)" for each attribute the module lacks.
  std::vector<std::string> missing() const;
};

// Probes the module by generating throwaway session keys, each with one of the attributes.
Result<ModuleProfile> probe_module_profile(p11::Session& session);
// Destroys probe objects an earlier probe left on the token: one whose creation reply was lost (the
// token made it, the caller saw an error) or whose process was killed mid-probe. Call it, and the
// probe, under lock_version_series(…, "module-probe") so that no other process's probe is swept.
Status remove_stray_probe_objects(p11::Session& session);

}  // namespace keyward::hierarchy
