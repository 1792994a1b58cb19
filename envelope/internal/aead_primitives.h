// One-shot AES-256-GCM and AES-SIV (RFC 5297) over OpenSSL's EVP, with the ciphers fetched once.
//
// Internal to keyward: these take an explicit nonce so that known-answer tests can drive them; the
// public APIs (field.h, stream.h) always choose nonces themselves.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/error.h"
#include "base/secret_bytes.h"

struct evp_cipher_ctx_st;  // OpenSSL's EVP_CIPHER_CTX, without pulling OpenSSL into this header

namespace keyward::envelope {

// AES-256-GCM: out = ciphertext ‖ 16-byte tag. `key` is 32 bytes, `nonce` 12.
Status gcm_seal(const SecretBytes& key, std::span<const std::uint8_t> nonce, std::span<const std::uint8_t> aad,
                std::span<const std::uint8_t> plain, std::vector<std::uint8_t>& out);
// Inverse of gcm_seal; an authentication failure releases nothing.
Result<SecretBytes> gcm_open(const SecretBytes& key, std::span<const std::uint8_t> nonce, std::span<const std::uint8_t> aad,
                             std::span<const std::uint8_t> sealed);

// The same with a context already keyed for AES-256-GCM (EVP_EncryptInit_ex2 / EVP_DecryptInit_ex2
// with the key and no IV): only the nonce is set per call, saving the key schedule.
// The associated data is aad ‖ aad2 (fed in two updates, so callers need not concatenate).
Status gcm_seal_keyed(evp_cipher_ctx_st* ctx, std::span<const std::uint8_t> nonce, std::span<const std::uint8_t> aad,
                      std::span<const std::uint8_t> plain, std::vector<std::uint8_t>& out,
                      std::span<const std::uint8_t> aad2 = {});
Result<SecretBytes> gcm_open_keyed(evp_cipher_ctx_st* ctx, std::span<const std::uint8_t> nonce,
                                   std::span<const std::uint8_t> aad, std::span<const std::uint8_t> sealed,
                                   std::span<const std::uint8_t> aad2 = {});
// A new context keyed for AES-256-GCM encryption or decryption; free with EVP_CIPHER_CTX_free.
evp_cipher_ctx_st* new_keyed_gcm_context(const SecretBytes& key, bool encrypt);

// AES-SIV (RFC 5297): out = SIV (16 bytes) ‖ ciphertext. `key` is 32 (AES-128-SIV) or 64 bytes
// (AES-256-SIV); each element of `aad` is one associated-data component, in order.
Status siv_seal(const SecretBytes& key, std::span<const std::span<const std::uint8_t>> aad,
                std::span<const std::uint8_t> plain, std::vector<std::uint8_t>& out);
Result<SecretBytes> siv_open(const SecretBytes& key, std::span<const std::span<const std::uint8_t>> aad,
                             std::span<const std::uint8_t> sealed);

// The same from a pristine context keyed once (new_keyed_siv_context): each call copies it into a
// per-thread context, which skips the AES key schedules and the CMAC subkeys (a third of the cost).
// The caller must hold `pristine` exclusively during the call; it is only read.
Status siv_seal_keyed(const evp_cipher_ctx_st* pristine, std::span<const std::span<const std::uint8_t>> aad,
                      std::span<const std::uint8_t> plain, std::vector<std::uint8_t>& out);
Result<SecretBytes> siv_open_keyed(const evp_cipher_ctx_st* pristine, std::span<const std::span<const std::uint8_t>> aad,
                                   std::span<const std::uint8_t> sealed);
// A new context keyed for AES-SIV encryption or decryption (32- or 64-byte key); free with EVP_CIPHER_CTX_free.
evp_cipher_ctx_st* new_keyed_siv_context(const SecretBytes& key, bool encrypt);

}  // namespace keyward::envelope
