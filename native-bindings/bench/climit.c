/*
 * climit: the benchmark's "limit C", the same per-file work as `openctl batch sign` written as plainly as C allows,
 * independent of openctl's code, to measure what this machine can do for a whole batch (not only the RSA):
 *
 *   walk SRC (readdir, recursive); per file, on one thread per core: read it, check it looks like XML (.xml),
 *   SHA-256 it (manifest), build the .sgn header (the constant signer part comes from --template), digest the
 *   header and body (SHA-1 or --digest), RSA PKCS#1 v1.5 sign the DigestInfo, write header + signature + body to
 *   an exclusive temp file beside its final name, SHA-256 the output (manifest). Durability in groups of --group
 *   files on a committer thread, in the pipeline's order: syncfs, rename every temp file into place, syncfs,
 *   append the group's audit lines + fdatasync, append its journal lines + fdatasync. The workers wait while two
 *   groups are waiting for their commit.
 *
 *   climit --src DIR --out DIR --template FILE (--pem KEY.pem | --module PATH --key LABEL [--token LABEL])
 *          [--threads N] [--digest sha1|sha256|sha384|sha512] [--group N] [--timestamp T]
 *
 * With --module the signature is C_SignInit + C_Sign (CKM_RSA_PKCS) on one session per thread ("limit C with
 * token"); the PIN comes from CSIGN_PIN or OPENCTL_PIN. --template holds the header's version element (tag 1)
 * followed by its signer elements (tags 3 and 7), as a 2-byte big-endian length of the version element and then
 * both. Prints one JSON line: files, seconds (walk to last commit), files/s, CPU.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "p11.h"

#define MAX_THREADS 256

static const char *g_src, *g_out;
static unsigned char *g_version, *g_signer;
static size_t g_version_len, g_signer_len, g_sig_len;
static const EVP_MD *g_md, *g_sha256;
static const unsigned char *g_prefix;
static size_t g_prefix_len;
static unsigned g_timestamp = 0x5f5e1000;
static EVP_PKEY *g_pkey;
static CK_FUNCTION_LIST_PTR g_f;
static CK_OBJECT_HANDLE g_key;

static char **g_names;
static size_t g_count, g_cap, g_next;

/* Finished files wait in the open group; full groups go to the committer. */
typedef struct {
    char *tmp, *final;
    char line[512];
} done_t;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static done_t *g_group;
static size_t g_group_size = 2048, g_group_fill, g_ready_groups, g_failed;
static done_t *g_queue[2];
static size_t g_queue_n[2];
static int g_workers_left;

static const unsigned char SHA1_PREFIX[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
static const unsigned char SHA256_PREFIX[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const unsigned char SHA384_PREFIX[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
static const unsigned char SHA512_PREFIX[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    fprintf(stderr, "climit: %s\n", what);
    exit(1);
}

static void add_name(const char *rel) {
    if (g_count == g_cap) {
        g_cap = g_cap ? 2 * g_cap : 4096;
        g_names = realloc(g_names, g_cap * sizeof *g_names);
        if (!g_names) die("out of memory");
    }
    g_names[g_count++] = strdup(rel);
}

static void walk(const char *rel) {
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", g_src, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d) die("cannot read the source folder");
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char child[4096];
        snprintf(child, sizeof child, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
        if (e->d_type == DT_DIR) walk(child);
        else if (e->d_type == DT_REG) add_name(child);
    }
    closedir(d);
}

static int looks_like_xml(const unsigned char *b, size_t n) {
    size_t s = n >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf ? 3 : 0;
    while (s < n && (b[s] == ' ' || b[s] == '\t' || b[s] == '\n' || b[s] == '\r')) s++;
    size_t e = n - 1;
    while (e > s && (b[e] == ' ' || b[e] == '\t' || b[e] == '\n' || b[e] == '\r')) e--;
    return s < e && b[s] == '<' && b[e] == '>' && !memchr(b, 0, n);
}

static void hex(char *out, const unsigned char *in, size_t n) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

static void put16(unsigned char *p, unsigned v) {
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

typedef struct {
    int index;
    CK_SESSION_HANDLE session;
    EVP_PKEY_CTX *pctx;
    EVP_MD_CTX *mctx;
    unsigned char *buf;
    size_t cap;
    unsigned long counter;
    unsigned long files;
} worker_t;

static void hand_over(worker_t *w, char *tmp, char *final, const char *line) {
    pthread_mutex_lock(&g_lock);
    while (g_ready_groups >= 2) pthread_cond_wait(&g_cond, &g_lock);
    done_t *d = &g_group[g_group_fill++];
    d->tmp = tmp;
    d->final = final;
    snprintf(d->line, sizeof d->line, "%s", line);
    if (g_group_fill == g_group_size) {
        g_queue[g_ready_groups] = g_group;
        g_queue_n[g_ready_groups++] = g_group_fill;
        g_group = calloc(g_group_size, sizeof *g_group);
        g_group_fill = 0;
        pthread_cond_broadcast(&g_cond);
    }
    pthread_mutex_unlock(&g_lock);
    (void)w;
}

static int sign(worker_t *w, const unsigned char *digest, size_t digest_len, unsigned char *sig) {
    unsigned char info[128];
    memcpy(info, g_prefix, g_prefix_len);
    memcpy(info + g_prefix_len, digest, digest_len);
    size_t info_len = g_prefix_len + digest_len;
    if (g_pkey) {
        size_t sig_len = g_sig_len;
        return EVP_PKEY_sign(w->pctx, sig, &sig_len, info, info_len) == 1 && sig_len == g_sig_len ? 0 : -1;
    }
    CK_MECHANISM m = {CKM_RSA_PKCS, NULL, 0};
    CK_ULONG sig_len = g_sig_len;
    if (g_f->C_SignInit(w->session, &m, g_key) != CKR_OK) return -1;
    return g_f->C_Sign(w->session, info, (CK_ULONG)info_len, sig, &sig_len) == CKR_OK && sig_len == g_sig_len ? 0 : -1;
}

static void one_file(worker_t *w, const char *rel) {
    char path[4096], tmp[4096], final[4096];
    snprintf(path, sizeof path, "%s/%s", g_src, rel);
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    size_t name_len = strlen(base) + 5; /* NAME.sgn + NUL */

    /* Header layout: version | tag 2 (header length) | signer elements | tag 12 signature | tag 14 filename |
     * tag 15 timestamp | padding to 4 bytes. Its length depends on the name only, so the body is read in place. */
    size_t sig_start = g_version_len + 5 + g_signer_len;
    size_t after_sig = sig_start + 3 + g_sig_len;
    size_t unpadded = after_sig + 3 + name_len + 7;
    size_t header_len = unpadded + ((4 - unpadded % 4) % 4);

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) goto failed;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        goto failed;
    }
    size_t want = header_len + (size_t)st.st_size + 1;
    if (want > w->cap) {
        w->cap = 2 * want;
        w->buf = realloc(w->buf, w->cap);
        if (!w->buf) die("out of memory");
    }
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, w->buf + header_len + n, w->cap - header_len - n);
        if (r < 0) {
            close(fd);
            goto failed;
        }
        if (r == 0) break;
        n += (size_t)r;
        if (n == w->cap - header_len) break;
    }
    close(fd);
    const unsigned char *body = w->buf + header_len;
    size_t name_rel_len = strlen(rel);
    int xml = name_rel_len > 4 && strcasecmp(rel + name_rel_len - 4, ".xml") == 0;
    if (n == 0 || (xml && !looks_like_xml(body, n))) goto failed;

    unsigned char source_sha[32], digest[64], out_sha[32];
    unsigned int len;
    EVP_DigestInit_ex2(w->mctx, g_sha256, NULL);
    EVP_DigestUpdate(w->mctx, body, n);
    EVP_DigestFinal_ex(w->mctx, source_sha, &len);

    unsigned char *h = w->buf;
    memcpy(h, g_version, g_version_len);
    size_t at = g_version_len;
    h[at] = 2;
    put16(h + at + 1, 2);
    put16(h + at + 3, (unsigned)header_len);
    at += 5;
    memcpy(h + at, g_signer, g_signer_len);
    at += g_signer_len;
    h[at] = 12;
    put16(h + at + 1, (unsigned)g_sig_len);
    at = after_sig;
    h[at] = 14;
    put16(h + at + 1, (unsigned)name_len);
    at += 3;
    memcpy(h + at, base, name_len - 5);
    memcpy(h + at + name_len - 5, ".sgn", 5);
    at += name_len;
    h[at] = 15;
    put16(h + at + 1, 4);
    put16(h + at + 3, g_timestamp >> 16);
    put16(h + at + 5, g_timestamp & 0xffff);
    at += 7;
    while (at < header_len) h[at++] = 13;

    unsigned int digest_len;
    EVP_DigestInit_ex2(w->mctx, g_md, NULL);
    EVP_DigestUpdate(w->mctx, h, sig_start);
    EVP_DigestUpdate(w->mctx, h + after_sig, header_len - after_sig + n);
    EVP_DigestFinal_ex(w->mctx, digest, &digest_len);
    if (sign(w, digest, digest_len, h + sig_start + 3) != 0) die("signing failed");

    size_t total = header_len + n;
    snprintf(final, sizeof final, "%s/%s.sgn", g_out, rel);
    const char *slash = strrchr(final, '/');
    snprintf(tmp, sizeof tmp, "%.*s/.openctl-tmp-%s.%d-%lu", (int)(slash - final), final, slash + 1, w->index, ++w->counter);
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0 && errno == ENOENT) {
        /* First file of a sub-folder: create it (and its parents) once. */
        char dir[4096];
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - final), final);
        for (char *p = dir + strlen(g_out) + 1; (p = strchr(p, '/')); p++) {
            *p = 0;
            mkdir(dir, 0755);
            *p = '/';
        }
        mkdir(dir, 0755);
        out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    }
    if (out < 0) die("cannot create a temp file");
    for (size_t written = 0; written < total;) {
        ssize_t r = write(out, h + written, total - written);
        if (r < 0) die("cannot write a temp file");
        written += (size_t)r;
    }
    if (close(out) != 0) die("cannot close a temp file");

    EVP_DigestInit_ex2(w->mctx, g_sha256, NULL);
    EVP_DigestUpdate(w->mctx, h, total);
    EVP_DigestFinal_ex(w->mctx, out_sha, &len);

    /* The journal (manifest) line and the audit line of the file, as short as they can honestly be. */
    char s1[65], s2[65], d[129], line[512];
    hex(s1, source_sha, 32);
    hex(s2, out_sha, 32);
    hex(d, digest, digest_len);
    snprintf(line, sizeof line, "%s %s %s %zu %s", rel, s1, s2, total, d);
    hand_over(w, strdup(tmp), strdup(final), line);
    w->files++;
    return;
failed:
    __atomic_add_fetch(&g_failed, 1, __ATOMIC_RELAXED);
}

static void *work(void *arg) {
    worker_t *w = arg;
    for (;;) {
        size_t i = __atomic_fetch_add(&g_next, 1, __ATOMIC_RELAXED);
        if (i >= g_count) break;
        one_file(w, g_names[i]);
    }
    pthread_mutex_lock(&g_lock);
    g_workers_left--;
    pthread_cond_broadcast(&g_cond);
    pthread_mutex_unlock(&g_lock);
    return NULL;
}

static void append_sync(int fd, const char *text, size_t n) {
    for (size_t written = 0; written < n;) {
        ssize_t r = write(fd, text + written, n - written);
        if (r < 0) die("cannot append");
        written += (size_t)r;
    }
    if (fdatasync(fd) != 0) die("fdatasync failed");
}

/* One group: syncfs, renames, syncfs, audit lines, journal lines: the pipeline's commit. */
static void commit(int out_fd, int journal_fd, int audit_fd, done_t *group, size_t n) {
    if (syncfs(out_fd) != 0) die("syncfs failed");
    for (size_t i = 0; i < n; i++)
        if (rename(group[i].tmp, group[i].final) != 0) die("rename failed");
    if (syncfs(out_fd) != 0) die("syncfs failed");
    size_t cap = n * 600 + 1, used = 0;
    char *text = malloc(cap);
    for (size_t i = 0; i < n; i++) used += (size_t)snprintf(text + used, cap - used, "audit %s\n", group[i].line);
    append_sync(audit_fd, text, used);
    used = 0;
    for (size_t i = 0; i < n; i++) used += (size_t)snprintf(text + used, cap - used, "%s\n", group[i].line);
    append_sync(journal_fd, text, used);
    free(text);
    for (size_t i = 0; i < n; i++) {
        free(group[i].tmp);
        free(group[i].final);
    }
}

static unsigned char *read_all(const char *file, size_t *n) {
    FILE *fp = fopen(file, "rb");
    if (!fp) die("cannot read an input file");
    unsigned char *data = malloc(1 << 20);
    *n = fread(data, 1, 1 << 20, fp);
    fclose(fp);
    return data;
}

static void usage(void) {
    fprintf(stderr, "usage: climit --src DIR --out DIR --template FILE (--pem KEY | --module PATH --key LABEL [--token LABEL])\n"
                    "              [--threads N] [--digest sha1|sha256|sha384|sha512] [--group N] [--timestamp T]\n");
    exit(2);
}

static void open_token(const char *module, const char *token_label, const char *key_label, worker_t *workers, long threads) {
    const char *pin = getenv("CSIGN_PIN");
    if (!pin) pin = getenv("OPENCTL_PIN");
    if (!pin) usage();
    void *lib = dlopen(module, RTLD_NOW | RTLD_LOCAL);
    if (!lib) die(dlerror());
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
    if (!get || get(&g_f) != CKR_OK) die("not a PKCS#11 module");
    CK_C_INITIALIZE_ARGS init;
    memset(&init, 0, sizeof init);
    init.flags = CKF_OS_LOCKING_OK;
    if (g_f->C_Initialize(&init) != CKR_OK) die("C_Initialize failed");
    CK_SLOT_ID slots[64], slot = 0;
    CK_ULONG n_slots = 64;
    int found = 0;
    if (g_f->C_GetSlotList(CK_TRUE, slots, &n_slots) != CKR_OK) die("C_GetSlotList failed");
    for (CK_ULONG i = 0; i < n_slots && !found; i++) {
        CK_TOKEN_INFO info;
        if (g_f->C_GetTokenInfo(slots[i], &info) != CKR_OK || !(info.flags & CKF_TOKEN_INITIALIZED)) continue;
        char label[33];
        memcpy(label, info.label, 32);
        label[32] = 0;
        for (int k = 31; k >= 0 && label[k] == ' '; k--) label[k] = 0;
        if (!token_label || strcmp(label, token_label) == 0) {
            slot = slots[i];
            found = 1;
        }
    }
    if (!found) die("no such token");
    for (long i = 0; i < threads; i++)
        if (g_f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &workers[i].session) != CKR_OK) die("C_OpenSession failed");
    CK_RV rv = g_f->C_Login(workers[0].session, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) die("C_Login failed");
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[2] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, (CK_VOID_PTR)key_label, (CK_ULONG)strlen(key_label)}};
    CK_ULONG count = 0;
    g_f->C_FindObjectsInit(workers[0].session, tmpl, 2);
    g_f->C_FindObjects(workers[0].session, &g_key, 1, &count);
    g_f->C_FindObjectsFinal(workers[0].session);
    if (count != 1) die("no such private key");
    CK_ATTRIBUTE modulus = {CKA_MODULUS, NULL, 0};
    if (g_f->C_GetAttributeValue(workers[0].session, g_key, &modulus, 1) != CKR_OK) die("no modulus");
    g_sig_len = modulus.ulValueLen;
}

int main(int argc, char **argv) {
    const char *template_file = NULL, *pem = NULL, *module = NULL, *key_label = NULL, *token_label = NULL, *digest = "sha1";
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) usage();
        const char *a = argv[i], *v = argv[++i];
        if (!strcmp(a, "--src")) g_src = v;
        else if (!strcmp(a, "--out")) g_out = v;
        else if (!strcmp(a, "--template")) template_file = v;
        else if (!strcmp(a, "--pem")) pem = v;
        else if (!strcmp(a, "--module")) module = v;
        else if (!strcmp(a, "--key")) key_label = v;
        else if (!strcmp(a, "--token")) token_label = v;
        else if (!strcmp(a, "--threads")) threads = strtol(v, NULL, 10);
        else if (!strcmp(a, "--digest")) digest = v;
        else if (!strcmp(a, "--group")) g_group_size = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--timestamp")) g_timestamp = (unsigned)strtoul(v, NULL, 10);
        else usage();
    }
    if (!g_src || !g_out || !template_file || (!pem == !module) || (module && !key_label) || threads < 1 ||
        threads > MAX_THREADS || g_group_size < 1)
        usage();
    if (!strcmp(digest, "sha1")) g_prefix = SHA1_PREFIX, g_prefix_len = sizeof SHA1_PREFIX;
    else if (!strcmp(digest, "sha256")) g_prefix = SHA256_PREFIX, g_prefix_len = sizeof SHA256_PREFIX;
    else if (!strcmp(digest, "sha384")) g_prefix = SHA384_PREFIX, g_prefix_len = sizeof SHA384_PREFIX;
    else if (!strcmp(digest, "sha512")) g_prefix = SHA512_PREFIX, g_prefix_len = sizeof SHA512_PREFIX;
    else usage();
    /* Fetched once: an implicit fetch per EVP_DigestInit would take a lock shared by every thread. */
    g_md = EVP_MD_fetch(NULL, digest, NULL);
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!g_md || !g_sha256) die("no such digest");

    size_t tn;
    unsigned char *t = read_all(template_file, &tn);
    if (tn < 2) die("bad template");
    g_version_len = (size_t)t[0] << 8 | t[1];
    if (g_version_len + 2 > tn) die("bad template");
    g_version = t + 2;
    g_signer = g_version + g_version_len;
    g_signer_len = tn - 2 - g_version_len;

    static worker_t workers[MAX_THREADS];
    double started = now();
    if (pem) {
        size_t pn;
        unsigned char *text = read_all(pem, &pn);
        BIO *bio = BIO_new_mem_buf(text, (int)pn);
        g_pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        BIO_free(bio);
        if (!g_pkey) die("cannot read the PEM key");
        g_sig_len = (size_t)EVP_PKEY_get_size(g_pkey);
    } else {
        open_token(module, token_label, key_label, workers, threads);
    }

    walk("");
    int out_fd = open(g_out, O_RDONLY | O_DIRECTORY);
    if (out_fd < 0) die("cannot open the output folder");
    char state[4096];
    snprintf(state, sizeof state, "%s/.climit-journal", g_out);
    int journal_fd = open(state, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644);
    snprintf(state, sizeof state, "%s/.climit-audit", g_out);
    int audit_fd = open(state, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644);
    if (journal_fd < 0 || audit_fd < 0) die("cannot create the journal");

    g_group = calloc(g_group_size, sizeof *g_group);
    pthread_t tids[MAX_THREADS];
    g_workers_left = (int)threads;
    for (long i = 0; i < threads; i++) {
        worker_t *w = &workers[i];
        w->index = (int)i;
        w->mctx = EVP_MD_CTX_new();
        if (g_pkey) {
            w->pctx = EVP_PKEY_CTX_new(g_pkey, NULL);
            if (!w->pctx || EVP_PKEY_sign_init(w->pctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(w->pctx, RSA_PKCS1_PADDING) != 1)
                die("EVP_PKEY_sign_init failed");
        }
        pthread_create(&tids[i], NULL, work, w);
    }

    /* This thread commits, as the pipeline's main thread does. */
    pthread_mutex_lock(&g_lock);
    for (;;) {
        while (g_ready_groups == 0 && g_workers_left > 0) pthread_cond_wait(&g_cond, &g_lock);
        done_t *group;
        size_t n;
        if (g_ready_groups > 0) {
            group = g_queue[0];
            n = g_queue_n[0];
            g_queue[0] = g_queue[1];
            g_queue_n[0] = g_queue_n[1];
            g_ready_groups--;
        } else if (g_group_fill > 0) {
            group = g_group;
            n = g_group_fill;
            g_group = calloc(g_group_size, sizeof *g_group);
            g_group_fill = 0;
        } else {
            break;
        }
        pthread_mutex_unlock(&g_lock);
        commit(out_fd, journal_fd, audit_fd, group, n);
        free(group);
        pthread_mutex_lock(&g_lock);
        pthread_cond_broadcast(&g_cond);
    }
    pthread_mutex_unlock(&g_lock);
    for (long i = 0; i < threads; i++) pthread_join(tids[i], NULL);
    double elapsed = now() - started;

    unsigned long files = 0;
    for (long i = 0; i < threads; i++) files += workers[i].files;
    close(journal_fd);
    close(audit_fd);
    close(out_fd);
    snprintf(state, sizeof state, "%s/.climit-journal", g_out);
    unlink(state);
    snprintf(state, sizeof state, "%s/.climit-audit", g_out);
    unlink(state);
    if (g_f) {
        for (long i = 0; i < threads; i++) g_f->C_CloseSession(workers[i].session);
        g_f->C_Finalize(NULL);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"tool\":\"climit\",\"signer\":\"%s\",\"threads\":%ld,\"files\":%lu,\"failed\":%zu,\"seconds\":%.3f,"
           "\"filesPerSecond\":%.1f,\"cpuUserMs\":%.0f,\"cpuSystemMs\":%.0f}\n",
           pem ? "pem" : "pkcs11", threads, files, g_failed, elapsed, (double)files / elapsed,
           ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3, ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3);
    return g_failed ? 1 : 0;
}
