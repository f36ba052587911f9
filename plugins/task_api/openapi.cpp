#include "openapi.h"

#include <string_view>

namespace appliance::plugins::task_api {
namespace {

// The OpenAPI 3.0 description of the Task API. @DEFAULT_LIMIT@, @MAX_LIMIT@, @SECURITY@ and
// @VERSION@ are filled in from the configuration when the document is built.
constexpr std::string_view kTemplate = R"json({
"openapi": "3.0.3",
"info": {
  "title": "Task Manager API",
  "version": "@VERSION@",
  "description": "Tasks with out-of-order protection. Every write carries a request_timestamp (ISO-8601 with Z or an offset, up to 6 fractional digits; a timestamp without a zone is taken as UTC; a number is read as Unix seconds). A write whose request_timestamp is not newer than the last accepted write of that task is refused with 409 and changes nothing; a deleted task keeps its last timestamp, so older requests never resurrect it. Deleted tasks are forgotten after the storage's tombstone retention (30 days by default), so any write whose request_timestamp is older than that window is refused with 409 too (detail starting 'Request too old: '). Datetimes in responses are UTC, e.g. 2024-05-01T12:00:00.000000Z."
},
"servers": [{"url": "/"}],
"tags": [{"name": "tasks", "description": "Task operations (Bearer token required)"}],
"paths": {
  "/tasks": {
    "get": {
      "tags": ["tasks"],
      "operationId": "listTasks",
      "summary": "List tasks, newest first",
      "description": "Returns a JSON array. When more tasks match, the response has a Link header with rel=\"next\" whose URL (same filters, a cursor) fetches the next page.",
      "security": @SECURITY@,
      "parameters": [
        {"name": "done", "in": "query", "required": false, "description": "Only tasks with this done state (true/false, 1/0, yes/no, on/off).", "schema": {"type": "boolean"}},
        {"name": "due_before", "in": "query", "required": false, "description": "Only tasks due strictly before this date.", "schema": {"type": "string", "format": "date"}},
        {"name": "due_after", "in": "query", "required": false, "description": "Only tasks due strictly after this date.", "schema": {"type": "string", "format": "date"}},
        {"name": "limit", "in": "query", "required": false, "description": "Page size.", "schema": {"type": "integer", "minimum": 1, "maximum": @MAX_LIMIT@, "default": @DEFAULT_LIMIT@}},
        {"name": "cursor", "in": "query", "required": false, "description": "Opaque cursor from the previous page's Link header.", "schema": {"type": "string"}}
      ],
      "responses": {
        "200": {
          "description": "The tasks of this page, newest first.",
          "headers": {"Link": {"description": "</tasks?limit=..&cursor=..&...>; rel=\"next\" when another page exists.", "schema": {"type": "string"}}},
          "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}}}}
        },
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "422": {"$ref": "#/components/responses/ValidationFailed"},
        "500": {"$ref": "#/components/responses/InternalError"},
        "503": {"$ref": "#/components/responses/Unavailable"}
      }
    },
    "post": {
      "tags": ["tasks"],
      "operationId": "createTask",
      "summary": "Create a task",
      "description": "A create whose title equals an existing task's title (deleted ones included) and whose request_timestamp is not newer than that task's last accepted request is a replay: 409.",
      "security": @SECURITY@,
      "requestBody": {
        "required": true,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TaskCreate"},
          "example": {"title": "Write the report", "content": "Quarterly numbers for the board", "due_date": "2024-06-01", "request_timestamp": "2024-05-01T12:00:00Z"}}}
      },
      "responses": {
        "201": {
          "description": "The created task.",
          "headers": {"Location": {"description": "/tasks/{task_id} of the new task.", "schema": {"type": "string"}}},
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Task"}}}
        },
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "409": {"$ref": "#/components/responses/Conflict"},
        "413": {"$ref": "#/components/responses/PayloadTooLarge"},
        "422": {"$ref": "#/components/responses/ValidationFailed"},
        "500": {"$ref": "#/components/responses/InternalError"},
        "503": {"$ref": "#/components/responses/Unavailable"}
      }
    }
  },
  "/tasks/{task_id}": {
    "parameters": [{"$ref": "#/components/parameters/TaskId"}],
    "get": {
      "tags": ["tasks"],
      "operationId": "getTask",
      "summary": "Get a task",
      "security": @SECURITY@,
      "responses": {
        "200": {"description": "The task.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Task"}}}},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "404": {"$ref": "#/components/responses/NotFound"},
        "422": {"$ref": "#/components/responses/ValidationFailed"},
        "500": {"$ref": "#/components/responses/InternalError"},
        "503": {"$ref": "#/components/responses/Unavailable"}
      }
    },
    "put": {
      "tags": ["tasks"],
      "operationId": "updateTask",
      "summary": "Update some fields of a task",
      "description": "Only the fields present (and not null) change. 409 when request_timestamp is not newer than the last accepted write of this task.",
      "security": @SECURITY@,
      "requestBody": {
        "required": true,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TaskUpdate"},
          "example": {"done": true, "request_timestamp": "2024-05-02T09:30:00.250000+02:00"}}}
      },
      "responses": {
        "200": {"description": "The updated task.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Task"}}}},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "404": {"$ref": "#/components/responses/NotFound"},
        "409": {"$ref": "#/components/responses/Conflict"},
        "413": {"$ref": "#/components/responses/PayloadTooLarge"},
        "422": {"$ref": "#/components/responses/ValidationFailed"},
        "500": {"$ref": "#/components/responses/InternalError"},
        "503": {"$ref": "#/components/responses/Unavailable"}
      }
    },
    "delete": {
      "tags": ["tasks"],
      "operationId": "deleteTask",
      "summary": "Delete a task",
      "description": "request_timestamp comes from the JSON body or, since many clients and proxies drop DELETE bodies, from the request_timestamp query parameter (the body wins when it has the field). The task leaves a tombstone: later requests with an older timestamp get 409, newer ones 404.",
      "security": @SECURITY@,
      "parameters": [
        {"name": "request_timestamp", "in": "query", "required": false, "description": "Used when the body has no request_timestamp.", "schema": {"type": "string", "format": "date-time"}}
      ],
      "requestBody": {
        "required": false,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TaskDelete"},
          "example": {"request_timestamp": "2024-05-03T08:00:00Z"}}}
      },
      "responses": {
        "200": {"description": "Deleted.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Message"},
          "example": {"message": "Task deleted successfully"}}}},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "404": {"$ref": "#/components/responses/NotFound"},
        "409": {"$ref": "#/components/responses/Conflict"},
        "413": {"$ref": "#/components/responses/PayloadTooLarge"},
        "422": {"$ref": "#/components/responses/ValidationFailed"},
        "500": {"$ref": "#/components/responses/InternalError"},
        "503": {"$ref": "#/components/responses/Unavailable"}
      }
    }
  },
  "/health": {
    "get": {
      "operationId": "health",
      "summary": "Service health (no authentication)",
      "security": [],
      "responses": {
        "200": {"description": "Healthy.", "content": {"application/json": {"schema": {"type": "object", "properties": {"status": {"type": "string", "example": "healthy"}, "timestamp": {"type": "string", "format": "date-time"}}}}}},
        "503": {"$ref": "#/components/responses/Unavailable"}
      }
    }
  }
},
"components": {
  "securitySchemes": {
    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "A static API token or a JWT (HS256 or RS256; exp, nbf, iss and aud are checked)."}
  },
  "parameters": {
    "TaskId": {"name": "task_id", "in": "path", "required": true, "description": "The task's id.", "schema": {"type": "integer", "format": "int64"}}
  },
  "schemas": {
    "Task": {
      "type": "object",
      "required": ["id", "title", "content", "due_date", "done", "created_at", "updated_at"],
      "properties": {
        "id": {"type": "integer", "format": "int64"},
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        "content": {"type": "string", "minLength": 1, "maxLength": 2000},
        "due_date": {"type": "string", "format": "date"},
        "done": {"type": "boolean"},
        "created_at": {"type": "string", "format": "date-time", "description": "UTC."},
        "updated_at": {"type": "string", "format": "date-time", "description": "UTC."}
      }
    },
    "TaskCreate": {
      "type": "object",
      "required": ["title", "content", "due_date", "request_timestamp"],
      "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 200, "description": "1 to 200 characters (Unicode code points)."},
        "content": {"type": "string", "minLength": 1, "maxLength": 2000, "description": "1 to 2000 characters (Unicode code points)."},
        "due_date": {"type": "string", "format": "date", "description": "YYYY-MM-DD, a real calendar date."},
        "request_timestamp": {"$ref": "#/components/schemas/RequestTimestamp"}
      }
    },
    "TaskUpdate": {
      "type": "object",
      "required": ["request_timestamp"],
      "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 200, "nullable": true},
        "content": {"type": "string", "minLength": 1, "maxLength": 2000, "nullable": true},
        "due_date": {"type": "string", "format": "date", "nullable": true},
        "done": {"type": "boolean", "nullable": true},
        "request_timestamp": {"$ref": "#/components/schemas/RequestTimestamp"}
      }
    },
    "TaskDelete": {
      "type": "object",
      "required": ["request_timestamp"],
      "properties": {"request_timestamp": {"$ref": "#/components/schemas/RequestTimestamp"}}
    },
    "RequestTimestamp": {
      "type": "string",
      "format": "date-time",
      "description": "When the client issued the request: ISO-8601 with Z or an offset, up to 6 fractional digits. A timestamp without a zone is taken as UTC. Must not be older than the storage's tombstone retention (30 days by default), else 409: send the current time, not the examples' dates.",
      "example": "2024-05-01T12:00:00.123456Z"
    },
    "Message": {
      "type": "object",
      "required": ["message"],
      "properties": {"message": {"type": "string"}}
    },
    "HTTPError": {
      "type": "object",
      "required": ["detail"],
      "properties": {"detail": {"type": "string"}}
    },
    "ValidationError": {
      "type": "object",
      "required": ["type", "loc", "msg"],
      "properties": {
        "type": {"type": "string", "description": "pydantic error type, e.g. missing, string_too_long, date_from_datetime_parsing, json_invalid."},
        "loc": {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]}, "description": "Where: [\"body\", field], [\"query\", name], [\"path\", name] or [\"body\", offset] for a JSON syntax error."},
        "msg": {"type": "string"},
        "ctx": {"type": "object", "additionalProperties": true}
      }
    },
    "HTTPValidationError": {
      "type": "object",
      "required": ["detail"],
      "properties": {"detail": {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}}}
    }
  },
  "responses": {
    "Unauthorized": {
      "description": "Missing or invalid Bearer token.",
      "headers": {"WWW-Authenticate": {"description": "Bearer, with error=\"invalid_token\" when a token was given but refused.", "schema": {"type": "string"}}},
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}, "example": {"detail": "Not authenticated"}}}
    },
    "NotFound": {
      "description": "No such task (or it was deleted).",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}, "example": {"detail": "Task not found"}}}
    },
    "Conflict": {
      "description": "Stale or replayed request: request_timestamp is not newer than the last accepted write; or too old: request_timestamp is older than the storage's tombstone retention window (30 days by default), whatever the task's state, and the detail starts with 'Request too old: '. Nothing changed.",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}}
    },
    "PayloadTooLarge": {
      "description": "The body exceeds the server's limit (http.max_body_bytes, 1 MiB by default).",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}}
    },
    "ValidationFailed": {
      "description": "Invalid request; every problem is listed.",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"},
        "example": {"detail": [{"type": "missing", "loc": ["body", "title"], "msg": "Field required"}]}}}
    },
    "InternalError": {
      "description": "Unexpected server fault.",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}}
    },
    "Unavailable": {
      "description": "Task storage is unreachable or timed out; retry.",
      "headers": {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}},
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}}
    }
  }
}
}
)json";

void replaceAll(std::string& text, std::string_view placeholder, std::string_view value) {
  for (std::size_t pos = text.find(placeholder); pos != std::string::npos;
       pos = text.find(placeholder, pos + value.size())) {
    text.replace(pos, placeholder.size(), value);
  }
}

}  // namespace

std::string buildOpenApiDocument(const OpenApiOptions& options) {
  std::string doc(kTemplate);
  replaceAll(doc, "@VERSION@", options.version);
  replaceAll(doc, "@DEFAULT_LIMIT@", std::to_string(options.default_limit));
  replaceAll(doc, "@MAX_LIMIT@", std::to_string(options.max_limit));
  replaceAll(doc, "@SECURITY@", options.auth_enabled ? R"([{"bearerAuth": []}])" : "[]");
  return doc;
}

}  // namespace appliance::plugins::task_api
