#include "audit/recorder.h"

#include <atomic>

#include "audit/usage.h"

namespace keyward::audit {
namespace {

std::atomic<std::shared_ptr<AuditLog>>& slot() {
  static std::atomic<std::shared_ptr<AuditLog>> instance;
  return instance;
}
std::atomic<bool> any_installed{false};

}  // namespace

void install(std::shared_ptr<AuditLog> log) {
  const bool on = log != nullptr;
  slot().store(std::move(log));
  any_installed.store(on, std::memory_order_release);
  set_usage_counting(on);
}

std::shared_ptr<AuditLog> installed() {
  if (!any_installed.load(std::memory_order_acquire)) return nullptr;
  return slot().load();
}

Status record(const Event& event) {
  auto log = installed();
  if (!log) return {};
  return log->record(event);
}

bool is_refusal(ErrorCategory category) {
  return category == ErrorCategory::authentication || category == ErrorCategory::policy || category == ErrorCategory::shredded;
}

Error record_if_refused(std::string_view op, std::string_view key, std::string_view scope, Error error) {
  if (!is_refusal(error.category)) return error;
  return record_refusal(std::string(op), std::string(key), std::string(scope), std::move(error));
}

Error record_refusal(std::string op, std::string key, std::string scope, Error error) {
  Event event{std::move(op), "refused", std::move(key), std::move(scope),
              {{"category", std::string(category_name(error.category))}, {"reason", error.message}}};
  if (auto written = record(event); !written) return std::move(written).error().with_context("recording a refusal");
  return error;
}

}  // namespace keyward::audit
