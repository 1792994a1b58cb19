// OutputFile: where encrypt and decrypt write, so that a file appears complete or not at all.
//
// A regular OUT is produced in an unnamed temporary file (O_TMPFILE) in OUT's directory and linked
// into place by commit() only: a process killed at any moment, even by SIGKILL, leaves nothing
// behind. Where the file system has no O_TMPFILE, a named temporary `OUT.keyward-tmp-XXXXXX` is
// used instead: it is locked (flock) while its writer lives, removed on SIGINT/SIGTERM/SIGHUP/
// SIGQUIT, and one left by a killed writer is removed by the next writer of the same OUT.
//
// A FIFO or a character device (a pipe, a terminal, /dev/null, /dev/stdout, a symlink to
// /proc/self/fd/1) is written through, as "-" (stdout) is, and is never replaced by a file: what it
// receives is valid only if the operation then succeeds (docs/FORMAT.md, "Decrypting to a stream").
// Directories, block devices and sockets are refused. An existing regular OUT is refused unless
// `replace_existing` (the CLI's --force); a symlink to one is followed, so the link stays a link.
#pragma once

#include <optional>
#include <string>

#include "base/error.h"

namespace keyward::envelope {

struct OutputOptions {
  bool replace_existing = false;       // --force: an existing regular OUT may be replaced
  bool unnamed_temporary = true;       // false: use the named-temporary fallback (tests)
};

class OutputFile {
 public:
  // Opens `path` ("-" = stdout) for writing as described above. Errors: usage for an OUT that
  // exists (without replace_existing) or is of a kind that is refused; io when the OS refuses.
  static Result<OutputFile> open(const std::string& path, const OutputOptions& options = {});

  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  ~OutputFile();  // not committed: the temporary is discarded

  int fd() const { return fd_; }
  // True when writes go straight to a stream (stdout, FIFO, character device): no temporary.
  bool streams() const { return kind_ == Kind::stream; }

  // Makes a temporary's content durable and puts it at OUT (fsync, link or rename, fsync of the
  // directory). A no-op for a stream. Errors: io; usage if OUT appeared meanwhile and may not be
  // replaced.
  Status commit();

 private:
  enum class Kind { stream, unnamed, named };
  OutputFile() = default;
  void discard();

  Kind kind_ = Kind::stream;
  int fd_ = -1;
  bool owns_fd_ = false;
  bool replace_ = false;
  int slot_ = -1;       // signal-cleanup registration of temp_ (see output_file.cc)
  std::string target_;  // the regular file to create or replace (symlinks resolved)
  std::string temp_;    // the named temporary (fallback only)
};

}  // namespace keyward::envelope
