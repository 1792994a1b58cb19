// AttributeTemplate: a PKCS#11 attribute template that owns its values at stable addresses.
//
// Values are kept in SecretBytes, so a template that carries key material (CKA_VALUE on import) is
// wiped with it. Entries keep the order they were set in: for C_UnwrapKey SoftHSM refuses attributes
// that follow CKA_MODIFIABLE=false (CKR_ATTRIBUTE_READ_ONLY), so callers put that one last.
// A built template is read-only from the module's point of view and safe to share between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pkcs11/ck.h"
#include "base/secret_bytes.h"

namespace keyward::p11 {

class AttributeTemplate {
 public:
  AttributeTemplate() = default;
  AttributeTemplate(const AttributeTemplate& other);
  AttributeTemplate& operator=(const AttributeTemplate& other);
  AttributeTemplate(AttributeTemplate&&) noexcept = default;
  AttributeTemplate& operator=(AttributeTemplate&&) noexcept = default;
  ~AttributeTemplate() = default;

  // Each setter replaces an earlier value of the same type (keeping its position) or appends.
  AttributeTemplate& set_bool(CK_ATTRIBUTE_TYPE type, bool value);
  AttributeTemplate& set_ulong(CK_ATTRIBUTE_TYPE type, CK_ULONG value);
  AttributeTemplate& set_bytes(CK_ATTRIBUTE_TYPE type, std::span<const std::uint8_t> value);
  AttributeTemplate& set_string(CK_ATTRIBUTE_TYPE type, std::string_view value);
  AttributeTemplate& set_secret(CK_ATTRIBUTE_TYPE type, const SecretBytes& value);
  AttributeTemplate& set_mechanisms(CK_ATTRIBUTE_TYPE type, std::span<const CK_MECHANISM_TYPE> mechanisms);
  // An attribute whose value is itself a template (CKA_UNWRAP_TEMPLATE, CKA_WRAP_TEMPLATE).
  AttributeTemplate& set_template(CK_ATTRIBUTE_TYPE type, const AttributeTemplate& nested);
  // Removes `type` if present.
  AttributeTemplate& erase(CK_ATTRIBUTE_TYPE type);

  // The CK_ATTRIBUTE array to hand to the module. Valid until the template is next modified.
  CK_ATTRIBUTE* data() const { return const_cast<CK_ATTRIBUTE*>(view_.data()); }
  CK_ULONG size() const { return static_cast<CK_ULONG>(view_.size()); }
  bool empty() const { return view_.empty(); }
  bool contains(CK_ATTRIBUTE_TYPE type) const;

 private:
  struct Entry {
    CK_ATTRIBUTE_TYPE type;
    SecretBytes value;
    std::unique_ptr<AttributeTemplate> nested;
  };
  AttributeTemplate& set_raw(CK_ATTRIBUTE_TYPE type, std::span<const std::uint8_t> value,
                             std::unique_ptr<AttributeTemplate> nested = nullptr);
  void rebuild_view();

  std::vector<Entry> entries_;
  std::vector<CK_ATTRIBUTE> view_;
};

// One attribute read back from the token, for policy checks and reports.
struct AttributeValue {
  CK_ATTRIBUTE_TYPE type = 0;
  bool available = false;            // false: CK_UNAVAILABLE_INFORMATION (sensitive or invalid type)
  std::vector<std::uint8_t> bytes;   // never used for CKA_VALUE of a key (see Session::extract_key_value)

  bool as_bool() const { return available && bytes.size() == 1 && bytes[0] != 0; }
  CK_ULONG as_ulong() const;
  std::vector<CK_ULONG> as_ulongs() const;
  std::string as_string() const { return {bytes.begin(), bytes.end()}; }
};

// A human name for an attribute type ("CKA_SENSITIVE"), for errors and reports.
std::string attribute_name(CK_ATTRIBUTE_TYPE type);

}  // namespace keyward::p11
