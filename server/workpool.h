/* workpool.h: a few threads for CPU-heavy work that must not run on an event
 * loop (argon2id password hashes ~30 ms, ES256 signing through libjwt; see
 * DESIGN.md §4). A job's work function runs on a pool thread; its done
 * function then runs on the event_base that submitted it. */
#ifndef CUPD_WORKPOOL_H
#define CUPD_WORKPOOL_H

#include <stdbool.h>

struct event_base;

typedef struct workpool workpool;

/* work runs on a pool thread; done runs afterwards on base's loop. Both get arg. */
typedef void (*workpool_fn)(void *arg);

/* Starts nthreads threads. */
workpool *workpool_new(int nthreads);

/* Waits for queued jobs to finish, then stops the threads. Loops that
 * submitted jobs must still be running or their done callbacks never run. */
void workpool_free(workpool *p);

/* Queues a job. Returns false (and runs nothing) when the queue is full
 * (max 4096 jobs): the caller answers 503. */
bool workpool_submit(workpool *p, struct event_base *base, workpool_fn work, workpool_fn done, void *arg);

/* The process-wide pool main() created (NULL in unit tests). */
workpool *workpool_default(void);
void workpool_set_default(workpool *p);

#endif
