/*
 * csign: the benchmark's "limit B", a standalone measure of how many C_Sign per second a PKCS#11 module gives on
 * this machine, independent of openctl's own code. One session per thread on a single login, each thread looping
 * C_SignInit + C_Sign (CKM_RSA_PKCS over a SHA-256 DigestInfo) for the given time; prints one JSON line.
 *
 *   CSIGN_PIN=... csign --module /usr/lib/softhsm/libsofthsm2.so --key LABEL [--token LABEL] [--threads N]
 *                       [--seconds S]
 *
 * The PIN comes from CSIGN_PIN (or OPENCTL_PIN), never from the command line. --threads defaults to the number of
 * online CPUs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "p11.h"

#define MAX_THREADS 256

typedef struct {
    CK_SESSION_HANDLE session;
    unsigned long long signatures;
    CK_RV rv;
} worker_t;

static CK_FUNCTION_LIST_PTR f;
static CK_OBJECT_HANDLE g_key;
static double g_deadline;
static pthread_barrier_t g_start;
static CK_ULONG g_signature_length;

/* SHA-256 DigestInfo of "openctl csign" (any fixed 51 bytes do: the cost of RSA does not depend on them). */
static const unsigned char digest_info[51] = {
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    0x04, 0x20, 0x5d, 0x1e, 0x2c, 0x3a, 0x4b, 0x6f, 0x70, 0x81, 0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8,
    0x09, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70, 0x81, 0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8, 0x09};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, CK_RV rv) {
    fprintf(stderr, "csign: %s failed: rv=0x%08lx\n", what, (unsigned long)rv);
    exit(1);
}

static void usage(void) {
    fprintf(stderr, "usage: CSIGN_PIN=... csign --module PATH --key LABEL [--token LABEL] [--threads N] [--seconds S]\n");
    exit(2);
}

static void *run(void *arg) {
    worker_t *w = arg;
    unsigned char signature[1024];
    CK_MECHANISM mechanism = {CKM_RSA_PKCS, NULL, 0};
    pthread_barrier_wait(&g_start);
    while (now() < g_deadline) {
        CK_ULONG length = sizeof signature;
        CK_RV rv = f->C_SignInit(w->session, &mechanism, g_key);
        if (rv == CKR_OK) rv = f->C_Sign(w->session, (CK_BYTE_PTR)digest_info, sizeof digest_info, signature, &length);
        if (rv != CKR_OK) {
            w->rv = rv;
            break;
        }
        if (length != g_signature_length) {
            w->rv = CKR_GENERAL_ERROR;
            break;
        }
        w->signatures++;
    }
    return NULL;
}

static void trim_copy(char *out, const CK_UTF8CHAR *raw, size_t width) {
    memcpy(out, raw, width);
    out[width] = '\0';
    for (size_t i = width; i > 0 && (out[i - 1] == ' ' || out[i - 1] == '\0'); i--) out[i - 1] = '\0';
}

int main(int argc, char **argv) {
    const char *module = NULL, *key_label = NULL, *token_label = NULL;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    double seconds = 3;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) usage();
        if (strcmp(argv[i], "--module") == 0) module = argv[++i];
        else if (strcmp(argv[i], "--key") == 0) key_label = argv[++i];
        else if (strcmp(argv[i], "--token") == 0) token_label = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0) threads = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--seconds") == 0) seconds = strtod(argv[++i], NULL);
        else usage();
    }
    const char *pin = getenv("CSIGN_PIN");
    if (!pin) pin = getenv("OPENCTL_PIN");
    if (!module || !key_label || !pin || threads < 1 || threads > MAX_THREADS || seconds <= 0) usage();

    void *lib = dlopen(module, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "csign: %s\n", dlerror());
        return 1;
    }
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
    if (!get) usage();
    CK_RV rv = get(&f);
    if (rv != CKR_OK) die("C_GetFunctionList", rv);
    CK_C_INITIALIZE_ARGS init;
    memset(&init, 0, sizeof init);
    init.flags = CKF_OS_LOCKING_OK; /* without it SoftHSM runs without locks and threads would corrupt it */
    if ((rv = f->C_Initialize(&init)) != CKR_OK) die("C_Initialize", rv);

    CK_SLOT_ID slots[64], slot = 0;
    CK_ULONG n_slots = 64;
    if ((rv = f->C_GetSlotList(CK_TRUE, slots, &n_slots)) != CKR_OK) die("C_GetSlotList", rv);
    int found_slot = 0;
    char label[33] = "";
    for (CK_ULONG i = 0; i < n_slots && !found_slot; i++) {
        CK_TOKEN_INFO info;
        if (f->C_GetTokenInfo(slots[i], &info) != CKR_OK || !(info.flags & CKF_TOKEN_INITIALIZED)) continue;
        trim_copy(label, info.label, 32);
        if (!token_label || strcmp(label, token_label) == 0) {
            slot = slots[i];
            found_slot = 1;
        }
    }
    if (!found_slot) {
        fprintf(stderr, "csign: no token %s\n", token_label ? token_label : "present");
        return 1;
    }

    worker_t workers[MAX_THREADS];
    memset(workers, 0, sizeof workers);
    for (long i = 0; i < threads; i++)
        if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &workers[i].session)) != CKR_OK)
            die("C_OpenSession", rv);
    rv = f->C_Login(workers[0].session, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) die("C_Login", rv);

    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[2] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, (CK_VOID_PTR)key_label, (CK_ULONG)strlen(key_label)}};
    CK_ULONG count = 0;
    if ((rv = f->C_FindObjectsInit(workers[0].session, tmpl, 2)) != CKR_OK) die("C_FindObjectsInit", rv);
    if ((rv = f->C_FindObjects(workers[0].session, &g_key, 1, &count)) != CKR_OK) die("C_FindObjects", rv);
    f->C_FindObjectsFinal(workers[0].session);
    if (count != 1) {
        fprintf(stderr, "csign: no private key labelled %s on token %s\n", key_label, label);
        return 1;
    }
    CK_ATTRIBUTE modulus = {CKA_MODULUS, NULL, 0};
    if ((rv = f->C_GetAttributeValue(workers[0].session, g_key, &modulus, 1)) != CKR_OK) die("C_GetAttributeValue", rv);
    g_signature_length = modulus.ulValueLen;

    pthread_t tids[MAX_THREADS];
    pthread_barrier_init(&g_start, NULL, (unsigned)threads + 1);
    for (long i = 0; i < threads; i++) pthread_create(&tids[i], NULL, run, &workers[i]);
    double started = now();
    g_deadline = started + seconds;
    pthread_barrier_wait(&g_start);
    unsigned long long total = 0;
    CK_RV failure = CKR_OK;
    for (long i = 0; i < threads; i++) {
        pthread_join(tids[i], NULL);
        total += workers[i].signatures;
        if (workers[i].rv != CKR_OK) failure = workers[i].rv;
    }
    double elapsed = now() - started;
    for (long i = 0; i < threads; i++) f->C_CloseSession(workers[i].session);
    f->C_Finalize(NULL);
    if (failure != CKR_OK) die("C_Sign", failure);

    printf("{\"tool\":\"csign\",\"mechanism\":\"CKM_RSA_PKCS\",\"keyBits\":%lu,\"threads\":%ld,\"seconds\":%.3f,"
           "\"signatures\":%llu,\"signaturesPerSecond\":%.1f}\n",
           (unsigned long)(g_signature_length * 8), threads, elapsed, total, (double)total / elapsed);
    return 0;
}
