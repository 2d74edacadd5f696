/* api/incidents.h: incidents and their notes — API layer (shared by REST
 * and MCP). Implemented in api/incidents.c and api/incident_notes.c.
 *
 * An incident answers as {id, title, status, severity, service: {id, slug,
 * name} | null, started_at, acknowledged_at, acknowledged_by, resolved_at,
 * created_by, created_at, updated_at}; single-incident answers add "notes"
 * (the newest 200, oldest first) and "note_count". A note is {id,
 * incident_id, body, author: {id, name} | null, created_at}.
 *
 * Ids are uuids; a malformed id or another org's incident is 404. Writes
 * need the write scope and record an audit event in the same statement. */
#ifndef CUPD_API_INCIDENTS_H
#define CUPD_API_INCIDENTS_H

#include "api.h"

enum { API_INCIDENT_TITLE_MAX = 300, API_INCIDENT_NOTE_MAX = 10000 };

/* Optional filters of api_incidents_list; NULL = not filtered. */
typedef struct api_incidents_filter {
	const char *status;    /* investigating | identified | monitoring | resolved | open (= not resolved) */
	const char *service;   /* service id or slug */
	const char *since;     /* RFC 3339: started at or after */
	const char *severity;  /* minor | major | critical */
} api_incidents_filter;

/* Pages of incidents, newest first. 400 (field) for a malformed filter. */
void api_incidents_list(const api_ctx *ctx, const api_page *page, const api_incidents_filter *f, api_done_fn done,
                        void *arg);

/* One incident with its notes. */
void api_incidents_get(const api_ctx *ctx, const char *id, api_done_fn done, void *arg);

typedef struct api_incident_new {
	const char *title;     /* required, 1-300 characters */
	const char *service;   /* service id or slug, or NULL */
	const char *severity;  /* NULL = minor */
	const char *status;    /* NULL = investigating; resolved sets resolved_at */
	const char *note;      /* optional first note, 1-10000 characters */
} api_incident_new;

/* Opens an incident (201); audit "incident.create". */
void api_incidents_create(const api_ctx *ctx, const api_incident_new *in, api_done_fn done, void *arg);

/* Fields to change; NULL = keep. At least one must be set. */
typedef struct api_incident_patch {
	const char *title;
	const char *status;    /* to resolved: sets resolved_at; from resolved to another: clears it */
	const char *severity;
} api_incident_patch;

/* Updates an incident; audit "incident.update" with the changes (none
 * when nothing changed). */
void api_incidents_update(const api_ctx *ctx, const char *id, const api_incident_patch *p, api_done_fn done,
                          void *arg);

/* Sets acknowledged_at/by once (audit "incident.acknowledge"); later calls
 * return the incident unchanged and write nothing. */
void api_incidents_acknowledge(const api_ctx *ctx, const char *id, api_done_fn done, void *arg);

/* Adds a note of 1-10000 characters (201); audit "incident.note". */
void api_incident_notes_add(const api_ctx *ctx, const char *incident_id, const char *body, api_done_fn done,
                            void *arg);

/* Pages of an incident's notes, newest first (404 for an unknown incident). */
void api_incident_notes_list(const api_ctx *ctx, const char *incident_id, const api_page *page, api_done_fn done,
                             void *arg);

#endif
