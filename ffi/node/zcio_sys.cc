// The Node.js side of zcio's Sys surface (ffi/sys.ts): thin N-API wrappers over libc.
//
// Conventions, the same as the Bun and Deno adapters:
// - every call returns a non-negative result or -errno; nothing throws for a kernel error
//   (a wrong argument *type* is a programming error and throws a TypeError);
// - a Uint8Array argument is read or written only during the call, and its byteLength is the
//   length given to the kernel;
// - addresses (Ptr, mmap results, memory(), addressOf()) are plain JS numbers (< 2^53).
// The per-call path allocates nothing: arguments come from napi_get_cb_info into a stack array.
#include <napi.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

using Napi::CallbackInfo;
using Napi::Value;

inline Value Result(napi_env env, long r) {
  return Napi::Number::New(env, static_cast<double>(r < 0 ? -errno : r));
}

inline int32_t I32(const CallbackInfo& info, size_t i) {
  return info[i].As<Napi::Number>().Int32Value();
}

inline uint32_t U32(const CallbackInfo& info, size_t i) {
  return info[i].As<Napi::Number>().Uint32Value();
}

inline double F64(const CallbackInfo& info, size_t i) {
  return info[i].As<Napi::Number>().DoubleValue();
}

inline void* Address(const CallbackInfo& info, size_t i) {
  return reinterpret_cast<void*>(static_cast<uintptr_t>(F64(info, i)));
}

// The bytes of a typed array view: data already includes the view's byteOffset
// (napi_get_typedarray_info says so; tests/ffi/node_sys_test.mjs checks it with subarray()).
struct Bytes {
  uint8_t* data = nullptr;
  size_t length = 0;
  bool ok = false;
};

inline size_t ElementSize(napi_typedarray_type type) {
  switch (type) {
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array:
      return 8;
    default:
      return 1;
  }
}

inline Bytes View(const CallbackInfo& info, size_t i) {
  Bytes b;
  napi_typedarray_type type;
  size_t length;
  void* data;
  if (napi_get_typedarray_info(info.Env(), info[i], &type, &length, &data, nullptr, nullptr) !=
      napi_ok) {
    Napi::TypeError::New(info.Env(), "zcio_sys: expected a Uint8Array").ThrowAsJavaScriptException();
    return b;
  }
  b.data = static_cast<uint8_t*>(data);
  b.length = length * ElementSize(type);
  b.ok = true;
  return b;
}

// Like View(), but null and undefined give a null pointer.
inline Bytes ViewOrNull(const CallbackInfo& info, size_t i) {
  if (info[i].IsNull() || info[i].IsUndefined()) {
    Bytes b;
    b.ok = true;
    return b;
  }
  return View(info, i);
}

#define BYTES(name, i)       \
  Bytes name = View(info, i); \
  if (!name.ok) return info.Env().Undefined()

Value Socket(const CallbackInfo& info) {
  return Result(info.Env(), socket(I32(info, 0), I32(info, 1), I32(info, 2)));
}

Value Shutdown(const CallbackInfo& info) {
  return Result(info.Env(), shutdown(I32(info, 0), I32(info, 1)));
}

Value Setsockopt(const CallbackInfo& info) {
  BYTES(value, 3);
  return Result(info.Env(), setsockopt(I32(info, 0), I32(info, 1), I32(info, 2), value.data,
                                       static_cast<socklen_t>(value.length)));
}

Value Getsockopt(const CallbackInfo& info) {
  BYTES(value, 3);
  socklen_t len = static_cast<socklen_t>(value.length);
  int r = getsockopt(I32(info, 0), I32(info, 1), I32(info, 2), value.data, &len);
  return Result(info.Env(), r < 0 ? r : static_cast<long>(len));
}

Value Bind(const CallbackInfo& info) {
  BYTES(addr, 1);
  return Result(info.Env(), bind(I32(info, 0), reinterpret_cast<sockaddr*>(addr.data),
                                 static_cast<socklen_t>(addr.length)));
}

Value Connect(const CallbackInfo& info) {
  BYTES(addr, 1);
  return Result(info.Env(), connect(I32(info, 0), reinterpret_cast<sockaddr*>(addr.data),
                                    static_cast<socklen_t>(addr.length)));
}

Value Listen(const CallbackInfo& info) {
  return Result(info.Env(), listen(I32(info, 0), I32(info, 1)));
}

Value Accept4(const CallbackInfo& info) {
  return Result(info.Env(), accept4(I32(info, 0), nullptr, nullptr, I32(info, 1)));
}

template <int (*Fn)(int, sockaddr*, socklen_t*)>
Value SockName(const CallbackInfo& info) {
  BYTES(addr, 1);
  socklen_t len = static_cast<socklen_t>(addr.length);
  int r = Fn(I32(info, 0), reinterpret_cast<sockaddr*>(addr.data), &len);
  return Result(info.Env(), r < 0 ? r : static_cast<long>(len));
}

Value Send(const CallbackInfo& info) {
  BYTES(buf, 1);
  return Result(info.Env(), send(I32(info, 0), buf.data, buf.length, I32(info, 2)));
}

Value Recv(const CallbackInfo& info) {
  BYTES(buf, 1);
  return Result(info.Env(), recv(I32(info, 0), buf.data, buf.length, I32(info, 2)));
}

Value Sendmsg(const CallbackInfo& info) {
  return Result(info.Env(),
                sendmsg(I32(info, 0), static_cast<const msghdr*>(Address(info, 1)), I32(info, 2)));
}

Value Sendmmsg(const CallbackInfo& info) {
  return Result(info.Env(), sendmmsg(I32(info, 0), static_cast<mmsghdr*>(Address(info, 1)),
                                     U32(info, 2), I32(info, 3)));
}

Value Recvmsg(const CallbackInfo& info) {
  return Result(info.Env(),
                recvmsg(I32(info, 0), static_cast<msghdr*>(Address(info, 1)), I32(info, 2)));
}

Value Poll(const CallbackInfo& info) {
  BYTES(fds, 0);
  uint32_t nfds = U32(info, 1);
  if (static_cast<uint64_t>(nfds) * sizeof(pollfd) > fds.length) {
    errno = EINVAL;
    return Result(info.Env(), -1);
  }
  return Result(info.Env(), poll(reinterpret_cast<pollfd*>(fds.data), nfds, I32(info, 2)));
}

Value EpollCreate(const CallbackInfo& info) {
  return Result(info.Env(), epoll_create1(I32(info, 0)));
}

Value EpollCtl(const CallbackInfo& info) {
  epoll_event ev;  // packed on x86_64: u32 events, then the u64 data
  ev.events = U32(info, 3);
  ev.data.u64 = U32(info, 4);
  return Result(info.Env(), epoll_ctl(I32(info, 0), I32(info, 1), I32(info, 2), &ev));
}

Value EpollWait(const CallbackInfo& info) {
  BYTES(events, 1);
  int max = I32(info, 2);
  if (max > 0 && static_cast<uint64_t>(max) * sizeof(epoll_event) > events.length) {
    errno = EINVAL;
    return Result(info.Env(), -1);
  }
  return Result(info.Env(),
                epoll_wait(I32(info, 0), reinterpret_cast<epoll_event*>(events.data), max, I32(info, 3)));
}

Value Eventfd(const CallbackInfo& info) {
  return Result(info.Env(), eventfd(U32(info, 0), I32(info, 1)));
}

Value Read(const CallbackInfo& info) {
  BYTES(buf, 1);
  return Result(info.Env(), read(I32(info, 0), buf.data, buf.length));
}

Value Write(const CallbackInfo& info) {
  BYTES(buf, 1);
  return Result(info.Env(), write(I32(info, 0), buf.data, buf.length));
}

// The path must end with a NUL byte inside the view: the kernel reads up to it.
Value Open(const CallbackInfo& info) {
  BYTES(path, 0);
  if (path.length == 0 || path.data[path.length - 1] != 0) {
    Napi::TypeError::New(info.Env(), "open: the path must end with a NUL byte").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return Result(info.Env(), open(reinterpret_cast<const char*>(path.data), I32(info, 1)));
}

Value Fstat(const CallbackInfo& info) {
  BYTES(stat_buf, 1);
  if (stat_buf.length < sizeof(struct stat)) {
    Napi::TypeError::New(info.Env(), "fstat: the buffer is smaller than struct stat").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return Result(info.Env(), fstat(I32(info, 0), reinterpret_cast<struct stat*>(stat_buf.data)));
}

// The offset is an 8-byte off_t in the view, which the kernel advances by the bytes it sent.
Value Sendfile(const CallbackInfo& info) {
  BYTES(offset, 2);
  if (offset.length < sizeof(off_t)) {
    Napi::TypeError::New(info.Env(), "sendfile: the offset buffer is smaller than off_t").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  return Result(info.Env(), sendfile(I32(info, 0), I32(info, 1), reinterpret_cast<off_t*>(offset.data),
                                     static_cast<size_t>(F64(info, 3))));
}

Value Prlimit(const CallbackInfo& info) {
  Bytes newLimit = ViewOrNull(info, 2);
  if (!newLimit.ok) return info.Env().Undefined();
  Bytes oldLimit = ViewOrNull(info, 3);
  if (!oldLimit.ok) return info.Env().Undefined();
  if ((newLimit.data != nullptr && newLimit.length < sizeof(rlimit)) ||
      (oldLimit.data != nullptr && oldLimit.length < sizeof(rlimit))) {
    errno = EINVAL;
    return Result(info.Env(), -1);
  }
  return Result(info.Env(), prlimit(I32(info, 0), static_cast<__rlimit_resource>(I32(info, 1)),
                                    reinterpret_cast<const rlimit*>(newLimit.data),
                                    reinterpret_cast<rlimit*>(oldLimit.data)));
}

Value Mmap(const CallbackInfo& info) {
  void* p = mmap(nullptr, static_cast<size_t>(F64(info, 0)), I32(info, 1), I32(info, 2),
                 I32(info, 3), static_cast<off_t>(info[4].As<Napi::Number>().Int64Value()));
  if (p == MAP_FAILED) return Result(info.Env(), -1);
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(p)));
}

Value Munmap(const CallbackInfo& info) {
  return Result(info.Env(), munmap(Address(info, 0), static_cast<size_t>(F64(info, 1))));
}

// syscall6 takes 7 arguments, more than CallbackInfo keeps on the stack: read them directly.
napi_value Syscall6(napi_env env, napi_callback_info cbinfo) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, cbinfo, &argc, argv, nullptr, nullptr);
  long a[7] = {0, 0, 0, 0, 0, 0, 0};
  for (size_t i = 0; i < argc && i < 7; i++) {
    int64_t v;
    if (napi_get_value_int64(env, argv[i], &v) != napi_ok) {
      napi_throw_type_error(env, nullptr, "zcio_sys.syscall6: expected numbers");
      return nullptr;
    }
    a[i] = static_cast<long>(v);
  }
  long r = syscall(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
  napi_value out;
  napi_create_double(env, static_cast<double>(r == -1 ? -errno : r), &out);
  return out;
}

// An ArrayBuffer over memory zcio owns (mmap'd); no finalizer: munmap is the caller's job.
Value Memory(const CallbackInfo& info) {
  return Napi::ArrayBuffer::New(info.Env(), Address(info, 0), static_cast<size_t>(F64(info, 1)));
}

// Detaches an ArrayBuffer (false if it cannot be): after this no JavaScript view of it reaches its
// memory. Node 20's structuredClone leaves an external ArrayBuffer (memory() above) attached.
Value Detach(const CallbackInfo& info) {
  bool ok = info.Length() > 0 && info[0].IsArrayBuffer() &&
            napi_detach_arraybuffer(info.Env(), info[0]) == napi_ok;
  return Napi::Boolean::New(info.Env(), ok);
}

Value AddressOf(const CallbackInfo& info) {
  BYTES(view, 0);
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(view.data)));
}

// waitReadable: one uv_poll_t on the main loop per env, started per call and stopped when it
// fires, so an idle process can exit. The handle is bound to one fd; another fd gets a new one.
struct Waiter {
  napi_env env = nullptr;
  uv_loop_t* loop = nullptr;
  uv_poll_t* handle = nullptr;  // heap: freed in its close callback
  int fd = -1;                  // the fd `handle` was made for
  napi_deferred deferred = nullptr;
  napi_async_context context = nullptr;
};

void FreeHandle(uv_handle_t* h) {
  delete reinterpret_cast<uv_poll_t*>(h);
}

void DropHandle(Waiter* w) {
  if (w->handle == nullptr) return;
  uv_close(reinterpret_cast<uv_handle_t*>(w->handle), FreeHandle);  // also stops it
  w->handle = nullptr;
  w->fd = -1;
}

void Settle(Waiter* w) {
  napi_deferred d = w->deferred;
  w->deferred = nullptr;
  napi_value undefined;
  napi_get_undefined(w->env, &undefined);
  napi_resolve_deferred(w->env, d, undefined);
}

void OnPoll(uv_poll_t* handle, int /*status*/, int /*events*/) {
  // Readable, or an error on the fd: either way the wait is over.
  Waiter* w = static_cast<Waiter*>(handle->data);
  uv_poll_stop(handle);
  if (w->deferred == nullptr) return;
  // Resolve inside a callback scope so that promise reactions and nextTicks run right after.
  napi_handle_scope hs;
  napi_open_handle_scope(w->env, &hs);
  napi_value resource;
  napi_create_object(w->env, &resource);
  napi_callback_scope cs;
  napi_open_callback_scope(w->env, resource, w->context, &cs);
  Settle(w);
  napi_close_callback_scope(w->env, cs);
  napi_close_handle_scope(w->env, hs);
}

Value WaitReadable(const CallbackInfo& info) {
  napi_env env = info.Env();
  Waiter* w = info.Env().GetInstanceData<Waiter>();
  int fd = I32(info, 0);
  napi_deferred deferred;
  napi_value promise;
  napi_create_promise(env, &deferred, &promise);
  if (w->deferred != nullptr) {
    napi_reject_deferred(
        env, deferred,
        Napi::Error::New(env, "zcio_sys.waitReadable: a wait is already outstanding").Value());
    return Value(env, promise);
  }
  if (w->handle != nullptr && w->fd != fd) DropHandle(w);
  int r = 0;
  if (w->handle == nullptr) {
    w->handle = new uv_poll_t;
    r = uv_poll_init(w->loop, w->handle, fd);
    if (r != 0) {
      delete w->handle;
      w->handle = nullptr;
    } else {
      w->handle->data = w;
      w->fd = fd;
    }
  }
  if (r == 0) r = uv_poll_start(w->handle, UV_READABLE, OnPoll);
  w->deferred = deferred;
  // The fd cannot be polled (closed, or not pollable): like poll() with POLLNVAL, resolve now.
  if (r != 0) Settle(w);
  return Value(env, promise);
}

// close(fd) must not leave libuv polling a closed fd (libuv forbids it, and the number may be
// reused): a wait on it ends first, as if the fd had reported an error.
Value Close(const CallbackInfo& info) {
  int fd = I32(info, 0);
  Waiter* w = info.Env().GetInstanceData<Waiter>();
  if (w->handle != nullptr && w->fd == fd) {
    DropHandle(w);
    if (w->deferred != nullptr) Settle(w);
  }
  return Result(info.Env(), close(fd));
}

void FreeWaiter(Napi::Env /*env*/, Waiter* w) {
  // The env is going away: close the handle; its close callback frees it if the loop runs again.
  DropHandle(w);
  delete w;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Waiter* w = new Waiter;
  w->env = env;
  if (napi_get_uv_event_loop(env, &w->loop) != napi_ok) {
    delete w;
    Napi::Error::New(env, "zcio_sys: no libuv loop").ThrowAsJavaScriptException();
    return exports;
  }
  napi_value name;
  napi_create_string_utf8(env, "zcio.waitReadable", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, Napi::Object::New(env), name, &w->context);
  env.SetInstanceData<Waiter, FreeWaiter>(w);

#define FN(key, cb) exports.Set(key, Napi::Function::New<cb>(env, key))
  FN("socket", Socket);
  FN("close", Close);
  FN("shutdown", Shutdown);
  FN("setsockopt", Setsockopt);
  FN("getsockopt", Getsockopt);
  FN("bind", Bind);
  FN("connect", Connect);
  FN("listen", Listen);
  FN("accept4", Accept4);
  FN("getsockname", SockName<getsockname>);
  FN("getpeername", SockName<getpeername>);
  FN("send", Send);
  FN("recv", Recv);
  FN("sendmsg", Sendmsg);
  FN("sendmmsg", Sendmmsg);
  FN("recvmsg", Recvmsg);
  FN("poll", Poll);
  FN("epollCreate", EpollCreate);
  FN("epollCtl", EpollCtl);
  FN("epollWait", EpollWait);
  FN("eventfd", Eventfd);
  FN("read", Read);
  FN("write", Write);
  FN("open", Open);
  FN("fstat", Fstat);
  FN("sendfile", Sendfile);
  FN("prlimit", Prlimit);
  FN("mmap", Mmap);
  FN("munmap", Munmap);
  FN("memory", Memory);
  FN("addressOf", AddressOf);
  FN("detach", Detach);
  FN("waitReadable", WaitReadable);
#undef FN
  napi_value syscall6;
  napi_create_function(env, "syscall6", NAPI_AUTO_LENGTH, Syscall6, nullptr, &syscall6);
  exports.Set("syscall6", syscall6);
  return exports;
}

}  // namespace

NODE_API_MODULE(zcio_sys, Init)
