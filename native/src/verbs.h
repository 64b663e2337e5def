// Whether libibverbs (RDMA user-space verbs) can be loaded here (see verbs.cc).
#pragma once
#include <string>

namespace x2 {

struct VerbsLoad {
  bool loaded = false;
  std::string path;   // the file the dynamic loader chose, when loaded
  std::string error;  // dlerror() text, when not loaded
  int device_count = -1;  // from ibv_get_device_list, -1 when not called
};

VerbsLoad LoadVerbs();

}  // namespace x2
