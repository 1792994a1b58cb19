#include "pkcs11/attributes.h"

#include <cstdio>
#include <cstring>

namespace keyward::p11 {
namespace {

std::span<const std::uint8_t> bytes_of(const void* data, std::size_t size) {
  return {static_cast<const std::uint8_t*>(data), size};
}

}  // namespace

AttributeTemplate::AttributeTemplate(const AttributeTemplate& other) { *this = other; }

AttributeTemplate& AttributeTemplate::operator=(const AttributeTemplate& other) {
  if (this == &other) return *this;
  entries_.clear();
  for (const auto& entry : other.entries_) {
    set_raw(entry.type, entry.value.reveal(),
            entry.nested ? std::make_unique<AttributeTemplate>(*entry.nested) : nullptr);
  }
  return *this;
}

AttributeTemplate& AttributeTemplate::set_bool(CK_ATTRIBUTE_TYPE type, bool value) {
  const CK_BBOOL flag = value ? CK_TRUE : CK_FALSE;
  return set_raw(type, bytes_of(&flag, sizeof flag));
}

AttributeTemplate& AttributeTemplate::set_ulong(CK_ATTRIBUTE_TYPE type, CK_ULONG value) {
  return set_raw(type, bytes_of(&value, sizeof value));
}

AttributeTemplate& AttributeTemplate::set_bytes(CK_ATTRIBUTE_TYPE type, std::span<const std::uint8_t> value) {
  return set_raw(type, value);
}

AttributeTemplate& AttributeTemplate::set_string(CK_ATTRIBUTE_TYPE type, std::string_view value) {
  return set_raw(type, bytes_of(value.data(), value.size()));
}

AttributeTemplate& AttributeTemplate::set_secret(CK_ATTRIBUTE_TYPE type, const SecretBytes& value) {
  return set_raw(type, value.reveal());
}

AttributeTemplate& AttributeTemplate::set_mechanisms(CK_ATTRIBUTE_TYPE type,
                                                     std::span<const CK_MECHANISM_TYPE> mechanisms) {
  return set_raw(type, bytes_of(mechanisms.data(), mechanisms.size_bytes()));
}

AttributeTemplate& AttributeTemplate::set_template(CK_ATTRIBUTE_TYPE type, const AttributeTemplate& nested) {
  return set_raw(type, {}, std::make_unique<AttributeTemplate>(nested));
}

AttributeTemplate& AttributeTemplate::erase(CK_ATTRIBUTE_TYPE type) {
  std::erase_if(entries_, [type](const Entry& entry) { return entry.type == type; });
  rebuild_view();
  return *this;
}

bool AttributeTemplate::contains(CK_ATTRIBUTE_TYPE type) const {
  for (const auto& entry : entries_)
    if (entry.type == type) return true;
  return false;
}

AttributeTemplate& AttributeTemplate::set_raw(CK_ATTRIBUTE_TYPE type, std::span<const std::uint8_t> value,
                                              std::unique_ptr<AttributeTemplate> nested) {
  Entry replacement{type, SecretBytes::copy_of(value), std::move(nested)};
  bool replaced = false;
  for (auto& entry : entries_) {
    if (entry.type == type) {
      entry = std::move(replacement);
      replaced = true;
      break;
    }
  }
  if (!replaced) entries_.push_back(std::move(replacement));
  rebuild_view();
  return *this;
}

void AttributeTemplate::rebuild_view() {
  // SecretBytes and the nested templates own heap storage that does not move when entries_ grows,
  // so the pointers below stay valid until the next modification.
  view_.clear();
  view_.reserve(entries_.size());
  for (auto& entry : entries_) {
    CK_ATTRIBUTE attribute{};
    attribute.type = entry.type;
    if (entry.nested) {
      attribute.pValue = entry.nested->data();
      attribute.ulValueLen = entry.nested->size() * sizeof(CK_ATTRIBUTE);
    } else {
      attribute.pValue = entry.value.empty() ? nullptr : const_cast<std::uint8_t*>(entry.value.reveal().data());
      attribute.ulValueLen = entry.value.size();
    }
    view_.push_back(attribute);
  }
}

CK_ULONG AttributeValue::as_ulong() const {
  CK_ULONG value = 0;
  if (available && bytes.size() == sizeof value) std::memcpy(&value, bytes.data(), sizeof value);
  return value;
}

std::vector<CK_ULONG> AttributeValue::as_ulongs() const {
  std::vector<CK_ULONG> values(available ? bytes.size() / sizeof(CK_ULONG) : 0);
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), values.size() * sizeof(CK_ULONG));
  return values;
}

std::string attribute_name(CK_ATTRIBUTE_TYPE type) {
  switch (type) {
#define KW_ATTRIBUTE_NAME(name) \
  case name:                    \
    return #name;
    KW_ATTRIBUTE_NAME(CKA_CLASS)
    KW_ATTRIBUTE_NAME(CKA_TOKEN)
    KW_ATTRIBUTE_NAME(CKA_PRIVATE)
    KW_ATTRIBUTE_NAME(CKA_LABEL)
    KW_ATTRIBUTE_NAME(CKA_VALUE)
    KW_ATTRIBUTE_NAME(CKA_KEY_TYPE)
    KW_ATTRIBUTE_NAME(CKA_ID)
    KW_ATTRIBUTE_NAME(CKA_SENSITIVE)
    KW_ATTRIBUTE_NAME(CKA_ENCRYPT)
    KW_ATTRIBUTE_NAME(CKA_DECRYPT)
    KW_ATTRIBUTE_NAME(CKA_WRAP)
    KW_ATTRIBUTE_NAME(CKA_UNWRAP)
    KW_ATTRIBUTE_NAME(CKA_SIGN)
    KW_ATTRIBUTE_NAME(CKA_SIGN_RECOVER)
    KW_ATTRIBUTE_NAME(CKA_VERIFY)
    KW_ATTRIBUTE_NAME(CKA_VERIFY_RECOVER)
    KW_ATTRIBUTE_NAME(CKA_DERIVE)
    KW_ATTRIBUTE_NAME(CKA_VALUE_LEN)
    KW_ATTRIBUTE_NAME(CKA_EXTRACTABLE)
    KW_ATTRIBUTE_NAME(CKA_LOCAL)
    KW_ATTRIBUTE_NAME(CKA_NEVER_EXTRACTABLE)
    KW_ATTRIBUTE_NAME(CKA_ALWAYS_SENSITIVE)
    KW_ATTRIBUTE_NAME(CKA_MODIFIABLE)
    KW_ATTRIBUTE_NAME(CKA_COPYABLE)
    KW_ATTRIBUTE_NAME(CKA_DESTROYABLE)
    KW_ATTRIBUTE_NAME(CKA_TRUSTED)
    KW_ATTRIBUTE_NAME(CKA_WRAP_WITH_TRUSTED)
    KW_ATTRIBUTE_NAME(CKA_CHECK_VALUE)
    KW_ATTRIBUTE_NAME(CKA_UNWRAP_TEMPLATE)
    KW_ATTRIBUTE_NAME(CKA_WRAP_TEMPLATE)
    KW_ATTRIBUTE_NAME(CKA_ALLOWED_MECHANISMS)
    KW_ATTRIBUTE_NAME(CKA_EC_PARAMS)
    KW_ATTRIBUTE_NAME(CKA_EC_POINT)
#undef KW_ATTRIBUTE_NAME
    default: {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "CKA_0x%lx", type);
      return buffer;
    }
  }
}

}  // namespace keyward::p11
