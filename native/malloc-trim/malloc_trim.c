// trim(): glibc's malloc_trim(0) on a thread of libuv's pool, resolving with whether memory went back.
//
// glibc keeps memory freed inside its heaps (it returns only the top of an arena to the system), so
// a Node server's RSS stays at its highest after a burst of buffers, zlib streams and SQLite caches
// are freed. malloc_trim(0) walks every arena and hands each free page back (madvise), which Node
// does not expose. Elsewhere (musl, macOS) there is nothing to call: trim() resolves with false.
#include <node_api.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int released;
} Trim;

static void execute(napi_env env, void* data) {
  (void)env;
  Trim* trim = (Trim*)data;
#ifdef __GLIBC__
  trim->released = malloc_trim(0);
#else
  trim->released = 0;
#endif
}

static void complete(napi_env env, napi_status status, void* data) {
  Trim* trim = (Trim*)data;
  napi_value released;
  napi_get_boolean(env, status == napi_ok && trim->released != 0, &released);
  napi_resolve_deferred(env, trim->deferred, released);
  napi_delete_async_work(env, trim->work);
  free(trim);
}

static napi_value start(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value promise, name;
  Trim* trim = (Trim*)calloc(1, sizeof(Trim));
  if (trim == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (napi_create_string_utf8(env, "malloc_trim", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, trim, &trim->work) != napi_ok) {
    free(trim);
    napi_throw_error(env, NULL, "could not create the malloc_trim work");
    return NULL;
  }
  // The promise last: if queueing fails, the promise is never handed out and the error is thrown instead.
  if (napi_create_promise(env, &trim->deferred, &promise) != napi_ok || napi_queue_async_work(env, trim->work) != napi_ok) {
    napi_delete_async_work(env, trim->work);
    free(trim);
    napi_throw_error(env, NULL, "could not queue malloc_trim");
    return NULL;
  }
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn, supported;
  napi_create_function(env, "trim", NAPI_AUTO_LENGTH, start, NULL, &fn);
  napi_set_named_property(env, exports, "trim", fn);
#ifdef __GLIBC__
  napi_get_boolean(env, 1, &supported);
#else
  napi_get_boolean(env, 0, &supported);
#endif
  napi_set_named_property(env, exports, "supported", supported);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
