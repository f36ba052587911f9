// Fuzz target: the alert evaluator's PromQL parser (plugins/alert_evaluator/promql), which
// reads every `expr` of a user's rule files. Invariants: parsing never crashes; an error names
// a line and column inside the input; an accepted expression prints (toString) to text that
// parses again to the same text, and evaluating it over a small store never crashes.

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "promql/evaluator.h"
#include "promql/parser.h"

namespace pq = appliance::plugins::alert_evaluator::promql;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  pq::ParseResult parsed = pq::parseExpr(text);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.error->pos.line >= 1 && parsed.error->pos.column >= 1);
    return 0;
  }
  const std::string printed = parsed.expr->toString();
  pq::ParseResult again = pq::parseExpr(printed);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again.expr->toString() == printed);
  static pq::SeriesStore store = [] {
    pq::SeriesStore s;
    for (int i = 0; i < 10; ++i) {
      s.append(pq::Labels({{"__name__", "up"}, {"job", "a"}}), i * 15000, i);
      s.append(pq::Labels({{"__name__", "x_bucket"}, {"le", i % 2 ? "+Inf" : "0.5"}}), i * 15000,
               i * 2);
    }
    return s;
  }();
  (void)pq::Evaluator(store).evaluate(*parsed.expr, 150000);
  return 0;
}
