// CallRunner (hierarchy/call_runner.h): a caller waits at most the deadline, a stuck job neither
// blocks later ones (up to the worker limit) nor outlives what it owns.
#include "hierarchy/call_runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

namespace keyward::hierarchy {
namespace {

using namespace std::chrono_literals;

// Long enough for a worker to pick a job up on a loaded machine: a job that must have *started* before
// its caller gives up (timed_out, not not_started) gets this deadline.
constexpr auto kStarts = 2s;

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
  EXPECT_EQ(runner.run([released] { released.wait(); }, kStarts), CallRunner::Outcome::timed_out);
  EXPECT_FALSE(runner.idle(10ms)) << "the stuck job is still running";
  int value = 0;
  EXPECT_EQ(runner.run([&] { value = 7; }, 10s), CallRunner::Outcome::done) << "another worker took the next job";
  EXPECT_EQ(value, 7);
  release->set_value();
  EXPECT_TRUE(runner.idle(10s));
}

// Busy is not stuck: past the worker limit a call waits in line; one still in line at its deadline is
// taken out and never runs (its caller has given up on it).
TEST(CallRunner, PastTheWorkerLimitACallWaitsInLineAndIsDroppedUnstartedAtItsDeadline) {
  CallRunner runner(1);
  auto release = std::make_shared<std::promise<void>>();
  auto released = release->get_future().share();
  EXPECT_EQ(runner.run([released] { released.wait(); }, kStarts), CallRunner::Outcome::timed_out);
  auto ran = std::make_shared<std::atomic<bool>>(false);
  EXPECT_EQ(runner.run([ran] { *ran = true; }, 20ms), CallRunner::Outcome::not_started);
  release->set_value();
  ASSERT_TRUE(runner.idle(10s));
  EXPECT_FALSE(ran->load()) << "a call dropped from the line must never run";
  // A call in line runs as soon as the worker is free, within its deadline.
  auto release2 = std::make_shared<std::promise<void>>();
  auto released2 = release2->get_future().share();
  EXPECT_EQ(runner.run([released2] { released2.wait(); }, kStarts), CallRunner::Outcome::timed_out);
  std::thread freer([release2] {
    std::this_thread::sleep_for(50ms);
    release2->set_value();
  });
  EXPECT_EQ(runner.run([ran] { *ran = true; }, 10s), CallRunner::Outcome::done) << "it waited in line, then ran";
  freer.join();
  EXPECT_TRUE(ran->load());
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
              }, kStarts),
              CallRunner::Outcome::timed_out);
  }
  auto done = finished->get_future();
  release->set_value();
  ASSERT_EQ(done.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(*result, 9);
}

}  // namespace
}  // namespace keyward::hierarchy
