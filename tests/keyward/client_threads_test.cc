// One Client shared by four threads: fields (both modes, one scope each and one shared) and
// envelope buffers at once, every result checked.
#include <atomic>
#include <thread>

#include "tests/keyward/client_support.h"

namespace keyward {
namespace {

using api_testing::bytes;
using api_testing::text;

TEST(ClientThreads, FourThreadsShareOneClient) {
  auto client = api_testing::open_test_client("threads");
  ASSERT_TRUE(client);
  auto shared = client->field(
      api_testing::field_options("tenant:shared", "payments", FieldMode::deterministic, {{"column", "email"}}));
  ASSERT_TRUE(shared) << shared.error().message;
  constexpr int kThreads = 4, kValues = 200, kBuffers = 5;
  std::atomic<int> failures{0}, checked{0};
  auto expect = [&](bool ok) {
    if (!ok) failures.fetch_add(1);
    checked.fetch_add(1);
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto own = client->field(api_testing::field_options("tenant:" + std::to_string(t), "payments"));
      expect(own.has_value());
      if (!own) return;
      for (int i = 0; i < kValues; ++i) {
        const std::string plain = "value " + std::to_string(t) + "/" + std::to_string(i);
        auto value = own->encrypt(plain);
        expect(value.has_value());
        if (!value) continue;
        auto back = own->decrypt(*value);
        expect(back && text(back->value) == plain);
        auto deterministic = shared->encrypt(plain);
        auto again = shared->encrypt(plain);
        expect(deterministic && again && *deterministic == *again);
        if (deterministic) {
          auto shared_back = shared->decrypt(*deterministic);
          expect(shared_back && text(shared_back->value) == plain);
        }
      }
      for (int b = 0; b < kBuffers; ++b) {
        const auto plain = bytes("buffer " + std::to_string(t) + "/" + std::to_string(b));
        auto sealed = client->encrypt_buffer("payments", plain, {{"thread", std::to_string(t)}});
        expect(sealed.has_value());
        if (!sealed) continue;
        auto opened = client->decrypt_buffer(*sealed, {{"thread", std::to_string(t)}});
        expect(opened && *opened == plain);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(checked.load(), kThreads * (1 + kValues * 4 + kBuffers * 2));
  auto scope_keys = shared->lookup_key_info();
  ASSERT_TRUE(scope_keys);
  EXPECT_EQ(scope_keys->size(), 1u) << "racing first encrypts of one scope agree on one DEK";
}

}  // namespace
}  // namespace keyward
