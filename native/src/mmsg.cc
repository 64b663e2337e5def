// Batched UDP multicast for the river: the native twin of core/river/multicast.ts (dgram).
//
// MmsgSender sends many datagrams with one sendmmsg call: JS hands over one buffer with the
// datagrams' offsets and lengths (the sequencer's batch of frames and fragments for one turn of
// the event loop), so no JS object is made per datagram. MmsgReceiver reads with recvmmsg into a
// fixed ring of `batchMax` slots of `datagramBytesMax` bytes, one Buffer made at open and reused
// for every read, and hands JS that Buffer: datagram i sits at slot i, valid only during the
// callback (JS copies what it keeps: no allocation and no copy per wake-up here, the receiver's
// reassembly is the one copy). Readiness comes from a libuv poll handle on the socket, on the
// main thread: no reader thread, no queue between threads, no locks; a JS callback can close the
// receiver and nothing runs after that.
//
// Socket options match the JS path: sender bound to the interface address, IP_MULTICAST_IF,
// TTL, IP_MULTICAST_LOOP, SO_SNDBUF; receiver SO_REUSEADDR, SO_RCVBUF(FORCE), bound to the group address,
// joined on the interface address. Errors carry the errno name as `code` and the call as `syscall`.
// Bounds: a send waits for socket space at most kSendWaitMsMax per call (the rest is dropped and
// counted, receivers NAK it); a receive never blocks; memory is the ring, fixed at open.
#include "mmsg.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace x2 {

namespace {

constexpr size_t kSendBatchMax = 1024;  // UIO_MAXIOV: the most sendmmsg takes in one call
constexpr int kSendWaitMsMax = 50;
constexpr size_t kReceiveBatchMax = 1024;
constexpr size_t kDatagramBytesMax = 65536;

std::string ErrnoName(int error) {
  const char* name = strerrorname_np(error);
  return name != nullptr ? name : std::to_string(error);
}

Napi::Error ErrnoError(Napi::Env env, const char* syscall, int error) {
  std::string code = ErrnoName(error);
  Napi::Error result = Napi::Error::New(env, std::string(syscall) + ": " + code + " (" + std::strerror(error) + ")");
  result.Set("code", Napi::String::New(env, code));
  result.Set("syscall", Napi::String::New(env, syscall));
  result.Set("errno", Napi::Number::New(env, error));
  return result;
}

bool SetInt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof value) == 0;
}

int GetInt(int fd, int level, int name) {
  int value = 0;
  socklen_t length = sizeof value;
  return getsockopt(fd, level, name, &value, &length) == 0 ? value : -1;
}

bool ParseAddress(Napi::Env env, const Napi::Value& value, const char* what, in_addr* out) {
  if (value.IsString() && inet_pton(AF_INET, value.As<Napi::String>().Utf8Value().c_str(), out) == 1) return true;
  Napi::TypeError::New(env, std::string(what) + " must be an IPv4 address").ThrowAsJavaScriptException();
  return false;
}

bool ParseUint(Napi::Env env, const Napi::Value& value, const char* what, uint32_t low, uint32_t high,
               uint32_t* out) {
  if (value.IsNumber()) {
    double number = value.As<Napi::Number>().DoubleValue();
    if (number >= low && number <= high && number == static_cast<uint32_t>(number)) {
      *out = static_cast<uint32_t>(number);
      return true;
    }
  }
  Napi::RangeError::New(env, std::string(what) + " must be an integer in [" + std::to_string(low) + ", " +
                                 std::to_string(high) + "]").ThrowAsJavaScriptException();
  return false;
}

// --- sender -------------------------------------------------------------------------------

// new MmsgSender(group, port, interfaceAddress, ttl, sendBufferBytes)
class MmsgSender : public Napi::ObjectWrap<MmsgSender> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "MmsgSender", {
      InstanceMethod<&MmsgSender::Send>("send"),
      InstanceMethod<&MmsgSender::TakeError>("takeError"),
      InstanceMethod<&MmsgSender::SendBufferBytes>("sendBufferBytes"),
      InstanceMethod<&MmsgSender::Close>("close"),
    });
  }

  explicit MmsgSender(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MmsgSender>(info) {
    Napi::Env env = info.Env();
    in_addr group;
    in_addr interface;
    uint32_t port = 0;
    uint32_t ttl = 0;
    uint32_t sendBufferBytes = 0;
    if (!ParseAddress(env, info[0], "group", &group) || !ParseUint(env, info[1], "port", 1, 65535, &port) ||
        !ParseAddress(env, info[2], "interfaceAddress", &interface) ||
        !ParseUint(env, info[3], "ttl", 0, 255, &ttl) ||
        !ParseUint(env, info[4], "sendBufferBytes", 0, 1u << 30, &sendBufferBytes)) {
      return;
    }
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) { Fail(env, "socket"); return; }
    if (sendBufferBytes > 0 && !SetInt(fd_, SOL_SOCKET, SO_SNDBUF, static_cast<int>(sendBufferBytes))) {
      { Fail(env, "setsockopt(SO_SNDBUF)"); return; }
    }
    sockaddr_in local;
    std::memset(&local, 0, sizeof local);
    local.sin_family = AF_INET;
    local.sin_addr = interface;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) { Fail(env, "bind"); return; }
    if (setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_IF, &interface, sizeof interface) != 0) {
      { Fail(env, "setsockopt(IP_MULTICAST_IF)"); return; }
    }
    if (!SetInt(fd_, IPPROTO_IP, IP_MULTICAST_TTL, static_cast<int>(ttl))) {
      { Fail(env, "setsockopt(IP_MULTICAST_TTL)"); return; }
    }
    if (!SetInt(fd_, IPPROTO_IP, IP_MULTICAST_LOOP, 1)) { Fail(env, "setsockopt(IP_MULTICAST_LOOP)"); return; }
    std::memset(&target_, 0, sizeof target_);
    target_.sin_family = AF_INET;
    target_.sin_addr = group;
    target_.sin_port = htons(static_cast<uint16_t>(port));
    messages_.resize(kSendBatchMax);
    vectors_.resize(kSendBatchMax);
  }

  ~MmsgSender() override {
    if (fd_ >= 0) close(fd_);
  }

 private:
  void Fail(Napi::Env env, const char* syscall) {
    int error = errno;
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    ErrnoError(env, syscall, error).ThrowAsJavaScriptException();
  }

  // send(bytes: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count): datagrams sent
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      Napi::Error::New(env, "MmsgSender is closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info.Length() < 4 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsTypedArray() ||
        info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
        info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
      Napi::TypeError::New(env, "send(bytes, offsets: Uint32Array, lengths: Uint32Array, count)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
    Napi::Uint32Array offsets = info[1].As<Napi::Uint32Array>();
    Napi::Uint32Array lengths = info[2].As<Napi::Uint32Array>();
    uint32_t count = 0;
    if (!ParseUint(env, info[3], "count", 0, static_cast<uint32_t>(std::min(offsets.ElementLength(),
                                                                            lengths.ElementLength())), &count)) {
      return env.Undefined();
    }
    for (uint32_t i = 0; i < count; i++) {
      if (static_cast<uint64_t>(offsets[i]) + lengths[i] > bytes.ByteLength() || lengths[i] > kDatagramBytesMax) {
        Napi::RangeError::New(env, "send: datagram " + std::to_string(i) + " outside the buffer or too large")
            .ThrowAsJavaScriptException();
        return env.Undefined();
      }
    }
    uint8_t* data = bytes.Data();
    uint32_t done = 0;
    uint32_t sent = 0;
    int waitedMs = 0;
    while (done < count) {
      size_t batch = std::min<size_t>(count - done, kSendBatchMax);
      for (size_t i = 0; i < batch; i++) {
        vectors_[i].iov_base = data + offsets[done + i];
        vectors_[i].iov_len = lengths[done + i];
        mmsghdr& message = messages_[i];
        std::memset(&message, 0, sizeof message);
        message.msg_hdr.msg_name = &target_;
        message.msg_hdr.msg_namelen = sizeof target_;
        message.msg_hdr.msg_iov = &vectors_[i];
        message.msg_hdr.msg_iovlen = 1;
      }
      int result = sendmmsg(fd_, messages_.data(), static_cast<unsigned>(batch), 0);
      if (result > 0) {
        done += static_cast<uint32_t>(result);
        sent += static_cast<uint32_t>(result);
        continue;
      }
      int error = result == 0 ? EAGAIN : errno;
      if (error == EINTR) continue;
      if ((error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS) && waitedMs < kSendWaitMsMax) {
        // The socket buffer is full: wait for room, bounded, so the sequencer slows down with it.
        pollfd writable = {fd_, POLLOUT, 0};
        poll(&writable, 1, 5);
        waitedMs += 5;
        continue;
      }
      // A hard error (or still no room) belongs to the first unsent datagram: drop it, keep going.
      lastError_ = error;
      done += 1;
    }
    return Napi::Number::New(env, sent);
  }

  // takeError(): errno name of the last failed datagram since the previous call, or null
  Napi::Value TakeError(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (lastError_ == 0) return env.Null();
    std::string name = ErrnoName(lastError_);
    lastError_ = 0;
    return Napi::String::New(env, name);
  }

  Napi::Value SendBufferBytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), fd_ < 0 ? -1 : GetInt(fd_, SOL_SOCKET, SO_SNDBUF));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    return info.Env().Undefined();
  }

  int fd_ = -1;
  int lastError_ = 0;
  sockaddr_in target_;
  std::vector<mmsghdr> messages_;
  std::vector<iovec> vectors_;
};

// --- receiver -----------------------------------------------------------------------------

class MmsgReceiver;

// Lives until libuv's close callback, which may come after the JS object is gone.
struct PollHandle {
  uv_poll_t poll;
  int fd;
  MmsgReceiver* owner;
};

// new MmsgReceiver(group, port, interfaceAddress, receiveBufferBytes, datagramBytesMax, lengths: Uint32Array,
//                  onBatch(bytes: Buffer, count, bodyOffset), onError(error))
// A batch is at most lengths.length datagrams: datagram i is at i * datagramBytesMax in `bytes` (the
// ring, the same Buffer every call, overwritten by the next read), its length in lengths[i]; 0 marks
// a slot to skip (a datagram larger than datagramBytesMax, truncated by the kernel). bodyOffset is -1.
//
// scatterInto(headers, headerBytes, bodies, bodyOffset) makes later reads split each datagram: its
// first headerBytes go to headers at i * headerBytes, the rest to bodies at bodyOffset + i * stride
// (stride = datagramBytesMax - headerBytes), so bodies of consecutive datagrams lie back to back:
// the fragments of a frame that arrive in order form its body where they landed, with no copy.
// onBatch then gets the bodyOffset of datagram 0, and the next batch goes on after the last slot
// read; a batch never runs past `bodies` (with no whole slot left it reads into the ring as above,
// bodyOffset -1). The caller calls scatterInto again, from onBatch, before the space runs out.
class MmsgReceiver : public Napi::ObjectWrap<MmsgReceiver> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "MmsgReceiver", {
      InstanceMethod<&MmsgReceiver::ReceiveBufferBytes>("receiveBufferBytes"),
      InstanceMethod<&MmsgReceiver::Stats>("stats"),
      InstanceMethod<&MmsgReceiver::Close>("close"),
      InstanceMethod<&MmsgReceiver::ScatterInto>("scatterInto"),
    });
  }

  explicit MmsgReceiver(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MmsgReceiver>(info) {
    Napi::Env env = info.Env();
    in_addr group;
    in_addr interface;
    uint32_t port = 0;
    uint32_t receiveBufferBytes = 0;
    if (!ParseAddress(env, info[0], "group", &group) || !ParseUint(env, info[1], "port", 1, 65535, &port) ||
        !ParseAddress(env, info[2], "interfaceAddress", &interface) ||
        !ParseUint(env, info[3], "receiveBufferBytes", 0, 1u << 30, &receiveBufferBytes) ||
        !ParseUint(env, info[4], "datagramBytesMax", 64, kDatagramBytesMax, &slotBytes_)) {
      return;
    }
    if (!info[5].IsTypedArray() || info[5].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array ||
        info[5].As<Napi::Uint32Array>().ElementLength() == 0 ||
        info[5].As<Napi::Uint32Array>().ElementLength() > kReceiveBatchMax || !info[6].IsFunction() ||
        !info[7].IsFunction()) {
      Napi::TypeError::New(env, "MmsgReceiver(group, port, interfaceAddress, receiveBufferBytes, datagramBytesMax, "
                                "lengths: Uint32Array of 1-1024, onBatch, onError)").ThrowAsJavaScriptException();
      return;
    }
    Napi::Uint32Array lengths = info[5].As<Napi::Uint32Array>();
    batchMax_ = lengths.ElementLength();
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) { Fail(env, "socket"); return; }
    if (!SetInt(fd_, SOL_SOCKET, SO_REUSEADDR, 1)) { Fail(env, "setsockopt(SO_REUSEADDR)"); return; }
    // SO_RCVBUFFORCE goes past net.core.rmem_max where the process may (CAP_NET_ADMIN): a receiver
    // descheduled for a few ms must not drop the river; elsewhere SO_RCVBUF, capped by rmem_max.
    if (receiveBufferBytes > 0 && !SetInt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, static_cast<int>(receiveBufferBytes)) &&
        !SetInt(fd_, SOL_SOCKET, SO_RCVBUF, static_cast<int>(receiveBufferBytes))) {
      { Fail(env, "setsockopt(SO_RCVBUF)"); return; }
    }
    // Bound to the group address: only this group's datagrams reach the socket.
    sockaddr_in local;
    std::memset(&local, 0, sizeof local);
    local.sin_family = AF_INET;
    local.sin_addr = group;
    local.sin_port = htons(static_cast<uint16_t>(port));
    if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) { Fail(env, "bind"); return; }
    ip_mreq membership;
    membership.imr_multiaddr = group;
    membership.imr_interface = interface;
    if (setsockopt(fd_, IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership, sizeof membership) != 0) {
      { Fail(env, "setsockopt(IP_ADD_MEMBERSHIP)"); return; }
    }
    Napi::Buffer<uint8_t> ring = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(batchMax_) * slotBytes_);
    ringData_ = ring.Data();
    ring_ = Napi::Persistent(ring);
    messages_.resize(batchMax_);
    vectors_.resize(2 * static_cast<size_t>(batchMax_));
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Napi::Error::New(env, "MmsgReceiver: no event loop").ThrowAsJavaScriptException();
      close(fd_);
      fd_ = -1;
      return;
    }
    handle_ = new PollHandle{};
    handle_->fd = fd_;
    handle_->owner = this;
    handle_->poll.data = handle_;
    int status = uv_poll_init_socket(loop, &handle_->poll, fd_);
    if (status == 0) status = uv_poll_start(&handle_->poll, UV_READABLE, OnPoll);
    if (status != 0) {
      Napi::Error error = Napi::Error::New(env, std::string("uv_poll: ") + uv_err_name(status));
      error.Set("code", Napi::String::New(env, uv_err_name(status)));
      error.ThrowAsJavaScriptException();
      CloseHandle();
      return;
    }
    lengths_ = Napi::Persistent(lengths);
    onBatch_ = Napi::Persistent(info[6].As<Napi::Function>());
    onError_ = Napi::Persistent(info[7].As<Napi::Function>());
    napi_value name = Napi::String::New(env, "x2.MmsgReceiver");
    if (napi_async_init(env, info.This(), name, &asyncContext_) != napi_ok) asyncContext_ = nullptr;
    // Open means reachable: the poll callback needs this object even when JS dropped it.
    Ref();
    open_ = true;
  }

  ~MmsgReceiver() override {
    // Only at teardown (an open receiver holds a reference to itself): stop polling, free later.
    if (handle_ != nullptr) CloseHandle();
  }

 private:
  void Fail(Napi::Env env, const char* syscall) {
    int error = errno;
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    ErrnoError(env, syscall, error).ThrowAsJavaScriptException();
  }

  // Stops polling; the fd is closed and the handle freed once libuv lets go of it.
  void CloseHandle() {
    PollHandle* handle = handle_;
    handle_ = nullptr;
    fd_ = -1;
    handle->owner = nullptr;
    uv_poll_stop(&handle->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&handle->poll), [](uv_handle_t* closed) {
      PollHandle* done = static_cast<PollHandle*>(closed->data);
      close(done->fd);
      delete done;
    });
  }

  static void OnPoll(uv_poll_t* poll, int status, int /* events */) {
    PollHandle* handle = static_cast<PollHandle*>(poll->data);
    if (handle->owner != nullptr) handle->owner->OnReadable(status);
  }

  void OnReadable(int status) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (status < 0) {
      Napi::Error error = Napi::Error::New(env, std::string("uv_poll: ") + uv_err_name(status));
      error.Set("code", Napi::String::New(env, uv_err_name(status)));
      error.Set("syscall", Napi::String::New(env, "poll"));
      CallJs(onError_, {error.Value()});
      return;
    }
    uint32_t stride = slotBytes_ - headerBytes_;
    uint32_t bodySlots = bodiesData_ == nullptr ? 0 : static_cast<uint32_t>((bodiesBytes_ - bodyOffset_) / stride);
    bool scattered = bodySlots > 0;
    uint32_t batch = scattered ? std::min(batchMax_, bodySlots) : batchMax_;
    for (uint32_t i = 0; i < batch; i++) {
      std::memset(&messages_[i], 0, sizeof messages_[i]);
      if (scattered) {
        vectors_[2 * i].iov_base = headersData_ + static_cast<size_t>(i) * headerBytes_;
        vectors_[2 * i].iov_len = headerBytes_;
        vectors_[2 * i + 1].iov_base = bodiesData_ + bodyOffset_ + static_cast<size_t>(i) * stride;
        vectors_[2 * i + 1].iov_len = stride;
        messages_[i].msg_hdr.msg_iov = &vectors_[2 * i];
        messages_[i].msg_hdr.msg_iovlen = 2;
      } else {
        vectors_[2 * i].iov_base = ringData_ + static_cast<size_t>(i) * slotBytes_;
        vectors_[2 * i].iov_len = slotBytes_;
        messages_[i].msg_hdr.msg_iov = &vectors_[2 * i];
        messages_[i].msg_hdr.msg_iovlen = 1;
      }
    }
    int count = recvmmsg(fd_, messages_.data(), batch, MSG_DONTWAIT, nullptr);
    wakeups_ += 1;
    if (count < 0) {
      int error = errno;
      if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR) return;
      errors_ += 1;
      CallJs(onError_, {ErrnoError(env, "recvmmsg", error).Value()});
      return;
    }
    if (count == 0) return;
    batches_ += 1;
    uint32_t* lengths = lengths_.Value().Data();
    uint32_t kept = 0;
    for (int i = 0; i < count; i++) {
      // Larger than datagramBytesMax: a frame we cannot read whole; dropped and counted, NAKed later.
      if ((messages_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) {
        truncated_ += 1;
        lengths[i] = 0;
      } else {
        lengths[i] = messages_[i].msg_len;
        kept += 1;
      }
    }
    datagrams_ += kept;
    double batchOffset = -1;
    if (scattered) {
      // Advanced before the callback, which may point the next batch elsewhere.
      batchOffset = static_cast<double>(bodyOffset_);
      bodyOffset_ += static_cast<size_t>(count) * stride;
    }
    if (kept == 0) return;
    CallJs(onBatch_, {ring_.Value(), Napi::Number::New(env, static_cast<uint32_t>(count)),
                      Napi::Number::New(env, batchOffset)});
  }

  // scatterInto(headers: Uint8Array, headerBytes, bodies: Uint8Array | null, bodyOffset): see the class comment.
  Napi::Value ScatterInto(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[3].IsNumber() ||
        !(info[2].IsTypedArray() || info[2].IsNull())) {
      Napi::TypeError::New(env, "scatterInto(headers, headerBytes, bodies | null, bodyOffset)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info[2].IsNull()) {
      bodies_.Reset();
      headers_.Reset();
      bodiesData_ = nullptr;
      return env.Undefined();
    }
    Napi::Uint8Array headers = info[0].As<Napi::Uint8Array>();
    Napi::Uint8Array bodies = info[2].As<Napi::Uint8Array>();
    int64_t headerBytes = info[1].As<Napi::Number>().Int64Value();
    int64_t bodyOffset = info[3].As<Napi::Number>().Int64Value();
    if (headerBytes < 1 || headerBytes >= static_cast<int64_t>(slotBytes_) ||
        headers.ByteLength() < static_cast<size_t>(headerBytes) * batchMax_ || bodyOffset < 0 ||
        static_cast<size_t>(bodyOffset) > bodies.ByteLength()) {
      Napi::RangeError::New(env, "scatterInto: headers must hold a batch of headerBytes (below datagramBytesMax) "
                                 "each, and bodyOffset lie inside bodies").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    headers_ = Napi::Persistent(headers);
    bodies_ = Napi::Persistent(bodies);
    headersData_ = headers.Data();
    headerBytes_ = static_cast<uint32_t>(headerBytes);
    bodiesData_ = bodies.Data();
    bodiesBytes_ = bodies.ByteLength();
    bodyOffset_ = static_cast<size_t>(bodyOffset);
    return env.Undefined();
  }

  void CallJs(const Napi::FunctionReference& function, std::initializer_list<napi_value> args) {
    if (!open_ || function.IsEmpty()) return;
    napi_env env = Env();
    napi_value result;
    napi_status status = napi_make_callback(env, asyncContext_, Value(), function.Value(), args.size(), args.begin(),
                                            &result);
    if (status == napi_pending_exception) {
      // A throwing callback is the process's uncaught exception, as with a dgram 'message' handler.
      napi_value exception;
      napi_get_and_clear_last_exception(env, &exception);
      napi_fatal_exception(env, exception);
    }
  }

  Napi::Value ReceiveBufferBytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), fd_ < 0 ? -1 : GetInt(fd_, SOL_SOCKET, SO_RCVBUF));
  }

  // stats(): { wakeups, batches, datagrams, truncated, errors }
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("wakeups", Napi::Number::New(env, static_cast<double>(wakeups_)));
    result.Set("batches", Napi::Number::New(env, static_cast<double>(batches_)));
    result.Set("datagrams", Napi::Number::New(env, static_cast<double>(datagrams_)));
    result.Set("truncated", Napi::Number::New(env, static_cast<double>(truncated_)));
    result.Set("errors", Napi::Number::New(env, static_cast<double>(errors_)));
    return result;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (!open_) return info.Env().Undefined();
    open_ = false;
    CloseHandle();
    onBatch_.Reset();
    onError_.Reset();
    lengths_.Reset();
    ring_.Reset();
    ringData_ = nullptr;
    headers_.Reset();
    bodies_.Reset();
    bodiesData_ = nullptr;
    if (asyncContext_ != nullptr) napi_async_destroy(info.Env(), asyncContext_);
    asyncContext_ = nullptr;
    Unref();
    return info.Env().Undefined();
  }

  int fd_ = -1;
  bool open_ = false;
  PollHandle* handle_ = nullptr;
  uint32_t slotBytes_ = 0;
  uint32_t batchMax_ = 0;
  // The ring is a JS Buffer (handed to onBatch); its memory does not move while referenced.
  Napi::Reference<Napi::Buffer<uint8_t>> ring_;
  uint8_t* ringData_ = nullptr;
  std::vector<mmsghdr> messages_;
  // Two per message: header and body when scattering, else only the first.
  std::vector<iovec> vectors_;
  // scatterInto's buffers (JS Buffers, referenced so that their memory stays).
  Napi::Reference<Napi::Uint8Array> headers_;
  Napi::Reference<Napi::Uint8Array> bodies_;
  uint8_t* headersData_ = nullptr;
  uint32_t headerBytes_ = 0;
  uint8_t* bodiesData_ = nullptr;
  size_t bodiesBytes_ = 0;
  size_t bodyOffset_ = 0;
  Napi::Reference<Napi::Uint32Array> lengths_;
  Napi::FunctionReference onBatch_;
  Napi::FunctionReference onError_;
  napi_async_context asyncContext_ = nullptr;
  uint64_t wakeups_ = 0;
  uint64_t batches_ = 0;
  uint64_t datagrams_ = 0;
  uint64_t truncated_ = 0;
  uint64_t errors_ = 0;
};

}  // namespace

void InitMmsg(Napi::Env env, Napi::Object exports) {
  exports.Set("MmsgSender", MmsgSender::Define(env));
  exports.Set("MmsgReceiver", MmsgReceiver::Define(env));
}

}  // namespace x2
