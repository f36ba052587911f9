#include "e2e_support.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <regex>

namespace appliance::test {

std::int64_t nowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string isoTimestamp(std::int64_t micros) {
  const std::time_t secs = micros / 1'000'000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros % 1'000'000));
  return buf;
}

std::string postgresStateFile() {
  const char* env = std::getenv("APPLIANCE_TEST_PG_STATE");
  return env && *env ? env : APPLIANCE_TEST_PG_STATE_DEFAULT;
}

std::string postgresUrl(const std::string& state_file) {
  std::ifstream in(state_file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("URL=", 0) == 0) return line.substr(4);
  }
  return "";
}

std::string createDatabase(const std::string& admin_url) {
  static std::atomic<int> counter{0};
  const std::string name = "e2e_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  PGconn* conn = PQconnectdb(admin_url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    ADD_FAILURE() << "cannot connect to " << admin_url << ": " << PQerrorMessage(conn);
    PQfinish(conn);
    return "";
  }
  PGresult* r = PQexec(conn, ("CREATE DATABASE " + name).c_str());
  const bool created = PQresultStatus(r) == PGRES_COMMAND_OK;
  EXPECT_TRUE(created) << PQerrorMessage(conn);
  PQclear(r);
  PQfinish(conn);
  return created ? admin_url.substr(0, admin_url.rfind('/') + 1) + name : "";
}

std::string jsonField(const std::string& json, const std::string& name) {
  std::smatch m;
  const std::regex re("\"" + name + "\":(\"([^\"]*)\"|[^,}\\]]+)");
  if (!std::regex_search(json, m, re)) return "";
  return m[2].matched ? m[2].str() : m[1].str();
}

}  // namespace appliance::test
