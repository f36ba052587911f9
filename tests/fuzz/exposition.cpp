// Fuzz target: the alert evaluator's text exposition parser (plugin/exposition.h), which
// reads whatever a scrape target answers. Invariants: never crashes; an error names a line
// and column; every accepted sample has a valid metric name and no duplicate label names.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "fuzz_check.h"
#include "plugin/exposition.h"

namespace ex = appliance::plugins::alert_evaluator::exposition;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 65536) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const ex::ParseResult r = ex::parse(text);
  if (!r.ok()) {
    FUZZ_CHECK(r.error.rfind("line ", 0) == 0);
    FUZZ_CHECK(r.error.find(", column ") != std::string::npos);
    return 0;
  }
  for (const auto& s : r.samples) {
    FUZZ_CHECK(!s.labels.get("__name__").empty());
    std::set<std::string> names;
    for (const auto& l : s.labels.items()) FUZZ_CHECK(names.insert(l.name).second);
  }
  return 0;
}
