// x2native: the few things Node lacks, each with a JS twin in core/ (see native/index.ts).
#include <napi.h>

#include "crc32c.h"

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

Napi::Value Crc32cIsHardware(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), x2::Crc32cIsHardware());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("crc32c", Napi::Function::New(env, Crc32c));
  exports.Set("crc32cIsHardware", Napi::Function::New(env, Crc32cIsHardware));
  return exports;
}

}  // namespace

NODE_API_MODULE(x2native, Init)
