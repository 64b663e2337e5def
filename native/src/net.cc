// Network facts Node does not expose: interface flags and MTU (getifaddrs + SIOCGIFMTU), and
// whether batched UDP syscalls (sendmmsg/recvmmsg) work here, checked by really calling them
// on a pair of loopback sockets. JS twins: core/probe/interfaces.ts and core/probe/limits.ts.
#include "net.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <ifaddrs.h>
#include <map>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace x2 {

namespace {

int PrefixLength(const sockaddr* netmask) {
  if (netmask == nullptr) return -1;
  const uint8_t* bytes = nullptr;
  size_t length = 0;
  if (netmask->sa_family == AF_INET) {
    bytes = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(netmask)->sin_addr);
    length = 4;
  } else if (netmask->sa_family == AF_INET6) {
    bytes = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(netmask)->sin6_addr);
    length = 16;
  } else {
    return -1;
  }
  int bits = 0;
  for (size_t i = 0; i < length; i++) bits += __builtin_popcount(bytes[i]);
  return bits;
}

int MtuOf(int fd, const std::string& name) {
  if (fd < 0 || name.size() >= IFNAMSIZ) return -1;
  ifreq request;
  std::memset(&request, 0, sizeof request);
  std::memcpy(request.ifr_name, name.c_str(), name.size());
  if (ioctl(fd, SIOCGIFMTU, &request) != 0) return -1;
  return request.ifr_mtu;
}

}  // namespace

int ListInterfaces(std::vector<InterfaceInfo>* out) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return errno;
  std::map<std::string, size_t> byName;
  for (ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_name == nullptr) continue;
    std::string name(entry->ifa_name);
    auto found = byName.find(name);
    if (found == byName.end()) {
      InterfaceInfo info;
      info.name = name;
      info.index = if_nametoindex(entry->ifa_name);
      info.flags = entry->ifa_flags;
      info.mtu_bytes = -1;
      found = byName.emplace(name, out->size()).first;
      out->push_back(info);
    }
    InterfaceInfo& info = (*out)[found->second];
    info.flags |= entry->ifa_flags;
    if (entry->ifa_addr == nullptr) continue;
    int family = entry->ifa_addr->sa_family;
    char text[INET6_ADDRSTRLEN] = {0};
    if (family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(entry->ifa_addr)->sin_addr, text, sizeof text);
    } else if (family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(entry->ifa_addr)->sin6_addr, text, sizeof text);
    } else {
      continue;
    }
    info.addresses.push_back({family == AF_INET ? 4 : 6, text, PrefixLength(entry->ifa_netmask)});
  }
  freeifaddrs(list);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  for (InterfaceInfo& info : *out) info.mtu_bytes = MtuOf(fd, info.name);
  if (fd >= 0) close(fd);
  return 0;
}

namespace {

constexpr int kMmsgCount = 4;
constexpr int kMmsgBytes = 8;
constexpr int kMmsgWaitMs = 500;

int BoundLoopbackSocket(sockaddr_in* address) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  std::memset(address, 0, sizeof *address);
  address->sin_family = AF_INET;
  address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof *address;
  if (bind(fd, reinterpret_cast<sockaddr*>(address), sizeof *address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(address), &length) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

}  // namespace

MmsgCheck CheckMmsg() {
  MmsgCheck result;
  sockaddr_in sourceAddress;
  sockaddr_in targetAddress;
  int source = BoundLoopbackSocket(&sourceAddress);
  if (source < 0) {
    result.send_errno = result.recv_errno = errno;
    return result;
  }
  int target = BoundLoopbackSocket(&targetAddress);
  if (target < 0) {
    result.send_errno = result.recv_errno = errno;
    close(source);
    return result;
  }

  uint8_t payloads[kMmsgCount][kMmsgBytes];
  iovec vectors[kMmsgCount];
  mmsghdr messages[kMmsgCount];
  std::memset(messages, 0, sizeof messages);
  for (int i = 0; i < kMmsgCount; i++) {
    std::memset(payloads[i], 0x58 + i, kMmsgBytes);
    vectors[i] = {payloads[i], kMmsgBytes};
    messages[i].msg_hdr.msg_name = &targetAddress;
    messages[i].msg_hdr.msg_namelen = sizeof targetAddress;
    messages[i].msg_hdr.msg_iov = &vectors[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }
  int sent = sendmmsg(source, messages, kMmsgCount, 0);
  if (sent < 0) {
    result.send_errno = errno;
  } else {
    result.sent_count = sent;
  }

  uint8_t received[kMmsgCount][kMmsgBytes + 1];
  iovec receiveVectors[kMmsgCount];
  mmsghdr receiveMessages[kMmsgCount];
  // Loopback delivery is asynchronous (softirq), so wait with poll, bounded, for the rest.
  while (result.sent_count > 0 && result.received_count < result.sent_count) {
    pollfd ready = {target, POLLIN, 0};
    int polled = poll(&ready, 1, kMmsgWaitMs);
    if (polled <= 0) {
      if (polled < 0) result.recv_errno = errno;
      break;
    }
    std::memset(receiveMessages, 0, sizeof receiveMessages);
    for (int i = 0; i < kMmsgCount; i++) {
      receiveVectors[i] = {received[i], sizeof received[i]};
      receiveMessages[i].msg_hdr.msg_iov = &receiveVectors[i];
      receiveMessages[i].msg_hdr.msg_iovlen = 1;
    }
    int count = recvmmsg(target, receiveMessages, kMmsgCount - result.received_count, MSG_DONTWAIT, nullptr);
    if (count < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      result.recv_errno = errno;
      break;
    }
    for (int i = 0; i < count; i++) {
      if (receiveMessages[i].msg_len != kMmsgBytes) result.recv_errno = EMSGSIZE;
    }
    result.received_count += count;
  }
  result.wait_ms = kMmsgWaitMs;
  close(source);
  close(target);
  return result;
}

}  // namespace x2
