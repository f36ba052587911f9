#include "value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

namespace appliance::plugins::alert_evaluator::promql {

Labels::Labels(std::vector<Label> items) {
  std::stable_sort(items.begin(), items.end(),
                   [](const Label& a, const Label& b) { return a.name < b.name; });
  for (auto& item : items) {
    if (!items_.empty() && items_.back().name == item.name) {
      items_.back().value = std::move(item.value);
    } else {
      items_.push_back(std::move(item));
    }
  }
  std::erase_if(items_, [](const Label& l) { return l.value.empty(); });
}

std::string_view Labels::get(std::string_view name) const {
  auto it = std::lower_bound(items_.begin(), items_.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it != items_.end() && it->name == name) return it->value;
  return {};
}

void Labels::set(std::string_view name, std::string_view value) {
  auto it = std::lower_bound(items_.begin(), items_.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  const bool found = it != items_.end() && it->name == name;
  if (value.empty()) {
    if (found) items_.erase(it);
  } else if (found) {
    it->value = std::string(value);
  } else {
    items_.insert(it, Label{std::string(name), std::string(value)});
  }
}

Labels Labels::withoutName() const {
  Labels out = *this;
  out.erase(kMetricNameLabel);
  return out;
}

Labels Labels::keep(const std::vector<std::string>& names) const {
  Labels out;
  for (const auto& l : items_) {
    if (std::find(names.begin(), names.end(), l.name) != names.end()) out.items_.push_back(l);
  }
  return out;
}

Labels Labels::drop(const std::vector<std::string>& names) const {
  Labels out;
  for (const auto& l : items_) {
    if (std::find(names.begin(), names.end(), l.name) == names.end()) out.items_.push_back(l);
  }
  return out;
}

namespace {

void appendQuoted(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

std::string Labels::toString() const {
  std::string out = "{";
  for (std::size_t i = 0; i < items_.size(); ++i) {
    if (i > 0) out += ", ";
    out += items_[i].name;
    out += '=';
    appendQuoted(out, items_[i].value);
  }
  out += '}';
  return out;
}

double staleNaN() {
  const std::uint64_t bits = 0x7ff0000000000002ULL;
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

bool isStaleNaN(double v) {
  std::uint64_t bits;
  std::memcpy(&bits, &v, sizeof v);
  return bits == 0x7ff0000000000002ULL;
}

std::string_view valueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kString:
      return "string";
    case ValueType::kVector:
      return "instant vector";
    case ValueType::kMatrix:
      return "range vector";
  }
  return "unknown";
}

namespace {

std::string nonFinite(double v) {
  if (std::isnan(v)) return "NaN";
  return v > 0 ? "+Inf" : "-Inf";
}

}  // namespace

std::string formatGoFloat(double v) {
  if (!std::isfinite(v)) return nonFinite(v);
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const auto e_pos = sci.find('e');
  const int exponent = std::stoi(sci.substr(e_pos + 1));
  if (exponent < -4 || exponent >= 6) {
    // Go writes at least two exponent digits: 1e+21, 1.5e-05.
    std::string mantissa = sci.substr(0, e_pos);
    const int abs_exp = exponent < 0 ? -exponent : exponent;
    std::string exp_digits = std::to_string(abs_exp);
    if (exp_digits.size() < 2) exp_digits = "0" + exp_digits;
    return mantissa + "e" + (exponent < 0 ? "-" : "+") + exp_digits;
  }
  res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, res.ptr);
}

std::string formatGoFloatFixed(double v) {
  if (!std::isfinite(v)) return nonFinite(v);
  char buf[400];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, res.ptr);
}

}  // namespace appliance::plugins::alert_evaluator::promql
