/* tool_defs.c: the tool table (REQUIREMENTS A45-A52). Each entry adapts
 * one API-layer function (DESIGN.md §3): it turns arguments that already
 * passed the tool's inputSchema (tools.c) into the function's typed inputs
 * and hands its api_result to mcp_tool_reply. Nothing here touches SQL.
 *
 * Schemas are written out as JSON text from shared fragments below, so the
 * outputSchema of a tool describes exactly the document its API function
 * answers (A51: SDK clients validate structuredContent against it). Output
 * objects list every member they always carry as required, with nullable
 * members typed ["...","null"]; they stay open to new members, so adding a
 * field to an API answer never breaks a client. List tools answer
 * {data, next_cursor?}: next_cursor is omitted on the last page. */
#include <stdio.h>
#include <stdlib.h>

#include "api/account.h"
#include "api/incidents.h"
#include "api/projects.h"
#include "api/runbooks.h"
#include "api/search.h"
#include "api/services.h"
#include "tools.h"
#include "xmem.h"

/* ------------------------------------------------------------ fragments */

#define T_STR "{\"type\":\"string\"}"
#define T_STR_NULL "{\"type\":[\"string\",\"null\"]}"
#define T_INT "{\"type\":\"integer\"}"
#define T_NUM "{\"type\":\"number\"}"
#define T_UUID "{\"type\":\"string\",\"format\":\"uuid\"}"
#define T_UUID_NULL "{\"type\":[\"string\",\"null\"],\"format\":\"uuid\"}"
#define T_TIME "{\"type\":\"string\",\"format\":\"date-time\"}"
#define T_TIME_NULL "{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"}"

#define SERVICE_STATUSES "[\"operational\",\"degraded\",\"partial_outage\",\"major_outage\"]"
#define INCIDENT_STATUSES "[\"investigating\",\"identified\",\"monitoring\",\"resolved\"]"
#define SEVERITIES "[\"minor\",\"major\",\"critical\"]"

/* {id, slug, name} of a service an incident or runbook is tied to, or null. */
#define SERVICE_LINK \
	"{\"type\":[\"object\",\"null\"],\"properties\":{\"id\":" T_UUID ",\"slug\":" T_STR ",\"name\":" T_STR "}," \
	"\"required\":[\"id\",\"slug\",\"name\"]}"

/* api/incidents.h: an incident. */
#define INCIDENT_PROPS \
	"\"id\":" T_UUID ",\"title\":" T_STR ",\"status\":{\"type\":\"string\",\"enum\":" INCIDENT_STATUSES "}," \
	"\"severity\":{\"type\":\"string\",\"enum\":" SEVERITIES "},\"service\":" SERVICE_LINK "," \
	"\"started_at\":" T_TIME ",\"acknowledged_at\":" T_TIME_NULL ",\"acknowledged_by\":" T_UUID_NULL "," \
	"\"resolved_at\":" T_TIME_NULL ",\"created_by\":" T_UUID_NULL ",\"created_at\":" T_TIME \
	",\"updated_at\":" T_TIME
#define INCIDENT_REQUIRED \
	"\"id\",\"title\",\"status\",\"severity\",\"service\",\"started_at\",\"acknowledged_at\"," \
	"\"acknowledged_by\",\"resolved_at\",\"created_by\",\"created_at\",\"updated_at\""
#define INCIDENT "{\"type\":\"object\",\"properties\":{" INCIDENT_PROPS "},\"required\":[" INCIDENT_REQUIRED "]}"

/* A note on an incident. */
#define NOTE \
	"{\"type\":\"object\",\"properties\":{\"id\":" T_UUID ",\"incident_id\":" T_UUID ",\"body\":" T_STR "," \
	"\"author\":{\"type\":[\"object\",\"null\"],\"properties\":{\"id\":" T_UUID ",\"name\":" T_STR "}," \
	"\"required\":[\"id\",\"name\"]},\"created_at\":" T_TIME "}," \
	"\"required\":[\"id\",\"incident_id\",\"body\",\"author\",\"created_at\"]}"

/* An incident with its newest 200 notes (oldest first) and their count. */
#define INCIDENT_WITH_NOTES \
	"{\"type\":\"object\",\"properties\":{" INCIDENT_PROPS ",\"notes\":{\"type\":\"array\",\"items\":" NOTE "}," \
	"\"note_count\":" T_INT "},\"required\":[" INCIDENT_REQUIRED ",\"notes\",\"note_count\"]}"

/* api/services.h: a service row of a list. */
#define SERVICE_PROPS \
	"\"id\":" T_UUID ",\"slug\":" T_STR ",\"name\":" T_STR ",\"provider\":" T_STR_NULL ",\"category\":" T_STR \
	",\"homepage_url\":" T_STR_NULL ",\"created_at\":" T_TIME ",\"status\":{\"type\":\"string\",\"enum\":" \
	SERVICE_STATUSES "},\"error_rate\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1}," \
	"\"sample_count\":{\"type\":\"integer\",\"minimum\":0},\"status_updated_at\":" T_TIME_NULL
#define SERVICE_REQUIRED \
	"\"id\",\"slug\",\"name\",\"provider\",\"category\",\"homepage_url\",\"created_at\",\"status\"," \
	"\"error_rate\",\"sample_count\",\"status_updated_at\""
#define SERVICE "{\"type\":\"object\",\"properties\":{" SERVICE_PROPS "},\"required\":[" SERVICE_REQUIRED "]}"

#define SLUGGED "{\"type\":\"object\",\"properties\":{\"id\":" T_UUID ",\"slug\":" T_STR ",\"name\":" T_STR "}," \
	"\"required\":[\"id\",\"slug\",\"name\"]}"

/* One service with its projects, open incident count and status timeline. */
#define SERVICE_DETAIL \
	"{\"type\":\"object\",\"properties\":{" SERVICE_PROPS ",\"open_incidents\":{\"type\":\"integer\",\"minimum\":0}," \
	"\"projects\":{\"type\":\"array\",\"items\":" SLUGGED "}," \
	"\"timeline\":{\"type\":\"array\",\"description\":\"status changes, newest first\",\"items\":{" \
	"\"type\":\"object\",\"properties\":{\"status\":{\"type\":\"string\",\"enum\":" SERVICE_STATUSES "}," \
	"\"changed_at\":" T_TIME ",\"reason\":" T_STR "},\"required\":[\"status\",\"changed_at\",\"reason\"]}}}," \
	"\"required\":[" SERVICE_REQUIRED ",\"open_incidents\",\"projects\",\"timeline\"]}"

#define PROJECT \
	"{\"type\":\"object\",\"properties\":{\"id\":" T_UUID ",\"slug\":" T_STR ",\"name\":" T_STR "," \
	"\"created_at\":" T_TIME ",\"service_count\":{\"type\":\"integer\",\"minimum\":0}}," \
	"\"required\":[\"id\",\"slug\",\"name\",\"created_at\",\"service_count\"]}"

#define GRAPH \
	"{\"type\":\"object\",\"properties\":{" \
	"\"projects\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"id\":" T_UUID "," \
	"\"slug\":" T_STR ",\"name\":" T_STR ",\"services\":{\"type\":\"array\",\"description\":" \
	"\"ids of the services this project depends on\",\"items\":" T_UUID "}}," \
	"\"required\":[\"id\",\"slug\",\"name\",\"services\"]}}," \
	"\"services\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{\"id\":" T_UUID "," \
	"\"slug\":" T_STR ",\"name\":" T_STR ",\"status\":{\"type\":\"string\",\"enum\":" SERVICE_STATUSES "}}," \
	"\"required\":[\"id\",\"slug\",\"name\",\"status\"]}}},\"required\":[\"projects\",\"services\"]}"

/* api/runbooks.h: list rows carry an excerpt, single runbooks the body. */
#define RUNBOOK_PROPS \
	"\"id\":" T_UUID ",\"title\":" T_STR ",\"service\":" SERVICE_LINK ",\"created_by\":" T_UUID_NULL \
	",\"created_at\":" T_TIME ",\"updated_at\":" T_TIME
#define RUNBOOK_REQUIRED "\"id\",\"title\",\"service\",\"created_by\",\"created_at\",\"updated_at\""
#define RUNBOOK_ROW \
	"{\"type\":\"object\",\"properties\":{" RUNBOOK_PROPS ",\"excerpt\":" T_STR "}," \
	"\"required\":[" RUNBOOK_REQUIRED ",\"excerpt\"]}"
#define RUNBOOK \
	"{\"type\":\"object\",\"properties\":{" RUNBOOK_PROPS ",\"body\":{\"type\":\"string\"," \
	"\"description\":\"markdown\"}},\"required\":[" RUNBOOK_REQUIRED ",\"body\"]}"

#define SEARCH_HIT \
	"{\"type\":\"object\",\"properties\":{\"type\":{\"type\":\"string\",\"enum\":[\"incident\",\"service\"," \
	"\"runbook\"]},\"id\":" T_UUID ",\"title\":" T_STR ",\"snippet\":" T_STR_NULL "}," \
	"\"required\":[\"type\",\"id\",\"title\",\"snippet\"]}"

#define WHOAMI \
	"{\"type\":\"object\",\"properties\":{" \
	"\"org\":{\"type\":\"object\",\"properties\":{\"id\":" T_UUID ",\"slug\":" T_STR ",\"name\":" T_STR "}," \
	"\"required\":[\"id\",\"slug\",\"name\"]}," \
	"\"user\":{\"type\":\"object\",\"properties\":{\"id\":" T_UUID ",\"email\":" T_STR ",\"name\":" T_STR "," \
	"\"role\":" T_STR_NULL "},\"required\":[\"id\",\"email\",\"name\",\"role\"]}," \
	"\"credential\":{\"type\":\"object\",\"properties\":{\"kind\":{\"type\":\"string\",\"enum\":[\"api_token\"," \
	"\"connection\"]},\"id\":" T_STR ",\"name\":" T_STR_NULL ",\"scope\":{\"type\":\"string\",\"enum\":[\"read\"," \
	"\"write\",\"admin\"]}},\"required\":[\"kind\",\"id\",\"name\",\"scope\"]}}," \
	"\"required\":[\"org\",\"user\",\"credential\"]}"

/* {data: [item], next_cursor?} */
#define LIST_OF(item) \
	"{\"type\":\"object\",\"properties\":{\"data\":{\"type\":\"array\",\"items\":" item "}," \
	"\"next_cursor\":{\"type\":\"string\",\"description\":\"pass as cursor to get the next page; " \
	"absent on the last page\"}},\"required\":[\"data\"]}"


/* ---------------------------------------------------------- input parts */

#define IN_CURSOR \
	"\"cursor\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":200," \
	"\"description\":\"next_cursor of the previous page; omit for the first page\"}"
#define IN_LIMIT \
	"\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200,\"description\":\"page size (default 50)\"}"
#define IN_REF(name, what) \
	"\"" name "\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":100,\"description\":\"" what "\"}"
#define IN_ID(name, what) \
	"\"" name "\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":64,\"description\":\"" what "\"}"
#define IN_TEXT(name, max, what) \
	"\"" name "\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":" #max ",\"description\":\"" what "\"}"
#define IN_INCIDENT_ID IN_ID("incident_id", "incident id (uuid), as list_incidents or search return it")

#define INPUT(props, required) \
	"{\"type\":\"object\",\"properties\":{" props "},\"required\":[" required "],\"additionalProperties\":false}"
#define INPUT_OPT(props) "{\"type\":\"object\",\"properties\":{" props "},\"additionalProperties\":false}"
#define NO_ARGS "{\"type\":\"object\",\"additionalProperties\":false}"

/* ------------------------------------------------------------- helpers */

static const char *arg_str(json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

/* An integer argument the schema already bounded; 0 when absent. */
static int arg_int(json_t *args, const char *key)
{
	return (int)json_integer_value(json_object_get(args, key));
}

/* limit and cursor through the API's own page parser (A48: the cursor is
 * the API's opaque next_cursor). False after answering an isError result. */
static bool page_of(mcp_call *call, json_t *args, api_page *page)
{
	char limit[16];
	const char *why = NULL;
	if (json_object_get(args, "limit"))
		snprintf(limit, sizeof limit, "%d", arg_int(args, "limit"));
	if (api_page_parse(json_object_get(args, "limit") ? limit : NULL, arg_str(args, "cursor"), page, &why))
		return true;
	char msg[200];
	snprintf(msg, sizeof msg, "Invalid argument: %s.", why ? why : "bad page");
	mcp_tool_fail(call, msg);
	return false;
}

/* {data, next_cursor}: next_cursor leaves structuredContent on the last
 * page (its outputSchema says string; clients stop when it is absent). */
static void list_reply(api_result *res, void *call)
{
	if ((res->status == API_OK || res->status == API_CREATED) && json_is_object(res->data) &&
	    json_is_null(json_object_get(res->data, "next_cursor")))
		json_object_del(res->data, "next_cursor");
	mcp_tool_reply(res, call);
}

/* ---------------------------------------------------------- read tools */

static void whoami(mcp_call *call, json_t *args)
{
	(void)args;
	/* API Tokens: straight from the cached principal; connections: from the database. */
	json_t *doc = api_account_from_principal(call->who);
	if (doc) {
		api_result res = { .status = API_OK, .data = doc };
		mcp_tool_reply(&res, call);
		json_decref(doc);
		return;
	}
	api_account_get(&call->ctx, mcp_tool_reply, call);
}

static void list_projects(mcp_call *call, json_t *args)
{
	api_page page;
	if (page_of(call, args, &page))
		api_projects_list(&call->ctx, &page, list_reply, call);
}

static void list_services(mcp_call *call, json_t *args)
{
	api_page page;
	api_services_filter f = { .status = arg_str(args, "status"), .project = arg_str(args, "project"),
		                  .q = arg_str(args, "q") };
	if (page_of(call, args, &page))
		api_services_list(&call->ctx, &page, &f, list_reply, call);
}

static void get_service(mcp_call *call, json_t *args)
{
	api_services_get(&call->ctx, arg_str(args, "service"), arg_int(args, "timeline_limit"), mcp_tool_reply, call);
}

static void get_dependency_graph(mcp_call *call, json_t *args)
{
	(void)args;
	api_services_graph(&call->ctx, mcp_tool_reply, call);
}

static void list_incidents(mcp_call *call, json_t *args)
{
	api_page page;
	api_incidents_filter f = { .status = arg_str(args, "status"), .service = arg_str(args, "service"),
		                   .since = arg_str(args, "since"), .severity = arg_str(args, "severity") };
	if (page_of(call, args, &page))
		api_incidents_list(&call->ctx, &page, &f, list_reply, call);
}

static void get_incident(mcp_call *call, json_t *args)
{
	api_incidents_get(&call->ctx, arg_str(args, "incident_id"), mcp_tool_reply, call);
}

static void list_runbooks(mcp_call *call, json_t *args)
{
	api_page page;
	api_runbooks_filter f = { .q = arg_str(args, "q"), .service = arg_str(args, "service") };
	if (page_of(call, args, &page))
		api_runbooks_list(&call->ctx, &page, &f, list_reply, call);
}

static void get_runbook(mcp_call *call, json_t *args)
{
	api_runbooks_get(&call->ctx, arg_str(args, "runbook_id"), mcp_tool_reply, call);
}

static void search(mcp_call *call, json_t *args)
{
	api_search_find(&call->ctx, arg_str(args, "q"), arg_int(args, "limit"), list_reply, call);
}

/* --------------------------------------------------------- write tools */

/* Writes audit through the API layer: the actor is call->ctx's (the API
 * Token or the AI Connection), set up by the transport. */

static void acknowledge_incident(mcp_call *call, json_t *args)
{
	api_incidents_acknowledge(&call->ctx, arg_str(args, "incident_id"), mcp_tool_reply, call);
}

static void add_incident_note(mcp_call *call, json_t *args)
{
	api_incident_notes_add(&call->ctx, arg_str(args, "incident_id"), arg_str(args, "body"), mcp_tool_reply, call);
}

/* update_incident_status: the status change (api_incidents_update), then
 * the optional note (api_incident_notes_add); answers {incident, note?}. */
typedef struct status_change {
	mcp_call *call;
	const char *id;     /* borrowed from the arguments (live until the call answers) */
	const char *note;   /* borrowed; NULL = none */
	json_t *incident;   /* owned: the updated incident */
} status_change;

static void reply_change(mcp_call *call, json_t *doc)
{
	api_result ok = { .status = API_OK, .data = doc };
	mcp_tool_reply(&ok, call);
	json_decref(doc);
}

static void status_noted(api_result *res, void *arg)
{
	status_change *sc = arg;
	mcp_call *call = sc->call;
	if (res->status == API_CREATED || res->status == API_OK) {
		reply_change(call, json_pack("{s:O, s:O}", "incident", sc->incident, "note", res->data));
	} else {
		char msg[600];
		snprintf(msg, sizeof msg, "The status is now %s, but the note was not added: %s%s%s",
		         json_string_value(json_object_get(sc->incident, "status")), res->field ? res->field : "",
		         res->field ? ": " : "", res->message ? res->message : "unknown error");
		mcp_tool_fail(call, msg);
	}
	json_decref(sc->incident);
	free(sc);
}

static void status_updated(api_result *res, void *arg)
{
	status_change *sc = arg;
	mcp_call *call = sc->call;
	if (res->status != API_OK || !sc->note) {
		if (res->status == API_OK)
			reply_change(call, json_pack("{s:O}", "incident", res->data));
		else
			mcp_tool_reply(res, call);
		free(sc);
		return;
	}
	sc->incident = json_incref(res->data);
	api_incident_notes_add(&call->ctx, sc->id, sc->note, status_noted, sc);
}

static void update_incident_status(mcp_call *call, json_t *args)
{
	status_change *sc = xcalloc(1, sizeof *sc);
	sc->call = call;
	sc->id = arg_str(args, "incident_id");
	sc->note = arg_str(args, "note");
	api_incident_patch p = { .status = arg_str(args, "status") };
	api_incidents_update(&call->ctx, sc->id, &p, status_updated, sc);
}

/* --------------------------------------------------------------- table */

/* Annotations (A47): read_only, destructive, idempotent. */
#define READS true, false, true

const mcp_tool mcp_tool_table[] = {
	{ "whoami", "Who am I",
	  "The CheckUpstream organization, user and credential this connection acts as, with its scope.",
	  NO_ARGS, WHOAMI, AUTH_SCOPE_READ, READS, whoami },

	{ "list_projects", "List projects",
	  "Projects of the organization (each an app or worker that depends on upstream services), newest first, "
	  "with how many services each depends on.",
	  INPUT_OPT(IN_CURSOR "," IN_LIMIT), LIST_OF(PROJECT), AUTH_SCOPE_READ, READS, list_projects },

	{ "list_services", "List upstream services",
	  "Upstream services (Stripe, AWS S3, GitHub, ...) the organization depends on, newest first, with their "
	  "current status and the error rate our SDKs see. Filter by status, by project, or by text.",
	  INPUT_OPT("\"status\":{\"type\":\"string\",\"enum\":" SERVICE_STATUSES ",\"description\":\"only services "
	            "in this status\"}," IN_REF("project", "project id or slug: only the services it depends on") ","
	            IN_TEXT("q", 200, "text search over name, slug, provider and category (web search syntax)") ","
	            IN_CURSOR "," IN_LIMIT),
	  LIST_OF(SERVICE), AUTH_SCOPE_READ, READS, list_services },

	{ "get_service", "Get an upstream service",
	  "One upstream service by id or slug: current status and error rate, the projects that depend on it, "
	  "its open incident count and its recent status timeline (newest first).",
	  INPUT(IN_REF("service", "service id (uuid) or slug, e.g. stripe") ","
	        "\"timeline_limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":500,\"description\":\"how many "
	        "of the newest status changes to include (default 50)\"}", "\"service\""),
	  SERVICE_DETAIL, AUTH_SCOPE_READ, READS, get_service },

	{ "get_dependency_graph", "Get the dependency graph",
	  "Every project of the organization with the ids of the upstream services it depends on, and every "
	  "service with its current status.",
	  NO_ARGS, GRAPH, AUTH_SCOPE_READ, READS, get_dependency_graph },

	{ "list_incidents", "List incidents",
	  "Incidents, newest first. Filter by status (open = not resolved), service, start time and severity.",
	  INPUT_OPT("\"status\":{\"type\":\"string\",\"enum\":[\"investigating\",\"identified\",\"monitoring\","
	            "\"resolved\",\"open\"],\"description\":\"open = every status but resolved\"},"
	            IN_REF("service", "service id or slug") ","
	            "\"since\":{\"type\":\"string\",\"format\":\"date-time\",\"minLength\":1,\"maxLength\":64,"
	            "\"description\":\"RFC 3339 timestamp: incidents started at or after it\"},"
	            "\"severity\":{\"type\":\"string\",\"enum\":" SEVERITIES "}," IN_CURSOR "," IN_LIMIT),
	  LIST_OF(INCIDENT), AUTH_SCOPE_READ, READS, list_incidents },

	{ "get_incident", "Get an incident",
	  "One incident with its notes (the newest 200, oldest first) and its note count.",
	  INPUT(IN_INCIDENT_ID, "\"incident_id\""), INCIDENT_WITH_NOTES, AUTH_SCOPE_READ, READS, get_incident },

	{ "list_runbooks", "List runbooks",
	  "Runbooks (markdown how-tos, often tied to a service), newest first, each with a 200-character "
	  "excerpt; filter by text or service. get_runbook returns the whole text.",
	  INPUT_OPT(IN_TEXT("q", 200, "text search over title and body (web search syntax)") ","
	            IN_REF("service", "service id or slug") "," IN_CURSOR "," IN_LIMIT),
	  LIST_OF(RUNBOOK_ROW), AUTH_SCOPE_READ, READS, list_runbooks },

	{ "get_runbook", "Get a runbook", "One runbook with its full markdown body.",
	  INPUT(IN_ID("runbook_id", "runbook id (uuid), as list_runbooks or search return it"), "\"runbook_id\""),
	  RUNBOOK, AUTH_SCOPE_READ, READS, get_runbook },

	{ "search", "Search",
	  "Text search over incidents, services and runbooks, best matches first. Web search syntax: words, "
	  "\"quoted phrases\", -exclusions.",
	  INPUT(IN_TEXT("q", 200, "what to search for") ","
	        "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":50,\"description\":\"most hits to return "
	        "(default 20)\"}", "\"q\""),
	  LIST_OF(SEARCH_HIT), AUTH_SCOPE_READ, READS, search },

	{ "acknowledge_incident", "Acknowledge an incident",
	  "Marks an incident as acknowledged by you (once; later calls change nothing) and returns it.",
	  INPUT(IN_INCIDENT_ID, "\"incident_id\""), INCIDENT, AUTH_SCOPE_WRITE, false, false, true,
	  acknowledge_incident },

	{ "add_incident_note", "Add a note to an incident",
	  "Adds a note (plain text or markdown, up to 10000 characters) to an incident's timeline.",
	  INPUT(IN_INCIDENT_ID "," IN_TEXT("body", 10000, "the note"), "\"incident_id\",\"body\""), NOTE,
	  AUTH_SCOPE_WRITE, false, false, false, add_incident_note },

	{ "update_incident_status", "Update an incident's status",
	  "Sets an incident's status (resolved sets resolved_at; reopening clears it), optionally with a note "
	  "saying why. Returns {incident, note}.",
	  INPUT(IN_INCIDENT_ID ",\"status\":{\"type\":\"string\",\"enum\":" INCIDENT_STATUSES "},"
	        IN_TEXT("note", 10000, "optional note added to the timeline with the change"),
	        "\"incident_id\",\"status\""),
	  "{\"type\":\"object\",\"properties\":{\"incident\":" INCIDENT ",\"note\":" NOTE "},\"required\":[\"incident\"]}",
	  AUTH_SCOPE_WRITE, false, true, false, update_incident_status },
};
const size_t mcp_tool_count = sizeof mcp_tool_table / sizeof mcp_tool_table[0];
