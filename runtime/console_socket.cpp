#include "runtime/console_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "util/error.h"

namespace berth::runtime {

namespace {

sockaddr_un address_of(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    throw Error(fmt::format("console socket {}: path too long", path));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

}  // namespace

ConsoleSocket::ConsoleSocket(const std::string& dir, const std::string& tag)
    : m_name("console-" + tag + ".sock") {
  m_dir = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (m_dir < 0) {
    throw Error(fmt::format("{}: {}", dir, std::strerror(errno)));
  }
  m_address = fmt::format("/proc/{}/fd/{}/{}", ::getpid(), m_dir, m_name);
  m_listen = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  const sockaddr_un address = address_of(m_address);
  ::unlinkat(m_dir, m_name.c_str(), 0);
  if (m_listen < 0 ||
      ::bind(m_listen, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(m_listen, 1) != 0) {
    const int error = errno;
    close_all();
    throw Error(fmt::format("console socket {}/{}: {}", dir, m_name, std::strerror(error)));
  }
}

ConsoleSocket::~ConsoleSocket() {
  close_all();
}

void ConsoleSocket::close_all() {
  if (m_listen >= 0) {
    ::close(m_listen);
    m_listen = -1;
  }
  if (m_dir >= 0) {
    ::unlinkat(m_dir, m_name.c_str(), 0);
    ::close(m_dir);
    m_dir = -1;
  }
}

int ConsoleSocket::receive_master(int timeout_ms) {
  pollfd ready{m_listen, POLLIN, 0};
  if (::poll(&ready, 1, timeout_ms) <= 0) {
    return -1;
  }
  const int connection = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
  if (connection < 0) {
    return -1;
  }
  // The runtime sends the descriptor right after connecting; wait for it like for the
  // connection.
  pollfd message{connection, POLLIN, 0};
  ::poll(&message, 1, timeout_ms);
  char byte[256];
  iovec data{byte, sizeof byte};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr header{};
  header.msg_iov = &data;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = sizeof control;
  int master = -1;
  if (::recvmsg(connection, &header, MSG_CMSG_CLOEXEC | MSG_DONTWAIT) >= 0) {
    for (cmsghdr* item = CMSG_FIRSTHDR(&header); item != nullptr;
         item = CMSG_NXTHDR(&header, item)) {
      if (item->cmsg_level == SOL_SOCKET && item->cmsg_type == SCM_RIGHTS) {
        std::memcpy(&master, CMSG_DATA(item), sizeof master);
      }
    }
  }
  ::close(connection);
  return master;
}

}  // namespace berth::runtime
