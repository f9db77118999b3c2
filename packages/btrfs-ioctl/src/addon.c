/*
 * btrfs subvolume ioctls for Node.js, run on libuv's thread pool.
 *
 * snapshot(source, dir, name, readOnly), create(dir, name) and destroy(dir, name) each
 * return a promise. A rejection is an Error with `errno` (the positive errno value),
 * `syscall` ("open" or "ioctl") and `path`; the JavaScript wrapper adds `code`.
 * A snapshot resolves with what the same pool thread learnt about the filesystem
 * afterwards, { fsid, quotas }: its UUID (BTRFS_IOC_FS_INFO) and whether qgroups are
 * enabled on it (/sys/fs/btrfs/<fsid>/qgroups exists), or undefined for what it could
 * not tell. The caller then needs no look at the mount table on the hot path.
 * Concurrent calls run in parallel threads, so the kernel can fold several snapshots
 * into one transaction commit.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

enum op { OP_SNAPSHOT, OP_CREATE, OP_DESTROY };

struct job {
  napi_async_work work;
  napi_deferred deferred;
  enum op op;
  char *source; /* OP_SNAPSHOT only */
  char *dir;
  char *name;
  int read_only;
  int error;            /* errno, 0 on success */
  const char *syscall;  /* what failed */
  const char *path;     /* on what */
  char fsid[37];        /* OP_SNAPSHOT: the filesystem's UUID, "" if unknown */
  int quotas;           /* OP_SNAPSHOT: 1 enabled, 0 not, -1 unknown */
};

static void free_job(struct job *job) {
  free(job->source);
  free(job->dir);
  free(job->name);
  free(job);
}

static void fail(struct job *job, const char *syscall, const char *path) {
  job->error = errno;
  job->syscall = syscall;
  job->path = path;
}

/* After a snapshot: the filesystem's UUID, and whether sysfs shows qgroups enabled. */
static void learn_filesystem(struct job *job, int dir) {
  job->quotas = -1;
  struct btrfs_ioctl_fs_info_args info;
  memset(&info, 0, sizeof info);
  if (ioctl(dir, BTRFS_IOC_FS_INFO, &info) < 0) return;
  const unsigned char *u = info.fsid;
  snprintf(job->fsid, sizeof job->fsid, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
           u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  char path[80];
  snprintf(path, sizeof path, "/sys/fs/btrfs/%s/qgroups", job->fsid);
  if (access(path, F_OK) == 0) {
    job->quotas = 1;
    return;
  }
  if (errno != ENOENT) return;
  /* No qgroups directory: quotas are off, if sysfs knows the filesystem at all. */
  snprintf(path, sizeof path, "/sys/fs/btrfs/%s", job->fsid);
  if (access(path, F_OK) == 0) job->quotas = 0;
}

/* Runs on a pool thread: no napi calls here. */
static void execute(napi_env env, void *data) {
  (void)env;
  struct job *job = data;
  int dir = open(job->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    fail(job, "open", job->dir);
    return;
  }
  if (job->op == OP_SNAPSHOT) {
    int source = open(job->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (source < 0) {
      fail(job, "open", job->source);
    } else {
      struct btrfs_ioctl_vol_args_v2 args;
      memset(&args, 0, sizeof args);
      args.fd = source;
      args.flags = job->read_only ? BTRFS_SUBVOL_RDONLY : 0;
      memcpy(args.name, job->name, strlen(job->name));
      if (ioctl(dir, BTRFS_IOC_SNAP_CREATE_V2, &args) < 0) fail(job, "ioctl", job->dir);
      else learn_filesystem(job, dir);
      close(source);
    }
  } else if (job->op == OP_CREATE) {
    struct btrfs_ioctl_vol_args_v2 args;
    memset(&args, 0, sizeof args);
    memcpy(args.name, job->name, strlen(job->name));
    if (ioctl(dir, BTRFS_IOC_SUBVOL_CREATE_V2, &args) < 0) fail(job, "ioctl", job->dir);
  } else {
    struct btrfs_ioctl_vol_args args;
    memset(&args, 0, sizeof args);
    memcpy(args.name, job->name, strlen(job->name));
    if (ioctl(dir, BTRFS_IOC_SNAP_DESTROY, &args) < 0) fail(job, "ioctl", job->dir);
  }
  close(dir);
}

/* Back on the JavaScript thread. */
static void complete(napi_env env, napi_status status, void *data) {
  struct job *job = data;
  if (status == napi_ok && job->error == 0) {
    napi_value result;
    napi_get_undefined(env, &result);
    if (job->op == OP_SNAPSHOT) {
      napi_value value;
      napi_create_object(env, &result);
      if (job->fsid[0]) {
        napi_create_string_utf8(env, job->fsid, NAPI_AUTO_LENGTH, &value);
        napi_set_named_property(env, result, "fsid", value);
      }
      if (job->quotas >= 0) {
        napi_get_boolean(env, job->quotas == 1, &value);
        napi_set_named_property(env, result, "quotas", value);
      }
    }
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    int error = status == napi_ok ? job->error : ECANCELED;
    const char *syscall = status == napi_ok ? job->syscall : "queue";
    const char *path = status == napi_ok ? job->path : job->dir;
    napi_value message, value, reason;
    napi_create_string_utf8(env, strerror(error), NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &reason);
    napi_create_int32(env, error, &value);
    napi_set_named_property(env, reason, "errno", value);
    napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &value);
    napi_set_named_property(env, reason, "syscall", value);
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &value);
    napi_set_named_property(env, reason, "path", value);
    napi_reject_deferred(env, job->deferred, reason);
  }
  napi_delete_async_work(env, job->work);
  free_job(job);
}

/* A string argument as a malloc'd C string; NULL (with a pending TypeError) otherwise. */
static char *string_arg(napi_env env, napi_value value, const char *what) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  char *text = malloc(length + 1);
  if (!text) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, value, text, length + 1, &length);
  if (strlen(text) != length) { /* an embedded NUL */
    free(text);
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  return text;
}

/* A subvolume name: one path component that fits the ioctl's name field. */
static int valid_name(const char *name) {
  size_t length = strlen(name);
  return length > 0 && length <= BTRFS_SUBVOL_NAME_MAX && !strchr(name, '/') && strcmp(name, ".") != 0 &&
         strcmp(name, "..") != 0;
}

static napi_value start(napi_env env, napi_callback_info info, enum op op) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  size_t needed = op == OP_SNAPSHOT ? 3 : 2;
  if (argc < needed) {
    napi_throw_type_error(env, NULL, "missing arguments");
    return NULL;
  }
  struct job *job = calloc(1, sizeof *job);
  if (!job) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  job->op = op;
  size_t at = 0;
  if (op == OP_SNAPSHOT && !(job->source = string_arg(env, argv[at++], "source must be a string"))) goto fail;
  if (!(job->dir = string_arg(env, argv[at++], "dir must be a string"))) goto fail;
  if (!(job->name = string_arg(env, argv[at++], "name must be a string"))) goto fail;
  if (!valid_name(job->name)) {
    napi_throw_type_error(env, NULL, "name must be one path component of at most 4039 bytes");
    goto fail;
  }
  if (op == OP_SNAPSHOT && argc > 3) {
    bool read_only = false;
    napi_get_value_bool(env, argv[3], &read_only);
    job->read_only = read_only;
  }
  napi_value promise, resource_name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) goto fail;
  napi_create_string_utf8(env, "btrfs-ioctl", NAPI_AUTO_LENGTH, &resource_name);
  if (napi_create_async_work(env, NULL, resource_name, execute, complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    napi_throw_error(env, NULL, "cannot queue the btrfs ioctl");
    return NULL; /* the deferred is abandoned with the job */
  }
  return promise;
fail:
  free_job(job);
  return NULL;
}

static napi_value snapshot(napi_env env, napi_callback_info info) { return start(env, info, OP_SNAPSHOT); }
static napi_value create(napi_env env, napi_callback_info info) { return start(env, info, OP_CREATE); }
static napi_value destroy(napi_env env, napi_callback_info info) { return start(env, info, OP_DESTROY); }

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"snapshot", NULL, snapshot, NULL, NULL, NULL, napi_enumerable, NULL},
      {"create", NULL, create, NULL, NULL, NULL, napi_enumerable, NULL},
      {"destroy", NULL, destroy, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
