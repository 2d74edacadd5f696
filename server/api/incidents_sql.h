/* api/incidents_sql.h: SQL fragments shared by api/incidents.c and
 * api/incident_notes.c, so every statement answers the same shapes (see
 * api/incidents.h). Compile-time text only; a is a table alias. */
#ifndef CUPD_API_INCIDENTS_SQL_H
#define CUPD_API_INCIDENTS_SQL_H

/* The members of an incident object, for inside json_build_object(...). */
#define INCIDENT_FIELDS(a) \
	"'id', " a ".id, 'title', " a ".title, 'status', " a ".status, 'severity', " a ".severity," \
	" 'service', (SELECT json_build_object('id', svc.id, 'slug', svc.slug, 'name', svc.name)" \
	"   FROM services svc WHERE svc.id = " a ".service_id)," \
	" 'started_at', " a ".started_at, 'acknowledged_at', " a ".acknowledged_at," \
	" 'acknowledged_by', " a ".acknowledged_by, 'resolved_at', " a ".resolved_at," \
	" 'created_by', " a ".created_by, 'created_at', " a ".created_at, 'updated_at', " a ".updated_at"

#define INCIDENT_JSON(a) "json_build_object(" INCIDENT_FIELDS(a) ")"

/* A note object. */
#define NOTE_JSON(a) \
	"json_build_object('id', " a ".id, 'incident_id', " a ".incident_id, 'body', " a ".body," \
	" 'author', (SELECT json_build_object('id', au.id, 'name', au.name) FROM users au" \
	"   WHERE au.id = " a ".author_id), 'created_at', " a ".created_at)"

/* "notes" (newest 200, oldest first) and "note_count" of incident alias a. */
#define INCIDENT_NOTES(a) \
	"'notes', coalesce((SELECT json_agg(" NOTE_JSON("n") " ORDER BY n.created_at, n.id)" \
	"   FROM (SELECT * FROM incident_notes nn WHERE nn.incident_id = " a ".id" \
	"     ORDER BY nn.created_at DESC, nn.id DESC LIMIT 200) n), '[]')," \
	" 'note_count', (SELECT count(*) FROM incident_notes nc WHERE nc.incident_id = " a ".id)"

#endif
