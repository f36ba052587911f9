// Fuzz target: the PromQL parser and evaluator. Rule files come from users (and, through
// --check-rules, from their CI): any expression must end in a parse error with a position or
// a tree the evaluator can run, never a crash, a hang or a stack overflow.
//
// Input: one PromQL expression. Invariants: a parse error names a line and column inside the
// input; a parsed tree printed with toString() parses again to the same text (the printer and
// the parser agree); evaluating it over a small fixed store at a few instants returns a value
// or an error message, and a string result only comes from a string-typed expression.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "promql/evaluator.h"
#include "promql/parser.h"
#include "promql/series_store.h"

namespace {

namespace promql = appliance::plugins::alert_evaluator::promql;

const promql::SeriesStore& store() {
  static const promql::SeriesStore* built = [] {
    auto* s = new promql::SeriesStore;
    const char* jobs[] = {"api", "scaler", "alerts"};
    for (int j = 0; j < 3; ++j) {
      for (int i = 0; i <= 40; ++i) {
        const std::int64_t t = i * 15'000;
        // A counter with a reset, a gauge, and classic histogram buckets.
        s->append(promql::Labels({{"__name__", "http_requests_total"},
                                  {"job", jobs[j]},
                                  {"status", i % 2 ? "200" : "500"}}),
                  t, i < 20 ? i * 3.0 : (i - 20) * 2.0);
        s->append(promql::Labels({{"__name__", "up"}, {"job", jobs[j]}}), t, i % 7 ? 1 : 0);
        for (const char* le : {"0.1", "0.5", "1", "+Inf"}) {
          s->append(promql::Labels({{"__name__", "latency_bucket"}, {"job", jobs[j]}, {"le", le}}),
                    t, i * (le[0] == '+' ? 4.0 : 1.0 + j));
        }
      }
    }
    return s;
  }();
  return *built;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;  // rule expressions are short; long inputs only slow the search
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const promql::ParseResult parsed = promql::parseExpr(text);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.error->message.empty());
    FUZZ_CHECK(parsed.error->pos.line >= 1 && parsed.error->pos.column >= 1);
    FUZZ_CHECK(parsed.error->pos.line <= 1 + static_cast<int>(size));
    return 0;
  }
  const std::string printed = parsed.expr->toString();
  const promql::ParseResult again = promql::parseExpr(printed);
  if (!again.ok()) {
    std::fprintf(stderr, "printed form does not parse: %s\n", printed.c_str());
    FUZZ_CHECK(again.ok());
  }
  FUZZ_CHECK(again.expr->toString() == printed);

  const promql::Evaluator evaluator(store());
  for (std::int64_t t : {0LL, 300'000LL, 600'000LL, 3'600'000LL}) {
    const promql::EvalResult result = evaluator.evaluate(*parsed.expr, t);
    if (!result.ok()) FUZZ_CHECK(!result.error.empty());
  }
  return 0;
}
