// A token with root v1 and KEK "payments" v1, shared by the hierarchy tests of one process.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "hierarchy/key_hierarchy.h"
#include "hierarchy/labels.h"
#include "tests/support/test_token.h"

namespace keyward::hierarchy::testing {

struct HierarchyEnv {
  std::shared_ptr<p11::SessionPool> pool;
  std::unique_ptr<KeyHierarchy> hierarchy;
  RootInfo root;
  KekCreated payments;
};

// Built on first use; a failure to build it fails the calling test.
HierarchyEnv* hierarchy_env();

}  // namespace keyward::hierarchy::testing
