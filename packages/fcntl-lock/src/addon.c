/*
 * Whole-file POSIX record locks (fcntl F_SETLK), taken on the calling thread.
 *
 * tryLock(fd, exclusive) returns true when the lock is taken and false when another
 * process holds a conflicting one (EAGAIN or EACCES); unlock(fd) drops it. F_SETLK never
 * waits, so a synchronous call costs one syscall, where a trip through libuv's thread
 * pool costs tens of microseconds of the main thread's time. Waiting is the caller's:
 * it retries on a timer. Other failures throw an Error with `errno` and `syscall`; the
 * JavaScript wrapper adds `code`.
 *
 * These are the classic per-process locks LXC's tools also take on their lock files:
 * the kernel drops them when the process dies, and when it closes any descriptor of
 * the file.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static napi_value throw_errno(napi_env env, int error) {
  napi_value message, reason, value;
  napi_create_string_utf8(env, strerror(error), NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &reason);
  napi_create_int32(env, error, &value);
  napi_set_named_property(env, reason, "errno", value);
  napi_create_string_utf8(env, "fcntl", NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, reason, "syscall", value);
  napi_throw(env, reason);
  return NULL;
}

static int fd_arg(napi_env env, napi_callback_info info, bool *exclusive, int32_t *fd) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], fd) != napi_ok || *fd < 0) {
    napi_throw_type_error(env, NULL, "fd must be a file descriptor");
    return 0;
  }
  if (exclusive) {
    *exclusive = false;
    if (argc > 1) napi_get_value_bool(env, argv[1], exclusive);
  }
  return 1;
}

static int set_lock(int fd, short type) {
  struct flock lock;
  memset(&lock, 0, sizeof lock);
  lock.l_type = type;
  lock.l_whence = SEEK_SET; /* start 0, length 0: the whole file, however it grows */
  int result;
  do result = fcntl(fd, F_SETLK, &lock);
  while (result < 0 && errno == EINTR);
  return result;
}

static napi_value try_lock(napi_env env, napi_callback_info info) {
  bool exclusive;
  int32_t fd;
  if (!fd_arg(env, info, &exclusive, &fd)) return NULL;
  napi_value taken;
  if (set_lock(fd, exclusive ? F_WRLCK : F_RDLCK) == 0) {
    napi_get_boolean(env, true, &taken);
    return taken;
  }
  if (errno == EAGAIN || errno == EACCES) {
    napi_get_boolean(env, false, &taken);
    return taken;
  }
  return throw_errno(env, errno);
}

static napi_value unlock(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!fd_arg(env, info, NULL, &fd)) return NULL;
  if (set_lock(fd, F_UNLCK) < 0) return throw_errno(env, errno);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"tryLock", NULL, try_lock, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unlock", NULL, unlock, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
