#include "kube_json.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Parser.h>

#include <sstream>

namespace appliance::plugins::runner_scaler::kube {

Result<Object> parseObject(std::string_view text, std::string_view what) {
  try {
    Poco::JSON::Parser parser;
    Poco::Dynamic::Var value = parser.parse(std::string(text));
    if (value.type() != typeid(Object)) {
      return Status::invalid(std::string(what) + ": expected a JSON object");
    }
    return value.extract<Object>();
  } catch (const Poco::Exception& e) {
    return Status::invalid(std::string(what) + ": not valid JSON (" + e.message() + ")");
  }
}

std::string toJson(const Object& object) {
  std::ostringstream out;
  object->stringify(out);
  return out.str();
}

Object cloneObject(const Object& object) {
  if (object.isNull()) return {};
  auto copy = parseObject(toJson(object), "clone");
  return copy ? copy.value() : Object{};
}

Object objectAt(const Object& object, std::initializer_list<std::string_view> path) {
  Object current = object;
  for (std::string_view step : path) {
    if (current.isNull()) return {};
    const std::string key(step);
    if (!current->has(key) || !current->isObject(key)) return {};
    current = current->getObject(key);
  }
  return current;
}

namespace {

// The member named by the last step of `path`, in the object the earlier steps lead to.
std::optional<Poco::Dynamic::Var> memberAt(const Object& object,
                                           std::initializer_list<std::string_view> path) {
  if (path.size() == 0) return std::nullopt;
  Object parent = object;
  auto last = path.end() - 1;
  for (auto it = path.begin(); it != last && !parent.isNull(); ++it) {
    parent = objectAt(parent, {*it});
  }
  if (parent.isNull()) return std::nullopt;
  const std::string key(*last);
  if (!parent->has(key)) return std::nullopt;
  return parent->get(key);
}

}  // namespace

std::string stringAt(const Object& object, std::initializer_list<std::string_view> path) {
  auto value = memberAt(object, path);
  if (!value || !value->isString()) return {};
  return value->extract<std::string>();
}

std::optional<std::int64_t> intAt(const Object& object,
                                  std::initializer_list<std::string_view> path) {
  auto value = memberAt(object, path);
  if (!value || !value->isInteger()) return std::nullopt;
  try {
    return value->convert<std::int64_t>();
  } catch (const Poco::Exception&) {
    return std::nullopt;
  }
}

Array arrayAt(const Object& object, std::initializer_list<std::string_view> path) {
  auto value = memberAt(object, path);
  if (!value || value->type() != typeid(Array)) return {};
  return value->extract<Array>();
}

Object ensureObject(const Object& object, std::initializer_list<std::string_view> path) {
  Object current = object;
  for (std::string_view step : path) {
    const std::string key(step);
    if (!current->has(key) || !current->isObject(key)) {
      current->set(key, Object(new Poco::JSON::Object));
    }
    current = current->getObject(key);
  }
  return current;
}

std::string nameOf(const Object& object) { return stringAt(object, {"metadata", "name"}); }
std::string namespaceOf(const Object& object) {
  return stringAt(object, {"metadata", "namespace"});
}
std::string resourceVersionOf(const Object& object) {
  return stringAt(object, {"metadata", "resourceVersion"});
}
std::string uidOf(const Object& object) { return stringAt(object, {"metadata", "uid"}); }

}  // namespace appliance::plugins::runner_scaler::kube
