#pragma once
// Internal to the evaluator: one evaluation of one expression at one time. Errors are thrown
// as EvalError and turned into EvalResult::error by Evaluator::evaluate.

#include <stdexcept>

#include "evaluator.h"
#include "functions.h"

namespace appliance::plugins::alert_evaluator::promql {

struct EvalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Evaluation {
 public:
  Evaluation(const SeriesStore& store, const EvalOptions& options, std::int64_t ts)
      : store_(store), options_(options), ts_(ts) {}

  Value eval(const Expr& e);

 private:
  Vector selectInstant(const Expr& e, bool keep_sample_time);
  Matrix selectRange(const Expr& e);
  Value evalUnary(const Expr& e);
  Value evalBinary(const Expr& e);
  Vector vectorBinary(const Expr& e, Vector lhs, Vector rhs);
  Vector vectorScalar(const Expr& e, Vector vec, double scalar, bool swap);
  Vector setOperation(const Expr& e, const Vector& lhs, const Vector& rhs);
  Vector aggregate(const Expr& e);
  Value call(const Expr& e);
  Vector callVectorFunction(const Expr& e, std::vector<Value>& args);
  Vector callRangeFunction(const Expr& e, std::vector<Value>& args);
  double scalarArg(const Expr& e) { return eval(e).scalar; }

  const SeriesStore& store_;
  const EvalOptions& options_;
  std::int64_t ts_;
};

// Helpers shared by the evaluator's files.
void checkNoDuplicates(const Vector& v);
void kahanSumInc(double inc, double& sum, double& c);
double quantile(double q, std::vector<double> values);
double goMax(double a, double b);
double goMin(double a, double b);

}  // namespace appliance::plugins::alert_evaluator::promql
