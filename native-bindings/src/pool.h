/* The signer pool: N PKCS#11 sessions on one token's shared login, one native thread per session. */
#ifndef OPENCTL_POOL_H
#define OPENCTL_POOL_H

#include <pthread.h>
#include <stddef.h>

#include "p11.h"

#define POOL_MAX_SESSIONS 256

typedef struct batch batch_t;
typedef struct pool pool_t;

/* One signBatch call: inputs copied in, signatures and return values filled in by the workers. */
struct batch {
    pool_t *pool;
    CK_MECHANISM_TYPE mechanism;
    size_t count;
    unsigned char *input;
    size_t *input_offset;
    size_t *input_length;
    unsigned char *output; /* count * pool->signature_length */
    CK_ULONG *output_length;
    CK_RV *rv;
    size_t next_item; /* next unclaimed item, under pool->mutex */
    size_t done;      /* finished items, under pool->mutex */
    batch_t *next;    /* queue link */
    void *js;         /* owned by the N-API layer: deferred and references */
};

/* Called by the worker that finishes a batch, or with batch == NULL by the last worker leaving. */
typedef void (*pool_notify_fn)(pool_t *pool, batch_t *batch);

struct pool {
    CK_FUNCTION_LIST_PTR f;
    CK_SLOT_ID slot;
    CK_OBJECT_HANDLE key;
    CK_ULONG signature_length;
    CK_ULONG key_bits;
    char token_label[33];
    char token_serial[17];
    char token_model[17];
    size_t n_sessions;
    CK_SESSION_HANDLE sessions[POOL_MAX_SESSIONS];
    pthread_t threads[POOL_MAX_SESSIONS];
    size_t threads_started;

    pthread_mutex_t mutex;
    pthread_cond_t wake;
    batch_t *queue_head, *queue_tail;
    int closing;  /* finish queued batches, then leave */
    int aborting; /* leave after the current item */
    size_t threads_alive;

    pool_notify_fn notify;
    void *js; /* owned by the N-API layer */

    pthread_mutex_t join_lock;
    pool_t *live_next; /* registry of pools with threads, for exit() */
};

typedef struct {
    const char *module_path;
    int has_slot;
    CK_SLOT_ID slot;
    const char *token_label; /* NULL: any */
    const char *token_serial;
    const unsigned char *key_id;
    size_t key_id_length;
    const char *key_label;
    size_t sessions;
    const char *pin; /* NULL: rely on the application's existing login */
    size_t pin_length;
} pool_options_t;

typedef struct {
    CK_RV rv;
    char function[32];
    char message[512];
} pool_error_t;

/* Loads (or reuses) the module, opens the sessions and finds the key. No threads yet. */
pool_t *pool_open(const pool_options_t *options, pool_error_t *error);

/* Starts one worker per session. Returns 0 or an errno. */
int pool_start(pool_t *pool, pool_notify_fn notify, void *js);

/* Queues a batch (count > 0). Returns 0, or -1 when the pool is closing. */
int pool_submit(pool_t *pool, batch_t *batch);

/* Workers finish the queue, close their sessions and leave; the last one calls notify(pool, NULL). */
void pool_request_close(pool_t *pool);

/* Workers leave after their current item (queued batches are left for the caller to free). */
void pool_request_abort(pool_t *pool);

/* Joins every started worker thread (call only after a close or abort request). */
void pool_join(pool_t *pool);

/* Frees the pool (after pool_join) and any batch still queued, through free_batch. */
void pool_free(pool_t *pool, void (*free_batch)(batch_t *));

void batch_free_buffers(batch_t *batch);

#endif
