#pragma once
// Status and Result<T>: how every SDK call reports failure. No exception crosses a plugin
// boundary; a plugin returns a Status and the host turns it into an exit code, an HTTP
// status or a log line.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace appliance {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // bad input: config value, request field (HTTP 422 / exit 2)
  kNotFound,            // HTTP 404
  kConflict,            // stale or replayed write: HTTP 409
  kUnavailable,         // a dependency is down; retry later: HTTP 503 + Retry-After
  kTimeout,             // waited too long (pool acquire, statement): HTTP 503
  kFailedPrecondition,  // wrong state or missing dependency (start-up refuses)
  kInternal,            // a bug or an unexpected fault: HTTP 500
};

const char* statusCodeName(StatusCode code) noexcept;

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  static Status invalid(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status notFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
  static Status failedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool isOk() const noexcept { return code_ == StatusCode::kOk; }
  explicit operator bool() const noexcept { return isOk(); }
  StatusCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Status error) : state_(std::in_place_index<1>, std::move(error)) {  // NOLINT: implicit
    assert(!std::get<1>(state_).isOk() && "a Result error must not be Status::ok()");
  }

  bool isOk() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return isOk(); }

  const T& value() const& { return std::get<0>(state_); }
  T& value() & { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  const T& operator*() const& { return value(); }

  // Status::ok() when a value is held. A reference, so views into message() stay valid as
  // long as the Result does.
  const Status& status() const {
    static const Status kOk;
    return isOk() ? kOk : std::get<1>(state_);
  }

 private:
  std::variant<T, Status> state_;
};

}  // namespace appliance
