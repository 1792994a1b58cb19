#include "catalog/catalog.h"

#include <unistd.h>

namespace keyward::hierarchy {

Result<std::unique_ptr<RewrapClaim>> Catalog::claim_rewrap_batch(const std::string&, std::uint32_t, std::size_t,
                                                                 std::int64_t) {
  return make_error(ErrorCategory::usage,
                    "this catalog cannot share a rotation between processes by claiming batches (a SQLite catalog has "
                    "one writer at a time: its runs split the DEK IDs into shards)");
}

std::string run_host() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) name[0] = '\0';
  return std::string(name[0] ? name : "unknown-host") + ":" + std::to_string(::getpid());
}

}  // namespace keyward::hierarchy
