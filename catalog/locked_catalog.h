// LockedCatalog: one Catalog shared by many threads. SqliteCatalog is one connection with its own
// prepared statements (not safe to use from two threads at once); this decorator runs every call
// under one mutex, so a process can share one catalog connection instead of opening one per thread.
//
// The lock is held for exactly one catalog call (callbacks such as retire_if's `decide` run under it
// and must not call back into the catalog).
#pragma once

#include <memory>
#include <mutex>

#include "catalog/catalog.h"

namespace keyward::hierarchy {

class LockedCatalog final : public Catalog {
 public:
  explicit LockedCatalog(std::unique_ptr<Catalog> inner) : inner_(std::move(inner)) {}

  bool writable() const override { return inner_->writable(); }
  Status create_dek(const DekRecord& record) override;
  Result<FirstDek> create_first_dek(const DekRecord& record) override;
  Status create_deks(const std::vector<DekRecord>& records) override;
  Result<std::optional<DekRecord>> find_dek(const envelope::DekId& dek_id) override;
  Result<std::optional<DekRecord>> active_dek(const std::string& scope) override;
  Result<std::vector<DekRecord>> deks_for_scope(const std::string& scope) override;
  Status set_dek_state(const envelope::DekId& dek_id, DekState state) override;
  Status set_kek_version(const KekVersionRecord& record) override;
  Result<std::vector<KekVersionRecord>> kek_versions(const std::string& family) override;
  Result<std::vector<DekRecord>> next_rewrap_batch(const std::string& family, std::uint32_t target,
                                                   const envelope::DekId& after, std::size_t limit,
                                                   const envelope::DekId& before = max_dek_id()) override;
  Result<std::size_t> apply_rewraps(const std::vector<Rewrap>& rewraps) override;
  Result<std::map<std::uint32_t, std::uint64_t>> count_by_version(const std::string& family) override;
  Status set_rotation(const RotationRecord& record) override;
  Result<std::optional<RotationRecord>> rotation(const std::string& family) override;
  Status record_file_references(const std::vector<FileReference>& references) override;
  Result<std::uint64_t> references_to(const std::string& family, std::uint32_t version) override;
  Result<std::int64_t> begin_run(const std::string& family, std::uint32_t target,
                                 const std::vector<std::string>& paths) override;
  Status record_run_file(const std::vector<std::int64_t>& run_ids, const RunFile& file) override;
  Status finish_run(std::int64_t run_id, bool catalog_complete, RunOutcome outcome, const std::string& reason) override;
  Result<std::vector<RunRecord>> runs(const std::string& family, std::size_t limit) override;
  Result<std::vector<RunFile>> run_files(std::int64_t run_id, FileOutcome outcome, std::size_t limit) override;
  Status retire_if(const std::string& family, std::uint32_t version,
                   const std::function<Status(const RetireFacts&)>& decide) override;
  Result<std::size_t> shred_scope(const std::string& scope, const std::string& reason) override;
  Result<bool> is_shredded(const std::string& scope) override;
  Result<std::vector<Residue>> purge_copies(const std::vector<std::vector<std::uint8_t>>& secrets) override;
  Result<bool> is_dek_shredded(const envelope::DekId& dek_id) override;

 private:
  std::mutex mutex_;
  std::unique_ptr<Catalog> inner_;
};

}  // namespace keyward::hierarchy
