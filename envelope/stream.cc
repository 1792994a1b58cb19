#include "envelope/stream.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "envelope/internal/segment_cipher.h"
#include "envelope/internal/segment_pipeline.h"
#include "envelope/internal/worker_pool.h"

namespace keyward::envelope {
namespace {

Error io_error(const char* what) { return Error{ErrorCategory::io, std::string(what) + ": " + std::strerror(errno), std::nullopt}; }

// docs/FORMAT.md: only an empty plaintext has an empty final segment. After full segments the
// final one holds 1..S bytes, so every plaintext has exactly one encoding.
Error empty_final_segment(std::uint64_t index) {
  return Error{ErrorCategory::corrupt_input,
               "envelope: segment " + std::to_string(index) +
                   " is an empty final segment after full ones (not a canonical envelope: the final segment holds 1 "
                   "to S bytes unless the plaintext is empty)",
               std::nullopt};
}

// Per-worker ciphers: each thread keeps its own contexts with the key scheduled once.
Result<std::vector<SegmentCipher>> make_ciphers(unsigned count, const SecretBytes& segment_key, const Header& header,
                                                const std::array<std::uint8_t, 32>& hash) {
  std::vector<SegmentCipher> ciphers;
  for (unsigned i = 0; i < count; ++i) {
    KW_ASSIGN_OR_RETURN(auto cipher, SegmentCipher::create(segment_key, header.nonce_prefix, hash));
    ciphers.push_back(std::move(cipher));
  }
  return ciphers;
}

Status check_context(const Header& header, const EncryptionContext& expected) {
  if (header.context == expected) return {};
  std::string names;
  for (const auto& [key, value] : header.context) names += (names.empty() ? "" : ", ") + key;
  return make_error(ErrorCategory::authentication,
                    "encryption context mismatch: the envelope was made with context keys {" + names +
                        "}; give exactly the same --context pairs");
}

// The DEK, checked against the header's key commitment before anything is decrypted.
Result<SecretBytes> committed_dek(const ParsedPrefix& prefix, const DekResolver& resolve_dek) {
  KW_ASSIGN_OR_RETURN(auto dek, resolve_dek(prefix));
  KW_ASSIGN_OR_RETURN(auto commitment, derive_commitment(dek, prefix.header.salt));
  if (CRYPTO_memcmp(commitment.data(), prefix.header.commitment.data(), commitment.size()) != 0)
    return make_error(ErrorCategory::authentication,
                      "key commitment mismatch: the key section does not belong to this envelope (swapped or wrong key)");
  return dek;
}

// Reads into `buffer` until it is full or the input ends; returns the bytes read. Seekable inputs
// are read with pread from `offset` (their file offset is left alone); others with read.
Result<std::size_t> read_at_most(int fd, bool seekable, std::span<std::uint8_t> buffer, std::size_t offset) {
  if (!seekable) return read_full(fd, buffer);
  std::size_t done = 0;
  while (done < buffer.size()) {
    ssize_t n = ::pread(fd, buffer.data() + done, buffer.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(io_error("read"));
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

Error truncated_prefix(std::size_t have, std::size_t needed) {
  return Error{ErrorCategory::corrupt_input,
               "envelope: truncated before its body: " + std::to_string(have) + " bytes, the header and key area need at least " +
                   std::to_string(needed),
               std::nullopt};
}

// The header and key area, read exactly (never past the body offset, so a stream's body is left
// for the caller). Ends at the end of the input whatever its length: a short input is "truncated".
Result<std::vector<std::uint8_t>> read_prefix_bytes(int fd, bool seekable) {
  // The smallest prefix (an empty context) is kFixedHeaderBytes + 2 + kKeyAreaBytes: reading this
  // much first never reads into the body.
  std::vector<std::uint8_t> bytes(kFixedHeaderBytes + kKeyAreaBytes);
  std::size_t have = 0;
  for (;;) {
    KW_ASSIGN_OR_RETURN(std::size_t n, read_at_most(fd, seekable, std::span(bytes).subspan(have), have));
    have += n;
    const bool input_ended = have < bytes.size();
    std::size_t needed = 0;
    auto parsed = parse_prefix(std::span(bytes.data(), have), &needed);
    if (parsed) {
      bytes.resize(parsed->body_offset());
      return bytes;
    }
    if (parsed.error().category != ErrorCategory::usage) return std::unexpected(parsed.error());
    if (input_ended) return fail(truncated_prefix(have, std::max(needed, kFixedHeaderBytes + 2 + kKeyAreaBytes)));
    if (needed <= have) return fail(Error{ErrorCategory::internal, "envelope prefix parser asked for no more bytes", std::nullopt});
    bytes.resize(needed);
  }
}

}  // namespace

Result<ParsedPrefix> read_prefix(int fd) {
  KW_ASSIGN_OR_RETURN(auto bytes, read_prefix_bytes(fd, true));
  return parse_prefix(bytes);
}

Result<std::uint64_t> encrypt_stream(int in_fd, int out_fd, const DataKey& key, const EncryptionContext& context,
                                     const EncryptOptions& options) {
  const SecretBytes& dek = key.dek;
  const DekId& dek_id = key.id;
  const KeySection& key_section = key.section;
  if (dek.size() != 32) return make_error(ErrorCategory::usage, "a DEK is 32 bytes");
  if (options.segment_size < kMinSegmentSize || options.segment_size > kMaxSegmentSize)
    return make_error(ErrorCategory::usage, "segment size must be 4 KiB to 16 MiB");
  KW_TRY(validate_context(context));
  Header header;
  header.segment_size = options.segment_size;
  header.dek_id = dek_id;
  header.context = context;
  if (RAND_bytes(header.salt.data(), static_cast<int>(header.salt.size())) != 1 ||
      RAND_bytes(header.nonce_prefix.data(), static_cast<int>(header.nonce_prefix.size())) != 1)
    return make_error(ErrorCategory::internal, "OpenSSL's random generator failed");
  KW_ASSIGN_OR_RETURN(header.commitment, derive_commitment(dek, header.salt));
  const auto header_bytes = encode_header(header);
  if (header_bytes.size() > kFixedHeaderBytes + kMaxContextBytes)
    return make_error(ErrorCategory::usage, "encryption context too large (64 KiB at most)");
  KW_ASSIGN_OR_RETURN(auto key_area, encode_key_area(key_section));
  KW_ASSIGN_OR_RETURN(auto segment_key, derive_segment_key(dek, header.salt));
  const auto hash = header_hash(header_bytes);

  WorkerPool pool(options.threads);
  KW_ASSIGN_OR_RETURN(auto ciphers, make_ciphers(pool.size(), segment_key, header, hash));
  KW_TRY(write_full(out_fd, header_bytes));
  KW_TRY(write_full(out_fd, key_area));

  ChunkReader reader(in_fd, options.segment_size);
  KW_TRY(reader.prime());
  PipelineSteps steps{
      [&](Slot& slot, unsigned worker) {
        // Sealed in place: the ciphertext over the plaintext, the tag after it.
        auto sealed = ciphers[worker].seal(slot.index, slot.last, std::span(slot.data.data(), slot.in_size),
                                           std::span(slot.data.data(), slot.in_size + kTagBytes));
        slot.out_size = slot.in_size + kTagBytes;
        slot.error = sealed ? std::nullopt : std::optional<Error>(sealed.error());
      },
      Error{ErrorCategory::usage, "input too large for one envelope (2^32 segments)", std::nullopt}};
  KW_ASSIGN_OR_RETURN(auto totals, run_segment_pipeline(reader, pool, out_fd, steps));
  return totals.read;
}

Result<DecryptSummary> decrypt_stream(int in_fd, int out_fd, const EncryptionContext& expected_context,
                                      const DekResolver& resolve_dek, unsigned threads) {
  DecryptSummary summary;
  KW_ASSIGN_OR_RETURN(auto prefix_bytes, read_prefix_bytes(in_fd, false));
  KW_ASSIGN_OR_RETURN(summary.prefix, parse_prefix(prefix_bytes));
  const Header& header = summary.prefix.header;
  KW_TRY(check_context(header, expected_context));
  KW_ASSIGN_OR_RETURN(auto dek, committed_dek(summary.prefix, resolve_dek));
  KW_ASSIGN_OR_RETURN(auto segment_key, derive_segment_key(dek, header.salt));
  const auto hash = header_hash(std::span(prefix_bytes.data(), summary.prefix.header_bytes));

  WorkerPool pool(threads);
  KW_ASSIGN_OR_RETURN(auto ciphers, make_ciphers(pool.size(), segment_key, header, hash));
  ChunkReader reader(in_fd, header.segment_size + kTagBytes);
  KW_TRY(reader.prime());
  PipelineSteps steps{
      [&](Slot& slot, unsigned worker) {
        if (slot.in_size < kTagBytes) {
          slot.error = Error{ErrorCategory::authentication,
                             "the envelope is truncated inside segment " + std::to_string(slot.index), std::nullopt};
          return;
        }
        if (slot.last && slot.index > 0 && slot.in_size == kTagBytes) {
          slot.error = empty_final_segment(slot.index);
          return;
        }
        // Opened in place: the plaintext over the ciphertext, released only if the tag verifies.
        const std::size_t plain_size = slot.in_size - kTagBytes;
        auto opened = ciphers[worker].open(slot.index, slot.last, std::span(slot.data.data(), slot.in_size),
                                           std::span(slot.data.data(), plain_size));
        slot.out_size = opened ? plain_size : 0;
        slot.error = opened ? std::nullopt : std::optional<Error>(opened.error());
      },
      Error{ErrorCategory::corrupt_input, "envelope has too many segments", std::nullopt}};
  KW_ASSIGN_OR_RETURN(auto totals, run_segment_pipeline(reader, pool, out_fd, steps));
  summary.plaintext_bytes = totals.written;
  return summary;
}

Result<SecretBytes> decrypt_range(int fd, std::uint64_t offset, std::uint64_t length,
                                  const EncryptionContext& expected_context, const DekResolver& resolve_dek) {
  KW_ASSIGN_OR_RETURN(auto prefix_bytes, read_prefix_bytes(fd, true));
  KW_ASSIGN_OR_RETURN(auto prefix, parse_prefix(prefix_bytes));
  const Header& header = prefix.header;
  KW_TRY(check_context(header, expected_context));
  struct stat info {};
  if (::fstat(fd, &info) != 0) return fail(io_error("fstat"));
  const std::uint64_t chunk = header.segment_size + kTagBytes;
  const std::uint64_t body = static_cast<std::uint64_t>(info.st_size) - prefix.body_offset();
  const std::uint64_t segments = body / chunk + (body % chunk != 0 ? 1 : 0);
  if (segments == 0 || (body % chunk != 0 && body % chunk < kTagBytes))
    return make_error(ErrorCategory::authentication, "the envelope is truncated");
  if (segments > 1 && body % chunk == kTagBytes) return fail(empty_final_segment(segments - 1));
  const std::uint64_t plaintext = body - segments * kTagBytes;
  if (offset > plaintext || length > plaintext - offset)
    return make_error(ErrorCategory::usage, "range [" + std::to_string(offset) + ", +" + std::to_string(length) +
                                                ") is outside the plaintext (" + std::to_string(plaintext) + " bytes)");
  SecretBytes out(length);
  if (length == 0) return out;
  KW_ASSIGN_OR_RETURN(auto dek, committed_dek(prefix, resolve_dek));
  KW_ASSIGN_OR_RETURN(auto segment_key, derive_segment_key(dek, header.salt));
  KW_ASSIGN_OR_RETURN(auto cipher,
                      SegmentCipher::create(segment_key, header.nonce_prefix,
                                            header_hash(std::span(prefix_bytes.data(), prefix.header_bytes))));
  std::vector<std::uint8_t> in(chunk);
  SecretBytes plain(header.segment_size);
  std::uint64_t written = 0;
  for (std::uint64_t s = offset / header.segment_size; written < length; ++s) {
    const std::uint64_t at = prefix.body_offset() + s * chunk;
    const std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, static_cast<std::uint64_t>(info.st_size) - at));
    if (::pread(fd, in.data(), size, static_cast<off_t>(at)) != static_cast<ssize_t>(size)) return fail(io_error("read"));
    const std::size_t plain_size = size - kTagBytes;
    KW_TRY(cipher.open(static_cast<std::uint32_t>(s), s + 1 == segments, std::span(in.data(), size),
                       plain.reveal_mutable().first(plain_size)));
    const std::uint64_t segment_start = s * header.segment_size;
    const std::uint64_t from = std::max(offset, segment_start) - segment_start;
    const std::uint64_t to = std::min<std::uint64_t>(offset + length - segment_start, plain_size);
    std::memcpy(out.reveal_mutable().data() + written, plain.reveal().data() + from, static_cast<std::size_t>(to - from));
    written += to - from;
  }
  return out;
}

}  // namespace keyward::envelope
