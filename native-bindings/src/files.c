/*
 * openctl_files.node: batch signing's per-file work in native code, for chunks of files per call. For each file:
 * read it, check it (empty, not XML), SHA-256 it, build the `.sgn` header from the job's template, digest header
 * and body, sign the DigestInfo (RSA PKCS#1 v1.5: with a PEM key through the OpenSSL that node itself carries, or
 * C_Sign on a PKCS#11 session of pool.c), write header + signature + body to its exclusive temp file beside the
 * final name, SHA-256 the output. Durability, journal and audit stay with the TypeScript committer, which also
 * decides when a chunk's files are renamed (renameChunks, after the group's temp files are flushed): the
 * guarantees do not move. The TypeScript side is src/pipeline/native-files.ts; it falls back to the worker
 * threads (src/pipeline/worker.ts) where this addon is not built, and both write the same bytes.
 *
 *   open(options) -> handle      (synchronous: parses the key, or opens the PKCS#11 sessions)
 *     options: { pem?: string, pkcs11?: { modulePath, slotId, keyId?, keyLabel? }, contexts, srcRoot, outRoot,
 *                hash: 'sha1'|'sha256'|'sha384'|'sha512', timestamp, versionElement, signerElements }
 *   signFiles(handle, names: string, xml: Uint8Array, temps: { prefix, start }) -> Promise<{ status: Buffer,
 *       errno: Int32Array, signed, journal: Buffer, journalEnd: Uint32Array, audit: Buffer, auditEnd: Uint32Array,
 *       chunk: external }>
 *     names: "source\0" per file, relative to srcRoot, `/`-separated (as walkNext of walk.c gives them); file i's
 *     temp name is made here as TempNames.at() makes it (src/pipeline/rel-path.ts), relative to outRoot:
 *     DIR/.openctl-tmp-NAME.sgn.<prefix><start + i in base 36>.
 *     status per file: 0 signed, 1 read failed (errno), 2 empty, 3 not XML, 4 temp file failed (errno),
 *                      5 the signer failed (errno holds the CK_RV or -1).
 *     journal/audit: each signed file's journal line (its manifest entry) and audit line, each with its newline,
 *     byte for byte the JSON file-job.ts writes; file i's bytes end at journalEnd[i] / auditEnd[i].
 *     options also take jsonSigner, jsonHash, jsonJob and jsonToken: constant values as JSON.stringify wrote them.
 *     signed: how many files have status 0; chunk: the call's names, for renameChunks (freed with the external).
 *   close(handle) -> undefined   (after every signFiles settled)
 *   renameChunks(chunks: external[]) -> Promise<Int32Array>   every signed file of each chunk renamed from its temp
 *     name to SOURCE.sgn on libuv's thread pool; (chunk index, file index, errno) per failed rename (its temp file
 *     removed), none when all are in place. A chunk is renamed once.
 *   copyJournalEntries(journal: string, fd, prefix) -> Promise<{ lines, outputs, bytes }>   the end of a job: the
 *     journal's entry lines written to fd as the manifest's entries ("prefix" before the first, ",\n" between), and
 *     how many output records they hold, on libuv's thread pool.
 *   renameAll(names: string, count) -> Promise<Int32Array>   a commit group's renames ("from\0to\0" each, absolute)
 *     in one call on libuv's thread pool; the errno of each (0: renamed). The committer's order is unchanged.
 *
 * Each call runs as one napi async work on libuv's thread pool, one file after the other, with a context of its
 * own (digest and key contexts, a buffer, a PKCS#11 session): the caller keeps as many calls in flight as it wants
 * cores busy, and at most `contexts`.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "pool.h"
#include "walk.h"

enum { ST_SIGNED = 0, ST_READ = 1, ST_EMPTY = 2, ST_NOT_XML = 3, ST_WRITE = 4, ST_SIGNER = 5 };

typedef struct signer signer_t;

typedef struct context {
    signer_t *signer;
    pthread_t thread;
    EVP_MD_CTX *mctx;
    EVP_PKEY_CTX *pctx;
    CK_SESSION_HANDLE session;
    unsigned char *buf;
    size_t cap;
} context_t;

typedef struct batch_files batch_files_t;

struct signer {
    EVP_PKEY *pkey;
    pool_t *p11; /* sessions and key of pool.c, without its threads */
    char *src_root, *out_root;
    unsigned char *version, *signer;
    size_t version_len, signer_len, sig_len;
    EVP_MD *md, *sha256;
    const unsigned char *prefix;
    size_t prefix_len, digest_len;
    uint32_t timestamp;
    /* Constant JSON values of the journal and audit lines, rendered by JSON.stringify on the JS side. */
    char *json_signer, *json_hash, *json_job, *json_token;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    batch_files_t *queue_head, *queue_tail;
    int closing;  /* threads leave once the queue is empty */
    int aborting; /* threads leave after their current call */
    int hook_registered;
    void (*cleanup)(void *);
    context_t *all_contexts[POOL_MAX_SESSIONS];
    size_t n_contexts, threads_started;
    size_t busy; /* calls not yet settled (JS thread only) */
    napi_threadsafe_function tsfn;
};

static void free_batch_files(batch_files_t *b);

typedef struct {
    char *data;
    size_t length, cap;
    int failed;
} text_t;

#define CHUNK_MAGIC 0x6f63746cu /* "octl": a chunk external, not a signer handle */

struct batch_files {
    uint32_t magic;
    batch_files_t *next;
    signer_t *s;
    char *names;
    char *temp_names;
    size_t count;
    char **source, **temp;
    uint8_t *xml, *status;
    int32_t *err;
    text_t journal, audit; /* the files' journal lines and audit lines (with their newlines), one after the other */
    uint32_t *journal_end, *audit_end;
    size_t signed_count;
    char *out_root;     /* a copy: the chunk's renames may run after the signer closed */
    int renamed;        /* renameChunks did this chunk (never twice) */
    napi_ref keep;      /* held while a renameChunks call uses the chunk */
    napi_deferred deferred;
};

static const unsigned char SHA1_PREFIX[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
static const unsigned char SHA256_PREFIX[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
                                              0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const unsigned char SHA384_PREFIX[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
                                              0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
static const unsigned char SHA512_PREFIX[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
                                              0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

#define TEMP_MARKER ".openctl-tmp-"

/* ------------------------------------------------------------------------------------------------------------ */
/* The per-file work (no N-API below this line until the next banner)                                           */

static int is_space(unsigned char b) { return b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d; }

/* The same check as looksLikeXml() in src/pipeline/file-checks.ts. */
static int looks_like_xml(const unsigned char *b, size_t n) {
    size_t start = n >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf ? 3 : 0;
    while (start < n && is_space(b[start])) start++;
    if (n == 0) return 0;
    size_t end = n - 1;
    while (end > start && is_space(b[end])) end--;
    if (start >= end || b[start] != 0x3c || b[end] != 0x3e) return 0;
    return memchr(b, 0, n) == NULL;
}

static void put16(unsigned char *p, unsigned v) {
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

static void to_hex(char *out, const unsigned char *in, size_t n) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
}

static int grow(context_t *c, size_t want) {
    if (want <= c->cap) return 0;
    size_t cap = c->cap ? c->cap : 64 * 1024;
    while (cap < want) cap *= 2;
    unsigned char *buf = realloc(c->buf, cap);
    if (!buf) return -1;
    c->buf = buf;
    c->cap = cap;
    return 0;
}

/* Whole file into c->buf at `offset` (room left before it for the header). Returns its length, or -errno. */
static long long read_at(context_t *c, const char *path, size_t offset) {
    /* O_NONBLOCK: a FIFO put there during the batch must not hang the thread (regular files ignore it). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || grow(c, offset + (size_t)st.st_size + 4096) != 0) {
        int e = errno ? errno : ENOMEM;
        close(fd);
        return -e;
    }
    size_t n = 0;
    for (;;) {
        if (offset + n == c->cap && grow(c, 2 * c->cap) != 0) {
            close(fd);
            return -ENOMEM;
        }
        ssize_t r = read(fd, c->buf + offset + n, c->cap - offset - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno == EAGAIN ? EIO : errno;
            close(fd);
            return -e;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    return (long long)n;
}

/* mkdir -p of the folders between out_root and the file's own folder (the first file of a sub-folder). */
static void make_folders(const signer_t *s, const char *path) {
    char dir[8192];
    snprintf(dir, sizeof dir, "%s", path);
    char *last = strrchr(dir, '/');
    if (!last) return;
    *last = 0;
    for (char *p = dir + strlen(s->out_root) + 1; (p = strchr(p, '/')); p++) {
        *p = 0;
        mkdir(dir, 0777);
        *p = '/';
    }
    mkdir(dir, 0777);
}

/* Writes the temp file (exclusive create); 0 or an errno (the temp file is gone then). */
static int write_temp(const signer_t *s, const char *path, const unsigned char *data, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT) {
        make_folders(s, path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    }
    if (fd < 0) return errno;
    for (size_t written = 0; written < n;) {
        ssize_t r = write(fd, data + written, n - written);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            close(fd);
            unlink(path);
            return e;
        }
        written += (size_t)r;
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(path);
        return e;
    }
    return 0;
}

/* RSA PKCS#1 v1.5 over the DigestInfo; 0, or the CK_RV (or -1) of the failure. */
static long sign_digest(const signer_t *s, context_t *c, const unsigned char *digest, unsigned char *signature) {
    unsigned char info[128];
    memcpy(info, s->prefix, s->prefix_len);
    memcpy(info + s->prefix_len, digest, s->digest_len);
    size_t info_len = s->prefix_len + s->digest_len;
    if (s->pkey) {
        size_t length = s->sig_len;
        return EVP_PKEY_sign(c->pctx, signature, &length, info, info_len) == 1 && length == s->sig_len ? 0 : -1;
    }
    CK_FUNCTION_LIST_PTR f = s->p11->f;
    CK_MECHANISM mechanism = {CKM_RSA_PKCS, NULL, 0};
    CK_RV rv = f->C_SignInit(c->session, &mechanism, s->p11->key);
    if (rv != CKR_OK) return (long)rv;
    CK_ULONG length = s->sig_len;
    rv = f->C_Sign(c->session, info, (CK_ULONG)info_len, signature, &length);
    if (rv != CKR_OK) return (long)rv;
    return length == s->sig_len ? 0 : (long)CKR_GENERAL_ERROR;
}

/* ---- The journal line (the manifest entry) and the audit line, byte for byte what file-job.ts writes with
 * JSON.stringify: same keys in the same order, same escapes. */

static void text_add(text_t *t, const char *data, size_t n) {
    if (t->failed) return;
    if (t->length + n > t->cap) {
        size_t cap = t->cap ? t->cap : 16 * 1024;
        while (cap < t->length + n) cap *= 2;
        char *grown = realloc(t->data, cap);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->data = grown;
        t->cap = cap;
    }
    memcpy(t->data + t->length, data, n);
    t->length += n;
}

static void text_str(text_t *t, const char *z) { text_add(t, z, strlen(z)); }

/* A JSON string's inside as JSON.stringify writes it (names are valid UTF-8, from strings node encoded). */
static void text_json(text_t *t, const char *z) {
    static const char digits[] = "0123456789abcdef";
    const char *run = z;
    for (const unsigned char *p = (const unsigned char *)z; *p; p++) {
        if (*p >= 0x20 && *p != '"' && *p != '\\') continue;
        text_add(t, run, (size_t)((const char *)p - run));
        char esc[7] = {'\\', 0};
        size_t n = 2;
        switch (*p) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = digits[*p >> 4];
            esc[5] = digits[*p & 15];
            n = 6;
        }
        text_add(t, esc, n);
        run = (const char *)p + 1;
    }
    text_str(t, run);
}

static void text_hex(text_t *t, const unsigned char *in, size_t n) {
    char out[129];
    to_hex(out, in, n);
    text_add(t, out, 2 * n);
}

/* new Date().toISOString(): 2026-12-02T17:16:13.381Z */
static void iso_now(char out[64]) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static void lines(const signer_t *s, batch_files_t *b, const char *rel, const unsigned char *source_sha,
                  const unsigned char *output_sha, const unsigned char *digest, size_t size) {
    char time[64], number[32];
    iso_now(time);
    text_t *j = &b->journal;
    text_str(j, "{\"source\":\"");
    text_json(j, rel);
    text_str(j, "\",\"sourceSha256\":\"");
    text_hex(j, source_sha, 32);
    text_str(j, "\",\"signer\":");
    text_str(j, s->json_signer);
    text_str(j, ",\"digest\":");
    text_str(j, s->json_hash);
    text_str(j, ",\"outputs\":[{\"file\":\"");
    text_json(j, rel);
    text_str(j, ".sgn\",\"sha256\":\"");
    text_hex(j, output_sha, 32);
    snprintf(number, sizeof number, "\",\"size\":%zu", size);
    text_str(j, number);
    text_str(j, ",\"kind\":\"signed\"}],\"signedAt\":\"");
    text_str(j, time);
    text_str(j, "\"}\n");

    text_t *a = &b->audit;
    text_str(a, "{\"time\":\"");
    text_str(a, time);
    text_str(a, "\",\"signer\":");
    text_str(a, s->json_signer);
    if (s->json_token) {
        text_str(a, ",\"token\":");
        text_str(a, s->json_token);
    }
    text_str(a, ",\"file\":\"");
    text_json(a, rel);
    text_str(a, ".sgn\",\"hash\":");
    text_str(a, s->json_hash);
    text_str(a, ",\"digest\":\"");
    text_hex(a, digest, s->digest_len);
    text_str(a, "\",\"job\":");
    text_str(a, s->json_job);
    text_str(a, "}\n");
}

static void one_file(const signer_t *s, context_t *c, batch_files_t *b, size_t i) {
    char path[8192];
    const char *rel = b->source[i];
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    size_t name_length = strlen(base) + 5; /* NAME.sgn and its NUL */

    /* The header's length depends on the name only, so the body is read straight after it (no copy). */
    size_t sig_start = s->version_len + 5 + s->signer_len;
    size_t after_sig = sig_start + 3 + s->sig_len;
    size_t unpadded = after_sig + 3 + name_length + 7;
    size_t header_len = unpadded + ((4 - unpadded % 4) % 4);

    /* A path longer than the buffer is refused whole, never opened cut short. */
    long long n = (size_t)snprintf(path, sizeof path, "%s/%s", s->src_root, rel) >= sizeof path ? -ENAMETOOLONG
                                                                                               : read_at(c, path, header_len);
    if (n < 0) {
        b->status[i] = ST_READ;
        b->err[i] = (int32_t)-n;
        return;
    }
    unsigned char *h = c->buf;
    const unsigned char *body = h + header_len;
    if (n == 0) {
        b->status[i] = ST_EMPTY;
        return;
    }
    if (b->xml[i] && !looks_like_xml(body, (size_t)n)) {
        b->status[i] = ST_NOT_XML;
        return;
    }
    unsigned char source_sha[32], sha[32], digest[64];
    unsigned int length;
    EVP_DigestInit_ex2(c->mctx, s->sha256, NULL);
    EVP_DigestUpdate(c->mctx, body, (size_t)n);
    EVP_DigestFinal_ex(c->mctx, source_sha, &length);

    /* The layout of SignedFileTemplate.prepare(): version | tag 2 | signer elements | tag 12 | tag 14 | tag 15 |
     * padding (tag 13) to four bytes. */
    memcpy(h, s->version, s->version_len);
    size_t at = s->version_len;
    h[at] = 2;
    put16(h + at + 1, 2);
    put16(h + at + 3, (unsigned)header_len);
    at += 5;
    memcpy(h + at, s->signer, s->signer_len);
    at += s->signer_len;
    h[at] = 12;
    put16(h + at + 1, (unsigned)s->sig_len);
    at = after_sig;
    h[at] = 14;
    put16(h + at + 1, (unsigned)name_length);
    at += 3;
    memcpy(h + at, base, name_length - 5);
    memcpy(h + at + name_length - 5, ".sgn", 5);
    at += name_length;
    h[at] = 15;
    put16(h + at + 1, 4);
    put16(h + at + 3, s->timestamp >> 16);
    put16(h + at + 5, s->timestamp & 0xffff);
    at += 7;
    while (at < header_len) h[at++] = 13;

    EVP_DigestInit_ex2(c->mctx, s->md, NULL);
    EVP_DigestUpdate(c->mctx, h, sig_start);
    EVP_DigestUpdate(c->mctx, h + after_sig, header_len - after_sig + (size_t)n);
    EVP_DigestFinal_ex(c->mctx, digest, &length);
    long failed = sign_digest(s, c, digest, h + sig_start + 3);
    if (failed) {
        b->status[i] = ST_SIGNER;
        b->err[i] = (int32_t)failed;
        return;
    }
    size_t total = header_len + (size_t)n;
    int e = (size_t)snprintf(path, sizeof path, "%s/%s", s->out_root, b->temp[i]) >= sizeof path ? ENAMETOOLONG
                                                                                         : write_temp(s, path, h, total);
    if (e) {
        b->status[i] = ST_WRITE;
        b->err[i] = e;
        return;
    }
    EVP_DigestInit_ex2(c->mctx, s->sha256, NULL);
    EVP_DigestUpdate(c->mctx, h, total);
    EVP_DigestFinal_ex(c->mctx, sha, &length);
    b->status[i] = ST_SIGNED;
    lines(s, b, rel, source_sha, sha, digest, total);
}

/* One thread per context: takes the next queued call, does its files one after the other, hands it back. */
static void *worker(void *arg) {
    context_t *c = arg;
    signer_t *s = c->signer;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->queue_head && !s->closing) pthread_cond_wait(&s->wake, &s->lock);
        batch_files_t *b = s->queue_head;
        if (!b || s->aborting) break;
        s->queue_head = b->next;
        if (!s->queue_head) s->queue_tail = NULL;
        pthread_mutex_unlock(&s->lock);
        for (size_t i = 0; i < b->count; i++) {
            one_file(s, c, b, i);
            if (b->status[i] == ST_SIGNED) b->signed_count++;
            b->journal_end[i] = (uint32_t)b->journal.length;
            b->audit_end[i] = (uint32_t)b->audit.length;
        }
        /* Never blocks (unbounded queue); after close nobody waits, and the call is refused: free it there. */
        if (napi_call_threadsafe_function(s->tsfn, b, napi_tsfn_blocking) != napi_ok) free_batch_files(b);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* N-API                                                                                                        */

typedef struct {
    signer_t *s; /* NULL once closed */
} handle_box_t;

static void free_batch_files(batch_files_t *b) {
    free(b->out_root);
    free(b->names);
    free(b->temp_names);
    free(b->source);
    free(b->temp);
    free(b->xml);
    free(b->status);
    free(b->err);
    free(b->journal_end);
    free(b->audit_end);
    free(b->journal.data);
    free(b->audit.data);
    free(b);
}

/* Sessions, keys, buffers: after every thread left. */
static void free_signer(signer_t *s) {
    for (size_t i = 0; i < s->n_contexts; i++) {
        context_t *c = s->all_contexts[i];
        EVP_MD_CTX_free(c->mctx);
        EVP_PKEY_CTX_free(c->pctx);
        free(c->buf);
        free(c);
    }
    s->n_contexts = 0;
    if (s->p11) {
        for (size_t i = 0; i < s->p11->n_sessions; i++) s->p11->f->C_CloseSession(s->p11->sessions[i]);
        s->p11->n_sessions = 0;
        pool_free(s->p11, NULL);
    }
    for (batch_files_t *b = s->queue_head, *next; b; b = next) {
        next = b->next;
        free_batch_files(b);
    }
    EVP_PKEY_free(s->pkey);
    EVP_MD_free(s->md);
    EVP_MD_free(s->sha256);
    free(s->src_root);
    free(s->out_root);
    free(s->version);
    free(s->json_signer);
    free(s->json_hash);
    free(s->json_job);
    free(s->json_token);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s);
}

/* Threads finish the queued calls (or, aborting, drop them) and leave; joined here. */
static void stop_threads(signer_t *s, int abort_queue) {
    pthread_mutex_lock(&s->lock);
    s->closing = 1;
    if (abort_queue) s->aborting = 1;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < s->threads_started; i++) pthread_join(s->all_contexts[i]->thread, NULL);
    s->threads_started = 0;
}

static napi_value throw_error(napi_env env, const char *code, const char *message) {
    napi_throw_error(env, code, message);
    return NULL;
}

static void finalize_chunk(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    free_batch_files(data);
}

/* A finished call, on the JS thread: its results as typed arrays, the lines as two Buffers, and the chunk (an
 * external) whose signed files renameChunks puts into place. */
static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
    (void)js_cb;
    batch_files_t *b = data;
    signer_t *s = context;
    if (!env) {
        free_batch_files(b); /* teardown: nobody waits */
        return;
    }
    napi_value result, value, array_buffer;
    void *bytes;
    napi_create_object(env, &result);
    napi_create_buffer_copy(env, b->count, b->status, NULL, &value);
    napi_set_named_property(env, result, "status", value);
    napi_create_arraybuffer(env, b->count * 4, &bytes, &array_buffer);
    memcpy(bytes, b->err, b->count * 4);
    napi_create_typedarray(env, napi_int32_array, b->count, array_buffer, 0, &value);
    napi_set_named_property(env, result, "errno", value);
    if (b->journal.failed || b->audit.failed) {
        napi_value err, message;
        napi_create_string_utf8(env, "out of memory for the journal lines", NAPI_AUTO_LENGTH, &message);
        napi_create_error(env, NULL, message, &err);
        napi_reject_deferred(env, b->deferred, err);
        free_batch_files(b);
        if (--s->busy == 0) napi_unref_threadsafe_function(env, s->tsfn);
        return;
    }
    napi_create_arraybuffer(env, b->count * 4, &bytes, &array_buffer);
    memcpy(bytes, b->journal_end, b->count * 4);
    napi_create_typedarray(env, napi_uint32_array, b->count, array_buffer, 0, &value);
    napi_set_named_property(env, result, "journalEnd", value);
    napi_create_arraybuffer(env, b->count * 4, &bytes, &array_buffer);
    memcpy(bytes, b->audit_end, b->count * 4);
    napi_create_typedarray(env, napi_uint32_array, b->count, array_buffer, 0, &value);
    napi_set_named_property(env, result, "auditEnd", value);
    napi_create_buffer_copy(env, b->journal.length, b->journal.length ? b->journal.data : "", NULL, &value);
    napi_set_named_property(env, result, "journal", value);
    napi_create_buffer_copy(env, b->audit.length, b->audit.length ? b->audit.data : "", NULL, &value);
    napi_set_named_property(env, result, "audit", value);
    napi_create_uint32(env, (uint32_t)b->signed_count, &value);
    napi_set_named_property(env, result, "signed", value);
    /* The lines are in JS now; the names stay for renameChunks, with the chunk external that owns them. */
    free(b->journal.data);
    free(b->audit.data);
    b->journal.data = b->audit.data = NULL;
    napi_value chunk;
    if (napi_create_external(env, b, finalize_chunk, NULL, &chunk) != napi_ok) {
        napi_value err, message;
        napi_create_string_utf8(env, "cannot hand the chunk over", NAPI_AUTO_LENGTH, &message);
        napi_create_error(env, NULL, message, &err);
        napi_reject_deferred(env, b->deferred, err);
        free_batch_files(b);
    } else {
        napi_set_named_property(env, result, "chunk", chunk);
        napi_resolve_deferred(env, b->deferred, result);
    }
    if (--s->busy == 0) napi_unref_threadsafe_function(env, s->tsfn);
}

static void tsfn_finalize(napi_env env, void *data, void *hint) {
    (void)hint;
    signer_t *s = data;
    stop_threads(s, 1);
    if (s->hook_registered) napi_remove_env_cleanup_hook(env, s->cleanup, s);
    free_signer(s);
}

static void cleanup_hook(void *arg) {
    /* The environment goes away (process exit, worker end): no thread may stay inside a module or OpenSSL. */
    signer_t *s = arg;
    s->hook_registered = 0;
    stop_threads(s, 1);
}

static signer_t *signer_of(napi_env env, napi_value v, handle_box_t **box_out) {
    handle_box_t *box = NULL;
    napi_valuetype t;
    napi_typeof(env, v, &t);
    if (t != napi_external || napi_get_value_external(env, v, (void **)&box) != napi_ok || !box) return NULL;
    if (box_out) *box_out = box;
    return box->s;
}

/* Base 36 of n, as Number.prototype.toString(36) writes it; returns its length. */
static size_t base36(char *out, uint64_t n) {
    char digits[16];
    size_t k = 0;
    do digits[k++] = "0123456789abcdefghijklmnopqrstuvwxyz"[n % 36];
    while ((n /= 36));
    for (size_t i = 0; i < k; i++) out[i] = digits[k - 1 - i];
    return k;
}

/* Each source's temp name, as TempNames.at() makes it: DIR/.openctl-tmp-NAME.sgn.<prefix><counter in base 36>. */
static int make_temps(batch_files_t *b, const char *prefix, uint64_t start) {
    size_t total = 0, prefix_len = strlen(prefix);
    for (size_t i = 0; i < b->count; i++) total += strlen(b->source[i]) + sizeof TEMP_MARKER + 5 + prefix_len + 14;
    char *at = b->temp_names = malloc(total ? total : 1);
    if (!at) return -1;
    for (size_t i = 0; i < b->count; i++) {
        const char *rel = b->source[i];
        const char *slash = strrchr(rel, '/');
        size_t dir = slash ? (size_t)(slash - rel) + 1 : 0;
        b->temp[i] = at;
        memcpy(at, rel, dir);
        at += dir;
        memcpy(at, TEMP_MARKER, sizeof TEMP_MARKER - 1);
        at += sizeof TEMP_MARKER - 1;
        size_t name = strlen(rel + dir);
        memcpy(at, rel + dir, name);
        at += name;
        memcpy(at, ".sgn.", 5);
        at += 5;
        memcpy(at, prefix, prefix_len);
        at += prefix_len;
        at += base36(at, start + i);
        *at++ = 0;
    }
    return 0;
}

static char *string_property(napi_env env, napi_value obj, const char *name);
static double number_property(napi_env env, napi_value obj, const char *name, double fallback);

static napi_value js_sign_files(napi_env env, napi_callback_info info) {
    size_t argc = 4;
    napi_value argv[4], promise;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3)
        return throw_error(env, "ERR_INVALID_ARG_TYPE", "signFiles(handle, names, xml, temps)");
    signer_t *s = signer_of(env, argv[0], NULL);
    if (!s) return throw_error(env, "ERR_POOL_CLOSED", "the file signer is closed");
    size_t length = 0;
    if (napi_get_value_string_utf8(env, argv[1], NULL, 0, &length) != napi_ok)
        return throw_error(env, "ERR_INVALID_ARG_TYPE", "names must be a string");
    uint8_t *xml = NULL;
    size_t count = 0;
    napi_typedarray_type type;
    bool typed = false;
    napi_is_typedarray(env, argv[2], &typed);
    if (!typed || napi_get_typedarray_info(env, argv[2], &type, &count, (void **)&xml, NULL, NULL) != napi_ok ||
        type != napi_uint8_array || count == 0)
        return throw_error(env, "ERR_INVALID_ARG_TYPE", "xml must be a non-empty Uint8Array, one byte per file");
    napi_valuetype temps_type = napi_undefined;
    if (argc >= 4) napi_typeof(env, argv[3], &temps_type);
    char *temp_prefix = temps_type == napi_object ? string_property(env, argv[3], "prefix") : NULL;
    double temp_start = temps_type == napi_object ? number_property(env, argv[3], "start", -1) : -1;
    if (!temp_prefix || temp_start < 0 || strchr(temp_prefix, '/')) {
        free(temp_prefix);
        return throw_error(env, "ERR_INVALID_ARG_VALUE", "signFiles: temps must be { prefix, start >= 0 }");
    }
    batch_files_t *b = calloc(1, sizeof *b);
    if (!b) {
        free(temp_prefix);
        return throw_error(env, "ERR_NATIVE", "out of memory");
    }
    b->magic = CHUNK_MAGIC;
    b->s = s;
    b->count = count;
    b->out_root = strdup(s->out_root);
    b->names = malloc(length + 1);
    b->source = calloc(count, sizeof(char *));
    b->temp = calloc(count, sizeof(char *));
    b->xml = malloc(count);
    b->status = calloc(count, 1);
    b->err = calloc(count, sizeof(int32_t));
    b->journal_end = calloc(count, sizeof(uint32_t));
    b->audit_end = calloc(count, sizeof(uint32_t));
    if (!b->out_root || !b->names || !b->source || !b->temp || !b->xml || !b->status || !b->err || !b->journal_end || !b->audit_end) {
        free_batch_files(b);
        free(temp_prefix);
        return throw_error(env, "ERR_NATIVE", "out of memory");
    }
    memcpy(b->xml, xml, count);
    napi_get_value_string_utf8(env, argv[1], b->names, length + 1, &length);
    /* "source\0" per file: split in place. */
    char *p = b->names, *end = b->names + length;
    for (size_t i = 0; i < count; i++) {
        char *z = p < end ? memchr(p, 0, (size_t)(end - p)) : NULL;
        if (!z || z == p) {
            free_batch_files(b);
            free(temp_prefix);
            return throw_error(env, "ERR_INVALID_ARG_VALUE", "names must hold a source name per file");
        }
        b->source[i] = p;
        p = z + 1;
    }
    int made = make_temps(b, temp_prefix, (uint64_t)temp_start);
    free(temp_prefix);
    if (made != 0) {
        free_batch_files(b);
        return throw_error(env, "ERR_NATIVE", "out of memory");
    }
    if (napi_create_promise(env, &b->deferred, &promise) != napi_ok) {
        free_batch_files(b);
        return throw_error(env, "ERR_NATIVE", "cannot create a promise");
    }
    if (s->busy++ == 0) napi_ref_threadsafe_function(env, s->tsfn);
    pthread_mutex_lock(&s->lock);
    if (s->queue_tail) s->queue_tail->next = b;
    else s->queue_head = b;
    s->queue_tail = b;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    return promise;
}

/* Threads leave once the queued calls are done (their results still arrive); the rest goes with the tsfn. */
static void close_box(handle_box_t *box) {
    signer_t *s = box->s;
    if (!s) return;
    box->s = NULL;
    stop_threads(s, 0);
    napi_release_threadsafe_function(s->tsfn, napi_tsfn_release);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1], undefined;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    napi_get_undefined(env, &undefined);
    handle_box_t *box = NULL;
    if (argc && signer_of(env, argv[0], &box) && box) close_box(box);
    return undefined;
}

static void finalize_box(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    close_box(data);
    free(data);
}

/* Reads an optional string property (malloc'ed, NULL when absent). */
static char *string_property(napi_env env, napi_value obj, const char *name) {
    napi_value v;
    napi_valuetype t;
    if (napi_get_named_property(env, obj, name, &v) != napi_ok) return NULL;
    napi_typeof(env, v, &t);
    if (t != napi_string) return NULL;
    size_t n = 0;
    napi_get_value_string_utf8(env, v, NULL, 0, &n);
    char *out = malloc(n + 1);
    if (out) napi_get_value_string_utf8(env, v, out, n + 1, &n);
    return out;
}

static int bytes_property(napi_env env, napi_value obj, const char *name, unsigned char **data, size_t *length) {
    napi_value v;
    napi_typedarray_type type;
    *data = NULL;
    *length = 0;
    if (napi_get_named_property(env, obj, name, &v) != napi_ok) return -1;
    bool typed = false;
    napi_is_typedarray(env, v, &typed);
    if (!typed) return -1;
    if (napi_get_typedarray_info(env, v, &type, length, (void **)data, NULL, NULL) != napi_ok || type != napi_uint8_array) return -1;
    return 0;
}

static double number_property(napi_env env, napi_value obj, const char *name, double fallback) {
    napi_value v;
    double d;
    if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_get_value_double(env, v, &d) != napi_ok) return fallback;
    return d;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1], handle;
    napi_valuetype t = napi_undefined;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc >= 1) napi_typeof(env, argv[0], &t);
    if (t != napi_object) return throw_error(env, "ERR_INVALID_ARG_TYPE", "open(options): options must be an object");
    napi_value o = argv[0];

    signer_t *s = calloc(1, sizeof *s);
    if (!s) return throw_error(env, "ERR_NATIVE", "out of memory");
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    char message[600] = "";
    const char *code = "ERR_INVALID_ARG_VALUE";
    char *hash = string_property(env, o, "hash");
    char *pem = string_property(env, o, "pem");
    s->src_root = string_property(env, o, "srcRoot");
    s->out_root = string_property(env, o, "outRoot");
    s->timestamp = (uint32_t)number_property(env, o, "timestamp", 0);
    s->json_signer = string_property(env, o, "jsonSigner");
    s->json_hash = string_property(env, o, "jsonHash");
    s->json_job = string_property(env, o, "jsonJob");
    s->json_token = string_property(env, o, "jsonToken");
    size_t contexts = (size_t)number_property(env, o, "contexts", 0);
    unsigned char *version, *signer;
    size_t version_len, signer_len;
    if (!hash || !s->src_root || !s->out_root || !s->json_signer || !s->json_hash || !s->json_job || contexts < 1 || contexts > POOL_MAX_SESSIONS ||
        bytes_property(env, o, "versionElement", &version, &version_len) != 0 ||
        bytes_property(env, o, "signerElements", &signer, &signer_len) != 0) {
        snprintf(message, sizeof message, "open(options): hash, srcRoot, outRoot, contexts (1-%d), versionElement, signerElements and the JSON values are required", POOL_MAX_SESSIONS);
        goto fail;
    }
    s->version = malloc(version_len + signer_len);
    if (!s->version) goto fail;
    memcpy(s->version, version, version_len);
    memcpy(s->version + version_len, signer, signer_len);
    s->signer = s->version + version_len;
    s->version_len = version_len;
    s->signer_len = signer_len;

    if (!strcmp(hash, "sha1")) s->prefix = SHA1_PREFIX, s->prefix_len = sizeof SHA1_PREFIX;
    else if (!strcmp(hash, "sha256")) s->prefix = SHA256_PREFIX, s->prefix_len = sizeof SHA256_PREFIX;
    else if (!strcmp(hash, "sha384")) s->prefix = SHA384_PREFIX, s->prefix_len = sizeof SHA384_PREFIX;
    else if (!strcmp(hash, "sha512")) s->prefix = SHA512_PREFIX, s->prefix_len = sizeof SHA512_PREFIX;
    else {
        snprintf(message, sizeof message, "unknown hash %s", hash);
        goto fail;
    }
    /* Fetched once: an implicit fetch per EVP_DigestInit takes a lock every thread shares. */
    s->md = EVP_MD_fetch(NULL, hash, NULL);
    s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!s->md || !s->sha256) {
        snprintf(message, sizeof message, "this OpenSSL has no %s", hash);
        goto fail;
    }
    s->digest_len = (size_t)EVP_MD_get_size(s->md);

    napi_value pkcs11;
    napi_valuetype pt = napi_undefined;
    if (napi_get_named_property(env, o, "pkcs11", &pkcs11) == napi_ok) napi_typeof(env, pkcs11, &pt);
    if (pem) {
        BIO *bio = BIO_new_mem_buf(pem, -1);
        s->pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        memset(pem, 0, strlen(pem));
        if (!s->pkey || EVP_PKEY_get_base_id(s->pkey) != EVP_PKEY_RSA) {
            snprintf(message, sizeof message, "the PEM text holds no RSA private key OpenSSL can read");
            goto fail;
        }
        s->sig_len = (size_t)EVP_PKEY_get_size(s->pkey);
    } else if (pt == napi_object) {
        pool_options_t po;
        pool_error_t pe;
        memset(&po, 0, sizeof po);
        char *module_path = string_property(env, pkcs11, "modulePath");
        char *key_label = string_property(env, pkcs11, "keyLabel");
        unsigned char *key_id = NULL;
        size_t key_id_len = 0;
        bytes_property(env, pkcs11, "keyId", &key_id, &key_id_len);
        po.module_path = module_path;
        po.has_slot = 1;
        po.slot = (CK_SLOT_ID)number_property(env, pkcs11, "slotId", 0);
        po.key_id = key_id;
        po.key_id_length = key_id_len;
        po.key_label = key_label;
        po.sessions = contexts;
        s->p11 = module_path ? pool_open(&po, &pe) : NULL;
        free(module_path);
        free(key_label);
        if (!s->p11) {
            snprintf(message, sizeof message, "%s", module_path ? pe.message : "pkcs11.modulePath is required");
            code = "ERR_PKCS11";
            goto fail;
        }
        s->sig_len = s->p11->signature_length;
    } else {
        snprintf(message, sizeof message, "open(options): a pem key or a pkcs11 key is required");
        goto fail;
    }
    for (size_t i = 0; i < contexts; i++) {
        context_t *c = calloc(1, sizeof *c);
        if (!c) goto fail;
        s->all_contexts[s->n_contexts++] = c;
        c->signer = s;
        c->mctx = EVP_MD_CTX_new();
        if (!c->mctx) goto fail;
        if (s->pkey) {
            c->pctx = EVP_PKEY_CTX_new(s->pkey, NULL);
            if (!c->pctx || EVP_PKEY_sign_init(c->pctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(c->pctx, RSA_PKCS1_PADDING) != 1) {
                snprintf(message, sizeof message, "EVP_PKEY_sign_init failed");
                goto fail;
            }
        } else {
            c->session = s->p11->sessions[i];
        }
    }
    napi_value name;
    napi_create_string_utf8(env, "openctl-sign-files", NAPI_AUTO_LENGTH, &name);
    if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, s, tsfn_finalize, s, call_js, &s->tsfn) != napi_ok) {
        snprintf(message, sizeof message, "cannot create the signer's callback");
        goto fail;
    }
    /* From here the tsfn owns the signer: tsfn_finalize frees it. */
    napi_unref_threadsafe_function(env, s->tsfn);
    s->cleanup = cleanup_hook;
    if (napi_add_env_cleanup_hook(env, cleanup_hook, s) == napi_ok) s->hook_registered = 1;
    for (size_t i = 0; i < s->n_contexts; i++) {
        if (pthread_create(&s->all_contexts[i]->thread, NULL, worker, s->all_contexts[i]) != 0) break;
        s->threads_started++;
    }
    free(hash);
    free(pem);
    handle_box_t *box = calloc(1, sizeof *box);
    if (!box || s->threads_started == 0 || napi_create_external(env, box, finalize_box, NULL, &handle) != napi_ok) {
        stop_threads(s, 1);
        napi_release_threadsafe_function(s->tsfn, napi_tsfn_release);
        free(box);
        return throw_error(env, "ERR_NATIVE", "cannot start the signer's threads");
    }
    box->s = s;
    return handle;
fail:
    free(hash);
    free(pem);
    free_signer(s);
    return throw_error(env, code, message[0] ? message : "out of memory");
}

/* ------------------------------------------------------------------------------------------------------------ */
/* renameAll: a commit group's renames in one call, off the JS thread                                           */

typedef struct {
    char *names;
    size_t count;
    char **from, **to;
    int32_t *err;
    napi_deferred deferred;
    napi_async_work work;
} renames_t;

static void free_renames(renames_t *r) {
    free(r->names);
    free(r->from);
    free(r->to);
    free(r->err);
    free(r);
}

static void renames_execute(napi_env env, void *data) {
    (void)env;
    renames_t *r = data;
    for (size_t i = 0; i < r->count; i++) r->err[i] = rename(r->from[i], r->to[i]) == 0 ? 0 : errno;
}

static void renames_complete(napi_env env, napi_status status, void *data) {
    renames_t *r = data;
    napi_value array_buffer, result;
    void *bytes;
    if (status != napi_ok)
        for (size_t i = 0; i < r->count; i++) r->err[i] = ECANCELED;
    napi_create_arraybuffer(env, r->count * 4, &bytes, &array_buffer);
    memcpy(bytes, r->err, r->count * 4);
    napi_create_typedarray(env, napi_int32_array, r->count, array_buffer, 0, &result);
    napi_resolve_deferred(env, r->deferred, result);
    napi_delete_async_work(env, r->work);
    free_renames(r);
}

/* renameAll("from\0to\0" per file, count) -> Promise<Int32Array>: the errno of each rename (0: renamed), in order. */
static napi_value js_rename_all(napi_env env, napi_callback_info info) {
    size_t argc = 2;
    napi_value argv[2], promise, resource;
    uint32_t count = 0;
    size_t length = 0;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 2 || napi_get_value_string_utf8(env, argv[0], NULL, 0, &length) != napi_ok ||
        napi_get_value_uint32(env, argv[1], &count) != napi_ok || count == 0)
        return throw_error(env, "ERR_INVALID_ARG_TYPE", "renameAll(names, count)");
    renames_t *r = calloc(1, sizeof *r);
    if (!r) return throw_error(env, "ERR_NATIVE", "out of memory");
    r->count = count;
    r->names = malloc(length + 1);
    r->from = calloc(count, sizeof(char *));
    r->to = calloc(count, sizeof(char *));
    r->err = calloc(count, sizeof(int32_t));
    if (!r->names || !r->from || !r->to || !r->err) {
        free_renames(r);
        return throw_error(env, "ERR_NATIVE", "out of memory");
    }
    napi_get_value_string_utf8(env, argv[0], r->names, length + 1, &length);
    char *p = r->names, *end = r->names + length;
    for (size_t i = 0; i < count; i++) {
        char *z1 = p < end ? memchr(p, 0, (size_t)(end - p)) : NULL;
        char *z2 = z1 && z1 + 1 < end ? memchr(z1 + 1, 0, (size_t)(end - z1 - 1)) : NULL;
        if (!z2 || z1 == p || z2 == z1 + 1) {
            free_renames(r);
            return throw_error(env, "ERR_INVALID_ARG_VALUE", "names must hold a from and a to path per rename");
        }
        r->from[i] = p;
        r->to[i] = z1 + 1;
        p = z2 + 1;
    }
    napi_create_string_utf8(env, "openctl-rename-all", NAPI_AUTO_LENGTH, &resource);
    if (napi_create_promise(env, &r->deferred, &promise) != napi_ok ||
        napi_create_async_work(env, NULL, resource, renames_execute, renames_complete, r, &r->work) != napi_ok ||
        napi_queue_async_work(env, r->work) != napi_ok) {
        free_renames(r);
        return throw_error(env, "ERR_NATIVE", "cannot queue the renames");
    }
    return promise;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* renameChunks: the signed files of whole chunks renamed into place in one call, off the JS thread             */

typedef struct {
    batch_files_t **chunks;
    size_t n;
    int32_t *failed; /* chunk index, file index, errno: one triple per failed rename */
    size_t n_failed;
    napi_deferred deferred;
    napi_async_work work;
} chunk_renames_t;

static void chunk_renames_execute(napi_env env, void *data) {
    (void)env;
    chunk_renames_t *r = data;
    char from[8192], to[8192];
    for (size_t k = 0; k < r->n; k++) {
        batch_files_t *b = r->chunks[k];
        for (size_t i = 0; i < b->count; i++) {
            if (b->status[i] != ST_SIGNED) continue;
            int e = 0;
            if ((size_t)snprintf(from, sizeof from, "%s/%s", b->out_root, b->temp[i]) >= sizeof from ||
                (size_t)snprintf(to, sizeof to, "%s/%s.sgn", b->out_root, b->source[i]) >= sizeof to)
                e = ENAMETOOLONG;
            else if (rename(from, to) != 0)
                e = errno;
            if (!e) continue;
            unlink(from); /* as the committer does: a failed file leaves no temp file */
            r->failed[3 * r->n_failed] = (int32_t)k;
            r->failed[3 * r->n_failed + 1] = (int32_t)i;
            r->failed[3 * r->n_failed + 2] = e;
            r->n_failed++;
        }
    }
}

static void chunk_renames_complete(napi_env env, napi_status status, void *data) {
    chunk_renames_t *r = data;
    napi_value array_buffer, result;
    void *bytes;
    if (status != napi_ok) {
        /* Cancelled: nothing is known renamed; every signed file of these chunks is reported failed. */
        r->n_failed = 0;
        for (size_t k = 0; k < r->n; k++)
            for (size_t i = 0; i < r->chunks[k]->count; i++)
                if (r->chunks[k]->status[i] == ST_SIGNED) {
                    r->failed[3 * r->n_failed] = (int32_t)k;
                    r->failed[3 * r->n_failed + 1] = (int32_t)i;
                    r->failed[3 * r->n_failed + 2] = ECANCELED;
                    r->n_failed++;
                }
    }
    napi_create_arraybuffer(env, r->n_failed * 3 * 4, &bytes, &array_buffer);
    if (r->n_failed) memcpy(bytes, r->failed, r->n_failed * 3 * 4);
    napi_create_typedarray(env, napi_int32_array, r->n_failed * 3, array_buffer, 0, &result);
    for (size_t k = 0; k < r->n; k++) {
        napi_delete_reference(env, r->chunks[k]->keep);
        r->chunks[k]->keep = NULL;
    }
    napi_resolve_deferred(env, r->deferred, result);
    napi_delete_async_work(env, r->work);
    free(r->failed);
    free(r->chunks);
    free(r);
}

/* renameChunks(chunks: external[]) -> Promise<Int32Array>: every signed file of each chunk renamed from its temp
 * name to SOURCE.sgn, in order; one (chunk index, file index, errno) triple per rename that failed (its temp file
 * removed). An empty array: all in place. A chunk is renamed once; given again, it is refused. */
static napi_value js_rename_chunks(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1], promise, resource;
    bool is_array = false;
    uint32_t n = 0;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[0], &n) != napi_ok || n == 0)
        return throw_error(env, "ERR_INVALID_ARG_TYPE", "renameChunks(chunks): a non-empty array of chunks");
    chunk_renames_t *r = calloc(1, sizeof *r);
    if (!r || !(r->chunks = calloc(n, sizeof *r->chunks))) {
        free(r);
        return throw_error(env, "ERR_NATIVE", "out of memory");
    }
    r->n = n;
    size_t files = 0;
    for (uint32_t k = 0; k < n; k++) {
        napi_value v;
        napi_valuetype t = napi_undefined;
        batch_files_t *b = NULL;
        napi_get_element(env, argv[0], k, &v);
        napi_typeof(env, v, &t);
        if (t != napi_external || napi_get_value_external(env, v, (void **)&b) != napi_ok || !b || b->magic != CHUNK_MAGIC) {
            free(r->chunks);
            free(r);
            return throw_error(env, "ERR_INVALID_ARG_TYPE", "renameChunks(chunks): not a chunk of signFiles");
        }
        for (uint32_t j = 0; j < k; j++)
            if (r->chunks[j] == b) b = NULL;
        if (!b || b->renamed) {
            free(r->chunks);
            free(r);
            return throw_error(env, "ERR_INVALID_ARG_VALUE", "renameChunks(chunks): a chunk is renamed once");
        }
        r->chunks[k] = b;
        files += b->count;
    }
    r->failed = malloc((files ? files : 1) * 3 * sizeof(int32_t));
    if (!r->failed) {
        free(r->chunks);
        free(r);
        return throw_error(env, "ERR_NATIVE", "out of memory");
    }
    napi_create_string_utf8(env, "openctl-rename-chunks", NAPI_AUTO_LENGTH, &resource);
    if (napi_create_promise(env, &r->deferred, &promise) != napi_ok ||
        napi_create_async_work(env, NULL, resource, chunk_renames_execute, chunk_renames_complete, r, &r->work) != napi_ok) {
        free(r->failed);
        free(r->chunks);
        free(r);
        return throw_error(env, "ERR_NATIVE", "cannot queue the renames");
    }
    /* Held until the renames are done: the chunks' names must outlive a JS side that dropped them. */
    for (uint32_t k = 0; k < n; k++) {
        napi_value v;
        napi_get_element(env, argv[0], k, &v);
        napi_create_reference(env, v, 1, &r->chunks[k]->keep);
        r->chunks[k]->renamed = 1;
    }
    if (napi_queue_async_work(env, r->work) != napi_ok) {
        /* Not queued: complete it as cancelled (every file reported failed, its temp file left for the resume). */
        chunk_renames_complete(env, napi_cancelled, r);
    }
    return promise;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* copyJournalEntries: the end of a job copies the journal's entry lines into the manifest, off the JS thread    */

typedef struct {
    char *path;
    int fd;
    char *prefix;
    double lines, outputs, bytes;
    int error;
    napi_deferred deferred;
    napi_async_work work;
} journal_copy_t;

static int write_all(int fd, const char *data, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w < 0 ? errno : EIO;
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Every whole line after the first (the job header) becomes a manifest entry: `prefix` before the first entry,
 * ",\n" between entries, nothing after the last; a last line without its newline counts (the journal ends with
 * one when this job wrote all of it). Lines are copied as they are: JSON escapes every control character, so a
 * line holds no newline of its own. Each output record of an entry has one "kind":, counted. */
static void journal_copy_execute(napi_env env, void *data) {
    (void)env;
    journal_copy_t *c = data;
    static const char KIND[] = "\"kind\":";
    int in = open(c->path, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        c->error = errno;
        return;
    }
    size_t cap = 1 << 20, filled = 0, out_cap = 2 << 20;
    char *buf = malloc(cap), *out = malloc(out_cap);
    int header = 1, eof = 0;
    if (!buf || !out) c->error = ENOMEM;
    while (!c->error && !eof) {
        if (filled == cap) {
            char *grown = realloc(buf, cap * 2); /* a line longer than the buffer */
            if (!grown) {
                c->error = ENOMEM;
                break;
            }
            buf = grown;
            cap *= 2;
        }
        ssize_t r = read(in, buf + filled, cap - filled);
        if (r < 0) {
            if (errno == EINTR) continue;
            c->error = errno;
            break;
        }
        if (r == 0) {
            eof = 1;
            if (filled == 0 || header) break;
            buf[filled++] = '\n'; /* room: filled < cap after a read that ended the file */
        }
        filled += (size_t)r;
        size_t start = 0, at = 0;
        if (out_cap < 2 * filled + 64) {
            char *grown = realloc(out, 2 * filled + 64);
            if (!grown) {
                c->error = ENOMEM;
                break;
            }
            out = grown;
            out_cap = 2 * filled + 64;
        }
        for (;;) {
            char *nl = memchr(buf + start, '\n', filled - start);
            if (!nl) break;
            size_t length = (size_t)(nl - (buf + start));
            if (header) {
                header = 0;
            } else if (length > 0) {
                const char *sep = c->lines ? ",\n" : c->prefix;
                size_t sep_len = strlen(sep);
                memcpy(out + at, sep, sep_len);
                at += sep_len;
                memcpy(out + at, buf + start, length);
                at += length;
                c->lines++;
                for (const char *k = buf + start, *end = nl; (k = memmem(k, (size_t)(end - k), KIND, sizeof KIND - 1)); k += sizeof KIND - 1) c->outputs++;
            }
            start = (size_t)(nl - buf) + 1;
        }
        if (at && (c->error = write_all(c->fd, out, at))) break;
        c->bytes += (double)at;
        memmove(buf, buf + start, filled - start);
        filled -= start;
    }
    free(buf);
    free(out);
    close(in);
}

static void journal_copy_complete(napi_env env, napi_status status, void *data) {
    journal_copy_t *c = data;
    napi_value result, value;
    if (status != napi_ok || c->error) {
        napi_value message, code;
        int e = status != napi_ok ? ECANCELED : c->error;
        napi_create_string_utf8(env, strerror(e), NAPI_AUTO_LENGTH, &message);
        napi_create_error(env, NULL, message, &result);
        napi_create_int32(env, -e, &code);
        napi_set_named_property(env, result, "errno", code);
        napi_reject_deferred(env, c->deferred, result);
    } else {
        napi_create_object(env, &result);
        napi_create_double(env, c->lines, &value);
        napi_set_named_property(env, result, "lines", value);
        napi_create_double(env, c->outputs, &value);
        napi_set_named_property(env, result, "outputs", value);
        napi_create_double(env, c->bytes, &value);
        napi_set_named_property(env, result, "bytes", value);
        napi_resolve_deferred(env, c->deferred, result);
    }
    napi_delete_async_work(env, c->work);
    free(c->path);
    free(c->prefix);
    free(c);
}

/* copyJournalEntries(journal: string, fd: number, prefix: string) -> Promise<{ lines, outputs, bytes }>: the
 * journal's entry lines written to fd at its current offset as manifest entries, on libuv's thread pool. A failed
 * read or write rejects with the errno (negative, as node's errors carry it). */
static napi_value js_copy_journal_entries(napi_env env, napi_callback_info info) {
    size_t argc = 3;
    napi_value argv[3], promise, resource;
    int32_t fd = -1;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    journal_copy_t *c = calloc(1, sizeof *c);
    if (!c) return throw_error(env, "ERR_NATIVE", "out of memory");
    size_t n = 0;
    if (argc >= 3 && napi_get_value_string_utf8(env, argv[0], NULL, 0, &n) == napi_ok && (c->path = malloc(n + 1)))
        napi_get_value_string_utf8(env, argv[0], c->path, n + 1, &n);
    if (argc >= 3 && napi_get_value_string_utf8(env, argv[2], NULL, 0, &n) == napi_ok && (c->prefix = malloc(n + 1)))
        napi_get_value_string_utf8(env, argv[2], c->prefix, n + 1, &n);
    if (!c->path || !c->prefix || napi_get_value_int32(env, argv[1], &fd) != napi_ok || fd < 0 || strlen(c->prefix) > 16) {
        free(c->path);
        free(c->prefix);
        free(c);
        return throw_error(env, "ERR_INVALID_ARG_TYPE", "copyJournalEntries(journal: string, fd: number, prefix: string)");
    }
    c->fd = fd;
    napi_create_string_utf8(env, "openctl-copy-journal", NAPI_AUTO_LENGTH, &resource);
    if (napi_create_promise(env, &c->deferred, &promise) != napi_ok ||
        napi_create_async_work(env, NULL, resource, journal_copy_execute, journal_copy_complete, c, &c->work) != napi_ok ||
        napi_queue_async_work(env, c->work) != napi_ok) {
        free(c->path);
        free(c->prefix);
        free(c);
        return throw_error(env, "ERR_NATIVE", "cannot queue the copy");
    }
    return promise;
}

NAPI_MODULE_INIT() {
    napi_property_descriptor props[] = {
        {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
        {"signFiles", NULL, js_sign_files, NULL, NULL, NULL, napi_enumerable, NULL},
        {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
        {"renameAll", NULL, js_rename_all, NULL, NULL, NULL, napi_enumerable, NULL},
        {"renameChunks", NULL, js_rename_chunks, NULL, NULL, NULL, napi_enumerable, NULL},
        {"copyJournalEntries", NULL, js_copy_journal_entries, NULL, NULL, NULL, napi_enumerable, NULL},
    };
    if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
    return walk_define(env, exports) == 0 ? exports : NULL;
}
