#include "pkcs11/token.h"

#include <cstring>

#include "pkcs11/rv.h"

namespace keyward::p11 {
namespace {

Result<TokenInfo> read_token_info(Module& module, CK_SLOT_ID slot, CK_TOKEN_INFO* out_raw = nullptr) {
  CK_TOKEN_INFO raw{};
  if (CK_RV rv = module.functions()->C_GetTokenInfo(slot, &raw); rv != CKR_OK)
    return fail(token_error("C_GetTokenInfo", rv));
  TokenInfo info;
  info.slot = slot;
  info.label = from_padded(raw.label, sizeof raw.label);
  info.manufacturer = from_padded(raw.manufacturerID, sizeof raw.manufacturerID);
  info.model = from_padded(raw.model, sizeof raw.model);
  info.serial = from_padded(raw.serialNumber, sizeof raw.serialNumber);
  info.flags = raw.flags;
  if (out_raw) *out_raw = raw;
  return info;
}

Result<std::vector<CK_SLOT_ID>> slots_with_tokens(Module& module) {
  CK_ULONG count = 0;
  if (CK_RV rv = module.functions()->C_GetSlotList(CK_TRUE, nullptr, &count); rv != CKR_OK)
    return fail(token_error("C_GetSlotList", rv));
  std::vector<CK_SLOT_ID> slots(count);
  if (count == 0) return slots;
  if (CK_RV rv = module.functions()->C_GetSlotList(CK_TRUE, slots.data(), &count); rv != CKR_OK)
    return fail(token_error("C_GetSlotList", rv));
  slots.resize(count);
  return slots;
}

}  // namespace

std::string TokenInfo::describe() const {
  return "'" + label + "' (serial " + serial + ", model " + model + ", slot " + std::to_string(slot) + ")";
}

Result<std::vector<TokenInfo>> Token::list(Module& module) {
  KW_ASSIGN_OR_RETURN(auto state_lock, module.lock_token_state());
  KW_ASSIGN_OR_RETURN(auto slots, slots_with_tokens(module));
  std::vector<TokenInfo> tokens;
  for (CK_SLOT_ID slot : slots) {
    KW_ASSIGN_OR_RETURN(auto info, read_token_info(module, slot));
    tokens.push_back(std::move(info));
  }
  return tokens;
}

Result<Token> Token::find(std::shared_ptr<Module> module, const TokenUri& uri) {
  KW_ASSIGN_OR_RETURN(auto state_lock, module->lock_token_state());
  KW_ASSIGN_OR_RETURN(auto slots, slots_with_tokens(*module));
  std::vector<TokenInfo> matching, present;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO raw{};
    KW_ASSIGN_OR_RETURN(auto info, read_token_info(*module, slot, &raw));
    if (info.initialized() && uri.matches(raw)) matching.push_back(info);
    present.push_back(std::move(info));
  }
  if (matching.size() == 1) return Token(std::move(module), std::move(matching.front()));

  std::string listing;
  for (const auto& info : present) {
    if (!info.initialized()) continue;
    listing += listing.empty() ? "" : ", ";
    listing += info.describe();
  }
  if (listing.empty()) listing = "none (no initialised token in this module)";
  if (matching.empty()) {
    return make_error(ErrorCategory::not_found, "no token matches " + uri.redacted() + " in module '" +
                                                    module->options().path + "'; tokens present: " + listing);
  }
  return make_error(ErrorCategory::usage, std::to_string(matching.size()) + " tokens match " + uri.redacted() +
                                              ": add serial= to the URI; tokens present: " + listing);
}

Result<Token> Token::find_by_slot(std::shared_ptr<Module> module, CK_SLOT_ID slot) {
  KW_ASSIGN_OR_RETURN(auto state_lock, module->lock_token_state());
  KW_ASSIGN_OR_RETURN(auto info, read_token_info(*module, slot));
  return Token(std::move(module), std::move(info));
}

Result<Token> Token::first_uninitialized(std::shared_ptr<Module> module) {
  KW_ASSIGN_OR_RETURN(auto tokens, list(*module));
  for (auto& info : tokens)
    if (!info.initialized()) return Token(std::move(module), std::move(info));
  return make_error(ErrorCategory::not_found, "module '" + module->options().path +
                                                  "' has no uninitialised token slot to set up");
}

Result<Session> Token::open_session(bool read_write) const {
  CK_FLAGS flags = CKF_SERIAL_SESSION | (read_write ? CKF_RW_SESSION : 0);
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  if (CK_RV rv = module_->functions()->C_OpenSession(info_.slot, flags, nullptr, nullptr, &handle); rv != CKR_OK)
    return fail(token_error("C_OpenSession", rv).with_context("token " + info_.describe()));
  return Session(module_, info_.slot, handle);
}

Result<Token> Token::initialize(const SecretBytes& so_pin, std::string_view label) const {
  if (label.empty() || label.size() > 32)
    return make_error(ErrorCategory::usage, "a token label must be 1 to 32 bytes");
  CK_UTF8CHAR padded[32];
  std::memset(padded, ' ', sizeof padded);
  std::memcpy(padded, label.data(), label.size());
  CK_RV rv = CKR_OK;
  {
    KW_ASSIGN_OR_RETURN(auto state_lock, module_->lock_token_state());
    rv = module_->functions()->C_InitToken(info_.slot, const_cast<CK_UTF8CHAR_PTR>(so_pin.reveal().data()), so_pin.size(),
                                           padded);
  }
  if (rv != CKR_OK) return fail(token_error("C_InitToken", rv).with_context("token in slot " + std::to_string(info_.slot)));
  // Find it again: SoftHSM moves a freshly initialised token to a new slot ID.
  KW_ASSIGN_OR_RETURN(auto tokens, list(*module_));
  for (auto& info : tokens) {
    if (info.initialized() && info.label == label && !info.user_pin_initialized()) return Token(module_, std::move(info));
  }
  return make_error(ErrorCategory::token, "C_InitToken succeeded but the token '" + std::string(label) +
                                              "' is not listed afterwards");
}

Result<std::vector<CK_MECHANISM_TYPE>> Token::mechanisms() const {
  CK_ULONG count = 0;
  if (CK_RV rv = module_->functions()->C_GetMechanismList(info_.slot, nullptr, &count); rv != CKR_OK)
    return fail(token_error("C_GetMechanismList", rv));
  std::vector<CK_MECHANISM_TYPE> types(count);
  if (count == 0) return types;
  if (CK_RV rv = module_->functions()->C_GetMechanismList(info_.slot, types.data(), &count); rv != CKR_OK)
    return fail(token_error("C_GetMechanismList", rv));
  types.resize(count);
  return types;
}

Result<CK_MECHANISM_INFO> Token::mechanism_info(CK_MECHANISM_TYPE type) const {
  CK_MECHANISM_INFO info{};
  if (CK_RV rv = module_->functions()->C_GetMechanismInfo(info_.slot, type, &info); rv != CKR_OK)
    return fail(token_error("C_GetMechanismInfo", rv));
  return info;
}

}  // namespace keyward::p11
