#pragma once

#include <memory>

#include "catalog/catalog_location.h"
#include "rotation/worker_processes.h"
#include "tools/common/token_context.h"
#include "tools/keyward_rotate/commands.h"

namespace keyward::cli {

struct RotateContext final : rotation::WorkerSession {
  TokenContext token;
  std::unique_ptr<hierarchy::Catalog> catalog_file;
  hierarchy::KeyHierarchy& hierarchy() override { return *token.hierarchy; }
  hierarchy::Catalog& catalog() override { return *catalog_file; }
};

// Rotation processes are short-lived and use one session, so they rewrap with session copies of the
// KEKs (HierarchyOptions::session_kek_copies_for_rewrap): a copy lives as long as that one session.
inline Result<std::unique_ptr<RotateContext>> open_rotate_context(const RotateOptions& options) {
  auto context = std::make_unique<RotateContext>();
  TokenOptions token = options.token;
  token.session_kek_copies_for_rewrap = true;
  token.catalog = options.catalog;
  KW_ASSIGN_OR_RETURN(context->token, open_token(token, 1));
  KW_ASSIGN_OR_RETURN(context->catalog_file, hierarchy::open_catalog(options.catalog));
  return context;
}

}  // namespace keyward::cli
