#include "value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>

namespace appliance::plugins::alert_evaluator::promql {

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

namespace {

const Label* findName(const std::vector<Label>& items, std::string_view name) {
  auto it = std::lower_bound(items.begin(), items.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  return it != items.end() && it->name == name ? &*it : nullptr;
}

}  // namespace

LabelRange Labels::items() const {
  const Label* data = items_ ? items_->data() : nullptr;
  const Label* end = items_ ? data + items_->size() : nullptr;
  const Label* extra = extra_ ? extra_->data() : nullptr;
  const Label* extra_end = extra_ ? extra + extra_->size() : nullptr;
  return LabelRange(data, end, hidden_ < 0 ? nullptr : data + hidden_, extra, extra_end);
}

std::string_view Labels::get(std::string_view name) const {
  if (items_) {
    const Label* found = findName(*items_, name);
    if (found && found - items_->data() != hidden_) return found->value;
  }
  if (extra_) {
    const Label* found = findName(*extra_, name);
    if (found) return found->value;
  }
  return {};
}

void Labels::set(std::string_view name, std::string_view value) {
  if (get(name) == value) return;  // also: erasing an absent label
  // Copied first: `name` and `value` may point into this very list.
  Label fresh{std::string(name), std::string(value)};
  // A new list of exactly the new size: label sets live as long as their series and
  // alerts, and vector growth would leave up to half of each unused.
  const LabelRange current = items();
  std::vector<Label> items;
  items.reserve(current.size() + 1);
  bool placed = fresh.value.empty();  // an erase places nothing
  for (const Label& l : current) {
    if (l.name == fresh.name) continue;  // replaced or erased
    if (!placed && fresh.name < l.name) {
      items.push_back(std::move(fresh));
      placed = true;
    }
    items.push_back(l);
  }
  if (!placed) items.push_back(std::move(fresh));
  hidden_ = -1;
  extra_.reset();
  if (items.empty()) {
    items_.reset();
  } else {
    items_ = std::make_shared<std::vector<Label>>(std::move(items));
  }
}

Labels Labels::withoutName() const {
  Labels out = *this;
  if (!items_ || hidden_ >= 0) {  // only the name is ever hidden
    out.erase(kMetricNameLabel);  // (a no-op unless `extra` holds the name)
    return out;
  }
  const Label* found = findName(*items_, kMetricNameLabel);
  if (!found) {
    out.erase(kMetricNameLabel);
  } else if (items_->size() == 1 && !extra_) {
    out.items_.reset();
  } else {
    out.hidden_ = static_cast<std::int32_t>(found - items_->data());
  }
  return out;
}

Labels Labels::with(const Labels& extra, LabelMerges* merges) const {
  if (items().empty()) return extra;
  Labels out = *this;
  const bool plain = extra.items_ && !extra.extra_ && extra.hidden_ < 0;
  const bool clash =
      !plain || std::any_of(extra.items_->begin(), extra.items_->end(), [this](const Label& l) {
        if (!items_) return false;
        const Label* found = findName(*items_, l.name);
        return found && found - items_->data() != hidden_;
      });
  if (!clash && !extra_) {
    out.extra_ = extra.items_;
    return out;
  }
  if (!clash && merges) {
    LabelMerges::List merged = merges->find(extra_, extra.items_);
    if (!merged) {
      Labels both;
      both.items_ = extra_;
      for (const Label& l : *extra.items_) both.set(l.name, l.value);
      merged = both.items_;
      merges->remember(extra_, extra.items_, merged);
    }
    out.extra_ = std::move(merged);
    return out;
  }
  for (const Label& l : extra.items()) out.set(l.name, l.value);
  return out;
}

LabelMerges::List LabelMerges::find(const List& a, const List& b) const {
  for (const Entry& e : entries_) {
    if (e.a == a && e.b == b) return e.merged;
  }
  return nullptr;
}

void LabelMerges::remember(List a, List b, List merged) {
  if (entries_.size() >= 256) entries_.clear();
  entries_.push_back(Entry{std::move(a), std::move(b), std::move(merged)});
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

std::strong_ordering Labels::operator<=>(const Labels& other) const {
  if (sameAs(other)) return std::strong_ordering::equal;
  const LabelRange a = items(), b = other.items();
  return std::lexicographical_compare_three_way(a.begin(), a.end(), b.begin(), b.end());
}

bool Labels::operator==(const Labels& other) const {
  if (sameAs(other)) return true;
  const LabelRange a = items(), b = other.items();
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
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
  bool first = true;
  for (const Label& l : items()) {
    if (!first) out += ", ";
    first = false;
    out += l.name;
    out += '=';
    appendQuoted(out, l.value);
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
