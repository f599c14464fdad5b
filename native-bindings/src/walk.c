/*
 * The batch's walk of the source folder in C, for the native file engine: the same files, in the same order, with
 * the same problems as walkFileBatches() in src/pipeline/walk.ts, handed to JavaScript a chunk at a time as one
 * string of names (the form signFiles takes), so that a file costs no JavaScript object at all. It also claims
 * each output name (lower-cased: names that differ only by letter case would replace each other on a TFTP server
 * that ignores case) and counts the files for the ETA off the JS thread. Without filters (--include/--exclude)
 * and outside a resume only: those keep the JavaScript walk (src/pipeline/native-walk.ts decides).
 *
 *   walkOpen(root, skipDirs: string[]) -> handle
 *   walkNext(handle, max) -> { names, count, xml: Uint8Array, others?: string[], collisions?: string[],
 *                              problems?: Array<[rel, kind, errno]>, done }
 *     names: "rel\0" per file (relative to root, `/`-separated), count of them; xml[i] 1 when the name ends in .xml.
 *     others: names with a byte outside ASCII (or not UTF-8), unclaimed: JavaScript lower-cases them as it does
 *     every name (String.prototype.toLowerCase) and claims them with walkClaim, so the two never disagree.
 *     collisions: names whose output another file of this walk already claimed (not in names).
 *     problems: kind 0 a sub-folder that cannot be read (rel ends in `/`), 1 a FIFO, socket or device, 2 a link
 *     whose target is gone; errno for kind 0.
 *   walkClaim(handle, lowered) -> boolean   claims one output name already lower-cased; false when taken.
 *   walkClose(handle)
 *   countFiles(root, skipDirs) -> Promise<number>   what the walk would hand out, on libuv's thread pool.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "walk.h"

#define TEMP_MARKER ".openctl-tmp-"
#define WALK_MAGIC 0x6f77616bu /* "owak" */

enum { KIND_FILE, KIND_DIR, KIND_OTHER, KIND_SPECIAL, KIND_DANGLING };
enum { PROBLEM_UNREADABLE = 0, PROBLEM_SPECIAL = 1, PROBLEM_DANGLING = 2 };

typedef struct {
    DIR *dir;
    char *abs, *rel;
} frame_t;

typedef struct {
    uint32_t magic;
    frame_t *stack;
    size_t depth, stack_cap;
    char **skip;
    size_t n_skip;
    /* Claimed output names (lower-cased), open addressing: the names themselves, so no two names ever share a
     * claim by a hash collision. */
    char **claims;
    uint64_t *claim_hash;
    size_t slots, used;
    int claims_failed;
} walker_t;

typedef struct {
    char *data;
    size_t length, cap;
} buf_t;

static int buf_add(buf_t *b, const char *data, size_t n) {
    if (b->length + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->length + n) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) return -1;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->length, data, n);
    b->length += n;
    return 0;
}

static char *join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *out = malloc(la + lb + 2);
    if (!out) return NULL;
    memcpy(out, a, la);
    size_t at = la;
    if (la && a[la - 1] != '/') out[at++] = '/';
    memcpy(out + at, b, lb + 1);
    return out;
}

/* isNeverSigned() of walk.ts: signed outputs and temp files of an interrupted write. */
static int never_signed(const char *name) {
    size_t n = strlen(name);
    return (n >= 4 && !memcmp(name + n - 4, ".sgn", 4)) || !strncmp(name, TEMP_MARKER, sizeof TEMP_MARKER - 1);
}

/* mustBeXml() of file-checks.ts: /\.xml$/i. */
static int ends_in_xml(const char *name) {
    size_t n = strlen(name);
    return n >= 4 && name[n - 4] == '.' && (name[n - 3] | 0x20) == 'x' && (name[n - 2] | 0x20) == 'm' && (name[n - 1] | 0x20) == 'l';
}

static int ascii(const char *z) {
    for (; *z; z++)
        if ((unsigned char)*z >= 0x80) return 0;
    return 1;
}

static int kind_of_mode(mode_t m) {
    if (S_ISREG(m)) return KIND_FILE;
    if (S_ISDIR(m)) return KIND_DIR;
    return S_ISFIFO(m) || S_ISSOCK(m) || S_ISCHR(m) || S_ISBLK(m) ? KIND_SPECIAL : KIND_OTHER;
}

/* entryKind() of walk.ts: links to files are followed, links to folders are not (no loops). */
static int kind_of(const struct dirent *e, const char *abs) {
    unsigned char t = e->d_type;
    struct stat st;
    if (t == DT_UNKNOWN) {
        if (lstat(abs, &st) != 0) return KIND_OTHER;
        if (!S_ISLNK(st.st_mode)) return kind_of_mode(st.st_mode);
        t = DT_LNK;
    }
    if (t == DT_REG) return KIND_FILE;
    if (t == DT_DIR) return KIND_DIR;
    if (t == DT_LNK) {
        if (stat(abs, &st) != 0) return KIND_DANGLING;
        int k = kind_of_mode(st.st_mode);
        return k == KIND_DIR ? KIND_OTHER : k;
    }
    return t == DT_FIFO || t == DT_SOCK || t == DT_CHR || t == DT_BLK ? KIND_SPECIAL : KIND_OTHER;
}

static int push(walker_t *w, const char *abs, const char *rel) {
    if (w->depth == w->stack_cap) {
        size_t cap = w->stack_cap ? 2 * w->stack_cap : 16;
        frame_t *grown = realloc(w->stack, cap * sizeof *grown);
        if (!grown) return ENOMEM;
        w->stack = grown;
        w->stack_cap = cap;
    }
    DIR *dir = opendir(abs);
    if (!dir) return errno ? errno : EIO;
    frame_t *f = &w->stack[w->depth];
    f->dir = dir;
    f->abs = strdup(abs);
    f->rel = strdup(rel);
    if (!f->abs || !f->rel) {
        closedir(dir);
        free(f->abs);
        free(f->rel);
        return ENOMEM;
    }
    w->depth++;
    return 0;
}

static void pop(walker_t *w) {
    frame_t *f = &w->stack[--w->depth];
    closedir(f->dir);
    free(f->abs);
    free(f->rel);
}

static int skipped_dir(const walker_t *w, const char *abs) {
    for (size_t i = 0; i < w->n_skip; i++)
        if (!strcmp(w->skip[i], abs)) return 1;
    return 0;
}

static uint64_t fnv1a(const char *z) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *z; z++) h = (h ^ (unsigned char)*z) * 0x100000001b3ull;
    return h;
}

/* 1 claimed, 0 taken already, -1 out of memory. `lowered` is copied. */
static int claim(walker_t *w, const char *lowered) {
    if (2 * (w->used + 1) > w->slots) {
        size_t slots = w->slots ? 2 * w->slots : 4096;
        char **keys = calloc(slots, sizeof *keys);
        uint64_t *hashes = calloc(slots, sizeof *hashes);
        if (!keys || !hashes) {
            free(keys);
            free(hashes);
            return -1;
        }
        for (size_t i = 0; i < w->slots; i++) {
            if (!w->claims[i]) continue;
            size_t j = w->claim_hash[i] & (slots - 1);
            while (keys[j]) j = (j + 1) & (slots - 1);
            keys[j] = w->claims[i];
            hashes[j] = w->claim_hash[i];
        }
        free(w->claims);
        free(w->claim_hash);
        w->claims = keys;
        w->claim_hash = hashes;
        w->slots = slots;
    }
    uint64_t h = fnv1a(lowered);
    size_t j = h & (w->slots - 1);
    for (; w->claims[j]; j = (j + 1) & (w->slots - 1))
        if (w->claim_hash[j] == h && !strcmp(w->claims[j], lowered)) return 0;
    char *copy = strdup(lowered);
    if (!copy) return -1;
    w->claims[j] = copy;
    w->claim_hash[j] = h;
    w->used++;
    return 1;
}

/* What one step of the walk found: a file (rel set), a problem, or the end. */
typedef struct {
    int kind; /* KIND_FILE, or -1 for a problem (problem, err set), or -2 at the end */
    int problem, err;
    char *rel; /* malloc'ed, the caller's */
} step_t;

/* The next file or problem, depth first, in the order readdir gives; what is never signed is passed over. */
static int next_step(walker_t *w, step_t *out) {
    while (w->depth > 0) {
        frame_t *top = &w->stack[w->depth - 1];
        errno = 0;
        struct dirent *e = readdir(top->dir);
        if (!e) {
            int err = errno;
            char *rel = err ? (*top->rel ? join(top->rel, "") : strdup("")) : NULL;
            pop(w);
            if (err) {
                /* A folder that fails part way: its files are failures, retried by a later run (as unreadable). */
                out->kind = -1;
                out->problem = PROBLEM_UNREADABLE;
                out->err = err;
                out->rel = rel;
                return rel ? 0 : ENOMEM;
            }
            continue;
        }
        const char *name = e->d_name;
        if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]))) continue;
        char *abs = join(top->abs, name);
        char *rel = *top->rel ? join(top->rel, name) : strdup(name);
        if (!abs || !rel) {
            free(abs);
            free(rel);
            return ENOMEM;
        }
        int kind = kind_of(e, abs);
        if (kind == KIND_DIR) {
            int err = skipped_dir(w, abs) ? 0 : push(w, abs, rel);
            free(abs);
            if (err == ENOMEM) {
                free(rel);
                return ENOMEM;
            }
            if (err) {
                char *slashed = join(rel, "");
                free(rel);
                if (!slashed) return ENOMEM;
                out->kind = -1;
                out->problem = PROBLEM_UNREADABLE;
                out->err = err;
                out->rel = slashed;
                return 0;
            }
            free(rel);
            continue;
        }
        free(abs);
        if ((kind == KIND_FILE || kind == KIND_SPECIAL || kind == KIND_DANGLING) && !never_signed(name)) {
            out->kind = kind == KIND_FILE ? KIND_FILE : -1;
            out->problem = kind == KIND_SPECIAL ? PROBLEM_SPECIAL : PROBLEM_DANGLING;
            out->err = 0;
            out->rel = rel;
            return 0;
        }
        free(rel);
    }
    out->kind = -2;
    out->rel = NULL;
    return 0;
}

static void free_walker(walker_t *w) {
    while (w->depth > 0) pop(w);
    free(w->stack);
    for (size_t i = 0; i < w->n_skip; i++) free(w->skip[i]);
    free(w->skip);
    for (size_t i = 0; i < w->slots; i++) free(w->claims[i]);
    free(w->claims);
    free(w->claim_hash);
    w->magic = 0;
    free(w);
}

/* A walker over `root` (absolute, as path.resolve gives it), never entering the folders of `skip` (which it owns
 * from here, also when it fails). */
static walker_t *walker_open(const char *root, char **skip, size_t n_skip, int *err) {
    walker_t *w = calloc(1, sizeof *w);
    if (!w) {
        for (size_t i = 0; i < n_skip; i++) free(skip[i]);
        free(skip);
        *err = ENOMEM;
        return NULL;
    }
    w->magic = WALK_MAGIC;
    w->skip = skip;
    w->n_skip = n_skip;
    *err = push(w, root, "");
    if (*err) {
        free_walker(w);
        return NULL;
    }
    return w;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* N-API                                                                                                        */

static napi_value fail(napi_env env, const char *code, const char *message) {
    napi_throw_error(env, code, message);
    return NULL;
}

static char *string_arg(napi_env env, napi_value v) {
    size_t n = 0;
    if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) return NULL;
    char *out = malloc(n + 1);
    if (out) napi_get_value_string_utf8(env, v, out, n + 1, &n);
    return out;
}

/* skipDirs: an array of strings; NULL on a bad argument (with *n == (size_t)-1). */
static char **string_array(napi_env env, napi_value v, size_t *n) {
    bool is_array = false;
    uint32_t length = 0;
    *n = (size_t)-1;
    if (napi_is_array(env, v, &is_array) != napi_ok || !is_array || napi_get_array_length(env, v, &length) != napi_ok) return NULL;
    char **out = calloc(length ? length : 1, sizeof *out);
    if (!out) return NULL;
    for (uint32_t i = 0; i < length; i++) {
        napi_value item;
        napi_get_element(env, v, i, &item);
        if (!(out[i] = string_arg(env, item))) {
            for (uint32_t j = 0; j < i; j++) free(out[j]);
            free(out);
            return NULL;
        }
    }
    *n = length;
    return out;
}

static void finalize_walker(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    walker_t **box = data;
    if (*box) free_walker(*box);
    free(box);
}

static walker_t **box_of(napi_env env, napi_value v) {
    walker_t **box = NULL;
    napi_valuetype t;
    napi_typeof(env, v, &t);
    if (t != napi_external || napi_get_value_external(env, v, (void **)&box) != napi_ok || !box) return NULL;
    return box;
}

static napi_value js_walk_open(napi_env env, napi_callback_info info) {
    size_t argc = 2;
    napi_value argv[2], handle;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2)
        return fail(env, "ERR_INVALID_ARG_TYPE", "walkOpen(root, skipDirs)");
    char *root = string_arg(env, argv[0]);
    size_t n_skip;
    char **skip = string_array(env, argv[1], &n_skip);
    if (!root || !skip) {
        free(root);
        free(skip);
        return fail(env, "ERR_INVALID_ARG_TYPE", "walkOpen(root: string, skipDirs: string[])");
    }
    int err = 0;
    walker_t *w = walker_open(root, skip, n_skip, &err);
    free(root);
    if (!w) return fail(env, err == ENOMEM ? "ENOMEM" : "ERR_WALK_OPEN", strerror(err));
    walker_t **box = malloc(sizeof *box);
    if (!box || napi_create_external(env, box, finalize_walker, NULL, &handle) != napi_ok) {
        free(box);
        free_walker(w);
        return fail(env, "ENOMEM", "out of memory");
    }
    *box = w;
    return handle;
}

static void set_strings(napi_env env, napi_value result, const char *name, buf_t *b, uint32_t count) {
    if (!count) return;
    napi_value array, item;
    napi_create_array_with_length(env, count, &array);
    const char *p = b->data;
    for (uint32_t i = 0; i < count; i++) {
        size_t n = strlen(p);
        napi_create_string_utf8(env, p, n, &item);
        napi_set_element(env, array, i, item);
        p += n + 1;
    }
    napi_set_named_property(env, result, name, array);
}

static napi_value js_walk_next(napi_env env, napi_callback_info info) {
    size_t argc = 2;
    napi_value argv[2], result, value;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    walker_t **box = argc >= 2 ? box_of(env, argv[0]) : NULL;
    double max_d = 0;
    if (!box || napi_get_value_double(env, argv[1], &max_d) != napi_ok || max_d < 1)
        return fail(env, "ERR_INVALID_ARG_TYPE", "walkNext(handle, max >= 1)");
    walker_t *w = *box;
    if (!w) return fail(env, "ERR_WALK_CLOSED", "the walk is closed");
    size_t max = (size_t)max_d;
    buf_t names = {0}, others = {0}, collisions = {0}, problems = {0};
    uint8_t *xml = malloc(max);
    uint32_t count = 0, n_others = 0, n_collisions = 0, n_problems = 0;
    int32_t problem_info[2 * 64];
    int done = 0, err = xml ? 0 : ENOMEM;
    char lowered[4096];
    /* A chunk ends at `max` files, or early with 64 problems (their kinds travel in a fixed array). */
    while (!err && count < max && n_problems < 64) {
        step_t step;
        if ((err = next_step(w, &step))) break;
        if (step.kind == -2) {
            done = 1;
            break;
        }
        size_t n = strlen(step.rel);
        if (step.kind == -1) {
            problem_info[2 * n_problems] = step.problem;
            problem_info[2 * n_problems + 1] = step.err;
            n_problems++;
            err = buf_add(&problems, step.rel, n + 1) ? ENOMEM : 0;
        } else if (!ascii(step.rel) || n >= sizeof lowered) {
            n_others++;
            err = buf_add(&others, step.rel, n + 1) ? ENOMEM : 0;
        } else {
            for (size_t i = 0; i <= n; i++) lowered[i] = (char)(step.rel[i] >= 'A' && step.rel[i] <= 'Z' ? step.rel[i] | 0x20 : step.rel[i]);
            int claimed = claim(w, lowered);
            if (claimed < 0) err = ENOMEM;
            else if (claimed == 0) {
                n_collisions++;
                err = buf_add(&collisions, step.rel, n + 1) ? ENOMEM : 0;
            } else {
                xml[count++] = (uint8_t)ends_in_xml(step.rel);
                err = buf_add(&names, step.rel, n + 1) ? ENOMEM : 0;
            }
        }
        free(step.rel);
    }
    if (err) {
        free(xml);
        free(names.data);
        free(others.data);
        free(collisions.data);
        free(problems.data);
        return fail(env, "ENOMEM", "out of memory while walking the source folder");
    }
    napi_create_object(env, &result);
    napi_create_string_utf8(env, names.length ? names.data : "", names.length, &value);
    napi_set_named_property(env, result, "names", value);
    napi_create_uint32(env, count, &value);
    napi_set_named_property(env, result, "count", value);
    napi_value array_buffer;
    void *bytes;
    napi_create_arraybuffer(env, count, &bytes, &array_buffer);
    if (count) memcpy(bytes, xml, count);
    napi_create_typedarray(env, napi_uint8_array, count, array_buffer, 0, &value);
    napi_set_named_property(env, result, "xml", value);
    set_strings(env, result, "others", &others, n_others);
    set_strings(env, result, "collisions", &collisions, n_collisions);
    if (n_problems) {
        napi_value array, triple, item;
        napi_create_array_with_length(env, n_problems, &array);
        const char *p = problems.data;
        for (uint32_t i = 0; i < n_problems; i++) {
            size_t n = strlen(p);
            napi_create_array_with_length(env, 3, &triple);
            napi_create_string_utf8(env, p, n, &item);
            napi_set_element(env, triple, 0, item);
            napi_create_int32(env, problem_info[2 * i], &item);
            napi_set_element(env, triple, 1, item);
            napi_create_int32(env, problem_info[2 * i + 1], &item);
            napi_set_element(env, triple, 2, item);
            napi_set_element(env, array, i, triple);
            p += n + 1;
        }
        napi_set_named_property(env, result, "problems", array);
    }
    napi_get_boolean(env, done, &value);
    napi_set_named_property(env, result, "done", value);
    free(xml);
    free(names.data);
    free(others.data);
    free(collisions.data);
    free(problems.data);
    return result;
}

static napi_value js_walk_claim(napi_env env, napi_callback_info info) {
    size_t argc = 2;
    napi_value argv[2], value;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    walker_t **box = argc >= 2 ? box_of(env, argv[0]) : NULL;
    char *lowered = box ? string_arg(env, argv[1]) : NULL;
    if (!box || !*box || !lowered) {
        free(lowered);
        return fail(env, "ERR_INVALID_ARG_TYPE", "walkClaim(handle, lowered: string) on an open walk");
    }
    int claimed = claim(*box, lowered);
    free(lowered);
    if (claimed < 0) return fail(env, "ENOMEM", "out of memory");
    napi_get_boolean(env, claimed == 1, &value);
    return value;
}

static napi_value js_walk_close(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1], undefined;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    napi_get_undefined(env, &undefined);
    walker_t **box = argc >= 1 ? box_of(env, argv[0]) : NULL;
    if (box && *box) {
        free_walker(*box);
        *box = NULL;
    }
    return undefined;
}

/* ---- countFiles: the same walk, counting, on libuv's thread pool */

typedef struct {
    char *root;
    char **skip;
    size_t n_skip;
    double count;
    int err;
    napi_deferred deferred;
    napi_async_work work;
} count_t;

static void count_execute(napi_env env, void *data) {
    (void)env;
    count_t *c = data;
    walker_t *w = walker_open(c->root, c->skip, c->n_skip, &c->err);
    c->skip = NULL; /* the walker owns them now (or freed them) */
    if (!w) return;
    for (;;) {
        step_t step;
        if ((c->err = next_step(w, &step)) || step.kind == -2) break;
        if (step.kind == KIND_FILE) c->count++;
        free(step.rel);
    }
    free_walker(w);
}

static void count_complete(napi_env env, napi_status status, void *data) {
    count_t *c = data;
    napi_value value;
    if (status != napi_ok || c->err) {
        napi_value message;
        napi_create_string_utf8(env, status != napi_ok ? "cancelled" : strerror(c->err), NAPI_AUTO_LENGTH, &message);
        napi_create_error(env, NULL, message, &value);
        napi_reject_deferred(env, c->deferred, value);
    } else {
        napi_create_double(env, c->count, &value);
        napi_resolve_deferred(env, c->deferred, value);
    }
    napi_delete_async_work(env, c->work);
    if (c->skip) {
        for (size_t i = 0; i < c->n_skip; i++) free(c->skip[i]);
        free(c->skip);
    }
    free(c->root);
    free(c);
}

static napi_value js_count_files(napi_env env, napi_callback_info info) {
    size_t argc = 2;
    napi_value argv[2], promise, resource;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2)
        return fail(env, "ERR_INVALID_ARG_TYPE", "countFiles(root, skipDirs)");
    count_t *c = calloc(1, sizeof *c);
    if (!c) return fail(env, "ENOMEM", "out of memory");
    c->root = string_arg(env, argv[0]);
    c->skip = string_array(env, argv[1], &c->n_skip);
    if (!c->root || !c->skip) {
        free(c->root);
        free(c->skip);
        free(c);
        return fail(env, "ERR_INVALID_ARG_TYPE", "countFiles(root: string, skipDirs: string[])");
    }
    napi_create_string_utf8(env, "openctl-count-files", NAPI_AUTO_LENGTH, &resource);
    if (napi_create_promise(env, &c->deferred, &promise) != napi_ok ||
        napi_create_async_work(env, NULL, resource, count_execute, count_complete, c, &c->work) != napi_ok ||
        napi_queue_async_work(env, c->work) != napi_ok) {
        for (size_t i = 0; i < c->n_skip; i++) free(c->skip[i]);
        free(c->skip);
        free(c->root);
        free(c);
        return fail(env, "ERR_NATIVE", "cannot queue the count");
    }
    return promise;
}

int walk_define(napi_env env, napi_value exports) {
    napi_property_descriptor props[] = {
        {"walkOpen", NULL, js_walk_open, NULL, NULL, NULL, napi_enumerable, NULL},
        {"walkNext", NULL, js_walk_next, NULL, NULL, NULL, napi_enumerable, NULL},
        {"walkClaim", NULL, js_walk_claim, NULL, NULL, NULL, napi_enumerable, NULL},
        {"walkClose", NULL, js_walk_close, NULL, NULL, NULL, napi_enumerable, NULL},
        {"countFiles", NULL, js_count_files, NULL, NULL, NULL, napi_enumerable, NULL},
    };
    return napi_define_properties(env, exports, sizeof props / sizeof props[0], props) == napi_ok ? 0 : -1;
}
