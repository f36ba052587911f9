#include "value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>

namespace appliance::plugins::alert_evaluator::promql {

const std::vector<Label>& Labels::emptyItems() {
  static const std::vector<Label> empty;
  return empty;
}

std::vector<Label>& Labels::mutableItems() {
  if (!items_) {
    items_ = std::make_shared<std::vector<Label>>();
  } else if (items_.use_count() > 1) {
    items_ = std::make_shared<std::vector<Label>>(*items_);
  }
  return *items_;
}

Labels::Labels(std::vector<Label> items) {
  std::stable_sort(items.begin(), items.end(),
                   [](const Label& a, const Label& b) { return a.name < b.name; });
  std::vector<Label> out;
  out.reserve(items.size());
  for (auto& item : items) {
    if (!out.empty() && out.back().name == item.name) {
      out.back().value = std::move(item.value);
    } else {
      out.push_back(std::move(item));
    }
  }
  std::erase_if(out, [](const Label& l) { return l.value.empty(); });
  if (!out.empty()) items_ = std::make_shared<std::vector<Label>>(std::move(out));
}

std::string_view Labels::get(std::string_view name) const {
  const auto& items = this->items();
  auto it = std::lower_bound(items.begin(), items.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it != items.end() && it->name == name) return it->value;
  return {};
}

void Labels::set(std::string_view name, std::string_view value) {
  const auto& current = items();
  auto pos = std::lower_bound(current.begin(), current.end(), name,
                              [](const Label& l, std::string_view n) { return l.name < n; });
  const bool found = pos != current.end() && pos->name == name;
  if (value.empty() && !found) return;
  if (found && pos->value == value) return;
  const auto index = static_cast<std::size_t>(pos - current.begin());
  if (found && !value.empty()) {
    mutableItems()[index].value = std::string(value);
    return;
  }
  // Inserting or erasing builds a list of exactly the new size: label sets live for as long
  // as their series and alerts, and vector growth would leave up to half of each unused.
  std::vector<Label> items;
  items.reserve(found ? current.size() - 1 : current.size() + 1);
  if (items_) {
    const bool owned = items_.use_count() == 1;  // then the old strings can be moved
    for (std::size_t i = 0; i < items_->size(); ++i) {
      if (i == index && !found) items.push_back(Label{std::string(name), std::string(value)});
      if (i == index && found) continue;  // erased
      items.push_back(owned ? std::move((*items_)[i]) : (*items_)[i]);
    }
  }
  if (!found && index == current.size()) {
    items.push_back(Label{std::string(name), std::string(value)});
  }
  if (items.empty()) {
    items_.reset();
  } else {
    items_ = std::make_shared<std::vector<Label>>(std::move(items));
  }
}

Labels Labels::withoutName() const {
  Labels out = *this;
  out.erase(kMetricNameLabel);
  return out;
}

Labels Labels::keep(const std::vector<std::string>& names) const {
  std::vector<Label> kept;
  for (const auto& l : items()) {
    if (std::find(names.begin(), names.end(), l.name) != names.end()) kept.push_back(l);
  }
  Labels out;
  if (!kept.empty()) out.items_ = std::make_shared<std::vector<Label>>(std::move(kept));
  return out;
}

Labels Labels::drop(const std::vector<std::string>& names) const {
  std::vector<Label> kept;
  for (const auto& l : items()) {
    if (std::find(names.begin(), names.end(), l.name) == names.end()) kept.push_back(l);
  }
  Labels out;
  if (!kept.empty()) out.items_ = std::make_shared<std::vector<Label>>(std::move(kept));
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
  const auto& items = this->items();
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += items[i].name;
    out += '=';
    appendQuoted(out, items[i].value);
  }
  out += '}';
  return out;
}

std::uint64_t Labels::hash() const {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL;
  const auto mix = [&h](std::string_view s) {
    h ^= std::hash<std::string_view>{}(s) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  };
  for (const auto& l : items()) {
    mix(l.name);
    mix(l.value);
  }
  return h;
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
