#include "list_batcher.h"

#include <utility>

namespace appliance::plugins::storage_postgres {

void ListKey::bind(Params& params) const {
  params.int8(before_id);
  for (const auto* date : {&due_before, &due_after}) {
    if (date->has_value()) {
      params.date(**date);
    } else {
      params.null();
    }
  }
  params.int8(row_limit);
}

ListBatcher::ListBatcher(Execute execute, int threads, int max_batch)
    : execute_(std::move(execute)),
      queue_("pg-lister", threads, static_cast<std::size_t>(max_batch),
             [this](std::vector<ListOp*>& batch) { runBatch(batch); }) {}

void ListBatcher::runBatch(const std::vector<ListOp*>& batch) {
  // The distinct pages, in arrival order, and which page each op reads. A batch holds at
  // most max_batch ops and usually a handful of distinct pages: a linear search is cheapest.
  std::vector<const ListKey*> pages;
  std::vector<std::size_t> page_of(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    std::size_t page = 0;
    while (page < pages.size() && !(*pages[page] == *batch[i]->key)) ++page;
    if (page == pages.size()) pages.push_back(batch[i]->key);
    page_of[i] = page;
  }
  std::vector<Params> params(pages.size());
  std::vector<Call> calls;
  calls.reserve(pages.size());
  for (std::size_t page = 0; page < pages.size(); ++page) {
    pages[page]->bind(params[page]);
    calls.push_back(Call{pages[page]->statement, &params[page]});
  }
  std::vector<PgResult> results(pages.size());
  const Status status = execute_(calls, results);
  std::vector<std::shared_ptr<const PgResult>> shared;
  shared.reserve(pages.size());
  for (PgResult& result : results)
    shared.push_back(std::make_shared<const PgResult>(std::move(result)));
  for (std::size_t i = 0; i < batch.size(); ++i) {
    batch[i]->status = status;
    if (status.isOk()) batch[i]->rows = shared[page_of[i]];
  }
}

}  // namespace appliance::plugins::storage_postgres
