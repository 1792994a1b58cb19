// Client: an application's connection to keyward — one token (logged in), the field catalog and a
// cache of field DEKs — and every operation an app needs: envelopes (files, streams, buffers),
// fields, key information and lazy rewrap.
//
// Thread-safety: one Client may be used from any number of threads at once; every method is const.
// Make one per process and share it. A Client is move-only; Fields it made stay valid after it goes.
//
// No method throws: failures, including an exhausted heap, come back as an Error (keyward/error.h).
// Key bytes and PINs never leave the library; plaintext leaves only as the result of a decrypt.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/client_options.h"
#include "keyward/encryption_context.h"
#include "keyward/error.h"
#include "keyward/export.h"
#include "keyward/field.h"
#include "keyward/key_info.h"

namespace keyward {

// What one envelope operation did.
struct EnvelopeSummary {
  std::uint64_t plaintext_bytes = 0;
  KeyInfo key;  // the envelope's KEK family, version and DEK id
};

struct FileOptions {
  bool replace_existing = false;  // an existing regular OUT is refused unless set
};

// One of the Client's tokens as it stands now (Client::token_health): for monitoring a token set.
struct TokenHealth {
  std::string token;                  // label, serial and slot; the URI (PIN hidden) of one never reached
  bool in_service = false;            // false: unused until it answers again and holds the same keys
  std::string problem;                // why it was last taken out or refused; "" if never
  std::uint64_t times_taken_out = 0;
  std::uint64_t operations = 0;       // token operations completed on it (token sets only; 0 for one token)
};

namespace internal {
struct ClientCore;
}

class KEYWARD_API Client {
 public:
  // Logs in to the token named by the options (or $KEYWARD_TOKEN). The catalog is opened by the first
  // field call. Errors: usage (no or malformed URI, a pin-value not allowed, several tokens),
  // token (module, no such token, PIN source unreadable, login refused, module policy limits).
  static Result<Client> open(const ClientOptions& options = {});

  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  // --- envelopes: a fresh DEK per envelope, generated in the token under `kek_family`'s newest
  // version; AES-256-GCM segments on the CPU; the context bound as associated data ---

  // Encrypts `in_path` ("-": stdin) into `out_path` ("-": stdout). A regular OUT appears complete or
  // not at all (mode 0600); an existing one is refused unless options.replace_existing.
  Result<EnvelopeSummary> encrypt_file(std::string_view kek_family, const std::string& in_path, const std::string& out_path,
                                       const EncryptionContext& context = {}, const FileOptions& options = {}) const;
  // Decrypts an envelope file. A regular OUT appears only after every segment and the key commitment
  // verified. Errors: authentication (wrong context, tampered file or wrapped key), corrupt_input,
  // not_found (its KEK version is not on the token), io.
  Result<EnvelopeSummary> decrypt_file(const std::string& in_path, const std::string& out_path,
                                       const EncryptionContext& context = {}, const FileOptions& options = {}) const;

  // The same between file descriptors (files, pipes, sockets); the descriptors stay open and owned by
  // the caller. Decrypt writes each segment once verified: the output is valid only on success.
  Result<EnvelopeSummary> encrypt_stream(std::string_view kek_family, int in_fd, int out_fd,
                                         const EncryptionContext& context = {}) const;
  Result<EnvelopeSummary> decrypt_stream(int in_fd, int out_fd, const EncryptionContext& context = {}) const;
  // The same between C++ streams (read and written on helper threads while this call waits).
  Result<EnvelopeSummary> encrypt_stream(std::string_view kek_family, std::istream& in, std::ostream& out,
                                         const EncryptionContext& context = {}) const;
  Result<EnvelopeSummary> decrypt_stream(std::istream& in, std::ostream& out, const EncryptionContext& context = {}) const;

  // In memory, for small objects (the whole input and output are held at once).
  Result<std::vector<std::uint8_t>> encrypt_buffer(std::string_view kek_family, std::span<const std::uint8_t> plaintext,
                                                   const EncryptionContext& context = {}) const;
  Result<std::vector<std::uint8_t>> decrypt_buffer(std::span<const std::uint8_t> envelope,
                                                   const EncryptionContext& context = {}) const;
  // Plaintext bytes [offset, offset + length) of an envelope file, reading only the segments that
  // cover them. Errors: usage for a range beyond the plaintext; otherwise as decrypt_file.
  Result<std::vector<std::uint8_t>> decrypt_range(const std::string& path, std::uint64_t offset, std::uint64_t length,
                                                  const EncryptionContext& context = {}) const;

  // --- fields ---

  // A column's cipher (keyward/field.h). Opens the catalog on first use. Errors: usage (empty scope,
  // an empty context key), io (catalog cannot be opened, e.g. its directory is missing).
  Result<Field> field(const FieldOptions& options) const;

  // --- key information and lazy rewrap (the DEK never leaves the token) ---

  // The keys of a field value (from the catalog). Errors: corrupt_input, not_found, shredded.
  Result<KeyInfo> field_key_info(std::string_view value_text) const;
  // Rewraps the value's DEK catalog entry under the newest version of its KEK family, in the token.
  // Every value under that DEK moves with it; their texts do not change. Returns the keys after.
  Result<KeyInfo> rewrap_field_key(std::string_view value_text) const;
  // The keys of an envelope file (its header, and the token for under_older_kek_version).
  Result<KeyInfo> file_key_info(const std::string& path) const;
  // Rewraps the file's key section under the newest version of its KEK family, in place and
  // crash-safely (only the key area is written). Returns the keys after.
  Result<KeyInfo> rewrap_file_key(const std::string& path) const;
  // The newest version of a KEK family on the token (0: none). Errors: token.
  Result<std::uint32_t> newest_kek_version(std::string_view kek_family) const;
  // Every token this Client was given, in the order given. With several, a token that was not
  // reachable at open(), or failed or stopped answering since, is listed out of service with why
  // (the Client keeps working on the others and takes it back when it recovers). One token: always
  // in service here (its failures come back from the calls that meet them).
  std::vector<TokenHealth> token_health() const;

 private:
  explicit Client(std::shared_ptr<internal::ClientCore> core);
  std::shared_ptr<internal::ClientCore> core_;
};

}  // namespace keyward
