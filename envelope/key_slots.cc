#include "envelope/key_slots.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "envelope/stream.h"

namespace keyward::envelope {
namespace {

class File {
 public:
  explicit File(int fd) : fd_(fd) {}
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

Error io_error(const std::string& what, const std::string& path) {
  return Error{ErrorCategory::io, what + " '" + path + "': " + std::strerror(errno), std::nullopt};
}

Status pwrite_all(int fd, std::span<const std::uint8_t> bytes, off_t at, const std::string& path) {
  if (::pwrite(fd, bytes.data(), bytes.size(), at) != static_cast<ssize_t>(bytes.size())) return fail(io_error("cannot write", path));
  if (::fsync(fd) != 0) return fail(io_error("cannot fsync", path));
  return {};
}

Result<ParsedPrefix> open_and_parse(const std::string& path, int flags, int& out_fd) {
  out_fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (out_fd < 0) return fail(io_error("cannot open", path));
  auto prefix = read_prefix(out_fd);
  if (!prefix) return fail(std::move(prefix).error().with_context(path));
  return prefix;
}

Status write_slot(int fd, const ParsedPrefix& prefix, unsigned slot, const KeySection& section, const std::string& path) {
  KW_ASSIGN_OR_RETURN(auto bytes, encode_slot(section));
  const off_t at = static_cast<off_t>(prefix.header_bytes + 1 + slot * kSlotBytes);
  return pwrite_all(fd, bytes, at, path);
}

}  // namespace

Result<ParsedPrefix> read_envelope_prefix(const std::string& path) {
  int fd = -1;
  auto prefix = open_and_parse(path, O_RDONLY, fd);
  File closer(fd);
  return prefix;
}

Status replace_key_section_in_place(const std::string& path, const KeySection& section, const KeySection* expected_current) {
  int fd = -1;
  auto prefix = open_and_parse(path, O_RDWR, fd);
  File closer(fd);
  if (!prefix) return std::unexpected(prefix.error());
  if (expected_current && !(prefix->key_section == *expected_current))
    return make_error(ErrorCategory::usage, "'" + path + "' changed under us: its key section is not the expected one");
  if (prefix->key_section == section) return {};  // already done (a rerun after a crash)
  const unsigned inactive = 1u - prefix->active_slot;
  // Step 1: the new section into the inactive slot, durable before anything points at it.
  KW_TRY(write_slot(fd, *prefix, inactive, section, path));
  // Step 2: flip the one switch byte (a single-byte write cannot tear) and make it durable.
  const std::uint8_t flipped = static_cast<std::uint8_t>(inactive);
  return pwrite_all(fd, std::span(&flipped, 1), static_cast<off_t>(prefix->header_bytes), path);
}

Status write_inactive_slot_only(const std::string& path, const KeySection& section) {
  int fd = -1;
  auto prefix = open_and_parse(path, O_RDWR, fd);
  File closer(fd);
  if (!prefix) return std::unexpected(prefix.error());
  return write_slot(fd, *prefix, 1u - prefix->active_slot, section, path);
}

}  // namespace keyward::envelope
