#pragma once
// Alert templates: the subset of Go's text/template that Prometheus rule files use in labels
// and annotations. Text, and actions {{ pipeline }} (with {{- -}} trimming and comments)
// whose commands are $labels.x, $value, $externalLabels.x, $externalURL, .Labels.x, .Value,
// literals, parenthesised pipelines, and the functions humanize, humanize1024,
// humanizeDuration, humanizePercentage, printf, toUpper, toLower, title, index. Anything
// else (if, range, with, variables, query, ...) is refused when the template is compiled, so
// a rule file that loads never expands a template differently from Prometheus.
// A compiled Template is immutable and may be expanded from several threads.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "promql/value.h"

namespace appliance::plugins::alert_evaluator::rules {

struct TemplateData {
  const promql::Labels* labels = nullptr;
  const promql::Labels* external_labels = nullptr;
  std::string external_url;
  double value = 0;
};

class Template {
 public:
  struct Node;
  // Compiles `text`; on failure returns nullopt and sets `error`.
  static std::optional<Template> compile(std::string_view text, std::string& error);
  // Expands with `data`; an execution error yields Prometheus's
  // "<error expanding template: ...>" text.
  std::string expand(const TemplateData& data) const;
  bool isPlainText() const;

 private:
  std::shared_ptr<const std::vector<Node>> nodes_;
};

}  // namespace appliance::plugins::alert_evaluator::rules
