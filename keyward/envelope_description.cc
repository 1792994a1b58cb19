#include "keyward/envelope_description.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "envelope/key_slots.h"
#include "keyward/internal/api_guard.h"
#include "keyward/internal/key_info_of.h"

namespace keyward {

Result<EnvelopeDescription> describe_envelope(const std::string& path) {
  return internal::guarded([&]() -> Result<EnvelopeDescription> {
    KW_ASSIGN_OR_RETURN(auto prefix, envelope::read_envelope_prefix(path));
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0)
      return make_error(ErrorCategory::io, "cannot stat '" + path + "': " + std::strerror(errno));
    const auto& header = prefix.header;
    EnvelopeDescription out;
    out.key = internal::key_info_of(prefix.key_section, header.dek_id);
    out.segment_size = header.segment_size;
    out.context = header.context;
    out.active_slot = prefix.active_slot;
    out.wrapped_dek_bytes = prefix.key_section.wrapped_dek.size();
    out.header_bytes = prefix.body_offset();
    out.file_bytes = static_cast<std::uint64_t>(info.st_size);
    // Each segment is its plaintext plus a tag; the last may be shorter.
    const std::uint64_t body = out.file_bytes - out.header_bytes;
    const std::uint64_t chunk = header.segment_size + envelope::kTagBytes;
    out.segments = body / chunk + (body % chunk ? 1 : 0);
    // A body cut inside a tag (or empty) has no plaintext length: say so rather than underflow.
    const bool complete = out.segments > 0 && (body % chunk == 0 || body % chunk >= envelope::kTagBytes);
    if (complete) out.plaintext_bytes = body - out.segments * envelope::kTagBytes;
    return out;
  });
}

}  // namespace keyward
