#include "pkcs11/session.h"

#include <openssl/crypto.h>

#include "pkcs11/rv.h"

namespace keyward::p11 {
namespace {

CK_MECHANISM raw_mechanism(const Mechanism& mechanism) {
  CK_MECHANISM raw{};
  raw.mechanism = mechanism.type;
  raw.pParameter = mechanism.parameter.empty() ? nullptr : const_cast<std::uint8_t*>(mechanism.parameter.data());
  raw.ulParameterLen = mechanism.parameter.size();
  return raw;
}

CK_UTF8CHAR_PTR pin_pointer(const SecretBytes& pin) {
  return pin.empty() ? nullptr : const_cast<CK_UTF8CHAR_PTR>(pin.reveal().data());
}

// The two-call size-then-fill pattern of PKCS#11 output buffers (v2.40 §5.2).
template <class Call>
Result<std::vector<std::uint8_t>> two_call_output(const char* function, Call&& call) {
  CK_ULONG length = 0;
  if (CK_RV rv = call(nullptr, &length); rv != CKR_OK) return fail(token_error(function, rv));
  std::vector<std::uint8_t> out(length);
  if (CK_RV rv = call(out.data(), &length); rv != CKR_OK) return fail(token_error(function, rv));
  out.resize(length);
  return out;
}

}  // namespace

Session::Session(std::shared_ptr<Module> module, CK_SLOT_ID slot, CK_SESSION_HANDLE handle)
    : module_(std::move(module)), slot_(slot), handle_(handle) {}

Session::Session(Session&& other) noexcept
    : module_(std::move(other.module_)), slot_(other.slot_), handle_(std::exchange(other.handle_, CK_INVALID_HANDLE)) {}

Session& Session::operator=(Session&& other) noexcept {
  if (this != &other) {
    close();
    module_ = std::move(other.module_);
    slot_ = other.slot_;
    handle_ = std::exchange(other.handle_, CK_INVALID_HANDLE);
  }
  return *this;
}

Session::~Session() { close(); }

void Session::close() noexcept {
  // A session already invalidated (token logged out, C_CloseAllSessions) reports an error here;
  // there is nothing left to release, so it is ignored.
  if (module_ && handle_ != CK_INVALID_HANDLE) fn()->C_CloseSession(handle_);
  handle_ = CK_INVALID_HANDLE;
}

Status Session::login(CK_USER_TYPE user, const SecretBytes& pin) {
  // SoftHSM rewrites its token file on every login (see module_state_lock.h).
  KW_ASSIGN_OR_RETURN(auto state_lock, module_->lock_token_state());
  CK_RV rv = fn()->C_Login(handle_, user, pin_pointer(pin), pin.size());
  if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) return {};
  return fail(token_error("C_Login", rv));
}

Status Session::logout() {
  CK_RV rv = fn()->C_Logout(handle_);
  if (rv == CKR_OK || rv == CKR_USER_NOT_LOGGED_IN) return {};
  return fail(token_error("C_Logout", rv));
}

Result<CK_STATE> Session::state() const {
  CK_SESSION_INFO info{};
  if (CK_RV rv = fn()->C_GetSessionInfo(handle_, &info); rv != CKR_OK) return fail(token_error("C_GetSessionInfo", rv));
  return info.state;
}

Status Session::init_user_pin(const SecretBytes& pin) {
  KW_ASSIGN_OR_RETURN(auto state_lock, module_->lock_token_state());
  if (CK_RV rv = fn()->C_InitPIN(handle_, pin_pointer(pin), pin.size()); rv != CKR_OK)
    return fail(token_error("C_InitPIN", rv));
  return {};
}

Result<ObjectHandle> Session::generate_key(const Mechanism& mechanism, const AttributeTemplate& key_template) {
  CK_MECHANISM raw = raw_mechanism(mechanism);
  ObjectHandle key = CK_INVALID_HANDLE;
  if (CK_RV rv = fn()->C_GenerateKey(handle_, &raw, key_template.data(), key_template.size(), &key); rv != CKR_OK)
    return fail(token_error("C_GenerateKey", rv));
  return key;
}

Result<std::pair<ObjectHandle, ObjectHandle>> Session::generate_key_pair(const Mechanism& mechanism,
                                                                          const AttributeTemplate& public_template,
                                                                          const AttributeTemplate& private_template) {
  CK_MECHANISM raw = raw_mechanism(mechanism);
  ObjectHandle public_key = CK_INVALID_HANDLE, private_key = CK_INVALID_HANDLE;
  CK_RV rv = fn()->C_GenerateKeyPair(handle_, &raw, public_template.data(), public_template.size(),
                                     private_template.data(), private_template.size(), &public_key, &private_key);
  if (rv != CKR_OK) return fail(token_error("C_GenerateKeyPair", rv));
  return std::make_pair(public_key, private_key);
}

Result<ObjectHandle> Session::create_object(const AttributeTemplate& object_template) {
  ObjectHandle object = CK_INVALID_HANDLE;
  if (CK_RV rv = fn()->C_CreateObject(handle_, object_template.data(), object_template.size(), &object); rv != CKR_OK)
    return fail(token_error("C_CreateObject", rv));
  return object;
}

Result<ObjectHandle> Session::copy_object(ObjectHandle object, const AttributeTemplate& changes) {
  ObjectHandle copy = CK_INVALID_HANDLE;
  if (CK_RV rv = fn()->C_CopyObject(handle_, object, changes.data(), changes.size(), &copy); rv != CKR_OK)
    return fail(token_error("C_CopyObject", rv));
  return copy;
}

Status Session::destroy_object(ObjectHandle object) {
  if (CK_RV rv = fn()->C_DestroyObject(handle_, object); rv != CKR_OK) return fail(token_error("C_DestroyObject", rv));
  return {};
}

Result<std::vector<std::uint8_t>> Session::wrap_key(const Mechanism& mechanism, ObjectHandle wrapping_key,
                                                    ObjectHandle key) {
  CK_MECHANISM raw = raw_mechanism(mechanism);
  // A wrapped 256-bit AES key under RFC 3394 is 40 bytes; one call with room to spare avoids the
  // size query on the hot path, and falls back to it for longer keys.
  std::vector<std::uint8_t> out(64);
  CK_ULONG length = out.size();
  CK_RV rv = fn()->C_WrapKey(handle_, &raw, wrapping_key, key, out.data(), &length);
  if (rv == CKR_BUFFER_TOO_SMALL) {
    return two_call_output("C_WrapKey", [&](CK_BYTE_PTR buffer, CK_ULONG_PTR size) {
      return fn()->C_WrapKey(handle_, &raw, wrapping_key, key, buffer, size);
    });
  }
  if (rv != CKR_OK) return fail(token_error("C_WrapKey", rv));
  out.resize(length);
  return out;
}

Result<ObjectHandle> Session::unwrap_key(const Mechanism& mechanism, ObjectHandle unwrapping_key,
                                         std::span<const std::uint8_t> wrapped, const AttributeTemplate& key_template) {
  CK_MECHANISM raw = raw_mechanism(mechanism);
  ObjectHandle key = CK_INVALID_HANDLE;
  CK_RV rv = fn()->C_UnwrapKey(handle_, &raw, unwrapping_key, const_cast<CK_BYTE_PTR>(wrapped.data()), wrapped.size(),
                               key_template.data(), key_template.size(), &key);
  if (rv != CKR_OK) return fail(token_error("C_UnwrapKey", rv));
  return key;
}

Result<std::vector<std::uint8_t>> Session::encrypt(const Mechanism& mechanism, ObjectHandle key,
                                                   std::span<const std::uint8_t> data) {
  CK_MECHANISM raw = raw_mechanism(mechanism);
  if (CK_RV rv = fn()->C_EncryptInit(handle_, &raw, key); rv != CKR_OK) return fail(token_error("C_EncryptInit", rv));
  // Sized for block modes with padding; the module reports the exact length.
  std::vector<std::uint8_t> out(data.size() + 64);
  CK_ULONG length = out.size();
  if (CK_RV rv = fn()->C_Encrypt(handle_, const_cast<CK_BYTE_PTR>(data.data()), data.size(), out.data(), &length);
      rv != CKR_OK)
    return fail(token_error("C_Encrypt", rv));
  out.resize(length);
  return out;
}

Result<std::vector<std::uint8_t>> Session::decrypt(const Mechanism& mechanism, ObjectHandle key,
                                                   std::span<const std::uint8_t> data) {
  CK_MECHANISM raw = raw_mechanism(mechanism);
  if (CK_RV rv = fn()->C_DecryptInit(handle_, &raw, key); rv != CKR_OK) return fail(token_error("C_DecryptInit", rv));
  std::vector<std::uint8_t> out(data.size() + 64);
  CK_ULONG length = out.size();
  if (CK_RV rv = fn()->C_Decrypt(handle_, const_cast<CK_BYTE_PTR>(data.data()), data.size(), out.data(), &length);
      rv != CKR_OK)
    return fail(token_error("C_Decrypt", rv));
  out.resize(length);
  return out;
}

Result<std::vector<std::uint8_t>> Session::sign(const Mechanism& mechanism, ObjectHandle key,
                                                std::span<const std::uint8_t> data) {
  CK_MECHANISM raw = raw_mechanism(mechanism);
  if (CK_RV rv = fn()->C_SignInit(handle_, &raw, key); rv != CKR_OK) return fail(token_error("C_SignInit", rv));
  std::vector<std::uint8_t> out(512);
  CK_ULONG length = out.size();
  if (CK_RV rv = fn()->C_Sign(handle_, const_cast<CK_BYTE_PTR>(data.data()), data.size(), out.data(), &length);
      rv != CKR_OK)
    return fail(token_error("C_Sign", rv));
  out.resize(length);
  return out;
}

Result<std::vector<ObjectHandle>> Session::find_objects(const AttributeTemplate& match, std::size_t limit) {
  if (CK_RV rv = fn()->C_FindObjectsInit(handle_, match.data(), match.size()); rv != CKR_OK)
    return fail(token_error("C_FindObjectsInit", rv));
  std::vector<ObjectHandle> found;
  ObjectHandle batch[64];
  for (;;) {
    CK_ULONG count = 0;
    if (CK_RV rv = fn()->C_FindObjects(handle_, batch, 64, &count); rv != CKR_OK) {
      fn()->C_FindObjectsFinal(handle_);
      return fail(token_error("C_FindObjects", rv));
    }
    found.insert(found.end(), batch, batch + count);
    if (count == 0 || (limit != 0 && found.size() >= limit)) break;
  }
  if (CK_RV rv = fn()->C_FindObjectsFinal(handle_); rv != CKR_OK) return fail(token_error("C_FindObjectsFinal", rv));
  if (limit != 0 && found.size() > limit) found.resize(limit);
  return found;
}

Result<std::vector<AttributeValue>> Session::get_attributes(ObjectHandle object,
                                                            std::span<const CK_ATTRIBUTE_TYPE> types) {
  // One attribute per call: PKCS#11 v2.40 §5.7 lets a module stop filling a multi-attribute template
  // at the first sensitive one, and SoftHSM and NSS differ in what they leave in the rest.
  std::vector<AttributeValue> values;
  values.reserve(types.size());
  for (CK_ATTRIBUTE_TYPE type : types) {
    KW_ASSIGN_OR_RETURN(auto value, get_attribute(object, type));
    values.push_back(std::move(value));
  }
  return values;
}

Result<AttributeValue> Session::get_attribute(ObjectHandle object, CK_ATTRIBUTE_TYPE type) {
  AttributeValue value;
  value.type = type;
  CK_ATTRIBUTE query{type, nullptr, 0};
  CK_RV rv = fn()->C_GetAttributeValue(handle_, object, &query, 1);
  if (rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID || query.ulValueLen == CK_UNAVAILABLE_INFORMATION)
    return value;  // not available
  if (rv != CKR_OK) return fail(token_error("C_GetAttributeValue", rv).with_context(attribute_name(type)));
  value.bytes.resize(query.ulValueLen);
  query.pValue = value.bytes.data();
  rv = fn()->C_GetAttributeValue(handle_, object, &query, 1);
  if (rv != CKR_OK) return fail(token_error("C_GetAttributeValue", rv).with_context(attribute_name(type)));
  value.bytes.resize(query.ulValueLen);
  value.available = true;
  return value;
}

CK_RV Session::probe_attribute(ObjectHandle object, CK_ATTRIBUTE_TYPE type) {
  std::uint8_t buffer[256];
  CK_ATTRIBUTE query{type, buffer, sizeof buffer};
  CK_RV rv = fn()->C_GetAttributeValue(handle_, object, &query, 1);
  // If a module did reveal something, do not leave it on the stack.
  OPENSSL_cleanse(buffer, sizeof buffer);
  return rv;
}

Result<std::vector<AttributeValue>> Session::get_template_attribute(ObjectHandle object, CK_ATTRIBUTE_TYPE type) {
  // PKCS#11 v3.0 §4.1.3 (array attributes): first the array length, then the element lengths
  // (pValue NULL in each element), then the values.
  CK_ATTRIBUTE outer{type, nullptr, 0};
  CK_RV rv = fn()->C_GetAttributeValue(handle_, object, &outer, 1);
  if (rv == CKR_ATTRIBUTE_TYPE_INVALID || outer.ulValueLen == CK_UNAVAILABLE_INFORMATION)
    return std::vector<AttributeValue>{};
  if (rv != CKR_OK) return fail(token_error("C_GetAttributeValue", rv).with_context(attribute_name(type)));
  std::vector<CK_ATTRIBUTE> inner(outer.ulValueLen / sizeof(CK_ATTRIBUTE));
  if (inner.empty()) return std::vector<AttributeValue>{};
  outer.pValue = inner.data();
  outer.ulValueLen = inner.size() * sizeof(CK_ATTRIBUTE);
  rv = fn()->C_GetAttributeValue(handle_, object, &outer, 1);
  if (rv != CKR_OK) return fail(token_error("C_GetAttributeValue", rv).with_context(attribute_name(type)));
  std::vector<AttributeValue> values(inner.size());
  for (std::size_t i = 0; i < inner.size(); ++i) {
    values[i].type = inner[i].type;
    if (inner[i].ulValueLen == CK_UNAVAILABLE_INFORMATION) continue;
    values[i].bytes.resize(inner[i].ulValueLen);
    inner[i].pValue = values[i].bytes.data();
  }
  rv = fn()->C_GetAttributeValue(handle_, object, &outer, 1);
  if (rv != CKR_OK) return fail(token_error("C_GetAttributeValue", rv).with_context(attribute_name(type)));
  for (std::size_t i = 0; i < inner.size(); ++i) {
    if (inner[i].ulValueLen == CK_UNAVAILABLE_INFORMATION) continue;
    values[i].bytes.resize(inner[i].ulValueLen);
    values[i].available = true;
  }
  return values;
}

Status Session::set_attributes(ObjectHandle object, const AttributeTemplate& changes) {
  if (CK_RV rv = fn()->C_SetAttributeValue(handle_, object, changes.data(), changes.size()); rv != CKR_OK)
    return fail(token_error("C_SetAttributeValue", rv));
  return {};
}

Result<SecretBytes> Session::extract_key_value(ObjectHandle key) {
  CK_ATTRIBUTE query{CKA_VALUE, nullptr, 0};
  if (CK_RV rv = fn()->C_GetAttributeValue(handle_, key, &query, 1); rv != CKR_OK)
    return fail(token_error("C_GetAttributeValue", rv).with_context("CKA_VALUE"));
  SecretBytes value(query.ulValueLen);
  query.pValue = value.reveal_mutable().data();
  if (CK_RV rv = fn()->C_GetAttributeValue(handle_, key, &query, 1); rv != CKR_OK)
    return fail(token_error("C_GetAttributeValue", rv).with_context("CKA_VALUE"));
  value.shrink_to(query.ulValueLen);
  return value;
}

Result<SecretBytes> Session::generate_random(std::size_t length) {
  SecretBytes out(length);
  if (length == 0) return out;
  if (CK_RV rv = fn()->C_GenerateRandom(handle_, out.reveal_mutable().data(), length); rv != CKR_OK)
    return fail(token_error("C_GenerateRandom", rv));
  return out;
}

Status Session::close_all_sessions_on_slot() {
  CK_RV rv = fn()->C_CloseAllSessions(slot_);
  handle_ = CK_INVALID_HANDLE;
  if (rv != CKR_OK) return fail(token_error("C_CloseAllSessions", rv));
  return {};
}

}  // namespace keyward::p11
