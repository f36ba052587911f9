#pragma once
// Task JSON as the seed's API writes it:
//   {"id":1,"title":"...","content":"...","due_date":"2024-05-01","done":false,
//    "created_at":"2024-05-01T12:00:00.000000Z","updated_at":"..."}
// Written straight into a reserved buffer; no DOM.

#include <cstddef>
#include <cstdint>
#include <string>

#include "appliance/task_store.h"

namespace appliance::plugins::task_api {

void appendTaskJson(std::string& out, const TaskView& task);
std::string taskJson(const Task& task);

// Writes a list page's JSON array into `out` as the store lends the rows (TaskStore::listRows):
// no Task objects, no copies of the rows' text. Call finish() after the last row.
class TaskListJsonWriter final : public TaskRowSink {
 public:
  TaskListJsonWriter(std::string& out, std::size_t expected_rows);
  void onRow(const TaskView& row) override;
  void finish();
  std::size_t rows() const { return rows_; }
  std::int64_t lastId() const { return last_id_; }

 private:
  std::string& out_;
  std::size_t rows_ = 0;
  std::int64_t last_id_ = 0;
};

}  // namespace appliance::plugins::task_api
