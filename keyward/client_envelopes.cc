// Client: envelopes — files, descriptors, C++ streams, memory and ranges. Every envelope gets its
// own DEK from the token; decryption unwraps it in the token under the version its key section names.
#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <cstring>
#include <istream>
#include <ostream>

#include "audit/recorder.h"
#include "envelope/envelope_file.h"
#include "envelope/stream.h"
#include "hierarchy/envelope_keys.h"
#include "keyward/client.h"
#include "keyward/internal/api_guard.h"
#include "keyward/internal/byte_bridge.h"
#include "keyward/internal/client_core.h"
#include "keyward/internal/key_info_of.h"

namespace keyward {
namespace {

Result<envelope::DataKey> new_envelope_key(internal::ClientCore& core, std::string_view kek_family) {
  if (kek_family.empty()) return make_error(ErrorCategory::usage, "no KEK family given for the envelope");
  return hierarchy::new_data_key(core.hierarchy(), kek_family);
}

envelope::EncryptOptions encrypt_options(const internal::ClientCore& core) {
  return envelope::EncryptOptions{core.options.segment_size, core.options.crypto_threads};
}

EnvelopeSummary encrypted(const envelope::DataKey& key, std::uint64_t bytes) {
  return EnvelopeSummary{bytes, internal::key_info_of(key.section, key.id)};
}

EnvelopeSummary decrypted(internal::ClientCore& core, const envelope::DecryptSummary& summary) {
  EnvelopeSummary out{summary.plaintext_bytes, internal::key_info_of(summary.prefix.key_section, summary.prefix.header.dek_id)};
  internal::note_newer_version(core.hierarchy(), out.key);
  return out;
}

Error io_error_of(const char* what) { return Error{ErrorCategory::io, std::string(what), std::nullopt}; }

internal::ByteSource from_istream(std::istream& in) {
  return [&in](std::span<std::uint8_t> out) -> Result<std::size_t> {
    in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
    if (in.bad()) return fail(io_error_of("reading the input stream failed"));
    return static_cast<std::size_t>(in.gcount());
  };
}

internal::ByteSink to_ostream(std::ostream& out) {
  return [&out](std::span<const std::uint8_t> bytes) -> Status {
    if (!out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
      return fail(io_error_of("writing the output stream failed"));
    return {};
  };
}

internal::ByteSource from_memory(std::span<const std::uint8_t> bytes) {
  return [bytes](std::span<std::uint8_t> out) mutable -> Result<std::size_t> {
    const std::size_t n = std::min(out.size(), bytes.size());
    if (n > 0) std::memcpy(out.data(), bytes.data(), n);
    bytes = bytes.subspan(n);
    return n;
  };
}

// Appends to `out`, which the caller reserved: plaintext is never left behind in a reallocation.
internal::ByteSink to_memory(std::vector<std::uint8_t>& out) {
  return [&out](std::span<const std::uint8_t> bytes) -> Status {
    if (out.size() + bytes.size() > out.capacity())
      return make_error(ErrorCategory::internal, "an envelope decrypted to more bytes than it holds");
    out.insert(out.end(), bytes.begin(), bytes.end());
    return {};
  };
}

void wipe(std::vector<std::uint8_t>& bytes) {
  OPENSSL_cleanse(bytes.data(), bytes.size());
  bytes.clear();
}

}  // namespace

Result<EnvelopeSummary> Client::encrypt_file(std::string_view kek_family, const std::string& in_path, const std::string& out_path,
                                             const EncryptionContext& context, const FileOptions& options) const {
  return internal::guarded([&]() -> Result<EnvelopeSummary> {
    KW_ASSIGN_OR_RETURN(auto key, new_envelope_key(*core_, kek_family));
    KW_ASSIGN_OR_RETURN(auto bytes, envelope::encrypt_file_atomically(in_path, out_path, key, context, encrypt_options(*core_),
                                                                      {.replace_existing = options.replace_existing}));
    return encrypted(key, bytes);
  });
}

Result<EnvelopeSummary> Client::decrypt_file(const std::string& in_path, const std::string& out_path,
                                             const EncryptionContext& context, const FileOptions& options) const {
  return internal::guarded([&]() -> Result<EnvelopeSummary> {
    auto summary = envelope::decrypt_file_atomically(in_path, out_path, context, hierarchy::token_dek_resolver(core_->hierarchy()),
                                                     core_->options.crypto_threads, {.replace_existing = options.replace_existing});
    if (!summary) return fail(audit::record_if_refused("envelope.decrypt", "", "", std::move(summary).error()));
    return decrypted(*core_, *summary);
  });
}

Result<EnvelopeSummary> Client::encrypt_stream(std::string_view kek_family, int in_fd, int out_fd,
                                               const EncryptionContext& context) const {
  return internal::guarded([&]() -> Result<EnvelopeSummary> {
    KW_ASSIGN_OR_RETURN(auto key, new_envelope_key(*core_, kek_family));
    KW_ASSIGN_OR_RETURN(auto bytes, envelope::encrypt_stream(in_fd, out_fd, key, context, encrypt_options(*core_)));
    return encrypted(key, bytes);
  });
}

Result<EnvelopeSummary> Client::decrypt_stream(int in_fd, int out_fd, const EncryptionContext& context) const {
  return internal::guarded([&]() -> Result<EnvelopeSummary> {
    auto summary = envelope::decrypt_stream(in_fd, out_fd, context, hierarchy::token_dek_resolver(core_->hierarchy()),
                                            core_->options.crypto_threads);
    if (!summary) return fail(audit::record_if_refused("envelope.decrypt", "", "", std::move(summary).error()));
    return decrypted(*core_, *summary);
  });
}

Result<EnvelopeSummary> Client::encrypt_stream(std::string_view kek_family, std::istream& in, std::ostream& out,
                                               const EncryptionContext& context) const {
  return internal::guarded([&]() -> Result<EnvelopeSummary> {
    KW_ASSIGN_OR_RETURN(auto key, new_envelope_key(*core_, kek_family));
    std::uint64_t bytes = 0;
    auto sealed = internal::run_between(from_istream(in), to_ostream(out), [&](int in_fd, int out_fd) -> Status {
      KW_ASSIGN_OR_RETURN(bytes, envelope::encrypt_stream(in_fd, out_fd, key, context, encrypt_options(*core_)));
      return {};
    });
    if (!sealed) return fail(std::move(sealed).error());
    if (!out.flush()) return fail(io_error_of("writing the output stream failed"));
    return encrypted(key, bytes);
  });
}

Result<EnvelopeSummary> Client::decrypt_stream(std::istream& in, std::ostream& out, const EncryptionContext& context) const {
  return internal::guarded([&]() -> Result<EnvelopeSummary> {
    std::optional<envelope::DecryptSummary> summary;
    auto opened = internal::run_between(from_istream(in), to_ostream(out), [&](int in_fd, int out_fd) -> Status {
      KW_ASSIGN_OR_RETURN(summary, envelope::decrypt_stream(in_fd, out_fd, context, hierarchy::token_dek_resolver(core_->hierarchy()),
                                                            core_->options.crypto_threads));
      return {};
    });
    if (!opened) return fail(std::move(opened).error());
    if (!out.flush()) return fail(io_error_of("writing the output stream failed"));
    return decrypted(*core_, *summary);
  });
}

Result<std::vector<std::uint8_t>> Client::encrypt_buffer(std::string_view kek_family, std::span<const std::uint8_t> plaintext,
                                                         const EncryptionContext& context) const {
  return internal::guarded([&]() -> Result<std::vector<std::uint8_t>> {
    KW_ASSIGN_OR_RETURN(auto key, new_envelope_key(*core_, kek_family));
    // The whole envelope at once: header, context and key area, then each segment with its tag
    // (ciphertext only, so a reallocation would leave nothing secret behind; this just avoids it).
    std::size_t context_bytes = 2;
    for (const auto& [name, value] : context) context_bytes += 6 + name.size() + value.size();
    const std::size_t segments = plaintext.size() / core_->options.segment_size + 1;
    std::vector<std::uint8_t> out;
    out.reserve(envelope::kFixedHeaderBytes + context_bytes + envelope::kKeyAreaBytes + plaintext.size() +
                segments * envelope::kTagBytes);
    auto append = [&out](std::span<const std::uint8_t> bytes) -> Status {
      out.insert(out.end(), bytes.begin(), bytes.end());
      return {};
    };
    auto sealed = internal::run_between(from_memory(plaintext), append, [&](int in_fd, int out_fd) -> Status {
      KW_TRY(envelope::encrypt_stream(in_fd, out_fd, key, context, encrypt_options(*core_)));
      return {};
    });
    if (!sealed) return fail(std::move(sealed).error());
    return out;
  });
}

Result<std::vector<std::uint8_t>> Client::decrypt_buffer(std::span<const std::uint8_t> sealed, const EncryptionContext& context) const {
  return internal::guarded([&]() -> Result<std::vector<std::uint8_t>> {
    std::vector<std::uint8_t> out;
    out.reserve(sealed.size());  // the plaintext is shorter than the envelope
    auto decrypted_ok = internal::run_between(from_memory(sealed), to_memory(out), [&](int in_fd, int out_fd) -> Status {
      KW_TRY(envelope::decrypt_stream(in_fd, out_fd, context, hierarchy::token_dek_resolver(core_->hierarchy()),
                                      core_->options.crypto_threads));
      return {};
    });
    if (!decrypted_ok) {
      wipe(out);  // release nothing of a failed decryption
      return fail(std::move(decrypted_ok).error());
    }
    return out;
  });
}

Result<std::vector<std::uint8_t>> Client::decrypt_range(const std::string& path, std::uint64_t offset, std::uint64_t length,
                                                        const EncryptionContext& context) const {
  return internal::guarded([&]() -> Result<std::vector<std::uint8_t>> {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return make_error(ErrorCategory::io, "cannot open '" + path + "': " + std::strerror(errno));
    auto plain = envelope::decrypt_range(fd, offset, length, context, hierarchy::token_dek_resolver(core_->hierarchy()));
    ::close(fd);
    if (!plain) return fail(std::move(plain).error());
    const auto bytes = plain->reveal();
    return std::vector<std::uint8_t>(bytes.begin(), bytes.end());
  });
}

}  // namespace keyward
