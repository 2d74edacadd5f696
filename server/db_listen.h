/* db_listen.h: one LISTEN connection per process, fanned out to the loops.
 *
 * A dedicated thread holds the connection (so a slow or dead database never
 * touches a worker loop), LISTENs on the given channels and hands every
 * NOTIFY to each subscriber on that subscriber's own event loop. After every
 * (re)connect it first delivers a reload message (channel == NULL): NOTIFYs
 * sent while the listener was disconnected are lost, so subscribers reload
 * whatever state they keep from the database (DESIGN.md §5). */
#ifndef CUPD_DB_LISTEN_H
#define CUPD_DB_LISTEN_H

#include <stdbool.h>

struct event_base;

typedef struct db_listener db_listener;
typedef struct db_subscription db_subscription;

/* channel == NULL means "(re)connected: reload". Runs on the subscriber's loop. */
typedef void (*db_notify_fn)(const char *channel, const char *payload, void *arg);

/* Like db_notify_fn, on the listener thread; may return a payload
 * (malloc'd, freed by the listener) that the listener NOTIFYs back on the
 * same channel right away, from its own connection. */
typedef char *(*db_notify_thread_fn)(const char *channel, const char *payload, void *arg);

/* Starts the listener thread. Channel names must be plain identifiers.
 * on_thread (may be NULL) runs on the listener thread itself for every
 * message, before any subscriber sees it: for state that must change the
 * moment a NOTIFY arrives (revocations), guarded by its own locks. */
db_listener *db_listener_start(const char *conninfo, const char *const *channels, int nchannels,
                               db_notify_thread_fn on_thread, void *on_thread_arg);

/* Stops the thread and closes the connection. All subscriptions must be gone. */
void db_listener_stop(db_listener *l);

/* Registers fn to run on base for every message. Thread-safe. */
db_subscription *db_listener_subscribe(db_listener *l, struct event_base *base, db_notify_fn fn, void *arg);

/* Removes the subscription; call on the subscriber's own thread. Thread-safe. */
void db_listener_unsubscribe(db_listener *l, db_subscription *s);

/* True while the listener's connection is open and listening. */
bool db_listener_connected(db_listener *l);

#endif
