#include "envelope/internal/segment_cipher.h"

#include <openssl/evp.h>

#include <cstring>

#include "envelope/internal/kdf.h"

namespace keyward::envelope {
namespace {

EVP_CIPHER* aes_256_gcm() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

std::array<std::uint8_t, 12> nonce_for(const std::array<std::uint8_t, kNoncePrefixBytes>& prefix, std::uint32_t index,
                                       bool last) {
  std::array<std::uint8_t, 12> nonce{};
  std::memcpy(nonce.data(), prefix.data(), prefix.size());
  nonce[7] = static_cast<std::uint8_t>(index >> 24);
  nonce[8] = static_cast<std::uint8_t>(index >> 16);
  nonce[9] = static_cast<std::uint8_t>(index >> 8);
  nonce[10] = static_cast<std::uint8_t>(index);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

Error segment_failed(std::uint32_t index, bool last) {
  std::string message = last ? "the last segment (" + std::to_string(index) +
                                   ") failed authentication: the envelope is truncated, extended or altered"
                             : "segment " + std::to_string(index) + " failed authentication: the envelope was altered";
  return Error{ErrorCategory::authentication, std::move(message), std::nullopt};
}

}  // namespace

struct SegmentCipher::Contexts {
  EVP_CIPHER_CTX* encrypt = nullptr;
  EVP_CIPHER_CTX* decrypt = nullptr;
  ~Contexts() {
    EVP_CIPHER_CTX_free(encrypt);
    EVP_CIPHER_CTX_free(decrypt);
  }
};

SegmentCipher::SegmentCipher(SegmentCipher&&) noexcept = default;
SegmentCipher& SegmentCipher::operator=(SegmentCipher&&) noexcept = default;
SegmentCipher::~SegmentCipher() = default;

Result<SegmentCipher> SegmentCipher::create(const SecretBytes& segment_key,
                                            const std::array<std::uint8_t, kNoncePrefixBytes>& prefix,
                                            const std::array<std::uint8_t, 32>& header_hash) {
  if (aes_256_gcm() == nullptr) return make_error(ErrorCategory::internal, "AES-256-GCM is not available in OpenSSL");
  if (segment_key.size() != 32) return make_error(ErrorCategory::internal, "segment key must be 32 bytes");
  SegmentCipher cipher;
  cipher.contexts_ = std::make_unique<Contexts>();
  cipher.contexts_->encrypt = EVP_CIPHER_CTX_new();
  cipher.contexts_->decrypt = EVP_CIPHER_CTX_new();
  if (!cipher.contexts_->encrypt || !cipher.contexts_->decrypt ||
      EVP_EncryptInit_ex2(cipher.contexts_->encrypt, aes_256_gcm(), segment_key.reveal().data(), nullptr, nullptr) != 1 ||
      EVP_DecryptInit_ex2(cipher.contexts_->decrypt, aes_256_gcm(), segment_key.reveal().data(), nullptr, nullptr) != 1)
    return make_error(ErrorCategory::internal, "AES-256-GCM context set-up failed");
  cipher.prefix_ = prefix;
  cipher.header_hash_ = header_hash;
  return cipher;
}

Status SegmentCipher::seal(std::uint32_t index, bool last, std::span<const std::uint8_t> plain, std::span<std::uint8_t> out) {
  auto nonce = nonce_for(prefix_, index, last);
  EVP_CIPHER_CTX* ctx = contexts_->encrypt;
  int length = 0;
  bool ok = EVP_EncryptInit_ex2(ctx, nullptr, nullptr, nonce.data(), nullptr) == 1 &&
            EVP_EncryptUpdate(ctx, nullptr, &length, header_hash_.data(), static_cast<int>(header_hash_.size())) == 1 &&
            EVP_EncryptUpdate(ctx, out.data(), &length, plain.data(), static_cast<int>(plain.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx, out.data() + length, &length) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes), out.data() + plain.size()) == 1;
  if (!ok) return make_error(ErrorCategory::internal, "AES-256-GCM encryption failed");
  return {};
}

Status SegmentCipher::open(std::uint32_t index, bool last, std::span<const std::uint8_t> in, std::span<std::uint8_t> out) {
  if (in.size() < kTagBytes) return fail(segment_failed(index, last));
  const std::size_t plain_size = in.size() - kTagBytes;
  auto nonce = nonce_for(prefix_, index, last);
  EVP_CIPHER_CTX* ctx = contexts_->decrypt;
  int length = 0;
  std::array<std::uint8_t, kTagBytes> tag{};
  std::memcpy(tag.data(), in.data() + plain_size, kTagBytes);
  bool ok = EVP_DecryptInit_ex2(ctx, nullptr, nullptr, nonce.data(), nullptr) == 1 &&
            EVP_DecryptUpdate(ctx, nullptr, &length, header_hash_.data(), static_cast<int>(header_hash_.size())) == 1 &&
            EVP_DecryptUpdate(ctx, out.data(), &length, in.data(), static_cast<int>(plain_size)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag.data()) == 1 &&
            EVP_DecryptFinal_ex(ctx, out.data() + length, &length) == 1;
  if (!ok) {
    if (plain_size > 0) OPENSSL_cleanse(out.data(), plain_size);  // release no unauthenticated plaintext
    return fail(segment_failed(index, last));
  }
  return {};
}

Result<SecretBytes> derive_segment_key(const SecretBytes& dek, std::span<const std::uint8_t> salt) {
  return hkdf_sha256(dek, salt, "keyward/envelope/v1 segment key", 32);
}

Result<std::array<std::uint8_t, kCommitmentBytes>> derive_commitment(const SecretBytes& dek, std::span<const std::uint8_t> salt) {
  KW_ASSIGN_OR_RETURN(auto derived, hkdf_sha256(dek, salt, "keyward/envelope/v1 key commitment", kCommitmentBytes));
  std::array<std::uint8_t, kCommitmentBytes> out{};
  std::memcpy(out.data(), derived.reveal().data(), out.size());
  return out;
}

std::array<std::uint8_t, 32> header_hash(std::span<const std::uint8_t> header_bytes) {
  std::array<std::uint8_t, 32> out{};
  unsigned int length = 0;
  EVP_Digest(header_bytes.data(), header_bytes.size(), out.data(), &length, EVP_sha256(), nullptr);
  return out;
}

}  // namespace keyward::envelope
