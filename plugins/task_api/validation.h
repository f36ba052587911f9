#pragma once
// Request validation with FastAPI's (pydantic v2) error contract: every problem in a request
// is collected, then answered at once as
//   422 {"detail":[{"type":"missing","loc":["body","title"],"msg":"Field required"}, ...]}
// with pydantic's types and messages, so clients of the seed's FastAPI service see the same
// errors. Field order follows the seed's models. Stateless; thread-safe.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/http.h"
#include "appliance/task_store.h"

namespace appliance::plugins::task_api {

// Field limits of the seed's models, in Unicode code points.
inline constexpr std::size_t kTitleMaxLength = 200;
inline constexpr std::size_t kContentMaxLength = 2000;

struct FieldError {
  static constexpr std::size_t kNoPosition = static_cast<std::size_t>(-1);
  std::string_view source;             // "body", "query" or "path"
  std::string_view field;              // "" when the error concerns the source as a whole
  std::size_t position = kNoPosition;  // json_invalid: loc is ["body", position]
  std::string_view type;               // pydantic error type, e.g. "string_too_short"
  std::string message;                 // pydantic message
  std::string ctx;                     // members of the "ctx" object, rendered; "" for none
};

class ValidationErrors {
 public:
  void add(FieldError error) { errors_.push_back(std::move(error)); }
  bool empty() const { return errors_.empty(); }
  const std::vector<FieldError>& items() const { return errors_; }
  // {"detail":[...]}
  std::string toJson() const;

 private:
  std::vector<FieldError> errors_;
};

// POST /tasks {title, content, due_date, request_timestamp}.
bool parseCreateBody(std::string_view body, NewTask& out, ValidationErrors& errors);

// PUT /tasks/{id} {title?, content?, due_date?, done?, request_timestamp}. A null optional
// field means "unchanged".
bool parseUpdateBody(std::string_view body, TaskPatch& out, ValidationErrors& errors);

// DELETE /tasks/{id}: request_timestamp from the JSON body when the body has it, else from
// the `request_timestamp` query parameter.
bool parseDeleteRequest(std::string_view body, const std::optional<std::string>& query_value,
                        Timestamp& out, ValidationErrors& errors);

// The {id} path segment. `out_of_range` is set (and true returned) for an integer that no
// task can have, which the caller answers with 404.
bool parseTaskId(std::string_view text, std::int64_t& id, bool& out_of_range,
                 ValidationErrors& errors);

struct ListLimits {
  std::size_t default_limit = 100;
  std::size_t max_limit = 1000;
};

// GET /tasks ?done= &due_before= &due_after= &limit= &cursor=
bool parseListQuery(const HttpRequest& request, const ListLimits& limits, TaskQuery& out,
                    ValidationErrors& errors);

// `</tasks?limit=..&cursor=..&done=..&due_before=..&due_after=..>; rel="next"` for the page
// after `last_id`, repeating the query's filters.
std::string nextPageLink(const TaskQuery& query, std::int64_t last_id);

// Value parsers shared by body and query validation; on failure they set `type` and
// `message` (and `ctx`) as pydantic would.
struct ValueError {
  std::string_view type;
  std::string message;
  std::string ctx;
};
bool parseDateValue(std::string_view text, std::string& date, ValueError& error);
bool parseDateTimeValue(std::string_view text, Timestamp& out, ValueError& error);
bool parseBoolText(std::string_view text, bool& out);

}  // namespace appliance::plugins::task_api
