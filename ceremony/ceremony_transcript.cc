#include "ceremony/ceremony_transcript.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>

#include "hierarchy/kek_blob.h"
#include "base/base64.h"
#include "base/json_fields.h"
#include "base/public_key.h"

namespace keyward::ceremony {
namespace {

const std::string kGenesis(64, '0');
constexpr std::string_view kAlgorithm = "ECDSA-P256-SHA256";

std::string utc_now() {
  auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// The bytes a signature covers: the line's JSON without "sig", keys sorted, no whitespace.
std::string canonical_without_sig(nlohmann::json line) {
  line.erase("sig");
  return line.dump();
}

Error broken(std::uint64_t line_number, const std::string& what) {
  return Error{ErrorCategory::authentication, "transcript line " + std::to_string(line_number) + ": " + what, std::nullopt};
}

}  // namespace

Result<TranscriptSummary> verify_transcript(const std::string& path, const std::optional<std::string>& public_key_pem) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCategory::io, "cannot open transcript '" + path + "'");
  TranscriptSummary summary;
  std::optional<PublicKey> key;
  std::string previous_hash = kGenesis;
  std::string text;
  std::uint64_t number = 0;
  while (std::getline(in, text)) {
    ++number;
    auto line = nlohmann::json::parse(text, nullptr, false);
    if (line.is_discarded() || !line.is_object()) return fail(broken(number, "not a JSON object"));
    // Lines are written in canonical form; any other byte sequence (even whitespace) is an edit.
    if (line.dump() != text) return fail(broken(number, "not in canonical form (the line was edited)"));
    if (hierarchy::unsigned_field(line, "seq") != std::optional<std::uint64_t>(number - 1))
      return fail(broken(number, "sequence number is not " + std::to_string(number - 1) + " (line inserted, removed or reordered)"));
    if (hierarchy::string_field(line, "prev") != previous_hash)
      return fail(broken(number, "does not chain to the previous line (a line before it was changed, removed or inserted)"));
    if (number == 1) {
      summary.public_key_pem = hierarchy::string_field(line, "public_key");
      if (hierarchy::string_field(line, "algorithm") != kAlgorithm) return fail(broken(number, "unknown signature algorithm"));
      key = PublicKey::from_pem(public_key_pem.value_or(summary.public_key_pem));
      if (!key) return fail(broken(number, "the signer's public key does not parse"));
      summary.public_key_sha256 = key->fingerprint();
    }
    auto signature = base64_decode(hierarchy::string_field(line, "sig"));
    if (!signature || !key->verifies(canonical_without_sig(line), *signature))
      return fail(broken(number, "signature does not verify (line changed, or signed by another key)"));
    previous_hash = sha256_hex(text);
  }
  if (number == 0) return make_error(ErrorCategory::corrupt_input, "transcript '" + path + "' is empty");
  summary.lines = number;
  summary.head_hash = previous_hash;
  return summary;
}

Result<TranscriptWriter> TranscriptWriter::open(const std::string& path, TranscriptSigner& signer, TranscriptParty party) {
  TranscriptWriter writer(path, signer, std::move(party));
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 || info.st_size == 0) {
    nlohmann::json header{{"event", "transcript-start"},
                          {"algorithm", kAlgorithm},
                          {"public_key", signer.public_key_pem()},
                          {"format", "keyward-transcript/v1"}};
    KW_ASSIGN_OR_RETURN(bool wrote, writer.write_line(std::move(header), /*header=*/true));
    if (wrote) return writer;
    // Another ceremony process created the transcript first: extend its chain, as below.
  }
  KW_ASSIGN_OR_RETURN(auto summary, verify_transcript(path, signer.public_key_pem()));
  writer.next_seq_ = summary.lines;
  writer.previous_hash_ = summary.head_hash;
  return writer;
}

Status TranscriptWriter::append(std::string_view event, const nlohmann::json& details) {
  KW_ASSIGN_OR_RETURN(bool wrote, write_line(nlohmann::json{{"event", event}, {"details", details}}, /*header=*/false));
  (void)wrote;
  return {};
}

namespace {

// Reads the chain's head (line count and hash of the last line) through `fd`, which the caller
// holds locked. Lines appended by other processes since this one opened the transcript count.
Status read_head(int fd, const std::string& path, std::uint64_t& out_lines, std::string& out_hash) {
  std::string content;
  char buffer[65536];
  off_t offset = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
    if (n < 0) return make_error(ErrorCategory::io, "cannot read transcript '" + path + "': " + std::strerror(errno));
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
    offset += n;
  }
  out_lines = 0;
  out_hash = kGenesis;
  if (content.empty()) return {};
  if (content.back() != '\n')
    return make_error(ErrorCategory::corrupt_input, "transcript '" + path + "' ends in a partial line: run transcript verify");
  std::size_t begin = 0;
  while (begin < content.size()) {
    const std::size_t end = content.find('\n', begin);
    out_hash = sha256_hex(std::string_view(content).substr(begin, end - begin));
    ++out_lines;
    begin = end + 1;
  }
  return {};
}

}  // namespace

Result<bool> TranscriptWriter::write_line(nlohmann::json line, bool header) {
  // One writer at a time, across processes: the next seq and prev are read from the file under an
  // exclusive flock, so two ceremony commands appending at once still make one chain.
  int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(ErrorCategory::io, "cannot open transcript '" + path_ + "': " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }  // also releases the flock
  } closer{fd};
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) return make_error(ErrorCategory::io, "cannot lock transcript '" + path_ + "': " + std::strerror(errno));
  }
  std::uint64_t lines = 0;
  std::string head;
  KW_TRY(read_head(fd, path_, lines, head));
  if (header && lines > 0) return false;  // created by another process meanwhile
  if (!header && lines == 0)
    return make_error(ErrorCategory::corrupt_input, "transcript '" + path_ + "' was emptied while in use");
  next_seq_ = lines;
  previous_hash_ = head;
  line["seq"] = next_seq_;
  line["prev"] = previous_hash_;
  line["time"] = utc_now();
  line["operator"] = party_.operator_name;
  line["witness"] = party_.witness_name;
  line["token"] = party_.token;
  const std::string canonical = canonical_without_sig(line);
  KW_ASSIGN_OR_RETURN(auto signature, signer_->sign({reinterpret_cast<const std::uint8_t*>(canonical.data()), canonical.size()}));
  line["sig"] = base64_encode(signature);
  const std::string text = line.dump();
  std::string with_newline = text + "\n";
  bool ok = ::write(fd, with_newline.data(), with_newline.size()) == static_cast<ssize_t>(with_newline.size()) &&
            ::fsync(fd) == 0;
  if (!ok) return make_error(ErrorCategory::io, "cannot append to transcript '" + path_ + "'");
  previous_hash_ = sha256_hex(text);
  ++next_seq_;
  return true;
}

}  // namespace keyward::ceremony
