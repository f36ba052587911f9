#pragma once
// JSON for Kubernetes objects, on Poco::JSON: parsing an API answer, reading nested fields
// without exceptions, and building request bodies (Poco escapes every string it writes).

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "appliance/status.h"

namespace appliance::plugins::runner_scaler::kube {

using Object = Poco::JSON::Object::Ptr;
using Array = Poco::JSON::Array::Ptr;

// Parses a JSON object; `what` names the document in the error ("GET /api/v1/...: body").
Result<Object> parseObject(std::string_view text, std::string_view what);

// Compact JSON text of `object`.
std::string toJson(const Object& object);

// A deep copy (Poco objects are shared by reference).
Object cloneObject(const Object& object);

// The object at `path` (each step a member name), or null when a step is missing or not an
// object.
Object objectAt(const Object& object, std::initializer_list<std::string_view> path);
// The string at `path`, or "" when missing or not a string.
std::string stringAt(const Object& object, std::initializer_list<std::string_view> path);
// The integer at `path`, or nullopt when missing or not an integer.
std::optional<std::int64_t> intAt(const Object& object,
                                  std::initializer_list<std::string_view> path);
// The array at `path`, or null.
Array arrayAt(const Object& object, std::initializer_list<std::string_view> path);

// Creates the objects along `path` when missing and returns the last one.
Object ensureObject(const Object& object, std::initializer_list<std::string_view> path);

// metadata.name, metadata.namespace, metadata.resourceVersion, metadata.uid.
std::string nameOf(const Object& object);
std::string namespaceOf(const Object& object);
std::string resourceVersionOf(const Object& object);
std::string uidOf(const Object& object);

}  // namespace appliance::plugins::runner_scaler::kube
