// CallRunner (hierarchy/call_runner.h): a caller waits at most the deadline, a stuck job neither
// blocks later ones (up to the worker limit) nor outlives what it owns.
#include "hierarchy/call_runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>

namespace keyward::hierarchy {
namespace {

using namespace std::chrono_literals;

TEST(CallRunner, AFinishedJobIsDoneAndItsResultIsSeen) {
  CallRunner runner;
  int value = 0;
  EXPECT_EQ(runner.run([&] { value = 42; }, 10s), CallRunner::Outcome::done);
  EXPECT_EQ(value, 42);
  EXPECT_TRUE(runner.idle(1s));
}

TEST(CallRunner, AStuckJobTimesOutAndLaterJobsStillRun) {
  CallRunner runner(4);
  auto release = std::make_shared<std::promise<void>>();
  auto released = release->get_future().share();
  EXPECT_EQ(runner.run([released] { released.wait(); }, 50ms), CallRunner::Outcome::timed_out);
  EXPECT_FALSE(runner.idle(10ms)) << "the stuck job is still running";
  int value = 0;
  EXPECT_EQ(runner.run([&] { value = 7; }, 10s), CallRunner::Outcome::done) << "another worker took the next job";
  EXPECT_EQ(value, 7);
  release->set_value();
  EXPECT_TRUE(runner.idle(10s));
}

TEST(CallRunner, WhenEveryWorkerIsStuckNoJobStarts) {
  CallRunner runner(1);
  auto release = std::make_shared<std::promise<void>>();
  auto released = release->get_future().share();
  EXPECT_EQ(runner.run([released] { released.wait(); }, 20ms), CallRunner::Outcome::timed_out);
  std::atomic<bool> ran{false};
  EXPECT_EQ(runner.run([&] { ran = true; }, 20ms), CallRunner::Outcome::saturated);
  EXPECT_FALSE(ran.load());
  release->set_value();
  ASSERT_TRUE(runner.idle(10s));
  EXPECT_EQ(runner.run([&] { ran = true; }, 10s), CallRunner::Outcome::done) << "the worker is free again";
  EXPECT_TRUE(ran.load());
}

// The runner may go before a stuck job returns: the job's own state (shared) is still there when it
// does (ASan would see a use after free otherwise).
TEST(CallRunner, AJobOutlivingItsRunnerFinishesSafely) {
  auto release = std::make_shared<std::promise<void>>();
  auto released = release->get_future().share();
  auto finished = std::make_shared<std::promise<void>>();
  auto result = std::make_shared<int>(0);
  {
    CallRunner runner;
    EXPECT_EQ(runner.run([released, finished, result] {
                released.wait();
                *result = 9;
                finished->set_value();
              }, 20ms),
              CallRunner::Outcome::timed_out);
  }
  auto done = finished->get_future();
  release->set_value();
  ASSERT_EQ(done.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(*result, 9);
}

}  // namespace
}  // namespace keyward::hierarchy
