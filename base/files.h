// Small, careful file helpers for the CLIs: never overwrite by accident, never leave half a file.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace keyward::cli {

// Creates `path` (which must not exist) with `mode`, writes `text`, fsyncs. On failure nothing is left.
Status write_new_file(const std::string& path, std::string_view text, unsigned mode);

// Replaces `path` atomically: a temporary file in the same directory, fsync, rename, fsync the directory.
Status replace_file_atomically(const std::string& path, std::string_view text, unsigned mode);

// Reads a file of at most `limit` bytes (configuration, blobs, shares; not bulk data).
Result<std::string> read_small_file(const std::string& path, std::size_t limit = 1 << 20);

}  // namespace keyward::cli
