// x2native: the few things Node lacks, each with a JS twin in core/ (see native/index.ts).
#include <napi.h>

#include <fcntl.h>

#include <cstring>

#include "crc32c.h"
#include "mmsg.h"
#include "net.h"
#include "verbs.h"

namespace {

// crc32c(bytes: Uint8Array, crc: number, start: number, end: number): number
Napi::Value Crc32c(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsTypedArray()) {
    Napi::TypeError::New(env, "crc32c(bytes, crc, start, end)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  uint32_t crc = info[1].As<Napi::Number>().Uint32Value();
  int64_t start = info[2].As<Napi::Number>().Int64Value();
  int64_t end = info[3].As<Napi::Number>().Int64Value();
  if (start < 0 || end < start || static_cast<size_t>(end) > bytes.ByteLength()) {
    Napi::RangeError::New(env, "crc32c: range outside the buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t result = x2::Crc32c(crc, bytes.Data() + start, static_cast<size_t>(end - start));
  return Napi::Number::New(env, result);
}

// crc32cCopy(source: Uint8Array, start: number, end: number, target: Uint8Array, at: number, crc: number): number
Napi::Value Crc32cCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsTypedArray() || !info[3].IsTypedArray()) {
    Napi::TypeError::New(env, "crc32cCopy(source, start, end, target, at, crc)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array source = info[0].As<Napi::Uint8Array>();
  int64_t start = info[1].As<Napi::Number>().Int64Value();
  int64_t end = info[2].As<Napi::Number>().Int64Value();
  Napi::Uint8Array target = info[3].As<Napi::Uint8Array>();
  int64_t at = info[4].As<Napi::Number>().Int64Value();
  uint32_t crc = info[5].As<Napi::Number>().Uint32Value();
  if (start < 0 || end < start || static_cast<size_t>(end) > source.ByteLength() || at < 0
      || static_cast<size_t>(at + (end - start)) > target.ByteLength()) {
    Napi::RangeError::New(env, "crc32cCopy: range outside a buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t result = x2::Crc32cCopy(crc, source.Data() + start, target.Data() + at, static_cast<size_t>(end - start));
  return Napi::Number::New(env, result);
}

Napi::Value Crc32cIsHardware(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), x2::Crc32cIsHardware());
}

Napi::Value ErrnoName(Napi::Env env, int error) {
  if (error == 0) return env.Null();
  const char* name = strerrorname_np(error);
  return Napi::String::New(env, name != nullptr ? name : std::to_string(error));
}

// interfaces(): [{ name, index, flags, mtuBytes, addresses: [{ family, address, prefixLength }] }]
Napi::Value Interfaces(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<x2::InterfaceInfo> list;
  int error = x2::ListInterfaces(&list);
  if (error != 0) {
    Napi::Error::New(env, std::string("getifaddrs: ") + std::strerror(error)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array result = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); i++) {
    const x2::InterfaceInfo& entry = list[i];
    Napi::Object item = Napi::Object::New(env);
    item.Set("name", entry.name);
    item.Set("index", Napi::Number::New(env, entry.index));
    item.Set("flags", Napi::Number::New(env, entry.flags));
    item.Set("mtuBytes", entry.mtu_bytes < 0 ? env.Null() : Napi::Number::New(env, entry.mtu_bytes));
    Napi::Array addresses = Napi::Array::New(env, entry.addresses.size());
    for (size_t j = 0; j < entry.addresses.size(); j++) {
      const x2::InterfaceAddress& address = entry.addresses[j];
      Napi::Object one = Napi::Object::New(env);
      one.Set("family", Napi::Number::New(env, address.family));
      one.Set("address", address.address);
      one.Set("prefixLength",
              address.prefix_length < 0 ? env.Null() : Napi::Number::New(env, address.prefix_length));
      addresses.Set(j, one);
    }
    item.Set("addresses", addresses);
    result.Set(i, item);
  }
  return result;
}

// mmsgCheck(): { sentCount, receivedCount, sendError, recvError, waitMs }
Napi::Value MmsgCheck(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  x2::MmsgCheck check = x2::CheckMmsg();
  Napi::Object result = Napi::Object::New(env);
  result.Set("sentCount", Napi::Number::New(env, check.sent_count));
  result.Set("receivedCount", Napi::Number::New(env, check.received_count));
  result.Set("sendError", ErrnoName(env, check.send_errno));
  result.Set("recvError", ErrnoName(env, check.recv_errno));
  result.Set("waitMs", Napi::Number::New(env, check.wait_ms));
  return result;
}

// verbsLoad(): { loaded, path, error, deviceCount }
Napi::Value VerbsLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  x2::VerbsLoad load = x2::LoadVerbs();
  Napi::Object result = Napi::Object::New(env);
  result.Set("loaded", Napi::Boolean::New(env, load.loaded));
  result.Set("path", load.path.empty() ? env.Null() : Napi::String::New(env, load.path));
  result.Set("error", load.error.empty() ? env.Null() : Napi::String::New(env, load.error));
  result.Set("deviceCount", load.device_count < 0 ? env.Null() : Napi::Number::New(env, load.device_count));
  return result;
}

// dropPageCache(fd, offset, length): Promise<null | errno name>. posix_fadvise(DONTNEED) in the
// libuv pool: dropping clean pages costs ~60 us per MB, too much for the event loop of a commit.
class DropPageCacheWorker : public Napi::AsyncWorker {
 public:
  DropPageCacheWorker(Napi::Env env, int fd, int64_t offset, int64_t length)
      : Napi::AsyncWorker(env, "x2DropPageCache"), deferred_(Napi::Promise::Deferred::New(env)), fd_(fd),
        offset_(offset), length_(length) {}
  void Execute() override { error_ = posix_fadvise(fd_, offset_, length_, POSIX_FADV_DONTNEED); }
  void OnOK() override { deferred_.Resolve(ErrnoName(Env(), error_)); }
  Napi::Promise Promise() { return deferred_.Promise(); }

 private:
  Napi::Promise::Deferred deferred_;
  int fd_;
  int64_t offset_;
  int64_t length_;
  int error_ = 0;
};

Napi::Value DropPageCache(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "dropPageCache(fd, offset, length)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  int64_t offset = info[1].As<Napi::Number>().Int64Value();
  int64_t length = info[2].As<Napi::Number>().Int64Value();
  if (fd < 0 || offset < 0 || length <= 0) {
    Napi::RangeError::New(env, "dropPageCache: fd >= 0, offset >= 0 and length > 0").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* worker = new DropPageCacheWorker(env, fd, offset, length);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("crc32c", Napi::Function::New(env, Crc32c));
  exports.Set("crc32cCopy", Napi::Function::New(env, Crc32cCopy));
  exports.Set("crc32cIsHardware", Napi::Function::New(env, Crc32cIsHardware));
  exports.Set("interfaces", Napi::Function::New(env, Interfaces));
  exports.Set("mmsgCheck", Napi::Function::New(env, MmsgCheck));
  exports.Set("verbsLoad", Napi::Function::New(env, VerbsLoad));
  exports.Set("dropPageCache", Napi::Function::New(env, DropPageCache));
  x2::InitMmsg(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(x2native, Init)
