#include "hierarchy/token_objects.h"

namespace keyward::hierarchy {

Result<std::vector<TokenObject>> list_keyward_objects(p11::Session& session) {
  p11::AttributeTemplate on_token;
  on_token.set_bool(CKA_TOKEN, true);
  KW_ASSIGN_OR_RETURN(auto handles, session.find_objects(on_token));
  std::vector<TokenObject> objects;
  for (p11::ObjectHandle handle : handles) {
    KW_ASSIGN_OR_RETURN(auto label, session.get_attribute(handle, CKA_LABEL));
    std::string text = label.as_string();
    if (!text.starts_with(kLabelPrefix)) continue;
    KW_ASSIGN_OR_RETURN(auto object_class, session.get_attribute(handle, CKA_CLASS));
    objects.push_back(TokenObject{handle, object_class.as_ulong(), text, parse_label(text)});
  }
  return objects;
}

}  // namespace keyward::hierarchy
