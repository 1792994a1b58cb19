#include "tests/support/hierarchy_fixture.h"

namespace keyward::hierarchy::testing {

HierarchyEnv* hierarchy_env() {
  static std::unique_ptr<HierarchyEnv> env = []() -> std::unique_ptr<HierarchyEnv> {
    auto connection = keyward::testing::connect_test_token();
    if (!connection) return nullptr;
    auto made = std::make_unique<HierarchyEnv>();
    made->pool = std::make_shared<p11::SessionPool>(connection);
    // NSS softoken lacks some policy attributes: the tests accept that explicitly and each test
    // that depends on one says so.
    made->hierarchy = std::make_unique<KeyHierarchy>(
        made->pool, HierarchyOptions{.accept_module_limits =
                                         keyward::testing::module_under_test() == keyward::testing::ModuleKind::nss});
    auto root = made->hierarchy->create_generated_root();
    if (!root) {
      ADD_FAILURE() << "root: " << root.error().message;
      return nullptr;
    }
    made->root = *root;
    auto kek = made->hierarchy->create_kek("payments");
    if (!kek) {
      ADD_FAILURE() << "kek: " << kek.error().message;
      return nullptr;
    }
    made->payments = std::move(*kek);
    return made;
  }();
  return env.get();
}

}  // namespace keyward::hierarchy::testing
