#include "kv_store_conformance.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace appliance::testing {

int kvStoreConformanceLinkAnchor() { return 1; }

std::string kvStoreFactoryName(const ::testing::TestParamInfo<KvStoreFactory>& info) {
  return info.param.name;
}

void PrintTo(const KvStoreFactory& factory, std::ostream* out) { *out << factory.name; }

void KvStoreConformance::SetUp() {
  ASSERT_TRUE(GetParam().make) << "KvStoreFactory '" << GetParam().name << "' has no make()";
  target_ = GetParam().make();
  ASSERT_NE(target_.store, nullptr)
      << "KvStoreFactory '" << GetParam().name << "' returned no store";
  ASSERT_TRUE(target_.now && target_.advance)
      << "KvStoreFactory '" << GetParam().name << "' gave no clock";
  store_ = target_.store.get();
}

void KvStoreConformance::TearDown() {
  store_ = nullptr;
  target_ = {};
}

namespace {

constexpr Timestamp kSecond = 1'000'000;
const std::string kNs = "conformance";

::testing::AssertionResult hasCode(const Status& status, StatusCode want) {
  if (status.code() == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected " << statusCodeName(want) << ", got "
                                       << statusCodeName(status.code()) << ": " << status.message();
}

// A kConflict whose message names the key.
::testing::AssertionResult isConflictOn(const Status& status, const std::string& key) {
  if (status.code() != StatusCode::kConflict) return hasCode(status, StatusCode::kConflict);
  if (status.message().find(key) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "conflict message does not name key '" << key << "': " << status.message();
  }
  return ::testing::AssertionSuccess();
}

std::vector<std::string> keysOf(const std::vector<KvEntry>& entries) {
  std::vector<std::string> keys;
  for (const KvEntry& e : entries) keys.push_back(e.key);
  return keys;
}

std::uint64_t mustPut(KvStore& store, const std::string& ns, const std::string& key,
                      const std::string& value, std::uint64_t expected = kKvAnyVersion,
                      Timestamp expires_at = 0) {
  Result<std::uint64_t> v = store.put(ns, key, value, expected, expires_at);
  EXPECT_TRUE(v.isOk()) << "put '" << key << "': " << v.status().message();
  return v.isOk() ? v.value() : 0;
}

std::optional<KvEntry> mustGet(KvStore& store, const std::string& ns, const std::string& key) {
  Result<std::optional<KvEntry>> got = store.get(ns, key);
  EXPECT_TRUE(got.isOk()) << "get '" << key << "': " << got.status().message();
  return got.isOk() ? got.value() : std::nullopt;
}

std::vector<KvEntry> mustList(KvStore& store, const std::string& ns, const std::string& prefix,
                              const std::string& start_after = {}, std::size_t limit = 0) {
  Result<std::vector<KvEntry>> listed = store.list(ns, prefix, start_after, limit);
  EXPECT_TRUE(listed.isOk()) << "list '" << prefix << "': " << listed.status().message();
  return listed.isOk() ? listed.value() : std::vector<KvEntry>{};
}

KvWrite putOf(std::string key, std::string value, std::uint64_t expected = kKvAnyVersion,
              Timestamp expires_at = 0) {
  return KvWrite{KvWrite::Op::kPut, std::move(key), std::move(value), expected, expires_at};
}

KvWrite deleteOf(std::string key, std::uint64_t expected = kKvAnyVersion) {
  return KvWrite{KvWrite::Op::kDelete, std::move(key), {}, expected, 0};
}

}  // namespace

// ---- get / put / versions -------------------------------------------------------------------

TEST_P(KvStoreConformance, GetOfAbsentKeyIsEmpty) {
  EXPECT_FALSE(mustGet(*store_, kNs, "missing").has_value());
  mustPut(*store_, kNs, "present", "x");
  EXPECT_FALSE(mustGet(*store_, kNs, "missing").has_value());
}

TEST_P(KvStoreConformance, PutThenGetReturnsTheBytesAndVersion) {
  const std::string value = std::string("bin\0ary\xff\xfe", 9) + " 'quotes' ; DROP TABLE x; --";
  const std::uint64_t v = mustPut(*store_, kNs, "k", value);
  EXPECT_GE(v, 1u);
  std::optional<KvEntry> got = mustGet(*store_, kNs, "k");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->key, "k");
  EXPECT_EQ(got->value, value);
  EXPECT_EQ(got->version, v);
  EXPECT_EQ(got->expires_at, 0);
}

TEST_P(KvStoreConformance, EmptyValueIsAValue) {
  mustPut(*store_, kNs, "empty", "");
  std::optional<KvEntry> got = mustGet(*store_, kNs, "empty");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->value, "");
}

TEST_P(KvStoreConformance, VersionsStartAtOneAndStrictlyIncrease) {
  std::vector<std::uint64_t> versions;
  for (const char* key : {"a", "b", "a", "c", "b", "a"}) {
    versions.push_back(mustPut(*store_, kNs, key, std::string("value of ") + key));
  }
  EXPECT_GE(versions.front(), 1u);
  for (std::size_t i = 1; i < versions.size(); ++i) {
    EXPECT_GT(versions[i], versions[i - 1]) << "write " << i;
  }
  EXPECT_EQ(mustGet(*store_, kNs, "a")->version, versions.back());
}

TEST_P(KvStoreConformance, VersionsNeverRepeatAfterDeleteAndRecreate) {
  std::set<std::uint64_t> seen;
  std::uint64_t last = 0;
  for (int round = 0; round < 5; ++round) {
    const std::uint64_t v = mustPut(*store_, kNs, "phoenix", "round " + std::to_string(round));
    EXPECT_TRUE(seen.insert(v).second) << "version " << v << " handed out twice";
    EXPECT_GT(v, last);
    last = v;
    Result<bool> removed = store_->remove(kNs, "phoenix", v);
    ASSERT_TRUE(removed.isOk()) << removed.status().message();
    EXPECT_TRUE(removed.value());
  }
  // A stale writer holding any of the old versions conflicts with the re-created key.
  const std::uint64_t now_version = mustPut(*store_, kNs, "phoenix", "final", kKvMustNotExist);
  EXPECT_TRUE(seen.insert(now_version).second);
  for (std::uint64_t old : seen) {
    if (old == now_version) continue;
    EXPECT_TRUE(isConflictOn(store_->put(kNs, "phoenix", "stale", old, 0).status(), "phoenix"));
  }
}

// ---- compare-and-set ------------------------------------------------------------------------

TEST_P(KvStoreConformance, PutWithTheCurrentVersionSucceeds) {
  const std::uint64_t v1 = mustPut(*store_, kNs, "cas", "one");
  const std::uint64_t v2 = mustPut(*store_, kNs, "cas", "two", v1);
  EXPECT_GT(v2, v1);
  EXPECT_EQ(mustGet(*store_, kNs, "cas")->value, "two");
}

TEST_P(KvStoreConformance, PutWithAStaleVersionConflictsAndChangesNothing) {
  const std::uint64_t v1 = mustPut(*store_, kNs, "cas", "one");
  const std::uint64_t v2 = mustPut(*store_, kNs, "cas", "two", v1);
  EXPECT_TRUE(isConflictOn(store_->put(kNs, "cas", "three", v1, 0).status(), "cas"));
  std::optional<KvEntry> got = mustGet(*store_, kNs, "cas");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->value, "two");
  EXPECT_EQ(got->version, v2);
}

TEST_P(KvStoreConformance, PutWithAVersionOnAnAbsentKeyConflicts) {
  EXPECT_TRUE(isConflictOn(store_->put(kNs, "ghost", "x", 1, 0).status(), "ghost"));
  EXPECT_TRUE(isConflictOn(store_->put(kNs, "ghost", "x", 12345, 0).status(), "ghost"));
  EXPECT_FALSE(mustGet(*store_, kNs, "ghost").has_value());
}

TEST_P(KvStoreConformance, MustNotExistCreatesOnceThenConflicts) {
  const std::uint64_t v = mustPut(*store_, kNs, "once", "first", kKvMustNotExist);
  EXPECT_GE(v, 1u);
  EXPECT_TRUE(
      isConflictOn(store_->put(kNs, "once", "second", kKvMustNotExist, 0).status(), "once"));
  EXPECT_EQ(mustGet(*store_, kNs, "once")->value, "first");
}

TEST_P(KvStoreConformance, RemoveWithVersions) {
  const std::uint64_t v = mustPut(*store_, kNs, "r", "x");
  EXPECT_TRUE(isConflictOn(store_->remove(kNs, "r", v + 1000).status(), "r"));
  EXPECT_TRUE(isConflictOn(store_->remove(kNs, "r", kKvMustNotExist).status(), "r"));
  ASSERT_TRUE(mustGet(*store_, kNs, "r").has_value());
  Result<bool> removed = store_->remove(kNs, "r", v);
  ASSERT_TRUE(removed.isOk()) << removed.status().message();
  EXPECT_TRUE(removed.value());
  EXPECT_FALSE(mustGet(*store_, kNs, "r").has_value());
}

TEST_P(KvStoreConformance, RemoveOfAbsentKey) {
  Result<bool> any = store_->remove(kNs, "nothing");
  ASSERT_TRUE(any.isOk()) << any.status().message();
  EXPECT_FALSE(any.value());
  Result<bool> must_not_exist = store_->remove(kNs, "nothing", kKvMustNotExist);
  ASSERT_TRUE(must_not_exist.isOk()) << must_not_exist.status().message();
  EXPECT_FALSE(must_not_exist.value());
  EXPECT_TRUE(isConflictOn(store_->remove(kNs, "nothing", 7).status(), "nothing"));
}

TEST_P(KvStoreConformance, RemoveAnyVersionDeletesALiveEntry) {
  mustPut(*store_, kNs, "k", "x");
  Result<bool> removed = store_->remove(kNs, "k");
  ASSERT_TRUE(removed.isOk()) << removed.status().message();
  EXPECT_TRUE(removed.value());
  Result<bool> again = store_->remove(kNs, "k");
  ASSERT_TRUE(again.isOk()) << again.status().message();
  EXPECT_FALSE(again.value());
}

// ---- expiry ---------------------------------------------------------------------------------

TEST_P(KvStoreConformance, EntryExpiresAtItsTime) {
  const Timestamp expires = target_.now() + 10 * kSecond;
  const std::uint64_t v = mustPut(*store_, kNs, "lease", "held", kKvAnyVersion, expires);
  std::optional<KvEntry> got = mustGet(*store_, kNs, "lease");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->expires_at, expires);
  EXPECT_EQ(got->version, v);
  EXPECT_EQ(keysOf(mustList(*store_, kNs, "")), std::vector<std::string>{"lease"});

  target_.advance(std::chrono::seconds(11));
  EXPECT_FALSE(mustGet(*store_, kNs, "lease").has_value());
  EXPECT_TRUE(mustList(*store_, kNs, "").empty());
  // An expired entry's version no longer matches: it is absent.
  EXPECT_TRUE(isConflictOn(store_->put(kNs, "lease", "late", v, 0).status(), "lease"));
  Result<bool> removed = store_->remove(kNs, "lease");
  ASSERT_TRUE(removed.isOk()) << removed.status().message();
  EXPECT_FALSE(removed.value()) << "removing an expired entry deletes nothing live";
}

TEST_P(KvStoreConformance, ExpiresAtInThePastIsAbsentAtOnce) {
  mustPut(*store_, kNs, "stale", "x", kKvAnyVersion, target_.now() - kSecond);
  EXPECT_FALSE(mustGet(*store_, kNs, "stale").has_value());
  EXPECT_TRUE(mustList(*store_, kNs, "").empty());
}

TEST_P(KvStoreConformance, MustNotExistOnExpiredVersusLiveKey) {
  mustPut(*store_, kNs, "live", "x", kKvAnyVersion, target_.now() + 60 * kSecond);
  mustPut(*store_, kNs, "expiring", "x", kKvAnyVersion, target_.now() + 5 * kSecond);
  target_.advance(std::chrono::seconds(6));
  EXPECT_TRUE(isConflictOn(store_->put(kNs, "live", "y", kKvMustNotExist, 0).status(), "live"));
  const std::uint64_t v = mustPut(*store_, kNs, "expiring", "new", kKvMustNotExist);
  std::optional<KvEntry> got = mustGet(*store_, kNs, "expiring");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->value, "new");
  EXPECT_EQ(got->version, v);
  EXPECT_EQ(got->expires_at, 0) << "the new write keeps it forever";
  // Deleting with kKvMustNotExist works on an expired key, and conflicts on a live one.
  mustPut(*store_, kNs, "gone", "x", kKvAnyVersion, target_.now() + kSecond);
  target_.advance(std::chrono::seconds(2));
  Result<bool> removed = store_->remove(kNs, "gone", kKvMustNotExist);
  ASSERT_TRUE(removed.isOk()) << removed.status().message();
  EXPECT_FALSE(removed.value());
  EXPECT_TRUE(isConflictOn(store_->remove(kNs, "live", kKvMustNotExist).status(), "live"));
}

// ---- list -----------------------------------------------------------------------------------

TEST_P(KvStoreConformance, ListIsInByteOrderWithSqlSpecialsAndNonAscii) {
  const std::vector<std::string> keys = {
      "a",
      "a%b",
      "a_b",
      "axb",
      "a\\b",
      "ab",
      "a%",
      "a_",
      "B",
      "b",
      "\x7f",
      "\x7fz",
      "\xc2\x80",
      "\xc3\xa9",
      "\xc3\xa9t\xc3\xa9",
      "\xc3\xaa",
      "\xe2\x82\xac",
      "\xef\xbf\xbf",
      "\xf0\x9f\x98\x80",
      "\xf4\x8f\xbf\xbf",
      "\xf4\x8f\xbf\xbfz",
      "z'; --",
  };
  for (const std::string& key : keys) mustPut(*store_, kNs, key, "v:" + key);
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());  // std::string compares as unsigned bytes
  const std::vector<KvEntry> all = mustList(*store_, kNs, "");
  EXPECT_EQ(keysOf(all), sorted);
  for (const KvEntry& e : all) EXPECT_EQ(e.value, "v:" + e.key);

  auto withPrefix = [&](const std::string& prefix) {
    std::vector<std::string> want;
    for (const std::string& key : sorted) {
      if (key.starts_with(prefix)) want.push_back(key);
    }
    return want;
  };
  // LIKE wildcards and its escape character are plain characters in a prefix.
  for (const std::string prefix : {"a", "a%", "a_", "a\\", "ax", "b", "B", "\x7f", "\xc3\xa9",
                                   "\xf4\x8f\xbf\xbf", "\xef\xbf\xbf", "z'", "nothing"}) {
    EXPECT_EQ(keysOf(mustList(*store_, kNs, prefix)), withPrefix(prefix))
        << "prefix '" << prefix << "'";
  }
}

TEST_P(KvStoreConformance, ListPagesWithStartAfterAndLimit) {
  std::vector<std::string> keys;
  for (int i = 0; i < 11; ++i) keys.push_back("page/" + std::string(1, static_cast<char>('a' + i)));
  for (const std::string& key : keys) mustPut(*store_, kNs, key, key);
  mustPut(*store_, kNs, "other/x", "x");
  mustPut(*store_, kNs, "pagf", "outside the prefix");

  std::vector<std::string> paged;
  std::string after;
  for (int pages = 0; pages < 20; ++pages) {
    std::vector<KvEntry> page = mustList(*store_, kNs, "page/", after, 3);
    EXPECT_LE(page.size(), 3u);
    if (page.empty()) break;
    for (const KvEntry& e : page) paged.push_back(e.key);
    after = page.back().key;
  }
  EXPECT_EQ(paged, keys);
  EXPECT_EQ(keysOf(mustList(*store_, kNs, "page/", "", 2)),
            (std::vector<std::string>{"page/a", "page/b"}));
  EXPECT_EQ(keysOf(mustList(*store_, kNs, "page/", "page/c", 2)),
            (std::vector<std::string>{"page/d", "page/e"}));
  // start_after between keys, before the prefix and after it.
  EXPECT_EQ(keysOf(mustList(*store_, kNs, "page/", "page/cc", 1)),
            (std::vector<std::string>{"page/d"}));
  EXPECT_EQ(keysOf(mustList(*store_, kNs, "page/", "a", 1)), (std::vector<std::string>{"page/a"}));
  EXPECT_TRUE(mustList(*store_, kNs, "page/", "page/k").empty());
  EXPECT_TRUE(mustList(*store_, kNs, "page/", "zzz").empty());
  EXPECT_EQ(mustList(*store_, kNs, "page/").size(), keys.size());
  EXPECT_EQ(mustList(*store_, kNs, "").size(), keys.size() + 2);
}

TEST_P(KvStoreConformance, ListSkipsExpiredEntries) {
  mustPut(*store_, kNs, "l/1", "x");
  mustPut(*store_, kNs, "l/2", "x", kKvAnyVersion, target_.now() + kSecond);
  mustPut(*store_, kNs, "l/3", "x", kKvAnyVersion, target_.now() + 100 * kSecond);
  target_.advance(std::chrono::seconds(2));
  EXPECT_EQ(keysOf(mustList(*store_, kNs, "l/")), (std::vector<std::string>{"l/1", "l/3"}));
  // The limit counts live entries only.
  EXPECT_EQ(keysOf(mustList(*store_, kNs, "l/", "l/1", 1)), std::vector<std::string>{"l/3"});
}

// ---- namespaces -----------------------------------------------------------------------------

TEST_P(KvStoreConformance, NamespacesAreIsolated) {
  const std::uint64_t v1 = mustPut(*store_, "one", "shared", "in one");
  const std::uint64_t v2 = mustPut(*store_, "two", "shared", "in two");
  EXPECT_NE(v1, v2) << "the version counter is store-wide";
  mustPut(*store_, "one", "only-one", "x");
  EXPECT_EQ(mustGet(*store_, "one", "shared")->value, "in one");
  EXPECT_EQ(mustGet(*store_, "two", "shared")->value, "in two");
  EXPECT_FALSE(mustGet(*store_, "two", "only-one").has_value());
  EXPECT_EQ(keysOf(mustList(*store_, "two", "")), std::vector<std::string>{"shared"});
  // A version from one namespace means nothing in the other.
  EXPECT_TRUE(isConflictOn(store_->put("two", "shared", "y", v1, 0).status(), "shared"));
  Result<bool> removed = store_->remove("one", "shared");
  ASSERT_TRUE(removed.isOk());
  EXPECT_TRUE(removed.value());
  EXPECT_EQ(mustGet(*store_, "two", "shared")->value, "in two");
  EXPECT_TRUE(mustList(*store_, "three", "").empty());
}

// ---- batches --------------------------------------------------------------------------------

TEST_P(KvStoreConformance, BatchAppliesEveryWrite) {
  const std::uint64_t v = mustPut(*store_, kNs, "old", "x");
  const std::vector<KvWrite> batch = {putOf("b/1", "one"), putOf("b/2", "two", kKvMustNotExist),
                                      deleteOf("old", v)};
  Status s = store_->write(kNs, batch);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(mustGet(*store_, kNs, "b/1")->value, "one");
  EXPECT_EQ(mustGet(*store_, kNs, "b/2")->value, "two");
  EXPECT_FALSE(mustGet(*store_, kNs, "old").has_value());
  EXPECT_GT(mustGet(*store_, kNs, "b/2")->version, mustGet(*store_, kNs, "b/1")->version);
  EXPECT_TRUE(store_->write(kNs, std::vector<KvWrite>{}).isOk());
}

TEST_P(KvStoreConformance, BatchIsAllOrNothing) {
  const std::uint64_t v = mustPut(*store_, kNs, "existing", "before");
  const std::vector<KvWrite> batch = {putOf("existing", "after", v), putOf("fresh", "new"),
                                      putOf("third", "x", 999'999)};
  Status s = store_->write(kNs, batch);
  EXPECT_TRUE(isConflictOn(s, "third"));
  std::optional<KvEntry> existing = mustGet(*store_, kNs, "existing");
  ASSERT_TRUE(existing.has_value());
  EXPECT_EQ(existing->value, "before");
  EXPECT_EQ(existing->version, v);
  EXPECT_FALSE(mustGet(*store_, kNs, "fresh").has_value());
  EXPECT_FALSE(mustGet(*store_, kNs, "third").has_value());
  // The failed batch left no trace: the same first write still matches.
  EXPECT_GT(mustPut(*store_, kNs, "existing", "after", v), v);
}

TEST_P(KvStoreConformance, LaterWritesInABatchSeeEarlierOnes) {
  // Created by the first write, so the second's kKvMustNotExist fails: nothing applies.
  const std::vector<KvWrite> twice = {putOf("k", "1", kKvMustNotExist),
                                      putOf("k", "2", kKvMustNotExist)};
  EXPECT_TRUE(isConflictOn(store_->write(kNs, twice), "k"));
  EXPECT_FALSE(mustGet(*store_, kNs, "k").has_value());
  // Deleted by the first write, so the second may create it.
  const std::uint64_t v = mustPut(*store_, kNs, "k", "old");
  const std::vector<KvWrite> replace = {deleteOf("k", v), putOf("k", "new", kKvMustNotExist)};
  Status s = store_->write(kNs, replace);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(mustGet(*store_, kNs, "k")->value, "new");
  // A delete then a put on the deleted version conflicts.
  const std::uint64_t v2 = mustGet(*store_, kNs, "k")->version;
  const std::vector<KvWrite> stale = {deleteOf("k"), putOf("k", "x", v2)};
  EXPECT_TRUE(isConflictOn(store_->write(kNs, stale), "k"));
  EXPECT_EQ(mustGet(*store_, kNs, "k")->version, v2);
}

TEST_P(KvStoreConformance, BatchWithAnInvalidWriteAppliesNothing) {
  const std::vector<KvWrite> batch = {putOf("ok", "x"), putOf("", "empty key")};
  EXPECT_TRUE(hasCode(store_->write(kNs, batch), StatusCode::kInvalidArgument));
  EXPECT_FALSE(mustGet(*store_, kNs, "ok").has_value());
  const std::vector<KvWrite> too_big = {putOf("ok", "x"),
                                        putOf("big", std::string(kKvMaxValueBytes + 1, 'v'))};
  EXPECT_TRUE(hasCode(store_->write(kNs, too_big), StatusCode::kInvalidArgument));
  EXPECT_FALSE(mustGet(*store_, kNs, "ok").has_value());
}

// ---- limits ---------------------------------------------------------------------------------

TEST_P(KvStoreConformance, ValueOfOneMebibyteIsTheLimit) {
  std::string value(kKvMaxValueBytes, '\0');
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>(i * 131 % 251);
  mustPut(*store_, kNs, "big", value);
  std::optional<KvEntry> got = mustGet(*store_, kNs, "big");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->value.size(), kKvMaxValueBytes);
  EXPECT_TRUE(got->value == value);
  Result<std::uint64_t> over = store_->put(kNs, "bigger", value + "x", kKvAnyVersion, 0);
  EXPECT_TRUE(hasCode(over.status(), StatusCode::kInvalidArgument));
  EXPECT_FALSE(mustGet(*store_, kNs, "bigger").has_value());
}

TEST_P(KvStoreConformance, KeysAndNamespacesOutsideTheLimitsAreRefused) {
  const std::string longest(kKvMaxKeyBytes, 'k');
  mustPut(*store_, kNs, longest, "x");
  EXPECT_TRUE(mustGet(*store_, kNs, longest).has_value());
  const std::string too_long(kKvMaxKeyBytes + 1, 'k');
  for (const std::string& key :
       {std::string(), too_long, std::string("bad\xff"), std::string("nul\0inside", 10)}) {
    EXPECT_TRUE(hasCode(store_->put(kNs, key, "x", kKvAnyVersion, 0).status(),
                        StatusCode::kInvalidArgument));
    EXPECT_TRUE(hasCode(store_->get(kNs, key).status(), StatusCode::kInvalidArgument));
    EXPECT_TRUE(hasCode(store_->remove(kNs, key).status(), StatusCode::kInvalidArgument));
  }
  EXPECT_TRUE(
      hasCode(store_->put("", "k", "x", kKvAnyVersion, 0).status(), StatusCode::kInvalidArgument));
  EXPECT_TRUE(hasCode(store_->put(too_long, "k", "x", kKvAnyVersion, 0).status(),
                      StatusCode::kInvalidArgument));
  EXPECT_TRUE(hasCode(store_->list("", "").status(), StatusCode::kInvalidArgument));
  EXPECT_TRUE(hasCode(store_->put(kNs, "k", "x", kKvAnyVersion, -1).status(),
                      StatusCode::kInvalidArgument));
  EXPECT_EQ(keysOf(mustList(*store_, kNs, "")), std::vector<std::string>{longest});
}

// ---- concurrency ----------------------------------------------------------------------------

TEST_P(KvStoreConformance, ConcurrentCompareAndSetLosesNoUpdate) {
  constexpr int kThreads = 8;
  constexpr int kIncrements = 25;
  mustPut(*store_, kNs, "counter", "0");
  std::mutex mutex;
  std::vector<std::string> problems;
  std::set<std::uint64_t> versions;
  std::atomic<int> conflicts{0};
  auto worker = [&] {
    for (int done = 0; done < kIncrements;) {
      Result<std::optional<KvEntry>> got = store_->get(kNs, "counter");
      if (!got.isOk() || !got.value()) {
        std::lock_guard lock(mutex);
        problems.push_back("get: " + got.status().message());
        return;
      }
      const long next = std::stol(got.value()->value) + 1;
      Result<std::uint64_t> put =
          store_->put(kNs, "counter", std::to_string(next), got.value()->version, 0);
      if (put.isOk()) {
        ++done;
        std::lock_guard lock(mutex);
        if (!versions.insert(put.value()).second) problems.push_back("a version repeated");
      } else if (put.status().code() == StatusCode::kConflict) {
        ++conflicts;
      } else {
        std::lock_guard lock(mutex);
        problems.push_back("put: " + put.status().message());
        return;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  EXPECT_TRUE(problems.empty()) << problems.front();
  std::optional<KvEntry> final_value = mustGet(*store_, kNs, "counter");
  ASSERT_TRUE(final_value.has_value());
  EXPECT_EQ(final_value->value, std::to_string(kThreads * kIncrements));
  EXPECT_EQ(versions.size(), static_cast<std::size_t>(kThreads * kIncrements));
  EXPECT_EQ(final_value->version, *versions.rbegin());
}

TEST_P(KvStoreConformance, ConcurrentCreatesHaveExactlyOneWinner) {
  constexpr int kThreads = 8;
  std::atomic<int> won{0};
  std::atomic<int> lost{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Result<std::uint64_t> put =
          store_->put(kNs, "leader", "candidate " + std::to_string(i), kKvMustNotExist, 0);
      if (put.isOk()) {
        ++won;
      } else if (put.status().code() == StatusCode::kConflict) {
        ++lost;
      } else {
        ++failed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(lost.load(), kThreads - 1);
  EXPECT_EQ(failed.load(), 0);
}

// ---- durability -----------------------------------------------------------------------------

TEST_P(KvStoreConformance, DataSurvivesReopening) {
  if (!target_.reopen) GTEST_SKIP() << GetParam().name << " is not durable";
  const std::uint64_t va = mustPut(*store_, kNs, "a", "alpha");
  const std::uint64_t vb = mustPut(*store_, "other", "b", std::string(1000, 'b'));
  const std::uint64_t vc = mustPut(*store_, kNs, "c", "gone");
  ASSERT_TRUE(store_->remove(kNs, "c", vc).isOk());
  const Timestamp expires = target_.now() + 3600 * kSecond;
  mustPut(*store_, kNs, "d", "expiring", kKvAnyVersion, expires);

  store_ = nullptr;
  target_.store = target_.reopen();
  ASSERT_NE(target_.store, nullptr);
  store_ = target_.store.get();

  std::optional<KvEntry> a = mustGet(*store_, kNs, "a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->value, "alpha");
  EXPECT_EQ(a->version, va);
  std::optional<KvEntry> b = mustGet(*store_, "other", "b");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->value, std::string(1000, 'b'));
  EXPECT_EQ(b->version, vb);
  EXPECT_FALSE(mustGet(*store_, kNs, "c").has_value());
  std::optional<KvEntry> d = mustGet(*store_, kNs, "d");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->expires_at, expires);
  // The version counter survived too: no version is handed out again.
  const std::uint64_t vc2 = mustPut(*store_, kNs, "c", "back", kKvMustNotExist);
  EXPECT_GT(vc2, std::max({va, vb, vc}));
  EXPECT_GT(mustPut(*store_, kNs, "a", "alpha 2", va), vc2);
}

}  // namespace appliance::testing
