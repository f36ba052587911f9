#include "redaction.h"

#include <gtest/gtest.h>

namespace appliance::plugins::storage_postgres {
namespace {

TEST(RedactConnectionString, MasksThePasswordOfAUri) {
  EXPECT_EQ(redactConnectionString("postgresql://app:s3cr%40t@db.internal:5432/tasks"),
            "postgresql://app:***@db.internal:5432/tasks");
  EXPECT_EQ(redactConnectionString("postgres://app:pw@db/tasks?sslmode=verify-full"),
            "postgres://app:***@db/tasks?sslmode=verify-full");
}

TEST(RedactConnectionString, MasksAnUnescapedAtSignInThePassword) {
  EXPECT_EQ(redactConnectionString("postgresql://app:p@ss@db/tasks"),
            "postgresql://app:***@db/tasks");
}

TEST(RedactConnectionString, MasksPasswordQueryParameters) {
  EXPECT_EQ(
      redactConnectionString("postgresql://db/tasks?user=app&Password=hunter2&sslrootcert=/ca.pem"),
      "postgresql://db/tasks?user=app&Password=***&sslrootcert=/ca.pem");
  EXPECT_EQ(redactConnectionString("postgresql://db?password=x"), "postgresql://db?password=***");
}

TEST(RedactConnectionString, KeepsUrisWithoutPasswordUnchanged) {
  for (const char* uri : {"postgresql://app@db:5432/tasks", "postgresql://db", "postgresql://",
                          "postgresql:///tasks?host=/run/pg"}) {
    EXPECT_EQ(redactConnectionString(uri), uri);
  }
}

TEST(RedactConnectionString, MasksKeyValuePasswords) {
  EXPECT_EQ(redactConnectionString("host=db password=hunter2 user=app"),
            "host=db password=*** user=app");
  EXPECT_EQ(redactConnectionString("host=db password = 'with space\\' quote' user=app"),
            "host=db password = *** user=app");
  EXPECT_EQ(redactConnectionString("PASSWORD=x"), "PASSWORD=***");
}

TEST(RedactConnectionString, MasksAUriNestedAsDbname) {
  EXPECT_EQ(redactConnectionString("dbname=postgresql://u:pw@h/d connect_timeout=3"),
            "dbname=postgresql://u:***@h/d connect_timeout=3");
}

TEST(RedactConnectionString, SurvivesMalformedInput) {
  for (const char* text : {"=", "password=", "password='unterminated", "  ", "a b c", "x=\\"}) {
    const std::string out = redactConnectionString(text);
    EXPECT_EQ(out.find("unterminated"), std::string::npos) << text;
  }
}

TEST(SecretScrubber, RemovesEveryOccurrenceOfEachSecret) {
  SecretScrubber scrubber({"hunter2", "", "hunter2andmore"});
  EXPECT_EQ(scrubber.scrub("a hunter2 b hunter2andmore c hunter2"), "a *** b *** c ***");
  EXPECT_EQ(scrubber.scrub("nothing here"), "nothing here");
}

}  // namespace
}  // namespace appliance::plugins::storage_postgres
