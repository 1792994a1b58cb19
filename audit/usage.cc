#include "audit/usage.h"

#include <map>
#include <memory>
#include <mutex>

namespace keyward::audit {
namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<UsageCounter>, std::less<>> counters;  // by scope '\n' dek_id
  std::atomic<bool> on{false};
};

Registry& registry() {
  static Registry* instance = new Registry();  // never destroyed: counters outlive static destructors
  return *instance;
}

}  // namespace

UsageCounter* usage_counter(std::string_view dek_id, std::string_view scope) {
  Registry& r = registry();
  if (!r.on.load(std::memory_order_acquire)) return nullptr;
  std::string name = std::string(scope) + '\n' + std::string(dek_id);
  std::lock_guard lock(r.mutex);
  auto it = r.counters.find(name);
  if (it == r.counters.end()) {
    auto counter = std::make_unique<UsageCounter>();
    counter->dek_id = dek_id;
    counter->scope = scope;
    it = r.counters.emplace(std::move(name), std::move(counter)).first;
  }
  return it->second.get();
}

void set_usage_counting(bool on) { registry().on.store(on, std::memory_order_release); }

void drain_usage(const std::function<void(const UsageCounter&, std::uint64_t, std::uint64_t, std::uint64_t)>& take) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (auto& [name, counter] : r.counters) {
    const std::uint64_t encryptions = counter->encryptions.exchange(0, std::memory_order_relaxed);
    const std::uint64_t decryptions = counter->decryptions.exchange(0, std::memory_order_relaxed);
    const std::uint64_t bytes = counter->bytes.exchange(0, std::memory_order_relaxed);
    if (encryptions + decryptions > 0) take(*counter, encryptions, decryptions, bytes);
  }
}

}  // namespace keyward::audit
