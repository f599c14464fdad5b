/*
 * The signing core without any N-API: module loading shared with the rest of the process, session pool, worker
 * threads. PKCS#11 logins are per application, so sessions opened here share the login that pkcs11js (or anyone
 * else in the process) already made; the module is never finalised here because someone else may own it.
 */
#define _GNU_SOURCE
#include "pool.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_names.h"

typedef struct module {
    void *handle;
    CK_FUNCTION_LIST_PTR f;
    struct module *next;
} module_t;

static pthread_mutex_t g_modules_lock = PTHREAD_MUTEX_INITIALIZER;
static module_t *g_modules;

/* Pools with running threads. process.exit() skips node's environment clean-up and goes straight to exit(),
 * whose destructors would unload the module under a worker still inside C_Sign: stop the workers first. */
static pthread_mutex_t g_live_lock = PTHREAD_MUTEX_INITIALIZER;
static pool_t *g_live;
static pthread_once_t g_atexit_once = PTHREAD_ONCE_INIT;

static void stop_live_pools(void) {
    pthread_mutex_lock(&g_live_lock);
    for (pool_t *p = g_live; p; p = p->live_next) {
        pool_request_abort(p);
        pool_join(p);
    }
    pthread_mutex_unlock(&g_live_lock);
}

static void register_atexit(void) { atexit(stop_live_pools); }

static void live_add(pool_t *p) {
    pthread_once(&g_atexit_once, register_atexit);
    pthread_mutex_lock(&g_live_lock);
    p->live_next = g_live;
    g_live = p;
    pthread_mutex_unlock(&g_live_lock);
}

static void live_remove(pool_t *p) {
    pthread_mutex_lock(&g_live_lock);
    for (pool_t **link = &g_live; *link; link = &(*link)->live_next) {
        if (*link == p) {
            *link = p->live_next;
            break;
        }
    }
    pthread_mutex_unlock(&g_live_lock);
}

static void set_error(pool_error_t *e, CK_RV rv, const char *function, const char *fmt, ...) {
    e->rv = rv;
    snprintf(e->function, sizeof e->function, "%s", function ? function : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

static void set_rv_error(pool_error_t *e, CK_RV rv, const char *function) {
    char buf[32];
    set_error(e, rv, function, "%s failed: %s", function, ckr_name(rv, buf, sizeof buf));
}

/* dlopen returns the handle the process already has for this file, so this is the module pkcs11js loaded. */
static CK_FUNCTION_LIST_PTR module_get(const char *path, pool_error_t *e) {
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        set_error(e, CKR_GENERAL_ERROR, "dlopen", "cannot load PKCS#11 module %s: %s", path, why ? why : "unknown");
        return NULL;
    }
    pthread_mutex_lock(&g_modules_lock);
    module_t *m = g_modules;
    while (m && m->handle != handle) m = m->next;
    if (m) {
        dlclose(handle); /* drop the extra reference; the first one is kept for the life of the process */
    } else {
        CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(handle, "C_GetFunctionList");
        CK_FUNCTION_LIST_PTR f = NULL;
        CK_RV rv = get ? get(&f) : CKR_GENERAL_ERROR;
        if (rv != CKR_OK || !f) {
            pthread_mutex_unlock(&g_modules_lock);
            dlclose(handle);
            set_error(e, rv == CKR_OK ? CKR_GENERAL_ERROR : rv, "C_GetFunctionList",
                      "%s is not a PKCS#11 module (no C_GetFunctionList)", path);
            return NULL;
        }
        m = calloc(1, sizeof *m);
        if (!m) {
            pthread_mutex_unlock(&g_modules_lock);
            set_error(e, CKR_HOST_MEMORY, "", "out of memory");
            return NULL;
        }
        m->handle = handle;
        m->f = f;
        m->next = g_modules;
        g_modules = m;
    }
    CK_FUNCTION_LIST_PTR f = m->f;
    pthread_mutex_unlock(&g_modules_lock);

    /* Several threads will call the module: without CKF_OS_LOCKING_OK SoftHSM turns its own locks off. If the
     * application initialised it first, its flags stand (it must have asked for locking too: see README). */
    CK_C_INITIALIZE_ARGS args;
    memset(&args, 0, sizeof args);
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        set_rv_error(e, rv, "C_Initialize");
        return NULL;
    }
    return f;
}

static void fixed_text(const CK_UTF8CHAR *raw, size_t width, char *out) {
    memcpy(out, raw, width);
    out[width] = '\0';
    for (size_t i = width; i > 0 && (out[i - 1] == ' ' || out[i - 1] == '\0'); i--) out[i - 1] = '\0';
}

static int find_slot(pool_t *p, const pool_options_t *o, pool_error_t *e) {
    CK_TOKEN_INFO info;
    if (o->has_slot) {
        CK_RV rv = p->f->C_GetTokenInfo(o->slot, &info);
        if (rv != CKR_OK) {
            set_rv_error(e, rv, "C_GetTokenInfo");
            return -1;
        }
        p->slot = o->slot;
    } else {
        CK_ULONG n = 0;
        CK_SLOT_ID slots[256];
        CK_RV rv = p->f->C_GetSlotList(CK_TRUE, NULL, &n);
        if (rv == CKR_OK) {
            n = n > 256 ? 256 : n;
            rv = p->f->C_GetSlotList(CK_TRUE, slots, &n);
        }
        if (rv != CKR_OK) {
            set_rv_error(e, rv, "C_GetSlotList");
            return -1;
        }
        int matches = 0;
        for (CK_ULONG i = 0; i < n; i++) {
            CK_TOKEN_INFO candidate;
            char label[33], serial[17];
            if (p->f->C_GetTokenInfo(slots[i], &candidate) != CKR_OK) continue;
            fixed_text(candidate.label, 32, label);
            fixed_text(candidate.serialNumber, 16, serial);
            if (o->token_label && strcmp(label, o->token_label) != 0) continue;
            if (o->token_serial && strcmp(serial, o->token_serial) != 0) continue;
            if (!(candidate.flags & CKF_TOKEN_INITIALIZED)) continue;
            if (matches++ == 0) {
                p->slot = slots[i];
                info = candidate;
            }
        }
        const char *want_label = o->token_label ? o->token_label : "*";
        const char *want_serial = o->token_serial ? o->token_serial : "*";
        if (matches == 0) {
            set_error(e, CKR_TOKEN_NOT_PRESENT, "C_GetSlotList", "no token present with label '%s' serial '%s'",
                      want_label, want_serial);
            return -1;
        }
        if (matches > 1) {
            set_error(e, CKR_TOKEN_NOT_PRESENT, "C_GetSlotList",
                      "%d tokens match label '%s' serial '%s': give slotId or tokenSerial", matches, want_label,
                      want_serial);
            return -1;
        }
    }
    fixed_text(info.label, 32, p->token_label);
    fixed_text(info.serialNumber, 16, p->token_serial);
    fixed_text(info.model, 16, p->token_model);
    return 0;
}

static int ensure_login(pool_t *p, const pool_options_t *o, pool_error_t *e) {
    CK_SESSION_INFO info;
    CK_RV rv = p->f->C_GetSessionInfo(p->sessions[0], &info);
    if (rv != CKR_OK) {
        set_rv_error(e, rv, "C_GetSessionInfo");
        return -1;
    }
    if (info.state == CKS_RO_USER_FUNCTIONS || info.state == CKS_RW_USER_FUNCTIONS) return 0;
    if (!o->pin) {
        set_error(e, CKR_USER_NOT_LOGGED_IN, "C_GetSessionInfo",
                  "token '%s' is not logged in: log in first in this process (logins are per application)",
                  p->token_label);
        return -1;
    }
    rv = p->f->C_Login(p->sessions[0], CKU_USER, (CK_UTF8CHAR_PTR)o->pin, (CK_ULONG)o->pin_length);
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
        set_rv_error(e, rv, "C_Login");
        return -1;
    }
    return 0;
}

static int find_key(pool_t *p, const pool_options_t *o, pool_error_t *e) {
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[3];
    CK_ULONG n = 0;
    tmpl[n].type = CKA_CLASS;
    tmpl[n].pValue = &cls;
    tmpl[n++].ulValueLen = sizeof cls;
    if (o->key_id) {
        tmpl[n].type = CKA_ID;
        tmpl[n].pValue = (CK_VOID_PTR)o->key_id;
        tmpl[n++].ulValueLen = (CK_ULONG)o->key_id_length;
    }
    if (o->key_label) {
        tmpl[n].type = CKA_LABEL;
        tmpl[n].pValue = (CK_VOID_PTR)o->key_label;
        tmpl[n++].ulValueLen = (CK_ULONG)strlen(o->key_label);
    }
    CK_SESSION_HANDLE s = p->sessions[0];
    CK_OBJECT_HANDLE found[2];
    CK_ULONG count = 0;
    CK_RV rv = p->f->C_FindObjectsInit(s, tmpl, n);
    if (rv != CKR_OK) {
        set_rv_error(e, rv, "C_FindObjectsInit");
        return -1;
    }
    rv = p->f->C_FindObjects(s, found, 2, &count);
    p->f->C_FindObjectsFinal(s);
    if (rv != CKR_OK) {
        set_rv_error(e, rv, "C_FindObjects");
        return -1;
    }
    if (count != 1) {
        set_error(e, CKR_KEY_HANDLE_INVALID, "C_FindObjects",
                  count ? "several private keys on token '%s' match: give keyId or keyLabel"
                        : "no private key on token '%s' matches the given keyId/keyLabel",
                  p->token_label);
        return -1;
    }
    p->key = found[0];

    CK_KEY_TYPE type = 0;
    CK_ATTRIBUTE attrs[2] = {{CKA_KEY_TYPE, &type, sizeof type}, {CKA_MODULUS, NULL, 0}};
    rv = p->f->C_GetAttributeValue(s, p->key, attrs, 2);
    if (rv != CKR_OK && rv != CKR_ATTRIBUTE_SENSITIVE && rv != CKR_ATTRIBUTE_TYPE_INVALID) {
        set_rv_error(e, rv, "C_GetAttributeValue");
        return -1;
    }
    if (attrs[0].ulValueLen == sizeof type && type != CKK_RSA) {
        set_error(e, CKR_KEY_TYPE_INCONSISTENT, "C_GetAttributeValue", "the private key on token '%s' is not RSA",
                  p->token_label);
        return -1;
    }
    CK_ULONG modulus_length = attrs[1].ulValueLen;
    if (modulus_length == CK_UNAVAILABLE_INFORMATION || modulus_length == 0 || modulus_length > 1024) {
        set_error(e, CKR_KEY_TYPE_INCONSISTENT, "C_GetAttributeValue",
                  "cannot read the modulus of the private key on token '%s'", p->token_label);
        return -1;
    }
    unsigned char *modulus = malloc(modulus_length);
    CK_ATTRIBUTE m = {CKA_MODULUS, modulus, modulus_length};
    rv = modulus ? p->f->C_GetAttributeValue(s, p->key, &m, 1) : CKR_HOST_MEMORY;
    if (rv != CKR_OK) {
        free(modulus);
        set_rv_error(e, rv, "C_GetAttributeValue");
        return -1;
    }
    size_t skip = 0;
    while (skip < modulus_length && modulus[skip] == 0) skip++;
    CK_ULONG bits = 0;
    if (skip < modulus_length) {
        bits = (CK_ULONG)(modulus_length - skip - 1) * 8;
        for (unsigned char top = modulus[skip]; top; top >>= 1) bits++;
    }
    free(modulus);
    p->key_bits = bits;
    p->signature_length = (bits + 7) / 8;
    return 0;
}

static void close_sessions(pool_t *p) {
    for (size_t i = 0; i < p->n_sessions; i++) p->f->C_CloseSession(p->sessions[i]);
    p->n_sessions = 0;
}

pool_t *pool_open(const pool_options_t *o, pool_error_t *e) {
    memset(e, 0, sizeof *e);
    if (o->sessions < 1 || o->sessions > POOL_MAX_SESSIONS) {
        set_error(e, CKR_ARGUMENTS_BAD, "", "sessions must be 1..%d", POOL_MAX_SESSIONS);
        return NULL;
    }
    pool_t *p = calloc(1, sizeof *p);
    if (!p) {
        set_error(e, CKR_HOST_MEMORY, "", "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->mutex, NULL);
    pthread_mutex_init(&p->join_lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->f = module_get(o->module_path, e);
    if (!p->f || find_slot(p, o, e) != 0) goto fail;
    for (size_t i = 0; i < o->sessions; i++) {
        CK_RV rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION, NULL, NULL, &p->sessions[i]);
        if (rv != CKR_OK) {
            set_rv_error(e, rv, "C_OpenSession");
            goto fail;
        }
        p->n_sessions++;
    }
    if (ensure_login(p, o, e) != 0 || find_key(p, o, e) != 0) goto fail;
    return p;
fail:
    if (p->f) close_sessions(p);
    pthread_mutex_destroy(&p->mutex);
    pthread_mutex_destroy(&p->join_lock);
    pthread_cond_destroy(&p->wake);
    free(p);
    return NULL;
}

/* One item: C_SignInit + C_Sign on this worker's own session. */
static void sign_item(pool_t *p, CK_SESSION_HANDLE s, batch_t *b, size_t i) {
    CK_MECHANISM mechanism = {b->mechanism, NULL, 0};
    CK_RV rv = p->f->C_SignInit(s, &mechanism, p->key);
    if (rv == CKR_OK) {
        CK_ULONG length = p->signature_length;
        rv = p->f->C_Sign(s, b->input + b->input_offset[i], (CK_ULONG)b->input_length[i],
                          b->output + i * p->signature_length, &length);
        if (rv == CKR_BUFFER_TOO_SMALL) {
            /* Cannot happen for RSA (the signature is the modulus' size); end the operation all the same. */
            unsigned char scratch[1024];
            CK_ULONG scratch_length = sizeof scratch;
            p->f->C_Sign(s, b->input + b->input_offset[i], (CK_ULONG)b->input_length[i], scratch, &scratch_length);
            length = 0;
        }
        b->output_length[i] = rv == CKR_OK ? length : 0;
    }
    b->rv[i] = rv;
}

static void *worker(void *arg) {
    pool_t *p = ((void **)arg)[0];
    CK_SESSION_HANDLE s = (CK_SESSION_HANDLE)(size_t)((void **)arg)[1];
    free(arg);
    pthread_mutex_lock(&p->mutex);
    for (;;) {
        while (!p->queue_head && !p->closing && !p->aborting) pthread_cond_wait(&p->wake, &p->mutex);
        if (p->aborting || !p->queue_head) break;
        batch_t *b = p->queue_head;
        size_t i = b->next_item++;
        if (b->next_item == b->count) {
            p->queue_head = b->next;
            if (!p->queue_head) p->queue_tail = NULL;
        }
        pthread_mutex_unlock(&p->mutex);
        sign_item(p, s, b, i);
        pthread_mutex_lock(&p->mutex);
        if (++b->done == b->count) {
            pthread_mutex_unlock(&p->mutex);
            p->notify(p, b);
            pthread_mutex_lock(&p->mutex);
        }
    }
    pthread_mutex_unlock(&p->mutex);
    p->f->C_CloseSession(s);
    pthread_mutex_lock(&p->mutex);
    int last = --p->threads_alive == 0;
    pthread_mutex_unlock(&p->mutex);
    if (last) p->notify(p, NULL);
    return NULL;
}

int pool_start(pool_t *p, pool_notify_fn notify, void *js) {
    p->notify = notify;
    p->js = js;
    live_add(p);
    pthread_mutex_lock(&p->mutex);
    int err = 0;
    for (size_t i = 0; i < p->n_sessions; i++) {
        void **arg = malloc(2 * sizeof *arg);
        if (!arg) {
            err = ENOMEM;
            break;
        }
        arg[0] = p;
        arg[1] = (void *)(size_t)p->sessions[i];
        err = pthread_create(&p->threads[i], NULL, worker, arg);
        if (err) {
            free(arg);
            break;
        }
        p->threads_started++;
        p->threads_alive++;
    }
    if (err) {
        /* Sessions without a worker are closed here; started workers close theirs when told to leave. */
        for (size_t i = p->threads_started; i < p->n_sessions; i++) p->f->C_CloseSession(p->sessions[i]);
        p->aborting = 1;
        pthread_cond_broadcast(&p->wake);
    }
    pthread_mutex_unlock(&p->mutex);
    return err;
}

int pool_submit(pool_t *p, batch_t *b) {
    pthread_mutex_lock(&p->mutex);
    if (p->closing || p->aborting) {
        pthread_mutex_unlock(&p->mutex);
        return -1;
    }
    b->pool = p;
    b->next = NULL;
    if (p->queue_tail) p->queue_tail->next = b;
    else p->queue_head = b;
    p->queue_tail = b;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mutex);
    return 0;
}

void pool_request_close(pool_t *p) {
    pthread_mutex_lock(&p->mutex);
    p->closing = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mutex);
}

void pool_request_abort(pool_t *p) {
    pthread_mutex_lock(&p->mutex);
    p->closing = 1;
    p->aborting = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mutex);
}

void pool_join(pool_t *p) {
    /* Called from the JS thread and from exit(): whoever comes first joins, the other finds nothing to do. */
    pthread_mutex_lock(&p->join_lock);
    for (size_t i = 0; i < p->threads_started; i++) pthread_join(p->threads[i], NULL);
    p->threads_started = 0;
    pthread_mutex_unlock(&p->join_lock);
}

void batch_free_buffers(batch_t *b) {
    free(b->input);
    free(b->input_offset);
    free(b->input_length);
    free(b->output);
    free(b->output_length);
    free(b->rv);
    b->input = b->output = NULL;
    b->input_offset = b->input_length = NULL;
    b->output_length = NULL;
    b->rv = NULL;
}

void pool_free(pool_t *p, void (*free_batch)(batch_t *)) {
    live_remove(p);
    for (batch_t *b = p->queue_head, *next; b; b = next) {
        next = b->next;
        free_batch(b);
    }
    pthread_mutex_destroy(&p->mutex);
    pthread_mutex_destroy(&p->join_lock);
    pthread_cond_destroy(&p->wake);
    free(p);
}
