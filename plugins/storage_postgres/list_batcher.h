#pragma once
// ListBatcher: GET /tasks pages for many concurrent requests, each distinct page read once.
//
// A list page is PostgreSQL's most expensive read here (an index walk and 101 rows out).
// Concurrent requests for the same page (a dashboard polled by many clients, the first page
// of every client) are common, and their answers are identical: `threads` lister threads each
// take up to `max_batch` queued requests, run one statement per distinct page, pipelined
// behind one Sync (one round trip), and lend every request its page's rows from the shared
// result. Each caller then writes its own response from those rows on its own thread.
//
// A request is never answered from a snapshot older than its arrival: a batch starts after
// every request in it was queued, so each sees every write acknowledged before it was
// submitted (the same rule as ReadBatcher).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "batch_queue.h"
#include "pg_connection.h"

namespace appliance::plugins::storage_postgres {

// The statement and parameters of one page: equal keys read equal rows.
struct ListKey {
  Statement statement = Statement::kList;
  std::int64_t before_id = 0;
  std::optional<std::string> due_before;  // valid YYYY-MM-DD (checked before queueing)
  std::optional<std::string> due_after;
  std::int64_t row_limit = 0;  // rows asked of the database (the page size + 1)

  bool operator==(const ListKey&) const = default;
  // Binds the statement's parameters; the strings are referenced, so `params` must not
  // outlive this key.
  void bind(Params& params) const;
};

struct ListOp {
  const ListKey* key = nullptr;  // in
  // Out: the page's rows, shared by every op that asked for the same page.
  Status status;
  std::shared_ptr<const PgResult> rows;
  Completion completion;
};

class ListBatcher {
 public:
  // Runs `calls` pipelined behind one Sync into `results` (calls.size() elements).
  using Execute = std::function<Status(std::span<const Call> calls, std::span<PgResult> results)>;

  ListBatcher(Execute execute, int threads, int max_batch);

  // Blocks until `op` has its page or has failed.
  void submit(ListOp& op) { queue_.submit(op); }
  // Queues `op` and returns; its completion.then runs on the lister thread (batch_queue.h).
  void submitAsync(ListOp& op) { queue_.submitAsync(op); }
  // Fails queued ops with kUnavailable, finishes running batches, joins the threads.
  void stop() { queue_.stop(); }
  std::size_t queued() const { return queue_.queued(); }

 private:
  void runBatch(const std::vector<ListOp*>& batch);

  const Execute execute_;
  BatchQueue<ListOp> queue_;  // last: its threads call runBatch
};

}  // namespace appliance::plugins::storage_postgres
