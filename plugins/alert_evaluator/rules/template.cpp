#include "template.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <variant>

namespace appliance::plugins::alert_evaluator::rules {

using promql::formatGoFloat;
using promql::Labels;

// A value during expansion: missing (Go's "<no value>"), a float, an integer literal, a
// string, or a label map.
struct TemplateValue {
  std::variant<std::monostate, double, std::int64_t, std::string, const Labels*> v;
};

namespace {

struct ExecError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Pipeline;

struct Operand {
  enum class Kind { kString, kNumber, kInteger, kVariable, kField, kFunction, kPipeline };
  Kind kind = Kind::kString;
  std::string text;               // string value, variable/function name
  std::vector<std::string> path;  // field chain after the variable or dot
  double number = 0;
  std::int64_t integer = 0;
  std::shared_ptr<Pipeline> sub;
};

struct Command {
  std::vector<Operand> operands;
};

struct Pipeline {
  std::vector<Command> commands;
};

}  // namespace

struct Template::Node {
  bool is_text = true;
  std::string text;
  Pipeline pipeline;
};

namespace {

const char* const kFunctions[] = {
    "humanize", "humanize1024", "humanizeDuration", "humanizePercentage",
    "printf",   "toUpper",      "toLower",          "title",
    "index"};

bool isFunction(const std::string& name) {
  return std::find(std::begin(kFunctions), std::end(kFunctions), name) != std::end(kFunctions);
}

struct CompileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses the inside of one {{ }} action.
class ActionParser {
 public:
  explicit ActionParser(std::string_view s) : s_(s) {}

  Pipeline parse() {
    skipSpace();
    checkKeyword();
    Pipeline p = pipeline();
    skipSpace();
    if (i_ != s_.size()) fail("unexpected \"" + std::string(s_.substr(i_, 1)) + "\" in action");
    return p;
  }

 private:
  [[noreturn]] static void fail(const std::string& message) { throw CompileError(message); }

  void skipSpace() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }

  void checkKeyword() {
    static const char* const kKeywords[] = {"if",     "else",     "end",   "range", "with",
                                            "define", "template", "block", "break", "continue"};
    std::size_t j = i_;
    while (j < s_.size() && std::isalpha(static_cast<unsigned char>(s_[j]))) ++j;
    const std::string word(s_.substr(i_, j - i_));
    for (const char* k : kKeywords) {
      if (word == k) fail("the template action \"" + word + "\" is not supported by this engine");
    }
    if (s_.find(":=") != std::string_view::npos || s_.find(" = ") != std::string_view::npos) {
      fail("template variables are not supported by this engine");
    }
  }

  Pipeline pipeline() {
    Pipeline p;
    while (true) {
      p.commands.push_back(command());
      skipSpace();
      if (i_ < s_.size() && s_[i_] == '|') {
        ++i_;
        continue;
      }
      return p;
    }
  }

  Command command() {
    Command c;
    while (true) {
      skipSpace();
      if (i_ >= s_.size() || s_[i_] == '|' || s_[i_] == ')') break;
      c.operands.push_back(operand());
    }
    if (c.operands.empty()) fail("missing value for command");
    return c;
  }

  std::vector<std::string> fieldPath() {
    std::vector<std::string> path;
    while (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      std::string name = identifier();
      if (name.empty()) break;  // a lone "." (the data itself)
      path.push_back(std::move(name));
    }
    return path;
  }

  std::string identifier() {
    std::size_t j = i_;
    while (j < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[j])) || s_[j] == '_')) ++j;
    std::string out(s_.substr(i_, j - i_));
    i_ = j;
    return out;
  }

  Operand operand() {
    Operand o;
    const char c = s_[i_];
    if (c == '(') {
      ++i_;
      o.kind = Operand::Kind::kPipeline;
      o.sub = std::make_shared<Pipeline>(pipeline());
      skipSpace();
      if (i_ >= s_.size() || s_[i_] != ')') fail("unclosed left paren");
      ++i_;
    } else if (c == '"' || c == '`') {
      o.kind = Operand::Kind::kString;
      o.text = quoted();
    } else if (c == '$') {
      ++i_;
      o.kind = Operand::Kind::kVariable;
      o.text = identifier();
      static const char* const kVars[] = {"", "labels", "value", "externalLabels", "externalURL"};
      if (std::find_if(std::begin(kVars), std::end(kVars),
                       [&](const char* v) { return o.text == v; }) == std::end(kVars)) {
        fail("undefined variable \"$" + o.text + "\"");
      }
      o.path = fieldPath();
    } else if (c == '.') {
      o.kind = Operand::Kind::kField;
      o.path = fieldPath();
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+') {
      number(o);
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      o.kind = Operand::Kind::kFunction;
      o.text = identifier();
      if (!isFunction(o.text)) {
        fail("function \"" + o.text + "\" not defined (or not supported by this engine)");
      }
    } else {
      fail("unexpected \"" + std::string(1, c) + "\" in operand");
    }
    return o;
  }

  void number(Operand& o) {
    std::size_t j = i_ + 1;
    while (j < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[j])) || s_[j] == '.' ||
            ((s_[j] == '+' || s_[j] == '-') && (s_[j - 1] == 'e' || s_[j - 1] == 'E')))) {
      ++j;
    }
    const std::string text(s_.substr(i_, j - i_));
    i_ = j;
    char* end = nullptr;
    const bool integral = text.find_first_of(".eE") == std::string::npos;
    if (integral) {
      o.kind = Operand::Kind::kInteger;
      o.integer = std::strtoll(text.c_str(), &end, 10);
    } else {
      o.kind = Operand::Kind::kNumber;
      o.number = std::strtod(text.c_str(), &end);
    }
    if (end != text.c_str() + text.size()) fail("bad number syntax: \"" + text + "\"");
  }

  std::string quoted() {
    const char q = s_[i_++];
    std::string out;
    while (i_ < s_.size() && s_[i_] != q) {
      char c = s_[i_++];
      if (c == '\\' && q == '"' && i_ < s_.size()) {
        const char e = s_[i_++];
        switch (e) {
          case 'n':
            c = '\n';
            break;
          case 't':
            c = '\t';
            break;
          case 'r':
            c = '\r';
            break;
          case '\\':
            c = '\\';
            break;
          case '"':
            c = '"';
            break;
          default:
            fail(std::string("unsupported escape \\") + e + " in template string");
        }
      }
      out += c;
    }
    if (i_ >= s_.size()) fail("unterminated quoted string");
    ++i_;
    return out;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

std::vector<Template::Node> compileNodes(std::string_view text) {
  std::vector<Template::Node> nodes;
  std::size_t i = 0;
  bool trim_next_text = false;
  while (i <= text.size()) {
    const std::size_t open = text.find("{{", i);
    std::string literal(
        text.substr(i, open == std::string_view::npos ? std::string_view::npos : open - i));
    if (trim_next_text) {
      literal.erase(0, literal.find_first_not_of(" \t\r\n"));
      trim_next_text = false;
    }
    if (open == std::string_view::npos) {
      if (!literal.empty()) nodes.push_back({true, literal, {}});
      break;
    }
    std::size_t body_start = open + 2;
    if (text.compare(body_start, 2, "- ") == 0) {
      const auto last = literal.find_last_not_of(" \t\r\n");
      literal.erase(last == std::string::npos ? 0 : last + 1);
      body_start += 2;
    }
    if (!literal.empty()) nodes.push_back({true, literal, {}});
    const std::size_t close = text.find("}}", body_start);
    if (close == std::string_view::npos) throw CompileError("unclosed action");
    std::size_t body_end = close;
    if (close >= body_start + 2 && text.compare(close - 2, 2, " -") == 0) {
      body_end = close - 2;
      trim_next_text = true;
    }
    std::string_view body = text.substr(body_start, body_end - body_start);
    const auto first = body.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && body.substr(first).starts_with("/*")) {
      i = close + 2;  // a comment
      continue;
    }
    Template::Node node;
    node.is_text = false;
    node.pipeline = ActionParser(body).parse();
    nodes.push_back(std::move(node));
    i = close + 2;
  }
  return nodes;
}

}  // namespace

std::optional<Template> Template::compile(std::string_view text, std::string& error) {
  try {
    Template t;
    t.nodes_ = std::make_shared<const std::vector<Node>>(compileNodes(text));
    return t;
  } catch (const CompileError& e) {
    error = std::string("template: ") + e.what();
    return std::nullopt;
  }
}

bool Template::isPlainText() const {
  return std::all_of(nodes_->begin(), nodes_->end(), [](const Node& n) { return n.is_text; });
}

namespace {

std::string goG4(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string typeName(const TemplateValue& v) {
  switch (v.v.index()) {
    case 1:
      return "float64";
    case 2:
      return "int";
    case 3:
      return "string";
    case 4:
      return "map[string]string";
    default:
      return "<nil>";
  }
}

std::string print(const TemplateValue& v) {
  switch (v.v.index()) {
    case 1:
      return formatGoFloat(std::get<double>(v.v));
    case 2:
      return std::to_string(std::get<std::int64_t>(v.v));
    case 3:
      return std::get<std::string>(v.v);
    case 4: {
      std::string out = "map[";
      bool first = true;
      for (const auto& l : std::get<const Labels*>(v.v)->items()) {
        out += (first ? "" : " ") + l.name + ":" + l.value;
        first = false;
      }
      return out + "]";
    }
    default:
      return "<no value>";
  }
}

double toFloat(const TemplateValue& v) {
  switch (v.v.index()) {
    case 1:
      return std::get<double>(v.v);
    case 2:
      return static_cast<double>(std::get<std::int64_t>(v.v));
    case 3: {
      const std::string& s = std::get<std::string>(v.v);
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size()) {
        throw ExecError("strconv.ParseFloat: parsing \"" + s + "\": invalid syntax");
      }
      return d;
    }
    default:
      throw ExecError("can't convert " + typeName(v) + " to float");
  }
}

std::string humanize(double v) {
  if (v == 0 || std::isnan(v) || std::isinf(v)) return goG4(v);
  if (std::fabs(v) >= 1) {
    std::string prefix;
    for (const char* p : {"k", "M", "G", "T", "P", "E", "Z", "Y"}) {
      if (std::fabs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return goG4(v) + prefix;
  }
  std::string prefix;
  for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return goG4(v) + prefix;
}

std::string humanize1024(double v) {
  if (std::fabs(v) <= 1 || std::isnan(v) || std::isinf(v)) return goG4(v);
  std::string prefix;
  for (const char* p : {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"}) {
    if (std::fabs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return goG4(v) + prefix;
}

std::string humanizeDuration(double v) {
  if (std::isnan(v) || std::isinf(v)) return goG4(v);
  if (v == 0) return goG4(v) + "s";
  if (std::fabs(v) >= 1) {
    std::string sign;
    if (v < 0) {
      sign = "-";
      v = -v;
    }
    // Go converts out-of-range floats to the smallest int64 (amd64); so do we, printing the
    // same odd duration rather than invoking undefined behaviour.
    const auto d = v >= 9.2233720368547758e18 ? std::numeric_limits<std::int64_t>::min()
                                              : static_cast<std::int64_t>(v);
    const auto seconds = d % 60, minutes = (d / 60) % 60, hours = (d / 3600) % 24, days = d / 86400;
    auto s = [](std::int64_t n) { return std::to_string(n); };
    if (days != 0)
      return sign + s(days) + "d " + s(hours) + "h " + s(minutes) + "m " + s(seconds) + "s";
    if (hours != 0) return sign + s(hours) + "h " + s(minutes) + "m " + s(seconds) + "s";
    if (minutes != 0) return sign + s(minutes) + "m " + s(seconds) + "s";
    return sign + goG4(v) + "s";
  }
  std::string prefix;
  for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return goG4(v) + prefix + "s";
}

// strings.Title: upper-case the first letter of every word.
std::string title(std::string s) {
  bool at_start = true;
  for (auto& c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (at_start && std::isalpha(u)) c = static_cast<char>(std::toupper(u));
    at_start = !(std::isalnum(u) || c == '_' || u >= 0x80);
  }
  return s;
}

// Go's %g and %v without precision: shortest digits, exponent form outside [1e-4, 1e6).
std::string goShortestG(double v) { return formatGoFloat(v); }

// A %-spec without its .precision, to pad a preformatted text (Go pads NaN and Inf to the
// width but does not cut them to the precision).
std::string withoutPrecision(const std::string& spec) {
  const auto dot = spec.find('.');
  return dot == std::string::npos ? spec : spec.substr(0, dot);
}

std::string badVerb(char verb, const TemplateValue& v) {
  return std::string("%!") + verb + "(" + typeName(v) + "=" + print(v) + ")";
}

std::string formatOne(const std::string& spec, char verb, bool has_precision,
                      const TemplateValue& arg) {
  char buf[512];
  const int index = static_cast<int>(arg.v.index());
  if (verb == 'v' || (verb == 's' && index == 3)) {
    std::string text = index == 1 ? goShortestG(std::get<double>(arg.v)) : print(arg);
    std::snprintf(buf, sizeof buf, (spec + "s").c_str(), text.c_str());
    return buf;
  }
  if (std::string("feEgG").find(verb) != std::string::npos && (index == 1 || index == 2)) {
    const double d = toFloat(arg);
    if (!std::isfinite(d) || ((verb == 'g' || verb == 'G') && !has_precision)) {
      std::string text = goShortestG(d);
      if (std::isfinite(d) && verb == 'G') {
        std::transform(text.begin(), text.end(), text.begin(), ::toupper);
      }
      std::snprintf(buf, sizeof buf, (withoutPrecision(spec) + "s").c_str(), text.c_str());
      return buf;
    }
    std::snprintf(buf, sizeof buf, (spec + verb).c_str(), d);
    return buf;
  }
  if ((verb == 'd' || verb == 'x' || verb == 'X') && index == 2) {
    std::snprintf(buf, sizeof buf, (spec + "ll" + verb).c_str(),
                  static_cast<long long>(std::get<std::int64_t>(arg.v)));
    return buf;
  }
  if (verb == 'q' && index == 3) {
    std::string out = "\"";
    for (char c : std::get<std::string>(arg.v)) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  }
  return badVerb(verb, arg);
}

std::string goSprintf(const std::string& format, const std::vector<TemplateValue>& args) {
  std::string out;
  std::size_t next_arg = 0;
  for (std::size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    std::size_t j = i + 1;
    while (j < format.size() && std::string("+- #0").find(format[j]) != std::string::npos) ++j;
    while (j < format.size() && std::isdigit(static_cast<unsigned char>(format[j]))) ++j;
    bool has_precision = false;
    if (j < format.size() && format[j] == '.') {
      has_precision = true;
      ++j;
      while (j < format.size() && std::isdigit(static_cast<unsigned char>(format[j]))) ++j;
    }
    if (j >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    const char verb = format[j];
    const std::string spec = format.substr(i, j - i);
    i = j;
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (next_arg >= args.size()) {
      out += std::string("%!") + verb + "(MISSING)";
      continue;
    }
    out += formatOne(spec, verb, has_precision, args[next_arg++]);
  }
  if (next_arg < args.size()) {
    out += "%!(EXTRA ";
    for (std::size_t k = next_arg; k < args.size(); ++k) {
      out += (k > next_arg ? ", " : "") + typeName(args[k]) + "=" + print(args[k]);
    }
    out += ")";
  }
  return out;
}

class Executor {
 public:
  explicit Executor(const TemplateData& data) : data_(data) {}

  TemplateValue run(const Pipeline& p) {
    TemplateValue piped;
    bool has_piped = false;
    for (const auto& c : p.commands) {
      piped = command(c, has_piped ? &piped : nullptr);
      has_piped = true;
    }
    return piped;
  }

 private:
  TemplateValue command(const Command& c, const TemplateValue* piped) {
    const Operand& head = c.operands[0];
    if (head.kind != Operand::Kind::kFunction) {
      if (c.operands.size() > 1 || piped != nullptr) {
        throw ExecError("can't give argument to non-function " + describe(head));
      }
      return operand(head);
    }
    std::vector<TemplateValue> args;
    for (std::size_t i = 1; i < c.operands.size(); ++i) args.push_back(operand(c.operands[i]));
    if (piped != nullptr) args.push_back(*piped);
    return call(head.text, args);
  }

  static std::string describe(const Operand& o) {
    return o.kind == Operand::Kind::kVariable ? "$" + o.text : "operand";
  }

  TemplateValue operand(const Operand& o) {
    switch (o.kind) {
      case Operand::Kind::kString:
        return {o.text};
      case Operand::Kind::kNumber:
        return {o.number};
      case Operand::Kind::kInteger:
        return {o.integer};
      case Operand::Kind::kPipeline:
        return run(*o.sub);
      case Operand::Kind::kVariable:
        return variable(o.text, o.path);
      case Operand::Kind::kField:
        return field(o.path);
      case Operand::Kind::kFunction:
        return call(o.text, {});
    }
    return {};
  }

  TemplateValue variable(const std::string& name, const std::vector<std::string>& path) {
    if (name.empty()) return field(path);
    if (name == "value") return select({data_.value}, path);
    if (name == "externalURL") return select({data_.external_url}, path);
    static const Labels kNone;
    if (name == "labels") return select({data_.labels ? data_.labels : &kNone}, path);
    return select({data_.external_labels ? data_.external_labels : &kNone}, path);
  }

  TemplateValue field(const std::vector<std::string>& path) {
    if (path.empty()) throw ExecError("printing the whole alert data is not supported");
    static const std::pair<const char*, const char*> kFields[] = {
        {"Labels", "labels"},
        {"Value", "value"},
        {"ExternalLabels", "externalLabels"},
        {"ExternalURL", "externalURL"}};
    for (const auto& [field_name, var] : kFields) {
      if (path[0] == field_name) {
        return variable(var, std::vector<std::string>(path.begin() + 1, path.end()));
      }
    }
    throw ExecError("can't evaluate field " + path[0]);
  }

  static TemplateValue select(TemplateValue v, const std::vector<std::string>& path) {
    for (const auto& name : path) {
      if (v.v.index() != 4)
        throw ExecError("can't evaluate field " + name + " in type " + typeName(v));
      const Labels* labels = std::get<const Labels*>(v.v);
      // A missing label reads as "" (what Prometheus prints), not Go's "<no value>".
      v = TemplateValue{std::string(labels->get(name))};
    }
    return v;
  }

  TemplateValue call(const std::string& name, const std::vector<TemplateValue>& args) {
    if (name == "printf") {
      if (args.empty() || args[0].v.index() != 3) throw ExecError("printf needs a format string");
      return {goSprintf(std::get<std::string>(args[0].v), {args.begin() + 1, args.end()})};
    }
    if (name == "index") return index(args);
    if (args.size() != 1) {
      throw ExecError("wrong number of args for " + name + ": want 1 got " +
                      std::to_string(args.size()));
    }
    const TemplateValue& a = args[0];
    if (name == "humanize") return {humanize(toFloat(a))};
    if (name == "humanize1024") return {humanize1024(toFloat(a))};
    if (name == "humanizeDuration") return {humanizeDuration(toFloat(a))};
    if (name == "humanizePercentage") return {goG4(toFloat(a) * 100) + "%"};
    if (a.v.index() != 3) throw ExecError(name + " needs a string, got " + typeName(a));
    std::string s = std::get<std::string>(a.v);
    if (name == "title") return {title(s)};
    const bool upper = name == "toUpper";
    std::transform(s.begin(), s.end(), s.begin(), [upper](unsigned char c) {
      return static_cast<char>(upper ? std::toupper(c) : std::tolower(c));
    });
    return {s};
  }

  static TemplateValue index(const std::vector<TemplateValue>& args) {
    if (args.size() != 2 || args[0].v.index() != 4 || args[1].v.index() != 3) {
      throw ExecError("index needs a label map and a label name");
    }
    const Labels* labels = std::get<const Labels*>(args[0].v);
    const std::string& key = std::get<std::string>(args[1].v);
    // index of a missing map key gives the zero value, "".
    return {std::string(labels->get(key))};
  }

  const TemplateData& data_;
};

}  // namespace

std::string Template::expand(const TemplateData& data) const {
  std::string out;
  try {
    Executor executor(data);
    for (const auto& node : *nodes_) {
      out += node.is_text ? node.text : print(executor.run(node.pipeline));
    }
  } catch (const ExecError& e) {
    return std::string("<error expanding template: ") + e.what() + ">";
  }
  return out;
}

}  // namespace appliance::plugins::alert_evaluator::rules
