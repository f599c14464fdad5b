/*
 * openctl_native.node: the N-API face of the signing core (pool.c) plus syncfs(2). The TypeScript wrapper is
 * src/pipeline/native-core.ts; the raw interface below is what it sees:
 *
 *   openPool(options) -> Promise<{ handle, slotId, tokenLabel, tokenSerial, tokenModel, keyBits, signatureLength,
 *                                  sessions }>
 *   signBatch(handle, inputs: Uint8Array[] | Uint8Array, lengths?: number[] | Uint32Array, mechanism: number)
 *       -> Promise<{ signatures: Buffer (count * signatureLength), lengths: number[], rvs?: number[] }>
 *   closePool(handle) -> Promise<void>
 *   syncfs(fd) -> Promise<void>
 *   ckrName(rv) -> string
 *
 * Threads: workers never touch JS; they hand finished batches to the JS thread through one thread-safe function
 * per pool, which is referenced only while a batch or a close is pending (an idle pool never keeps node alive).
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ck_names.h"
#include "pool.h"

#ifdef __linux__
#define SYNC_NAME "syncfs"
#else
#define SYNC_NAME "fsync"
#endif

typedef struct {
    pool_t *pool; /* NULL once the pool is freed */
} handle_t;

typedef struct {
    napi_threadsafe_function tsfn;
    handle_t *handle;
    size_t pending;
    int close_requested;
    napi_deferred close_deferred;
    int hook_registered;
    int finished; /* every worker left and was joined */
} pool_js_t;

typedef struct {
    napi_deferred deferred;
    napi_ref handle_ref; /* keeps the handle (and so the pool) alive while the batch runs */
} batch_js_t;

/* ------------------------------------------------------------------------------------------------------------ */
/* Helpers                                                                                                      */

#define CHECK(env, call)                                                                                           \
    do {                                                                                                           \
        if ((call) != napi_ok) {                                                                                   \
            rethrow(env, #call);                                                                                   \
            return NULL;                                                                                           \
        }                                                                                                          \
    } while (0)

static void rethrow(napi_env env, const char *what) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) return;
    const napi_extended_error_info *info = NULL;
    napi_get_last_error_info(env, &info);
    char message[256];
    snprintf(message, sizeof message, "openctl native: %s: %s", what,
             info && info->error_message ? info->error_message : "N-API call failed");
    napi_throw_error(env, NULL, message);
}

static napi_value make_error(napi_env env, const char *code, const char *message) {
    napi_value msg, err, code_value;
    napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    if (code) {
        napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
        napi_set_named_property(env, err, "code", code_value);
    }
    return err;
}

static napi_value make_ck_error(napi_env env, const pool_error_t *e) {
    char buf[32];
    napi_value err = make_error(env, ckr_name(e->rv, buf, sizeof buf), e->message);
    napi_value rv, function;
    napi_create_double(env, (double)e->rv, &rv);
    napi_set_named_property(env, err, "rv", rv);
    if (e->function[0]) {
        napi_create_string_utf8(env, e->function, NAPI_AUTO_LENGTH, &function);
        napi_set_named_property(env, err, "function", function);
    }
    return err;
}

static napi_value throw_type(napi_env env, const char *message) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return NULL;
}

static int is_nullish(napi_env env, napi_value v) {
    napi_valuetype t;
    napi_typeof(env, v, &t);
    return t == napi_undefined || t == napi_null;
}

/* Reads an optional string property into a malloc'ed buffer (*out stays NULL when absent). 0 ok, -1 thrown. */
static int get_string(napi_env env, napi_value obj, const char *name, char **out, size_t *length) {
    napi_value v;
    *out = NULL;
    if (napi_get_named_property(env, obj, name, &v) != napi_ok) return -1;
    if (is_nullish(env, v)) return 0;
    size_t n = 0;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) {
        char message[128];
        snprintf(message, sizeof message, "options.%s must be a string", name);
        throw_type(env, message);
        return -1;
    }
    *out = malloc(n + 1);
    if (!*out) return -1;
    napi_get_value_string_utf8(env, v, *out, n + 1, &n);
    if (length) *length = n;
    return 0;
}

/* The bytes of a Buffer / Uint8Array. 0 ok, -1 not a Uint8Array. */
static int get_bytes(napi_env env, napi_value v, unsigned char **data, size_t *length) {
    bool is_typed = false;
    napi_is_typedarray(env, v, &is_typed);
    if (!is_typed) return -1;
    napi_typedarray_type type;
    void *ptr = NULL;
    if (napi_get_typedarray_info(env, v, &type, length, &ptr, NULL, NULL) != napi_ok) return -1;
    if (type != napi_uint8_array) return -1;
    *data = ptr;
    return 0;
}

static pool_t *pool_of(napi_env env, napi_value v) {
    handle_t *h = NULL;
    napi_valuetype t;
    napi_typeof(env, v, &t);
    if (t != napi_external || napi_get_value_external(env, v, (void **)&h) != napi_ok || !h) return NULL;
    return h->pool;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Worker -> JS thread                                                                                          */

static void free_batch(batch_t *b) {
    batch_free_buffers(b);
    free(b->js);
    free(b);
}

static void notify(pool_t *p, batch_t *b) {
    pool_js_t *pj = p->js;
    /* An unbounded queue: never blocks. napi_closing only happens at teardown, when nobody waits any more. */
    napi_call_threadsafe_function(pj->tsfn, b ? (void *)b : (void *)p, napi_tsfn_blocking);
}

static void free_output(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    free(data);
}

static void resolve_batch(napi_env env, batch_t *b) {
    batch_js_t *bj = b->js;
    pool_t *p = b->pool;
    size_t total = b->count * p->signature_length;
    napi_value result, signatures, lengths, rvs;
    napi_create_object(env, &result);
    if (napi_create_external_buffer(env, total, b->output, free_output, NULL, &signatures) == napi_ok) {
        b->output = NULL; /* now owned by the Buffer */
    } else {
        /* Runtimes with a V8 sandbox (Electron) refuse external buffers: copy instead. */
        bool pending = false;
        napi_is_exception_pending(env, &pending);
        if (pending) {
            napi_value ignored;
            napi_get_and_clear_last_exception(env, &ignored);
        }
        napi_create_buffer_copy(env, total, b->output, NULL, &signatures);
    }
    napi_set_named_property(env, result, "signatures", signatures);
    napi_create_array_with_length(env, b->count, &lengths);
    int failed = 0;
    for (size_t i = 0; i < b->count; i++) {
        napi_value n;
        napi_create_uint32(env, (uint32_t)b->output_length[i], &n);
        napi_set_element(env, lengths, (uint32_t)i, n);
        if (b->rv[i] != CKR_OK) failed = 1;
    }
    napi_set_named_property(env, result, "lengths", lengths);
    if (failed) {
        napi_create_array_with_length(env, b->count, &rvs);
        for (size_t i = 0; i < b->count; i++) {
            napi_value n;
            napi_create_double(env, (double)b->rv[i], &n);
            napi_set_element(env, rvs, (uint32_t)i, n);
        }
        napi_set_named_property(env, result, "rvs", rvs);
    }
    napi_resolve_deferred(env, bj->deferred, result);
    napi_delete_reference(env, bj->handle_ref);
}

static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
    (void)js_cb;
    if (!env) {
        /* Teardown: node may already have run tsfn_finalize (the pool is gone), and nobody waits for these
         * promises any more. Only free what the queue held; never touch the pool. */
        if (data != context) free_batch(data);
        return;
    }
    pool_t *p = context;
    pool_js_t *pj = p->js;
    if (data == p) {
        /* The last worker left: every session is closed. */
        if (pj->finished) return;
        pool_join(p);
        pj->finished = 1;
        if (pj->close_deferred) {
            napi_value undefined;
            napi_get_undefined(env, &undefined);
            napi_resolve_deferred(env, pj->close_deferred, undefined);
            pj->close_deferred = NULL;
        }
        napi_release_threadsafe_function(pj->tsfn, napi_tsfn_release);
        return;
    }
    batch_t *b = data;
    if (--pj->pending == 0 && !pj->close_requested) napi_unref_threadsafe_function(env, pj->tsfn);
    resolve_batch(env, b);
    free_batch(b);
}

static void cleanup_hook(void *arg) {
    /* The environment is going away (process exit, worker termination): get every thread out of the module
     * before its static destructors run. */
    pool_t *p = arg;
    pool_js_t *pj = p->js;
    pj->hook_registered = 0;
    if (!pj->finished) {
        pool_request_abort(p);
        pool_join(p);
        pj->finished = 1;
    }
}

static void tsfn_finalize(napi_env env, void *data, void *hint) {
    (void)hint;
    pool_t *p = data;
    pool_js_t *pj = p->js;
    if (!pj->finished) {
        pool_request_abort(p);
        pool_join(p);
    }
    if (pj->hook_registered) napi_remove_env_cleanup_hook(env, cleanup_hook, p);
    if (pj->handle) pj->handle->pool = NULL;
    pool_free(p, free_batch);
    free(pj);
}

static void handle_finalize(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    handle_t *h = data;
    pool_t *p = h->pool;
    if (p) {
        pool_js_t *pj = p->js;
        pj->handle = NULL;
        if (!pj->close_requested) {
            /* Dropped without close(): no batch is pending (each holds the handle), so the workers just leave. */
            pj->close_requested = 1;
            pool_request_close(p);
        }
    }
    free(h);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* openPool                                                                                                     */

typedef struct {
    pool_options_t options;
    char *module_path, *token_label, *token_serial, *key_label, *pin;
    unsigned char *key_id;
    pool_t *pool;
    pool_error_t error;
    napi_deferred deferred;
    napi_async_work work;
} open_request_t;

static void open_request_free(open_request_t *r) {
    if (r->pin) memset(r->pin, 0, r->options.pin_length);
    free(r->module_path);
    free(r->token_label);
    free(r->token_serial);
    free(r->key_label);
    free(r->pin);
    free(r->key_id);
    free(r);
}

static void open_execute(napi_env env, void *data) {
    (void)env;
    open_request_t *r = data;
    r->pool = pool_open(&r->options, &r->error);
    if (r->pin) memset(r->pin, 0, r->options.pin_length);
}

static napi_value pool_info(napi_env env, pool_t *p, napi_value handle) {
    napi_value o, v;
    napi_create_object(env, &o);
    napi_set_named_property(env, o, "handle", handle);
    napi_create_double(env, (double)p->slot, &v);
    napi_set_named_property(env, o, "slotId", v);
    napi_create_string_utf8(env, p->token_label, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, o, "tokenLabel", v);
    napi_create_string_utf8(env, p->token_serial, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, o, "tokenSerial", v);
    napi_create_string_utf8(env, p->token_model, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, o, "tokenModel", v);
    napi_create_uint32(env, (uint32_t)p->key_bits, &v);
    napi_set_named_property(env, o, "keyBits", v);
    napi_create_uint32(env, (uint32_t)p->signature_length, &v);
    napi_set_named_property(env, o, "signatureLength", v);
    napi_create_uint32(env, (uint32_t)p->n_sessions, &v);
    napi_set_named_property(env, o, "sessions", v);
    return o;
}

static void open_complete(napi_env env, napi_status status, void *data) {
    open_request_t *r = data;
    pool_t *p = r->pool;
    napi_deferred deferred = r->deferred;
    napi_delete_async_work(env, r->work);
    pool_error_t error = r->error;
    open_request_free(r);
    if (status != napi_ok || !p) {
        if (!p && status != napi_ok) snprintf(error.message, sizeof error.message, "openPool was cancelled");
        napi_reject_deferred(env, deferred, make_ck_error(env, &error));
        return;
    }

    pool_js_t *pj = calloc(1, sizeof *pj);
    handle_t *h = calloc(1, sizeof *h);
    napi_value name, handle;
    napi_create_string_utf8(env, "openctl-native-signer-pool", NAPI_AUTO_LENGTH, &name);
    int ok = pj && h &&
             napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, p, tsfn_finalize, p, call_js, &pj->tsfn) ==
                 napi_ok;
    if (!ok) {
        free(pj);
        free(h);
        pool_request_abort(p); /* no threads yet: just close the sessions */
        for (size_t i = 0; i < p->n_sessions; i++) p->f->C_CloseSession(p->sessions[i]);
        pool_free(p, free_batch);
        napi_reject_deferred(env, deferred, make_error(env, "ERR_NATIVE", "cannot create the pool's callback"));
        return;
    }
    p->js = pj;
    napi_unref_threadsafe_function(env, pj->tsfn);
    h->pool = p;
    pj->handle = h;
    napi_create_external(env, h, handle_finalize, NULL, &handle);
    if (napi_add_env_cleanup_hook(env, cleanup_hook, p) == napi_ok) pj->hook_registered = 1;

    int err = pool_start(p, notify, pj);
    if (err) {
        /* Started workers (if any) leave and report; the pool goes with the thread-safe function. */
        pj->close_requested = 1;
        if (p->threads_started == 0) {
            pj->finished = 1;
            napi_release_threadsafe_function(pj->tsfn, napi_tsfn_release);
        }
        napi_reject_deferred(env, deferred, make_error(env, "ERR_NATIVE", "cannot start the pool's threads"));
        return;
    }
    napi_resolve_deferred(env, deferred, pool_info(env, p, handle));
}

static napi_value js_open_pool(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1], promise, value, resource;
    CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    napi_valuetype t = napi_undefined;
    if (argc >= 1) napi_typeof(env, argv[0], &t);
    if (t != napi_object) return throw_type(env, "openPool(options): options must be an object");
    napi_value o = argv[0];

    open_request_t *r = calloc(1, sizeof *r);
    if (!r) return throw_type(env, "out of memory");
    size_t pin_length = 0;
    if (get_string(env, o, "modulePath", &r->module_path, NULL) || get_string(env, o, "tokenLabel", &r->token_label, NULL) ||
        get_string(env, o, "tokenSerial", &r->token_serial, NULL) || get_string(env, o, "keyLabel", &r->key_label, NULL) ||
        get_string(env, o, "pin", &r->pin, &pin_length)) {
        open_request_free(r);
        return NULL;
    }
    if (!r->module_path) {
        open_request_free(r);
        return throw_type(env, "options.modulePath is required");
    }
    r->options.module_path = r->module_path;
    r->options.token_label = r->token_label;
    r->options.token_serial = r->token_serial;
    r->options.key_label = r->key_label;
    r->options.pin = r->pin;
    r->options.pin_length = pin_length;

    CHECK(env, napi_get_named_property(env, o, "slotId", &value));
    if (!is_nullish(env, value)) {
        napi_typeof(env, value, &t);
        uint64_t id = 0;
        bool lossless = true;
        double d = -1;
        if (t == napi_bigint) napi_get_value_bigint_uint64(env, value, &id, &lossless);
        else if (t == napi_number && napi_get_value_double(env, value, &d) == napi_ok && d >= 0 && d <= 9007199254740991.0 &&
                 d == (double)(uint64_t)d)
            id = (uint64_t)d;
        else lossless = false;
        if (!lossless) {
            open_request_free(r);
            return throw_type(env, "options.slotId must be a non-negative integer or bigint");
        }
        r->options.has_slot = 1;
        r->options.slot = (CK_SLOT_ID)id;
    }

    CHECK(env, napi_get_named_property(env, o, "keyId", &value));
    if (!is_nullish(env, value)) {
        unsigned char *bytes;
        size_t n;
        if (get_bytes(env, value, &bytes, &n) != 0) {
            open_request_free(r);
            return throw_type(env, "options.keyId must be a Buffer or Uint8Array");
        }
        r->key_id = malloc(n ? n : 1);
        if (n) memcpy(r->key_id, bytes, n);
        r->options.key_id = r->key_id;
        r->options.key_id_length = n;
    }

    uint32_t sessions = 1;
    CHECK(env, napi_get_named_property(env, o, "sessions", &value));
    if (!is_nullish(env, value) && napi_get_value_uint32(env, value, &sessions) != napi_ok) {
        open_request_free(r);
        return throw_type(env, "options.sessions must be a number");
    }
    r->options.sessions = sessions;

    CHECK(env, napi_create_promise(env, &r->deferred, &promise));
    napi_create_string_utf8(env, "openctl-native-open", NAPI_AUTO_LENGTH, &resource);
    CHECK(env, napi_create_async_work(env, NULL, resource, open_execute, open_complete, r, &r->work));
    CHECK(env, napi_queue_async_work(env, r->work));
    return promise;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* signBatch                                                                                                    */

/* Copies the inputs (array of byte arrays, or one byte array + lengths) into the batch. NULL message = ok. */
static const char *read_inputs(napi_env env, napi_value inputs, napi_value lengths_value, batch_t *b) {
    bool is_array = false;
    napi_is_array(env, inputs, &is_array);
    if (is_array) {
        uint32_t n = 0;
        napi_get_array_length(env, inputs, &n);
        b->count = n;
        b->input_offset = calloc(n ? n : 1, sizeof(size_t));
        b->input_length = calloc(n ? n : 1, sizeof(size_t));
        if (!b->input_offset || !b->input_length) return "out of memory";
        size_t total = 0;
        for (uint32_t i = 0; i < n; i++) {
            napi_value item;
            unsigned char *bytes;
            size_t len;
            napi_get_element(env, inputs, i, &item);
            if (get_bytes(env, item, &bytes, &len) != 0) return "every input must be a Buffer or Uint8Array";
            b->input_offset[i] = total;
            b->input_length[i] = len;
            total += len;
        }
        b->input = malloc(total ? total : 1);
        if (!b->input) return "out of memory";
        for (uint32_t i = 0; i < n; i++) {
            napi_value item;
            unsigned char *bytes;
            size_t len;
            napi_get_element(env, inputs, i, &item);
            get_bytes(env, item, &bytes, &len);
            memcpy(b->input + b->input_offset[i], bytes, len);
        }
        return NULL;
    }

    unsigned char *data;
    size_t data_length;
    if (get_bytes(env, inputs, &data, &data_length) != 0) return "inputs must be an array of Buffers or one Buffer";
    bool lengths_is_array = false, lengths_is_typed = false;
    napi_is_array(env, lengths_value, &lengths_is_array);
    napi_is_typedarray(env, lengths_value, &lengths_is_typed);
    uint32_t n = 0;
    uint32_t *typed = NULL;
    if (lengths_is_array) {
        napi_get_array_length(env, lengths_value, &n);
    } else if (lengths_is_typed) {
        napi_typedarray_type type;
        size_t count;
        void *ptr;
        napi_get_typedarray_info(env, lengths_value, &type, &count, &ptr, NULL, NULL);
        if (type != napi_uint32_array) return "lengths must be a number[] or Uint32Array";
        typed = ptr;
        n = (uint32_t)count;
    } else {
        return "a concatenated input needs its lengths";
    }
    b->count = n;
    b->input_offset = calloc(n ? n : 1, sizeof(size_t));
    b->input_length = calloc(n ? n : 1, sizeof(size_t));
    if (!b->input_offset || !b->input_length) return "out of memory";
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = 0;
        if (typed) len = typed[i];
        else {
            napi_value item;
            napi_get_element(env, lengths_value, i, &item);
            if (napi_get_value_uint32(env, item, &len) != napi_ok) return "lengths must be numbers";
        }
        b->input_offset[i] = total;
        b->input_length[i] = len;
        total += len;
    }
    if (total != data_length) return "the lengths do not add up to the input's length";
    b->input = malloc(total ? total : 1);
    if (!b->input) return "out of memory";
    memcpy(b->input, data, total);
    return NULL;
}

static napi_value js_sign_batch(napi_env env, napi_callback_info info) {
    size_t argc = 4;
    napi_value argv[4], promise;
    CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 4) return throw_type(env, "signBatch(handle, inputs, lengths, mechanism)");
    pool_t *p = pool_of(env, argv[0]);
    if (!p || ((pool_js_t *)p->js)->close_requested) {
        napi_throw(env, make_error(env, "ERR_POOL_CLOSED", "the signer pool is closed"));
        return NULL;
    }
    double mechanism = 0;
    if (napi_get_value_double(env, argv[3], &mechanism) != napi_ok || mechanism < 0)
        return throw_type(env, "mechanism must be a CKM_ number");

    batch_t *b = calloc(1, sizeof *b);
    batch_js_t *bj = calloc(1, sizeof *bj);
    if (!b || !bj) {
        free(b);
        free(bj);
        return throw_type(env, "out of memory");
    }
    b->js = bj;
    b->pool = p;
    b->mechanism = (CK_MECHANISM_TYPE)mechanism;
    const char *problem = read_inputs(env, argv[1], argv[2], b);
    if (!problem && b->count == 0) problem = "a batch needs at least one input";
    if (!problem) {
        b->output = malloc(b->count * p->signature_length);
        b->output_length = calloc(b->count, sizeof(CK_ULONG));
        b->rv = calloc(b->count, sizeof(CK_RV));
        if (!b->output || !b->output_length || !b->rv) problem = "out of memory";
    }
    if (problem) {
        free_batch(b);
        return throw_type(env, problem);
    }

    pool_js_t *pj = p->js;
    if (napi_create_promise(env, &bj->deferred, &promise) != napi_ok ||
        napi_create_reference(env, argv[0], 1, &bj->handle_ref) != napi_ok) {
        free_batch(b);
        rethrow(env, "signBatch");
        return NULL;
    }
    if (pool_submit(p, b) != 0) {
        napi_delete_reference(env, bj->handle_ref);
        napi_reject_deferred(env, bj->deferred, make_error(env, "ERR_POOL_CLOSED", "the signer pool is closed"));
        free_batch(b);
        return promise;
    }
    if (pj->pending++ == 0) napi_ref_threadsafe_function(env, pj->tsfn);
    return promise;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* closePool                                                                                                    */

static napi_value js_close_pool(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1], promise, undefined;
    napi_deferred deferred;
    CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    CHECK(env, napi_create_promise(env, &deferred, &promise));
    napi_get_undefined(env, &undefined);
    pool_t *p = argc ? pool_of(env, argv[0]) : NULL;
    pool_js_t *pj = p ? p->js : NULL;
    if (!pj || pj->close_requested) {
        /* Already closed or closing: the TypeScript wrapper hands out the first close's promise anyway. */
        napi_resolve_deferred(env, deferred, undefined);
        return promise;
    }
    pj->close_requested = 1;
    pj->close_deferred = deferred;
    napi_ref_threadsafe_function(env, pj->tsfn);
    pool_request_close(p);
    return promise;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* syncfs                                                                                                       */

typedef struct {
    int fd;
    int error;
    napi_deferred deferred;
    napi_async_work work;
} sync_request_t;

static void sync_execute(napi_env env, void *data) {
    (void)env;
    sync_request_t *r = data;
#ifdef __linux__
    /* One call commits every dirty page of the file system holding fd: a whole group of outputs at once. */
    r->error = syncfs(r->fd) == 0 ? 0 : errno;
#else
    r->error = fsync(r->fd) == 0 ? 0 : errno;
#endif
}

static void sync_complete(napi_env env, napi_status status, void *data) {
    sync_request_t *r = data;
    if (status == napi_ok && r->error == 0) {
        napi_value undefined;
        napi_get_undefined(env, &undefined);
        napi_resolve_deferred(env, r->deferred, undefined);
    } else {
        int e = r->error ? r->error : ECANCELED;
        char message[256];
        snprintf(message, sizeof message, "%s(%d): %s", SYNC_NAME, r->fd, strerror(e));
        napi_value err = make_error(env, uv_err_name(-e), message);
        napi_value errno_value;
        napi_create_int32(env, -e, &errno_value);
        napi_set_named_property(env, err, "errno", errno_value);
        napi_reject_deferred(env, r->deferred, err);
    }
    napi_delete_async_work(env, r->work);
    free(r);
}

static napi_value js_syncfs(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1], promise, resource;
    int32_t fd = -1;
    CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0)
        return throw_type(env, "syncfs(fd): fd must be a file descriptor");
    sync_request_t *r = calloc(1, sizeof *r);
    if (!r) return throw_type(env, "out of memory");
    r->fd = fd;
    CHECK(env, napi_create_promise(env, &r->deferred, &promise));
    napi_create_string_utf8(env, "openctl-native-syncfs", NAPI_AUTO_LENGTH, &resource);
    CHECK(env, napi_create_async_work(env, NULL, resource, sync_execute, sync_complete, r, &r->work));
    CHECK(env, napi_queue_async_work(env, r->work));
    return promise;
}

/* ------------------------------------------------------------------------------------------------------------ */

static napi_value js_ckr_name(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1], result;
    double rv = 0;
    CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 1 || napi_get_value_double(env, argv[0], &rv) != napi_ok) return throw_type(env, "ckrName(rv)");
    char buf[32];
    CHECK(env, napi_create_string_utf8(env, ckr_name((CK_RV)rv, buf, sizeof buf), NAPI_AUTO_LENGTH, &result));
    return result;
}

NAPI_MODULE_INIT() {
    napi_property_descriptor props[] = {
        {"openPool", NULL, js_open_pool, NULL, NULL, NULL, napi_enumerable, NULL},
        {"signBatch", NULL, js_sign_batch, NULL, NULL, NULL, napi_enumerable, NULL},
        {"closePool", NULL, js_close_pool, NULL, NULL, NULL, napi_enumerable, NULL},
        {"syncfs", NULL, js_syncfs, NULL, NULL, NULL, napi_enumerable, NULL},
        {"ckrName", NULL, js_ckr_name, NULL, NULL, NULL, napi_enumerable, NULL},
    };
    if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
    return exports;
}
