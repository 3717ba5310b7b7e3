// The QMP client against Debian's real QEMU (paused with -S, so no guest code is needed), and
// socket discovery from real QEMU command-line shapes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "test_support.h"
#include "qemu/qmp.h"

namespace exitprof::testing {
namespace {

TEST(QmpSocketFromArgs, FindsEveryForm) {
  using V = std::vector<std::string>;
  EXPECT_EQ(qemu::QmpSocketFromArgs(V{"qemu", "-qmp", "unix:/run/a.sock,server=on,wait=off"}), "/run/a.sock");
  EXPECT_EQ(qemu::QmpSocketFromArgs(V{"qemu", "-qmp-pretty", "unix:/run/b.sock"}), "/run/b.sock");
  EXPECT_EQ(qemu::QmpSocketFromArgs(V{"qemu", "-chardev", "socket,id=mon0,path=/run/c.sock,server=on,wait=off",
                                     "-mon", "chardev=mon0,mode=control"}),
            "/run/c.sock");
  // A human monitor on a socket is not QMP.
  EXPECT_EQ(qemu::QmpSocketFromArgs(V{"qemu", "-chardev", "socket,id=m,path=/run/d.sock", "-mon", "chardev=m"}),
            std::nullopt);
  EXPECT_EQ(qemu::QmpSocketFromArgs(V{"qemu", "-qmp", "tcp:localhost:4444"}), std::nullopt);
  EXPECT_EQ(qemu::QmpSocketFromArgs(V{"qemu", "-qmp"}), std::nullopt);
  EXPECT_EQ(qemu::QemuNameFromArgs(V{"qemu", "-name", "guest=web1,debug-threads=on"}), "web1");
  EXPECT_EQ(qemu::QemuNameFromArgs(V{"qemu", "-name", "db2"}), "db2");
  EXPECT_EQ(qemu::QemuNameFromArgs(V{"qemu"}), "");
}

TEST(QmpClient, RefusesWhatIsNotQmp) {
  auto none = qemu::QmpClient::Connect(TempPath("no-such.sock"), 500);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("no-such.sock"), std::string::npos) << none.error().message;
  auto too_long = qemu::QmpClient::Connect(std::string(200, 'x'), 500);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().exit_code, 2);
}

class QemuQmp : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/dev/kvm", R_OK | W_OK) != 0) EXITPROF_LIVE_SKIP("needs /dev/kvm");
    if (RunCommand("command -v qemu-system-x86_64").status != 0)
      EXITPROF_LIVE_SKIP("needs qemu-system-x86_64 (Debian package qemu-system-x86)");
    socket_ = TempPath("qmp-test.sock");
    ::unlink(socket_.c_str());
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      std::string qmp = "unix:" + socket_ + ",server=on,wait=off";
      ::execlp("qemu-system-x86_64", "qemu-system-x86_64", "-name", "guest=qmp-test,debug-threads=on",
               "-enable-kvm", "-cpu", "qemu64,pni=off", "-S", "-nodefaults", "-display", "none", "-smp", "2",
               "-qmp", qmp.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 400 && !FileExists(socket_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    ASSERT_TRUE(FileExists(socket_)) << "QEMU did not create " << socket_;
    // QEMU creates its socket before its main loop serves it: the first greeting can take
    // seconds where QEMU starts slowly (the lab's emulated host). Wait for it once here.
    for (int i = 0; i < 20 && !qemu::QmpClient::Connect(socket_, 1000); ++i) {
    }
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::string socket_;
  pid_t pid_ = -1;
};

TEST_F(QemuQmp, ConnectsQueriesAndFindsItsSocket) {
  EXPECT_EQ(qemu::FindQmpSocket(pid_), socket_);
  EXPECT_EQ(qemu::QemuNameFromArgs(qemu::ProcessArgs(pid_)), "qmp-test");

  auto client = qemu::QmpClient::Connect(socket_);
  ASSERT_TRUE(client) << client.error().message;
  EXPECT_TRUE(client->greeting()["QMP"].contains("version"));

  auto status = client->Execute("query-status");
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ((*status)["status"], "prelaunch");
  EXPECT_FALSE((*status)["running"].get<bool>());

  auto cpus = client->Execute("query-cpus-fast");
  ASSERT_TRUE(cpus) << cpus.error().message;
  EXPECT_EQ(cpus->size(), 2u);

  auto bad = client->Execute("no-such-command");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("CommandNotFound"), std::string::npos) << bad.error().message;

  auto mtree = client->Hmp("info mtree -f");
  ASSERT_TRUE(mtree) << mtree.error().message;
  EXPECT_NE(mtree->find("FlatView"), std::string::npos) << *mtree;
}

TEST_F(QemuQmp, ServesOneClientAtATime) {
  auto first = qemu::QmpClient::Connect(socket_);
  ASSERT_TRUE(first) << first.error().message;
  // QEMU queues the second connection until the first goes: it times out with a clear reason.
  auto second = qemu::QmpClient::Connect(socket_, 300);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("one at a time"), std::string::npos) << second.error().message;
}

}  // namespace
}  // namespace exitprof::testing
