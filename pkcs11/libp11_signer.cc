#include "pkcs11/libp11_signer.h"

#include <libp11.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstring>

namespace keyward::p11 {

struct TokenSigner::State {
  PKCS11_CTX* context = nullptr;  // never unloaded: see the header
  EVP_PKEY* private_key = nullptr;
};

namespace {

Error libp11_error(const std::string& what) {
  return Error{ErrorCategory::token, "libp11: " + what, std::nullopt};
}

}  // namespace

Result<std::unique_ptr<TokenSigner>> TokenSigner::open(const Token& token, const SecretBytes& pin, std::string_view key_label) {
  std::unique_ptr<TokenSigner> signer(new TokenSigner());
  signer->state_ = std::make_unique<State>();
  State& state = *signer->state_;
  state.context = PKCS11_CTX_new();
  if (state.context == nullptr) return fail(libp11_error("PKCS11_CTX_new failed"));
  const auto& options = token.module()->options();
  if (options.init_reserved) PKCS11_CTX_init_args(state.context, options.init_reserved->c_str());
  // The module is already initialised by keyward in this process; libp11 accepts
  // CKR_CRYPTOKI_ALREADY_INITIALIZED from C_Initialize.
  if (PKCS11_CTX_load(state.context, options.path.c_str()) != 0)
    return fail(libp11_error("cannot load module '" + options.path + "'"));

  // libp11 reads token state and may log in: the same cross-process lock as our own calls.
  KW_ASSIGN_OR_RETURN(auto state_lock, token.module()->lock_token_state());
  PKCS11_SLOT* slots = nullptr;
  unsigned int slot_count = 0;
  if (PKCS11_enumerate_slots(state.context, &slots, &slot_count) != 0) return fail(libp11_error("cannot list slots"));
  PKCS11_SLOT* slot = nullptr;
  for (unsigned int i = 0; i < slot_count; ++i) {
    PKCS11_TOKEN* candidate = slots[i].token;
    if (candidate && candidate->label && candidate->serialnr && token.info().label == candidate->label &&
        token.info().serial == candidate->serialnr) {
      slot = &slots[i];
      break;
    }
  }
  if (slot == nullptr) return fail(libp11_error("token " + token.info().describe() + " not found"));

  // libp11 wants a NUL-terminated PIN: build one in zeroizing memory.
  SecretBytes terminated(pin.size() + 1);
  std::memcpy(terminated.reveal_mutable().data(), pin.reveal().data(), pin.size());
  int logged_in = 0;
  if (PKCS11_is_logged_in(slot, 0, &logged_in) != 0 || !logged_in) {
    if (PKCS11_login(slot, 0, reinterpret_cast<const char*>(terminated.reveal().data())) != 0)
      return fail(libp11_error("login to " + token.info().describe() + " failed"));
  }
  state_lock.release();

  PKCS11_KEY* keys = nullptr;
  unsigned int key_count = 0;
  if (PKCS11_enumerate_keys(slot->token, &keys, &key_count) != 0) return fail(libp11_error("cannot list keys"));
  for (unsigned int i = 0; i < key_count; ++i) {
    if (keys[i].isPrivate && keys[i].label && key_label == keys[i].label) {
      state.private_key = PKCS11_get_private_key(&keys[i]);
      EVP_PKEY* public_key = PKCS11_get_public_key(&keys[i]);
      if (public_key != nullptr) {
        BIO* bio = BIO_new(BIO_s_mem());
        if (bio && PEM_write_bio_PUBKEY(bio, public_key) == 1) {
          char* data = nullptr;
          long size = BIO_get_mem_data(bio, &data);
          signer->public_key_pem_.assign(data, static_cast<std::size_t>(size));
        }
        BIO_free(bio);
        EVP_PKEY_free(public_key);
      }
      break;
    }
  }
  if (state.private_key == nullptr || signer->public_key_pem_.empty())
    return make_error(ErrorCategory::not_found, "no signing key labelled '" + std::string(key_label) + "' on token " +
                                                    token.info().describe());
  return signer;
}

TokenSigner::~TokenSigner() {
  if (state_ && state_->private_key) EVP_PKEY_free(state_->private_key);
  // state_->context is deliberately not freed or unloaded (see the header).
}

Result<std::vector<std::uint8_t>> TokenSigner::sign(std::span<const std::uint8_t> data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return make_error(ErrorCategory::internal, "EVP_MD_CTX_new failed");
  std::vector<std::uint8_t> signature;
  std::size_t length = 0;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, state_->private_key) == 1 &&
            EVP_DigestSign(ctx, nullptr, &length, data.data(), data.size()) == 1;
  if (ok) {
    signature.resize(length);
    ok = EVP_DigestSign(ctx, signature.data(), &length, data.data(), data.size()) == 1;
    signature.resize(length);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return fail(libp11_error("signing in the token failed"));
  return signature;
}

}  // namespace keyward::p11
