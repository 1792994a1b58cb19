#include "catalog/locked_catalog.h"

namespace keyward::hierarchy {

Status LockedCatalog::create_dek(const DekRecord& record) {
  std::lock_guard lock(mutex_);
  return inner_->create_dek(record);
}

Result<FirstDek> LockedCatalog::create_first_dek(const DekRecord& record) {
  std::lock_guard lock(mutex_);
  return inner_->create_first_dek(record);
}

Status LockedCatalog::create_deks(const std::vector<DekRecord>& records) {
  std::lock_guard lock(mutex_);
  return inner_->create_deks(records);
}

Result<std::optional<DekRecord>> LockedCatalog::find_dek(const envelope::DekId& dek_id) {
  std::lock_guard lock(mutex_);
  return inner_->find_dek(dek_id);
}

Result<std::optional<DekRecord>> LockedCatalog::active_dek(const std::string& scope) {
  std::lock_guard lock(mutex_);
  return inner_->active_dek(scope);
}

Result<std::vector<DekRecord>> LockedCatalog::deks_for_scope(const std::string& scope) {
  std::lock_guard lock(mutex_);
  return inner_->deks_for_scope(scope);
}

Status LockedCatalog::set_dek_state(const envelope::DekId& dek_id, DekState state) {
  std::lock_guard lock(mutex_);
  return inner_->set_dek_state(dek_id, state);
}

Status LockedCatalog::set_kek_version(const KekVersionRecord& record) {
  std::lock_guard lock(mutex_);
  return inner_->set_kek_version(record);
}

Result<std::vector<KekVersionRecord>> LockedCatalog::kek_versions(const std::string& family) {
  std::lock_guard lock(mutex_);
  return inner_->kek_versions(family);
}

Result<std::vector<DekRecord>> LockedCatalog::next_rewrap_batch(const std::string& family, std::uint32_t target, const envelope::DekId& after, std::size_t limit, const envelope::DekId& before) {
  std::lock_guard lock(mutex_);
  return inner_->next_rewrap_batch(family, target, after, limit, before);
}

Result<std::size_t> LockedCatalog::apply_rewraps(const std::vector<Rewrap>& rewraps) {
  std::lock_guard lock(mutex_);
  return inner_->apply_rewraps(rewraps);
}

Result<std::map<std::uint32_t, std::uint64_t>> LockedCatalog::count_by_version(const std::string& family) {
  std::lock_guard lock(mutex_);
  return inner_->count_by_version(family);
}

Status LockedCatalog::set_rotation(const RotationRecord& record) {
  std::lock_guard lock(mutex_);
  return inner_->set_rotation(record);
}

Result<std::optional<RotationRecord>> LockedCatalog::rotation(const std::string& family) {
  std::lock_guard lock(mutex_);
  return inner_->rotation(family);
}

Status LockedCatalog::record_file_references(const std::vector<FileReference>& references) {
  std::lock_guard lock(mutex_);
  return inner_->record_file_references(references);
}

Result<std::uint64_t> LockedCatalog::references_to(const std::string& family, std::uint32_t version) {
  std::lock_guard lock(mutex_);
  return inner_->references_to(family, version);
}

Result<std::int64_t> LockedCatalog::begin_run(const std::string& family, std::uint32_t target, const std::vector<std::string>& paths) {
  std::lock_guard lock(mutex_);
  return inner_->begin_run(family, target, paths);
}

Status LockedCatalog::record_run_file(const std::vector<std::int64_t>& run_ids, const RunFile& file) {
  std::lock_guard lock(mutex_);
  return inner_->record_run_file(run_ids, file);
}

Status LockedCatalog::finish_run(std::int64_t run_id, bool catalog_complete, RunOutcome outcome, const std::string& reason) {
  std::lock_guard lock(mutex_);
  return inner_->finish_run(run_id, catalog_complete, outcome, reason);
}

Result<std::vector<RunRecord>> LockedCatalog::runs(const std::string& family, std::size_t limit) {
  std::lock_guard lock(mutex_);
  return inner_->runs(family, limit);
}

Result<std::vector<RunFile>> LockedCatalog::run_files(std::int64_t run_id, FileOutcome outcome, std::size_t limit) {
  std::lock_guard lock(mutex_);
  return inner_->run_files(run_id, outcome, limit);
}

Status LockedCatalog::retire_if(const std::string& family, std::uint32_t version, const std::function<Status(const RetireFacts&)>& decide) {
  std::lock_guard lock(mutex_);
  return inner_->retire_if(family, version, decide);
}

Result<std::size_t> LockedCatalog::shred_scope(const std::string& scope, const std::string& reason) {
  std::lock_guard lock(mutex_);
  return inner_->shred_scope(scope, reason);
}

Result<bool> LockedCatalog::is_shredded(const std::string& scope) {
  std::lock_guard lock(mutex_);
  return inner_->is_shredded(scope);
}

Result<std::vector<Catalog::Residue>> LockedCatalog::purge_copies(const std::vector<std::vector<std::uint8_t>>& secrets) {
  std::lock_guard lock(mutex_);
  return inner_->purge_copies(secrets);
}

Result<bool> LockedCatalog::is_dek_shredded(const envelope::DekId& dek_id) {
  std::lock_guard lock(mutex_);
  return inner_->is_dek_shredded(dek_id);
}

}  // namespace keyward::hierarchy
