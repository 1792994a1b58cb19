#include "hierarchy/token_objects.h"

#include <atomic>

namespace keyward::hierarchy {
namespace {

std::atomic<std::uint64_t> g_listings{0};

// PKCS#11 v3.0 §5.7: reading an attribute returns CKR_OBJECT_HANDLE_INVALID for an object that is
// gone. Between the object search and the attribute reads another session or process may destroy an
// object (a retire, a ceremony's temporary, a KEK creation's session key): that object is simply
// no longer on the token, not a failure of the listing.
bool vanished(const Error& error) { return error.ck_rv == CKR_OBJECT_HANDLE_INVALID; }

}  // namespace

bool is_vanished_object(const Error& error) {
  return error.ck_rv == CKR_OBJECT_HANDLE_INVALID || error.ck_rv == CKR_KEY_HANDLE_INVALID ||
         error.ck_rv == CKR_WRAPPING_KEY_HANDLE_INVALID;
}

Result<std::vector<TokenObject>> list_keyward_objects(p11::Session& session) {
  g_listings.fetch_add(1, std::memory_order_relaxed);
  p11::AttributeTemplate on_token;
  on_token.set_bool(CKA_TOKEN, true);
  KW_ASSIGN_OR_RETURN(auto handles, session.find_objects(on_token));
  std::vector<TokenObject> objects;
  for (p11::ObjectHandle handle : handles) {
    auto label = session.get_attribute(handle, CKA_LABEL);
    if (!label && vanished(label.error())) continue;
    if (!label) return std::unexpected(std::move(label).error());
    std::string text = label->as_string();
    if (!text.starts_with(kLabelPrefix)) continue;
    auto object_class = session.get_attribute(handle, CKA_CLASS);
    if (!object_class && vanished(object_class.error())) continue;
    if (!object_class) return std::unexpected(std::move(object_class).error());
    objects.push_back(TokenObject{handle, object_class->as_ulong(), text, parse_label(text)});
  }
  return objects;
}

std::uint64_t token_object_listings() { return g_listings.load(std::memory_order_relaxed); }

}  // namespace keyward::hierarchy
