// dlopen("libibverbs.so.1"): the library RDMA needs. Loading it (rather than linking) keeps
// x2 runnable on hosts without it; the probe reports whether it loads, from where, and how
// many devices it sees. The library stays loaded: unloading verbs providers is not safe.
// JS twin: core/probe/rdma.ts looks for the file in the usual library folders.
#include "verbs.h"

#include <dlfcn.h>

namespace x2 {

namespace {
constexpr const char* kVerbsLibrary = "libibverbs.so.1";
using GetDeviceList = void** (*)(int*);
using FreeDeviceList = void (*)(void**);
}  // namespace

VerbsLoad LoadVerbs() {
  VerbsLoad result;
  void* handle = dlopen(kVerbsLibrary, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = dlerror();
    result.error = error != nullptr ? error : "dlopen failed";
    return result;
  }
  result.loaded = true;
  void* getList = dlsym(handle, "ibv_get_device_list");
  void* freeList = dlsym(handle, "ibv_free_device_list");
  Dl_info info;
  if (getList != nullptr && dladdr(getList, &info) != 0 && info.dli_fname != nullptr) {
    result.path = info.dli_fname;
  }
  if (getList != nullptr && freeList != nullptr) {
    int count = 0;
    void** devices = reinterpret_cast<GetDeviceList>(getList)(&count);
    if (devices != nullptr) {
      result.device_count = count;
      reinterpret_cast<FreeDeviceList>(freeList)(devices);
    } else {
      result.device_count = 0;
    }
  }
  return result;
}

}  // namespace x2
