#include "pkcs11/pin_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace keyward::p11 {
namespace {

constexpr std::size_t kMaxPin = 256;

void trim_line_end(SecretBytes& pin) {
  auto bytes = pin.reveal();
  std::size_t size = bytes.size();
  for (std::size_t i = 0; i < size; ++i) {
    if (bytes[i] == '\n' || bytes[i] == '\r') {
      size = i;
      break;
    }
  }
  pin.shrink_to(size);
}

Result<SecretBytes> pin_from_file(const std::string& path, std::string_view what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return make_error(ErrorCategory::io, "cannot open " + std::string(what) + " file '" + path + "': " + std::strerror(errno));
  struct stat info {};
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return make_error(ErrorCategory::io, std::string(what) + " file '" + path + "' is not a regular file");
  }
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    ::close(fd);
    return make_error(ErrorCategory::usage, std::string(what) + " file '" + path +
                                                "' is readable by group or others: chmod 600 it");
  }
  SecretBytes pin(kMaxPin);
  ssize_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, pin.reveal_mutable().data() + total, kMaxPin - static_cast<std::size_t>(total));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return make_error(ErrorCategory::io, "cannot read " + std::string(what) + " file '" + path + "'");
    }
    if (n == 0) break;
    total += n;
    if (static_cast<std::size_t>(total) == kMaxPin) break;
  }
  ::close(fd);
  pin.shrink_to(static_cast<std::size_t>(total));
  trim_line_end(pin);
  if (pin.empty()) return make_error(ErrorCategory::usage, std::string(what) + " file '" + path + "' is empty");
  return pin;
}

Result<SecretBytes> pin_from_environment(const std::string& name, std::string_view what) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr)
    return make_error(ErrorCategory::usage, std::string(what) + " source env:" + name + ": the variable is not set");
  SecretBytes pin = SecretBytes::copy_of({reinterpret_cast<const std::uint8_t*>(value), std::strlen(value)});
  trim_line_end(pin);
  return pin;
}

Result<SecretBytes> pin_from_prompt(std::string_view what) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return make_error(ErrorCategory::usage, "no terminal to ask for the " + std::string(what) +
                                                ": give pin-source=file:PATH in the token URI");
  std::string prompt = "Enter " + std::string(what) + ": ";
  (void)!::write(fd, prompt.data(), prompt.size());
  termios saved{};
  bool restore = tcgetattr(fd, &saved) == 0;
  if (restore) {
    termios silent = saved;
    silent.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSAFLUSH, &silent);
  }
  SecretBytes pin(kMaxPin);
  std::size_t size = 0;
  char c = 0;
  while (size < kMaxPin && ::read(fd, &c, 1) == 1 && c != '\n') pin.reveal_mutable()[size++] = static_cast<std::uint8_t>(c);
  c = 0;
  if (restore) tcsetattr(fd, TCSAFLUSH, &saved);
  (void)!::write(fd, "\n", 1);
  ::close(fd);
  pin.shrink_to(size);
  return pin;
}

}  // namespace

bool is_pin_source_form(std::string_view source) {
  return source.starts_with("file:") || source.starts_with("/") || source.starts_with("env:") || source == "prompt";
}

Result<SecretBytes> read_pin(std::string_view source, std::string_view what) {
  if (what.empty()) what = "PIN";
  if (source.starts_with("file:")) {
    std::string path(source.substr(5));
    // RFC 8089 file URIs may carry an empty authority: file:///path.
    if (path.starts_with("//")) path.erase(0, 2);
    return pin_from_file(path, what);
  }
  if (source.starts_with("/")) return pin_from_file(std::string(source), what);
  if (source.starts_with("env:")) return pin_from_environment(std::string(source.substr(4)), what);
  if (source == "prompt") return pin_from_prompt(what);
  // Never echo the value: a source that is none of the forms is most likely the secret itself
  // (pin-source=1234, --passphrase-source 'correct horse').
  return make_error(ErrorCategory::usage, std::string(what) + " source is not understood (its " +
                                              std::to_string(source.size()) +
                                              " characters are not shown: they may be the secret itself): use "
                                              "file:PATH, env:NAME or prompt");
}

}  // namespace keyward::p11
