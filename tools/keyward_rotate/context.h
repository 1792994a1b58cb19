#pragma once

#include <memory>

#include "hierarchy/sqlite_catalog.h"
#include "tools/common/token_context.h"
#include "tools/keyward_rotate/commands.h"

namespace keyward::cli {

struct RotateContext {
  TokenContext token;
  std::unique_ptr<hierarchy::SqliteCatalog> catalog;
};

inline Result<RotateContext> open_rotate_context(const RotateOptions& options, std::size_t sessions = 2) {
  RotateContext context;
  KW_ASSIGN_OR_RETURN(context.token, open_token(options.token, sessions));
  KW_ASSIGN_OR_RETURN(context.catalog, hierarchy::SqliteCatalog::open(options.catalog));
  return context;
}

}  // namespace keyward::cli
