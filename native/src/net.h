// Network facts for `x2 probe` that Node does not expose (see net.cc).
#pragma once
#include <string>
#include <vector>

namespace x2 {

struct InterfaceAddress {
  int family;  // 4 or 6
  std::string address;
  int prefix_length;  // -1 when the kernel gave no netmask
};

struct InterfaceInfo {
  std::string name;
  unsigned index;
  unsigned flags;  // IFF_* from getifaddrs, as in <net/if.h>
  int mtu_bytes;   // -1 when SIOCGIFMTU failed
  std::vector<InterfaceAddress> addresses;
};

// Fills `out` with one entry per interface; returns 0 or the errno of getifaddrs.
int ListInterfaces(std::vector<InterfaceInfo>* out);

struct MmsgCheck {
  int sent_count = 0;      // datagrams sendmmsg reported sent
  int received_count = 0;  // datagrams recvmmsg returned
  int send_errno = 0;
  int recv_errno = 0;
  int wait_ms = 0;         // the bound on waiting for the datagrams
};

// Sends a few datagrams with one sendmmsg between two loopback sockets and reads them back
// with recvmmsg. Blocks at most a few hundred milliseconds.
MmsgCheck CheckMmsg();

}  // namespace x2
