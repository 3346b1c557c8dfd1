// The command's side of an attach channel, against a fake monitor on a socket pair: what it
// writes to our stdout, and the exit code however the monitor's end was closed.
#include "orchestrator/containers/attach.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "runtime/attach_protocol.h"
#include "util/unique_fd.h"

namespace berth::containers {
namespace {

using runtime::attach::Kind;
using runtime::attach::packet;

/// Our stdout goes to an anonymous file while the object lives; text() reads it.
class CapturedStdout {
 public:
  CapturedStdout() : m_file(::memfd_create("stdout", MFD_CLOEXEC)), m_saved(::dup(STDOUT_FILENO)) {
    ::dup2(m_file.get(), STDOUT_FILENO);
  }
  ~CapturedStdout() { restore(); }
  CapturedStdout(const CapturedStdout&) = delete;
  CapturedStdout& operator=(const CapturedStdout&) = delete;

  std::string text() {
    restore();
    std::string out;
    char buffer[4096];
    for (ssize_t n;
         (n = ::pread(m_file.get(), buffer, sizeof buffer, static_cast<off_t>(out.size()))) > 0;) {
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  void restore() {
    if (m_saved) {
      ::dup2(m_saved.get(), STDOUT_FILENO);
      m_saved.reset();
    }
  }

  Fd m_file;
  Fd m_saved;
};

struct Channel {
  Fd command;
  Fd monitor;
  Channel() {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0) {
      command.reset(pair[0]);
      monitor.reset(pair[1]);
    }
  }
  void send(const Fd& from, Kind kind, const std::string& payload) const {
    const std::string data = packet(kind, payload);
    ASSERT_EQ(::send(from.get(), data.data(), data.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(data.size()));
  }
};

TEST(ContainerAttachSession, ReturnsTheExitCodeAfterTheOutput) {
  Channel channel;
  ASSERT_TRUE(channel.command && channel.monitor);
  channel.send(channel.monitor, Kind::stdout_data, "hi\n");
  channel.send(channel.monitor, Kind::exit, "4");
  channel.monitor.reset();
  CapturedStdout out;
  const AttachResult result = attach_session(channel.command.get(), {});
  EXPECT_EQ(out.text(), "hi\n");
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_EQ(result.failure, "");
}

// A monitor that closes its end with our packets unread in it (input sent after the
// container's end) resets the connection: the first recv fails with ECONNRESET although the
// output and the exit code wait in our queue. They are read, not taken for the monitor's
// silence (which sent `run --rm` to a removed container's state, and exit code 0).
TEST(ContainerAttachSession, ReadsWhatWasSentBeforeAResetConnection) {
  Channel channel;
  ASSERT_TRUE(channel.command && channel.monitor);
  channel.send(channel.command, Kind::stdin_end, "");
  channel.send(channel.monitor, Kind::stdout_data, "hi\n");
  channel.send(channel.monitor, Kind::failure, "reason");
  channel.send(channel.monitor, Kind::exit, "4");
  channel.monitor.reset();
  CapturedStdout out;
  const AttachResult result = attach_session(channel.command.get(), {});
  EXPECT_EQ(out.text(), "hi\n");
  EXPECT_EQ(result.exit_code, 4);
  EXPECT_EQ(result.failure, "reason");
}

TEST(ContainerAttachSession, AMonitorGoneWithoutAWordLeavesNoExitCode) {
  Channel channel;
  ASSERT_TRUE(channel.command && channel.monitor);
  channel.send(channel.command, Kind::stdin_end, "");
  channel.send(channel.monitor, Kind::stdout_data, "partial");
  channel.monitor.reset();
  CapturedStdout out;
  const AttachResult result = attach_session(channel.command.get(), {});
  EXPECT_EQ(out.text(), "partial");
  EXPECT_FALSE(result.exit_code.has_value());
}

}  // namespace
}  // namespace berth::containers
