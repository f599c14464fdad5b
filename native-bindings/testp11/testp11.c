/*
 * libopenctl-testp11.so: a TEST-ONLY PKCS#11 module. It forwards every call to a real module (SoftHSM2 by default)
 * and, as told by a control file that is re-read whenever it changes, makes the token look like a hardware eToken:
 * PIN counters and flags, a PIN pad, missing or rejected mechanisms, removal in the middle of signing.
 * Control keys are documented in native-bindings/README.md. Never ship it: it forwards a PIN from a file.
 *
 * Locking: g_lock guards configuration, state and tables; g_calls is held for reading around every forwarded call
 * and for writing while a simulated removal closes the target's sessions, so no call is inside the target while
 * its sessions are torn down. Never take g_calls while holding g_lock.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ck_names.h"

#define TP_EXPORT __attribute__((visibility("default")))
#define DEFAULT_TARGET "/usr/lib/softhsm/libsofthsm2.so"
#define MAX_LIST 64
#define MAX_SLOTS 64
#define LABEL_LEN 32

typedef struct {
    int has_slot;
    CK_SLOT_ID slot;
    char token_label[LABEL_LEN + 1];
    CK_FLAGS flags_set, flags_clear;
    int pin_locked;
    long max_pin_tries;
    char state_file[4096];
    int pinpad;
    char pinpad_pin[256];
    long pinpad_delay_ms;
    CK_MECHANISM_TYPE hidden[MAX_LIST];
    size_t n_hidden;
    CK_MECHANISM_TYPE rejected[MAX_LIST];
    size_t n_rejected;
    CK_RV reject_rv;
    long sign_delay_ms;
    long remove_at_sign;
    CK_RV removed_rv;
    int removed;
    int removal_closes_sessions;
} config_t;

typedef struct {
    CK_SESSION_HANDLE handle;
    CK_SLOT_ID slot;
} session_entry_t;

typedef struct {
    CK_SLOT_ID slot;
    char label[LABEL_LEN + 1];
    char serial[17];
} token_entry_t;

typedef struct {
    CK_SLOT_ID slot;
    int present;
} presence_t;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t g_calls = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

static CK_FUNCTION_LIST_PTR g_target;
static char g_target_path[4096];
static atomic_int g_initialized;
static int g_owns_target_init;

static config_t g_cfg;
static int g_cfg_loaded;
static struct {
    int present;
    char path[4096];
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim, ctim;
} g_stamp;

static long g_sign_count;
static long g_counting_for;
static int g_removal_triggered;

static session_entry_t *g_sessions;
static size_t g_n_sessions, g_cap_sessions;
static token_entry_t g_tokens[MAX_SLOTS]; /* label and serial per slot, read once per control file version */
static size_t g_n_tokens;
static presence_t g_presence[MAX_SLOTS];
static size_t g_n_presence;

/* ------------------------------------------------------------------------------------------------------------ */
/* Control file                                                                                                 */

static void config_defaults(config_t *c) {
    memset(c, 0, sizeof *c);
    c->reject_rv = CKR_MECHANISM_INVALID;
    c->removed_rv = CKR_DEVICE_REMOVED;
    c->removal_closes_sessions = 1;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n')) *--end = '\0';
    return s;
}

static int parse_bool(const char *v) { return strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0; }

static void warn(const char *what, const char *key, const char *value) {
    fprintf(stderr, "openctl-testp11: %s: %s=%s\n", what, key, value);
}

/* A list of constant names or numbers separated by ',', '|' or blanks. Returns the count, or -1 on a bad item. */
static long parse_list(const ck_name_t *table, char *value, CK_ULONG *out, size_t max) {
    size_t n = 0;
    for (char *save = NULL, *item = strtok_r(value, ",| \t", &save); item; item = strtok_r(NULL, ",| \t", &save)) {
        if (n == max || ck_parse(table, item, &out[n]) != 0) return -1;
        n++;
    }
    return (long)n;
}

static CK_FLAGS or_flags(const CK_ULONG *v, long n) {
    CK_FLAGS f = 0;
    for (long i = 0; i < n; i++) f |= v[i];
    return f;
}

static void apply_setting(config_t *c, const char *key, char *value) {
    CK_ULONG list[MAX_LIST];
    long n;
    if (strcmp(key, "slot") == 0) {
        char *end = NULL;
        unsigned long long id = strtoull(value, &end, 0);
        if (*value && end && *end == '\0') {
            c->has_slot = 1;
            c->slot = (CK_SLOT_ID)id;
        } else warn("bad slot", key, value);
    } else if (strcmp(key, "token_label") == 0) {
        snprintf(c->token_label, sizeof c->token_label, "%s", value);
    } else if (strcmp(key, "token_flags_set") == 0 || strcmp(key, "token_flags_clear") == 0) {
        if ((n = parse_list(ckf_names, value, list, MAX_LIST)) < 0) warn("bad flag list", key, value);
        else if (key[12] == 's') c->flags_set |= or_flags(list, n);
        else c->flags_clear |= or_flags(list, n);
    } else if (strcmp(key, "pin_count_low") == 0) {
        if (parse_bool(value)) c->flags_set |= CKF_USER_PIN_COUNT_LOW;
    } else if (strcmp(key, "pin_final_try") == 0) {
        if (parse_bool(value)) c->flags_set |= CKF_USER_PIN_FINAL_TRY;
    } else if (strcmp(key, "pin_locked") == 0) {
        c->pin_locked = parse_bool(value);
    } else if (strcmp(key, "protected_auth_path") == 0) {
        if (parse_bool(value)) c->flags_set |= CKF_PROTECTED_AUTHENTICATION_PATH;
    } else if (strcmp(key, "max_pin_tries") == 0) {
        c->max_pin_tries = strtol(value, NULL, 10);
    } else if (strcmp(key, "state_file") == 0) {
        snprintf(c->state_file, sizeof c->state_file, "%s", value);
    } else if (strcmp(key, "pinpad") == 0) {
        c->pinpad = parse_bool(value);
    } else if (strcmp(key, "pinpad_pin") == 0) {
        snprintf(c->pinpad_pin, sizeof c->pinpad_pin, "%s", value);
    } else if (strcmp(key, "pinpad_delay_ms") == 0) {
        c->pinpad_delay_ms = strtol(value, NULL, 10);
    } else if (strcmp(key, "hide_mechanisms") == 0) {
        if ((n = parse_list(ckm_names, value, c->hidden, MAX_LIST)) < 0) warn("bad mechanism list", key, value);
        else c->n_hidden = (size_t)n;
    } else if (strcmp(key, "reject_sign_mechanisms") == 0) {
        if ((n = parse_list(ckm_names, value, c->rejected, MAX_LIST)) < 0) warn("bad mechanism list", key, value);
        else c->n_rejected = (size_t)n;
    } else if (strcmp(key, "reject_sign_rv") == 0) {
        if (ck_parse(ckr_names, value, &c->reject_rv) != 0) warn("bad return value", key, value);
    } else if (strcmp(key, "sign_delay_ms") == 0) {
        c->sign_delay_ms = strtol(value, NULL, 10);
    } else if (strcmp(key, "remove_at_sign") == 0) {
        c->remove_at_sign = strtol(value, NULL, 10);
    } else if (strcmp(key, "removed_rv") == 0) {
        if (ck_parse(ckr_names, value, &c->removed_rv) != 0) warn("bad return value", key, value);
    } else if (strcmp(key, "removed") == 0) {
        c->removed = parse_bool(value);
    } else if (strcmp(key, "removal_closes_sessions") == 0) {
        c->removal_closes_sessions = parse_bool(value);
    } else {
        warn("unknown control key", key, value);
    }
}

static void parse_config(FILE *f, config_t *c) {
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        char *s = trim(line);
        if (*s == '\0' || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            warn("line without '='", s, "");
            continue;
        }
        *eq = '\0';
        apply_setting(c, trim(s), trim(eq + 1));
    }
}

static void on_config_changed(void) {
    g_n_tokens = 0;
    if (g_cfg.remove_at_sign != g_counting_for) {
        /* A new removal point (or none): the token is back and counting starts again. */
        g_counting_for = g_cfg.remove_at_sign;
        g_sign_count = 0;
        g_removal_triggered = 0;
    }
}

/* Re-reads the control file when it changed (path, inode, size or times). Caller holds g_lock. */
static void refresh_config(void) {
    const char *path = getenv("OPENCTL_TESTP11_CONTROL");
    struct stat st;
    if (!path || !*path || stat(path, &st) != 0) {
        if (!g_cfg_loaded || g_stamp.present) {
            config_defaults(&g_cfg);
            g_stamp.present = 0;
            g_cfg_loaded = 1;
            on_config_changed();
        }
        return;
    }
    if (g_cfg_loaded && g_stamp.present && strcmp(g_stamp.path, path) == 0 && g_stamp.dev == st.st_dev &&
        g_stamp.ino == st.st_ino && g_stamp.size == st.st_size && g_stamp.mtim.tv_sec == st.st_mtim.tv_sec &&
        g_stamp.mtim.tv_nsec == st.st_mtim.tv_nsec && g_stamp.ctim.tv_sec == st.st_ctim.tv_sec &&
        g_stamp.ctim.tv_nsec == st.st_ctim.tv_nsec)
        return;
    config_t c;
    config_defaults(&c);
    FILE *f = fopen(path, "r");
    if (f) {
        parse_config(f, &c);
        fclose(f);
    }
    g_cfg = c;
    g_cfg_loaded = 1;
    g_stamp.present = 1;
    snprintf(g_stamp.path, sizeof g_stamp.path, "%s", path);
    g_stamp.dev = st.st_dev;
    g_stamp.ino = st.st_ino;
    g_stamp.size = st.st_size;
    g_stamp.mtim = st.st_mtim;
    g_stamp.ctim = st.st_ctim;
    on_config_changed();
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Scope, sessions, removal                                                                                     */

static void fixed_text(const CK_UTF8CHAR *raw, size_t width, char *out) {
    memcpy(out, raw, width);
    out[width] = '\0';
    for (size_t i = width; i > 0 && (out[i - 1] == ' ' || out[i - 1] == '\0'); i--) out[i - 1] = '\0';
}

/* The token in a slot as the target reports it (cached). NULL when the target has none. Holds g_lock. */
static const token_entry_t *token_of(CK_SLOT_ID slot) {
    for (size_t i = 0; i < g_n_tokens; i++)
        if (g_tokens[i].slot == slot) return &g_tokens[i];
    CK_TOKEN_INFO info;
    if (g_target->C_GetTokenInfo(slot, &info) != CKR_OK) return NULL;
    /* An empty slot may get a token later in this process (C_InitToken): only initialised tokens are cached. */
    static token_entry_t uncached;
    int cache = (info.flags & CKF_TOKEN_INITIALIZED) && g_n_tokens < MAX_SLOTS;
    token_entry_t *t = cache ? &g_tokens[g_n_tokens++] : &uncached;
    t->slot = slot;
    fixed_text(info.label, LABEL_LEN, t->label);
    fixed_text(info.serialNumber, 16, t->serial);
    return t;
}

/* Caller holds g_lock. */
static int in_scope(CK_SLOT_ID slot) {
    if (g_cfg.has_slot && slot != g_cfg.slot) return 0;
    if (!g_cfg.token_label[0]) return 1;
    const token_entry_t *t = token_of(slot);
    return t && strcmp(t->label, g_cfg.token_label) == 0;
}

/* Caller holds g_lock. */
static int is_removed(CK_SLOT_ID slot) { return (g_cfg.removed || g_removal_triggered) && in_scope(slot); }

static void session_add(CK_SESSION_HANDLE h, CK_SLOT_ID slot) {
    if (g_n_sessions == g_cap_sessions) {
        size_t cap = g_cap_sessions ? g_cap_sessions * 2 : 64;
        session_entry_t *grown = realloc(g_sessions, cap * sizeof *grown);
        if (!grown) return;
        g_sessions = grown;
        g_cap_sessions = cap;
    }
    g_sessions[g_n_sessions].handle = h;
    g_sessions[g_n_sessions].slot = slot;
    g_n_sessions++;
}

static void session_remove_where(int by_slot, CK_ULONG key) {
    size_t w = 0;
    for (size_t r = 0; r < g_n_sessions; r++) {
        int match = by_slot ? g_sessions[r].slot == key : g_sessions[r].handle == key;
        if (!match) g_sessions[w++] = g_sessions[r];
    }
    g_n_sessions = w;
}

/* The session's slot; falls back to asking the target for sessions opened before we saw them. Holds g_lock. */
static int session_slot(CK_SESSION_HANDLE h, CK_SLOT_ID *slot) {
    for (size_t i = 0; i < g_n_sessions; i++) {
        if (g_sessions[i].handle == h) {
            *slot = g_sessions[i].slot;
            return 1;
        }
    }
    CK_SESSION_INFO info;
    if (g_target->C_GetSessionInfo(h, &info) != CKR_OK) return 0;
    *slot = info.slotID;
    return 1;
}

/* CKR_OK when a call on this session may go to the target, else the removal's return value. Holds g_lock. */
static CK_RV session_gate_locked(CK_SESSION_HANDLE h, CK_SLOT_ID *slot_out, int *scoped_out) {
    CK_SLOT_ID slot = 0;
    int known = session_slot(h, &slot);
    if (slot_out) *slot_out = slot;
    if (scoped_out) *scoped_out = known && in_scope(slot);
    if (known ? is_removed(slot) : (g_cfg.removed || g_removal_triggered)) return g_cfg.removed_rv;
    return CKR_OK;
}

static CK_RV session_gate(CK_SESSION_HANDLE h) {
    pthread_mutex_lock(&g_lock);
    refresh_config();
    CK_RV rv = session_gate_locked(h, NULL, NULL);
    pthread_mutex_unlock(&g_lock);
    return rv;
}

static int slot_removed(CK_SLOT_ID slot) {
    pthread_mutex_lock(&g_lock);
    refresh_config();
    int removed = is_removed(slot);
    pthread_mutex_unlock(&g_lock);
    return removed;
}

/* Fetches the target's slot list into a malloc'ed array. */
static CK_RV target_slots(CK_BBOOL present, CK_SLOT_ID **out, CK_ULONG *count) {
    for (int attempt = 0; attempt < 3; attempt++) {
        CK_ULONG n = 0;
        CK_RV rv = g_target->C_GetSlotList(present, NULL, &n);
        if (rv != CKR_OK) return rv;
        CK_SLOT_ID *slots = calloc(n ? n : 1, sizeof *slots);
        if (!slots) return CKR_HOST_MEMORY;
        rv = g_target->C_GetSlotList(present, slots, &n);
        if (rv == CKR_OK) {
            *out = slots;
            *count = n;
            return CKR_OK;
        }
        free(slots);
        if (rv != CKR_BUFFER_TOO_SMALL) return rv;
    }
    return CKR_GENERAL_ERROR;
}

/* The token is pulled out: every session on the removed slots dies, as on real hardware (the login goes too). */
static void simulate_removal(void) {
    pthread_rwlock_wrlock(&g_calls);
    CK_SLOT_ID *slots = NULL;
    CK_ULONG n = 0;
    if (target_slots(CK_FALSE, &slots, &n) == CKR_OK) {
        for (CK_ULONG i = 0; i < n; i++) {
            pthread_mutex_lock(&g_lock);
            int removed = is_removed(slots[i]);
            if (removed) session_remove_where(1, slots[i]);
            pthread_mutex_unlock(&g_lock);
            if (removed) g_target->C_CloseAllSessions(slots[i]);
        }
        free(slots);
    }
    pthread_rwlock_unlock(&g_calls);
}

/* Copies `n` items out under the PKCS#11 two-call convention. */
static CK_RV copy_out(const CK_ULONG *items, CK_ULONG n, CK_ULONG_PTR dest, CK_ULONG_PTR count) {
    if (dest == NULL) {
        *count = n;
        return CKR_OK;
    }
    if (*count < n) {
        *count = n;
        return CKR_BUFFER_TOO_SMALL;
    }
    memcpy(dest, items, n * sizeof *items);
    *count = n;
    return CKR_OK;
}

static int contains(const CK_ULONG *list, size_t n, CK_ULONG value) {
    for (size_t i = 0; i < n; i++)
        if (list[i] == value) return 1;
    return 0;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* The simulated PIN counter, persisted next to the control file so it survives the process.                   */

static void state_path(char *out, size_t size) {
    if (g_cfg.state_file[0]) snprintf(out, size, "%s", g_cfg.state_file);
    else snprintf(out, size, "%s.state", g_stamp.present ? g_stamp.path : "/tmp/openctl-testp11");
}

/* The counter is kept per token serial: SoftHSM numbers its slots differently in each process. */
static void tries_key(CK_SLOT_ID slot, char *key, size_t size) {
    const token_entry_t *t = token_of(slot);
    snprintf(key, size, "pin_tries_left.%s=", t && t->serial[0] ? t->serial : "unknown");
}

/* Holds g_lock. */
static long tries_left(CK_SLOT_ID slot) {
    char path[4200], line[512], key[64];
    long generic = -1, specific = -1;
    state_path(path, sizeof path);
    tries_key(slot, key, sizeof key);
    FILE *f = fopen(path, "r");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, key, strlen(key)) == 0) specific = strtol(line + strlen(key), NULL, 10);
            else if (strncmp(line, "pin_tries_left=", 15) == 0) generic = strtol(line + 15, NULL, 10);
        }
        fclose(f);
    }
    long left = specific >= 0 ? specific : generic >= 0 ? generic : g_cfg.max_pin_tries;
    return left < 0 ? 0 : left;
}

/* Holds g_lock. Rewrites the state file atomically with this slot's counter replaced. */
static void set_tries_left(CK_SLOT_ID slot, long left) {
    char path[4200], tmp[4300], line[512], key[64];
    state_path(path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    tries_key(slot, key, sizeof key);
    FILE *out = fopen(tmp, "w");
    if (!out) return;
    FILE *in = fopen(path, "r");
    if (in) {
        while (fgets(line, sizeof line, in))
            if (strncmp(line, key, strlen(key)) != 0) fputs(line, out);
        fclose(in);
    }
    fprintf(out, "%s%ld\n", key, left);
    if (fclose(out) == 0) rename(tmp, path);
    else unlink(tmp);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Forwarding                                                                                                   */

#define TP_REQUIRE_INIT()                                                                                          \
    do {                                                                                                           \
        if (!atomic_load(&g_initialized)) return CKR_CRYPTOKI_NOT_INITIALIZED;                                     \
    } while (0)

#define TP_FORWARD_PLAIN(fn, args)                                                                                 \
    do {                                                                                                           \
        TP_REQUIRE_INIT();                                                                                         \
        pthread_rwlock_rdlock(&g_calls);                                                                           \
        CK_RV rv_ = g_target->fn args;                                                                             \
        pthread_rwlock_unlock(&g_calls);                                                                           \
        return rv_;                                                                                                \
    } while (0)

#define TP_FORWARD_SLOT(slot, fn, args)                                                                            \
    do {                                                                                                           \
        TP_REQUIRE_INIT();                                                                                         \
        if (slot_removed(slot)) return CKR_TOKEN_NOT_PRESENT;                                                      \
        TP_FORWARD_PLAIN(fn, args);                                                                                \
    } while (0)

#define TP_FORWARD_SESSION(h, fn, args)                                                                            \
    do {                                                                                                           \
        TP_REQUIRE_INIT();                                                                                         \
        pthread_rwlock_rdlock(&g_calls);                                                                           \
        CK_RV rv_ = session_gate(h);                                                                               \
        if (rv_ == CKR_OK) rv_ = g_target->fn args;                                                                \
        pthread_rwlock_unlock(&g_calls);                                                                           \
        return rv_;                                                                                                \
    } while (0)

#define TP_OVERRIDE_C_Initialize 1
#define TP_OVERRIDE_C_Finalize 1
#define TP_OVERRIDE_C_GetFunctionList 1
#define TP_OVERRIDE_C_GetSlotList 1
#define TP_OVERRIDE_C_GetSlotInfo 1
#define TP_OVERRIDE_C_GetTokenInfo 1
#define TP_OVERRIDE_C_GetMechanismList 1
#define TP_OVERRIDE_C_GetMechanismInfo 1
#define TP_OVERRIDE_C_OpenSession 1
#define TP_OVERRIDE_C_CloseSession 1
#define TP_OVERRIDE_C_CloseAllSessions 1
#define TP_OVERRIDE_C_Login 1
#define TP_OVERRIDE_C_SignInit 1
#define TP_OVERRIDE_C_Sign 1
#define TP_OVERRIDE_C_WaitForSlotEvent 1

#include "forward.inc"

/* ------------------------------------------------------------------------------------------------------------ */
/* Life cycle                                                                                                   */

/* Holds g_lock. Loads the target named by OPENCTL_TESTP11_TARGET (a new name after C_Finalize loads that one). */
static CK_RV load_target(void) {
    const char *path = getenv("OPENCTL_TESTP11_TARGET");
    if (!path || !*path) path = DEFAULT_TARGET;
    if (g_target && strcmp(path, g_target_path) == 0) return CKR_OK;
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        fprintf(stderr, "openctl-testp11: cannot load target %s: %s\n", path, dlerror());
        return CKR_GENERAL_ERROR;
    }
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(handle, "C_GetFunctionList");
    CK_FUNCTION_LIST_PTR list = NULL;
    if (!get || get(&list) != CKR_OK || !list) {
        fprintf(stderr, "openctl-testp11: %s is not a PKCS#11 module\n", path);
        return CKR_GENERAL_ERROR;
    }
    /* If our exported C_* symbols were interposed into the target (we were loaded RTLD_GLOBAL), every forwarded
     * call would come back to us: refuse instead of recursing. */
    Dl_info ours, theirs;
    if (dladdr((void *)&tp_function_list, &ours) && dladdr((void *)list->C_Sign, &theirs) &&
        ours.dli_fbase == theirs.dli_fbase) {
        fprintf(stderr, "openctl-testp11: target %s resolves to this module; load the test module RTLD_LOCAL\n", path);
        return CKR_GENERAL_ERROR;
    }
    /* The previous target, if any, stays loaded: unloading SoftHSM inside a process is not safe. */
    g_target = list;
    snprintf(g_target_path, sizeof g_target_path, "%s", path);
    return CKR_OK;
}

static void snapshot_presence(void) {
    CK_SLOT_ID *slots = NULL;
    CK_ULONG n = 0;
    g_n_presence = 0;
    if (target_slots(CK_FALSE, &slots, &n) != CKR_OK) return;
    for (CK_ULONG i = 0; i < n && g_n_presence < MAX_SLOTS; i++) {
        g_presence[g_n_presence].slot = slots[i];
        g_presence[g_n_presence].present = !is_removed(slots[i]);
        g_n_presence++;
    }
    free(slots);
}

static CK_RV tp_C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList) {
    if (!ppFunctionList) return CKR_ARGUMENTS_BAD;
    *ppFunctionList = &tp_function_list;
    return CKR_OK;
}

static CK_RV tp_C_Initialize(CK_VOID_PTR pInitArgs) {
    pthread_mutex_lock(&g_lock);
    CK_RV rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
    if (!atomic_load(&g_initialized)) {
        rv = load_target();
        if (rv == CKR_OK) rv = g_target->C_Initialize(pInitArgs);
        /* The target may already be initialised by someone else in this process (the same library loaded
         * directly): to our caller we are a separate module, so that is a success we do not own. */
        g_owns_target_init = rv == CKR_OK;
        if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) rv = CKR_OK;
        if (rv == CKR_OK) {
            g_n_sessions = 0;
            g_cfg_loaded = 0;
            refresh_config();
            snapshot_presence();
            atomic_store(&g_initialized, 1);
        }
    }
    pthread_mutex_unlock(&g_lock);
    return rv;
}

static CK_RV tp_C_Finalize(CK_VOID_PTR pReserved) {
    if (pReserved) return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&g_lock);
    CK_RV rv = CKR_CRYPTOKI_NOT_INITIALIZED;
    if (atomic_load(&g_initialized)) {
        atomic_store(&g_initialized, 0);
        rv = g_owns_target_init ? g_target->C_Finalize(NULL) : CKR_OK;
        g_owns_target_init = 0;
        g_n_sessions = 0;
    }
    pthread_mutex_unlock(&g_lock);
    return rv;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Slots, tokens, mechanisms                                                                                    */

static CK_RV tp_C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount) {
    TP_REQUIRE_INIT();
    if (!pulCount) return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&g_lock);
    refresh_config();
    int any_removed = g_cfg.removed || g_removal_triggered;
    pthread_mutex_unlock(&g_lock);
    if (!tokenPresent || !any_removed) return g_target->C_GetSlotList(tokenPresent, pSlotList, pulCount);

    CK_SLOT_ID *slots = NULL;
    CK_ULONG n = 0, kept = 0;
    CK_RV rv = target_slots(CK_TRUE, &slots, &n);
    if (rv != CKR_OK) return rv;
    pthread_mutex_lock(&g_lock);
    for (CK_ULONG i = 0; i < n; i++)
        if (!is_removed(slots[i])) slots[kept++] = slots[i];
    pthread_mutex_unlock(&g_lock);
    rv = copy_out(slots, kept, pSlotList, pulCount);
    free(slots);
    return rv;
}

static CK_RV tp_C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo) {
    TP_REQUIRE_INIT();
    CK_RV rv = g_target->C_GetSlotInfo(slotID, pInfo);
    if (rv == CKR_OK && slot_removed(slotID)) pInfo->flags &= ~(CK_FLAGS)CKF_TOKEN_PRESENT;
    return rv;
}

static CK_RV tp_C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo) {
    TP_REQUIRE_INIT();
    if (slot_removed(slotID)) return CKR_TOKEN_NOT_PRESENT;
    CK_RV rv = g_target->C_GetTokenInfo(slotID, pInfo);
    if (rv != CKR_OK) return rv;
    pthread_mutex_lock(&g_lock);
    refresh_config();
    if (in_scope(slotID)) {
        CK_FLAGS f = pInfo->flags | g_cfg.flags_set;
        if (g_cfg.pinpad) f |= CKF_PROTECTED_AUTHENTICATION_PATH;
        if (g_cfg.pin_locked) f |= CKF_USER_PIN_LOCKED;
        if (g_cfg.max_pin_tries > 0) {
            long left = tries_left(slotID);
            if (left < g_cfg.max_pin_tries) f |= CKF_USER_PIN_COUNT_LOW;
            if (left == 1) f |= CKF_USER_PIN_FINAL_TRY;
            if (left <= 0) f |= CKF_USER_PIN_LOCKED;
        }
        pInfo->flags = f & ~g_cfg.flags_clear;
    }
    pthread_mutex_unlock(&g_lock);
    return CKR_OK;
}

/* Copies the hidden mechanisms that apply to this slot; returns how many. */
static size_t hidden_for(CK_SLOT_ID slot, CK_MECHANISM_TYPE *out) {
    pthread_mutex_lock(&g_lock);
    refresh_config();
    size_t n = in_scope(slot) ? g_cfg.n_hidden : 0;
    memcpy(out, g_cfg.hidden, n * sizeof *out);
    pthread_mutex_unlock(&g_lock);
    return n;
}

static CK_RV tp_C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList, CK_ULONG_PTR pulCount) {
    TP_REQUIRE_INIT();
    if (!pulCount) return CKR_ARGUMENTS_BAD;
    if (slot_removed(slotID)) return CKR_TOKEN_NOT_PRESENT;
    CK_MECHANISM_TYPE hidden[MAX_LIST];
    size_t n_hidden = hidden_for(slotID, hidden);
    if (!n_hidden) return g_target->C_GetMechanismList(slotID, pMechanismList, pulCount);

    CK_ULONG n = 0, kept = 0;
    CK_RV rv = g_target->C_GetMechanismList(slotID, NULL, &n);
    if (rv != CKR_OK) return rv;
    CK_MECHANISM_TYPE *all = calloc(n ? n : 1, sizeof *all);
    if (!all) return CKR_HOST_MEMORY;
    rv = g_target->C_GetMechanismList(slotID, all, &n);
    if (rv == CKR_OK) {
        for (CK_ULONG i = 0; i < n; i++)
            if (!contains(hidden, n_hidden, all[i])) all[kept++] = all[i];
        rv = copy_out(all, kept, pMechanismList, pulCount);
    }
    free(all);
    return rv;
}

static CK_RV tp_C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo) {
    TP_REQUIRE_INIT();
    if (slot_removed(slotID)) return CKR_TOKEN_NOT_PRESENT;
    CK_MECHANISM_TYPE hidden[MAX_LIST];
    size_t n_hidden = hidden_for(slotID, hidden);
    if (contains(hidden, n_hidden, type)) return CKR_MECHANISM_INVALID;
    return g_target->C_GetMechanismInfo(slotID, type, pInfo);
}

/* Only our simulated removals are events: SoftHSM has no slot events of its own. Polls every 100 ms. */
static CK_RV tp_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved) {
    TP_REQUIRE_INIT();
    if (!pSlot || pReserved) return CKR_ARGUMENTS_BAD;
    for (;;) {
        if (!atomic_load(&g_initialized)) return CKR_CRYPTOKI_NOT_INITIALIZED;
        pthread_mutex_lock(&g_lock);
        refresh_config();
        for (size_t i = 0; i < g_n_presence; i++) {
            int present = !is_removed(g_presence[i].slot);
            if (present != g_presence[i].present) {
                g_presence[i].present = present;
                *pSlot = g_presence[i].slot;
                pthread_mutex_unlock(&g_lock);
                return CKR_OK;
            }
        }
        pthread_mutex_unlock(&g_lock);
        if (flags & CKF_DONT_BLOCK) return CKR_NO_EVENT;
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Sessions, login, signing                                                                                     */

static CK_RV tp_C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
                              CK_SESSION_HANDLE_PTR phSession) {
    TP_REQUIRE_INIT();
    if (slot_removed(slotID)) return CKR_TOKEN_NOT_PRESENT;
    pthread_rwlock_rdlock(&g_calls);
    CK_RV rv = g_target->C_OpenSession(slotID, flags, pApplication, Notify, phSession);
    if (rv == CKR_OK) {
        pthread_mutex_lock(&g_lock);
        session_add(*phSession, slotID);
        pthread_mutex_unlock(&g_lock);
    }
    pthread_rwlock_unlock(&g_calls);
    return rv;
}

static CK_RV tp_C_CloseSession(CK_SESSION_HANDLE hSession) {
    TP_REQUIRE_INIT();
    pthread_rwlock_rdlock(&g_calls);
    pthread_mutex_lock(&g_lock);
    refresh_config();
    int removed = session_gate_locked(hSession, NULL, NULL) != CKR_OK;
    session_remove_where(0, hSession);
    pthread_mutex_unlock(&g_lock);
    CK_RV rv = g_target->C_CloseSession(hSession);
    pthread_rwlock_unlock(&g_calls);
    /* Closing what a removal already closed is not an error for the caller's clean-up. */
    return removed ? CKR_OK : rv;
}

static CK_RV tp_C_CloseAllSessions(CK_SLOT_ID slotID) {
    TP_REQUIRE_INIT();
    pthread_rwlock_rdlock(&g_calls);
    pthread_mutex_lock(&g_lock);
    refresh_config();
    int removed = is_removed(slotID);
    session_remove_where(1, slotID);
    pthread_mutex_unlock(&g_lock);
    CK_RV rv = g_target->C_CloseAllSessions(slotID);
    pthread_rwlock_unlock(&g_calls);
    return removed ? CKR_OK : rv;
}

static CK_RV tp_C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen) {
    TP_REQUIRE_INIT();
    CK_SLOT_ID slot = 0;
    int scoped = 0;
    char pinpad_pin[sizeof g_cfg.pinpad_pin];
    int use_pinpad = 0;
    long delay_ms = 0, max_tries = 0;

    pthread_rwlock_rdlock(&g_calls);
    pthread_mutex_lock(&g_lock);
    refresh_config();
    CK_RV rv = session_gate_locked(hSession, &slot, &scoped);
    int user = userType == CKU_USER && scoped;
    if (rv == CKR_OK && user) {
        max_tries = g_cfg.max_pin_tries;
        if (g_cfg.pin_locked || (max_tries > 0 && tries_left(slot) <= 0)) rv = CKR_PIN_LOCKED;
        /* pkcs11js passes an empty PIN rather than NULL_PTR when given none: both mean "use the pad". */
        if (g_cfg.pinpad && (pPin == NULL_PTR || ulPinLen == 0)) {
            use_pinpad = 1;
            delay_ms = g_cfg.pinpad_delay_ms;
            memcpy(pinpad_pin, g_cfg.pinpad_pin, sizeof pinpad_pin);
        }
    }
    pthread_mutex_unlock(&g_lock);
    if (rv != CKR_OK) {
        pthread_rwlock_unlock(&g_calls);
        return rv;
    }

    if (use_pinpad) {
        /* The person types on the reader's pad: take our time, then log in with the pad's PIN. */
        if (delay_ms > 0) {
            struct timespec pause = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
            nanosleep(&pause, NULL);
        }
        pPin = (CK_UTF8CHAR_PTR)pinpad_pin;
        ulPinLen = (CK_ULONG)strlen(pinpad_pin);
    }
    rv = g_target->C_Login(hSession, userType, pPin, ulPinLen);
    if (use_pinpad) memset(pinpad_pin, 0, sizeof pinpad_pin);
    pthread_rwlock_unlock(&g_calls);

    if (user && max_tries > 0) {
        pthread_mutex_lock(&g_lock);
        if (rv == CKR_PIN_INCORRECT) {
            long left = tries_left(slot) - 1;
            set_tries_left(slot, left < 0 ? 0 : left);
            if (left <= 0) rv = CKR_PIN_LOCKED;
        } else if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
            set_tries_left(slot, max_tries);
        }
        pthread_mutex_unlock(&g_lock);
    }
    return rv;
}

static CK_RV tp_C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey) {
    TP_REQUIRE_INIT();
    int scoped = 0;
    pthread_rwlock_rdlock(&g_calls);
    pthread_mutex_lock(&g_lock);
    refresh_config();
    CK_RV rv = session_gate_locked(hSession, NULL, &scoped);
    if (rv == CKR_OK && scoped && pMechanism) {
        if (contains(g_cfg.hidden, g_cfg.n_hidden, pMechanism->mechanism)) rv = CKR_MECHANISM_INVALID;
        else if (contains(g_cfg.rejected, g_cfg.n_rejected, pMechanism->mechanism)) rv = g_cfg.reject_rv;
    }
    pthread_mutex_unlock(&g_lock);
    if (rv == CKR_OK) rv = g_target->C_SignInit(hSession, pMechanism, hKey);
    pthread_rwlock_unlock(&g_calls);
    return rv;
}

static CK_RV tp_C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
                       CK_ULONG_PTR pulSignatureLen) {
    TP_REQUIRE_INIT();
    int scoped = 0, trigger = 0, closes = 0;
    pthread_rwlock_rdlock(&g_calls);
    pthread_mutex_lock(&g_lock);
    refresh_config();
    CK_RV rv = session_gate_locked(hSession, NULL, &scoped);
    /* Length queries (no output buffer) do not count: only real signatures move the removal closer. */
    if (rv == CKR_OK && scoped && g_cfg.remove_at_sign > 0 && pSignature != NULL_PTR) {
        if (++g_sign_count >= g_cfg.remove_at_sign) {
            g_removal_triggered = 1;
            trigger = 1;
            closes = g_cfg.removal_closes_sessions;
            rv = g_cfg.removed_rv;
        }
    }
    long delay_ms = rv == CKR_OK && scoped && pSignature != NULL_PTR ? g_cfg.sign_delay_ms : 0;
    pthread_mutex_unlock(&g_lock);
    if (delay_ms > 0) {
        /* A slow token (a real eToken takes 100 ms and more per RSA-2048 signature). */
        struct timespec pause = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
        nanosleep(&pause, NULL);
    }
    if (rv == CKR_OK) {
        rv = g_target->C_Sign(hSession, pData, ulDataLen, pSignature, pulSignatureLen);
    } else if (pSignature != NULL_PTR) {
        /* A failed C_Sign ends the operation (PKCS#11 5.12): end the target's too, or the next C_SignInit on a
         * session that survives the "removal" would get CKR_OPERATION_ACTIVE. */
        unsigned char scratch[2048];
        CK_ULONG scratch_length = sizeof scratch;
        g_target->C_Sign(hSession, pData, ulDataLen, scratch, &scratch_length);
    }
    pthread_rwlock_unlock(&g_calls);
    if (trigger && closes) simulate_removal();
    return rv;
}
