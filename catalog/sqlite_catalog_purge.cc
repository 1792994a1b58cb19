// SqliteCatalog::purge_copies: after a shred, no copy of a shredded wrapped DEK may stay in any file
// of the catalog. secure_delete zeroes deleted cells in the pages a transaction writes, but the WAL
// keeps the earlier page images (every commit appends whole pages) until it is truncated, and a
// connection that closes while another process holds the catalog open leaves the WAL as it is.
// Measured with SQLite 3.40 (docs/ROTATION.md, "Shred"): wal_checkpoint(TRUNCATE) empties the WAL
// while other connections are merely open; it cannot while another connection has a read
// transaction open (its snapshot pins the frames), and then it reports busy.
#include <sys/stat.h>

#include <array>
#include <bitset>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "catalog/sqlite_catalog.h"
#include "catalog/sqlite_statement.h"

namespace keyward::hierarchy {
namespace {

// Counts occurrences of any of `needles` (each at least 8 bytes) in the file at `path`; -1 if absent.
class NeedleScan {
 public:
  explicit NeedleScan(const std::vector<std::vector<std::uint8_t>>& needles) : needles_(needles) {
    for (std::size_t i = 0; i < needles_.size(); ++i) {
      if (needles_[i].size() < 8) continue;
      const std::uint64_t prefix = load(needles_[i].data());
      by_prefix_[prefix].push_back(i);
      filter_.set(bucket(prefix));
      longest_ = std::max(longest_, needles_[i].size());
    }
  }

  Result<std::int64_t> count_in(const std::string& path) const {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!file) {
      if (errno == ENOENT) return -1;
      return make_error(ErrorCategory::io, "cannot read '" + path + "' to check it for shredded keys: " + std::strerror(errno));
    }
    if (by_prefix_.empty()) return 0;
    std::vector<std::uint8_t> buffer;
    std::array<std::uint8_t, 1 << 20> chunk;
    std::int64_t found = 0;
    for (;;) {
      const std::size_t n = std::fread(chunk.data(), 1, chunk.size(), file.get());
      buffer.insert(buffer.end(), chunk.begin(), chunk.begin() + static_cast<long>(n));
      const bool last = n < chunk.size();
      // Offsets whose match could still extend into the next chunk wait for it.
      const std::size_t limit = last ? buffer.size() : (buffer.size() >= longest_ ? buffer.size() - longest_ + 1 : 0);
      for (std::size_t at = 0; at + 8 <= buffer.size() && at < limit; ++at) {
        const std::uint64_t prefix = load(buffer.data() + at);
        if (!filter_.test(bucket(prefix))) continue;
        auto hit = by_prefix_.find(prefix);
        if (hit == by_prefix_.end()) continue;
        for (auto index : hit->second) {
          const auto& needle = needles_[index];
          if (at + needle.size() <= buffer.size() && std::memcmp(buffer.data() + at, needle.data(), needle.size()) == 0) ++found;
        }
      }
      if (last) break;
      buffer.erase(buffer.begin(), buffer.begin() + static_cast<long>(std::min(limit, buffer.size())));
    }
    return found;
  }

 private:
  static std::uint64_t load(const std::uint8_t* p) {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static std::size_t bucket(std::uint64_t prefix) { return static_cast<std::size_t>((prefix * 0x9E3779B97F4A7C15ull) >> 48); }

  const std::vector<std::vector<std::uint8_t>>& needles_;
  std::unordered_map<std::uint64_t, std::vector<std::size_t>> by_prefix_;
  std::bitset<65536> filter_;
  std::size_t longest_ = 8;
};

std::int64_t file_size(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 ? static_cast<std::int64_t>(info.st_size) : 0;
}

}  // namespace

Result<std::int64_t> SqliteCatalog::truncate_wal() {
  int log_frames = 0, checkpointed = 0;
  // TRUNCATE waits (busy handler) for readers to leave the WAL; a reader with an open transaction
  // does not leave, so wait briefly, not the catalog's 30 s.
  sqlite3_busy_timeout(db_, 2'000);
  const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames, &checkpointed);
  sqlite3_busy_timeout(db_, 30'000);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) return fail(sqlite_error("checkpointing the WAL"));
  if (rc == SQLITE_OK && file_size(path_ + "-wal") == 0) return 0;
  return log_frames > 0 ? log_frames : 1;
}

Result<std::vector<Catalog::Residue>> SqliteCatalog::purge_copies(const std::vector<std::vector<std::uint8_t>>& secrets) {
  NeedleScan scan(secrets);
  KW_ASSIGN_OR_RETURN(std::int64_t frames_left, truncate_wal());
  KW_ASSIGN_OR_RETURN(std::int64_t in_main, scan.count_in(path_));
  if (in_main > 0 && frames_left == 0) {
    // A copy in the main file although the WAL was checkpointed (a page freed without secure_delete,
    // e.g. by another SQLite client): VACUUM rewrites every page, then the WAL that carried the
    // rewrite is truncated again. Not while a reader pins the WAL: VACUUM would wait and fail.
    KW_TRY(exec("VACUUM"));
    KW_ASSIGN_OR_RETURN(frames_left, truncate_wal());
    KW_ASSIGN_OR_RETURN(in_main, scan.count_in(path_));
  }
  std::vector<Residue> residues;
  if (in_main > 0)
    residues.push_back({path_, static_cast<std::uint64_t>(in_main),
                        frames_left > 0
                            ? "another process has a read transaction open on the catalog, so the pages that overwrite them "
                              "cannot be copied in: run the same shred again when no other process is reading the catalog"
                            : "still in the database file after VACUUM: copy the catalog with `sqlite3 CATALOG .dump` into a "
                              "new file and destroy this one"});
  const std::string wal = path_ + "-wal";
  KW_ASSIGN_OR_RETURN(std::int64_t in_wal, scan.count_in(wal));
  if (frames_left > 0 || in_wal > 0)
    // Frames the checkpoint could not remove may hold copies even when this call was not given the
    // secrets (a second shred of the same scope no longer knows them): report the WAL either way.
    residues.push_back({wal, static_cast<std::uint64_t>(std::max<std::int64_t>(in_wal, 0)),
                        "the WAL could not be truncated because another process has a read transaction open on the catalog (" +
                            std::to_string(frames_left) + " frame(s) kept, each a page image that may hold a shredded "
                            "wrapped DEK): run the same shred again when no other process is reading the catalog"});
  KW_ASSIGN_OR_RETURN(std::int64_t in_shm, scan.count_in(path_ + "-shm"));
  if (in_shm > 0)
    residues.push_back({path_ + "-shm", static_cast<std::uint64_t>(in_shm),
                        "in SQLite's shared-memory index: run the same shred again when no other process uses the catalog"});
  return residues;
}

}  // namespace keyward::hierarchy
