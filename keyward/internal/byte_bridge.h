// Internal to the public API: runs an envelope operation that works on file descriptors over a byte
// source and sink that are not descriptors (C++ streams, memory). Two helper threads feed the input
// into a socket pair and drain the output from another while the operation runs on the calling thread.
//
// Sockets rather than pipes: the feeder sends with MSG_NOSIGNAL, so an operation that stops reading
// early (a failed decrypt) ends the feeder with EPIPE instead of a SIGPIPE to the application. The
// drainer reads until the end even after the sink failed, so the operation never blocks on a write.
// The helpers' buffers are wiped before they are freed: plaintext passes through them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "base/error.h"

namespace keyward::internal {

// Fills the front of `out`; returns how many bytes (0: the end of the input).
using ByteSource = std::function<Result<std::size_t>(std::span<std::uint8_t> out)>;
using ByteSink = std::function<Status(std::span<const std::uint8_t> bytes)>;
// The operation: reads `in_fd` to its end, writes `out_fd`; neither is closed by it.
using DescriptorWork = std::function<Status(int in_fd, int out_fd)>;

// Runs `work` between `source` and `sink`. Returns work's error first, then the source's, then the
// sink's. A source that blocks forever (a terminal nobody types into) blocks this call.
Status run_between(const ByteSource& source, const ByteSink& sink, const DescriptorWork& work);

}  // namespace keyward::internal
