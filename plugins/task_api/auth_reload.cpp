#include "auth_reload.h"

#include <sys/stat.h>

#include <cerrno>

namespace appliance::plugins::task_api {

FileStamp FileStamp::of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {errno, 0, 0, 0, 0};
  return {0, st.st_dev, st.st_ino, st.st_size,
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

CredentialReloader::CredentialReloader(AuthSettings settings,
                                       std::shared_ptr<AuthenticatorSlot> slot,
                                       std::shared_ptr<TaskMetrics> metrics, const Clock& clock,
                                       const Logger& logger)
    : settings_(std::move(settings)),
      slot_(std::move(slot)),
      metrics_(std::move(metrics)),
      clock_(clock),
      logger_(logger) {
  if (!settings_.enabled) return;
  for (const AuthFile which :
       {AuthFile::kTokens, AuthFile::kHs256Secret, AuthFile::kRs256PublicKey}) {
    const std::string& path = authFilePath(settings_.files, which);
    if (!path.empty()) watched_.push_back({which, path, FileStamp::of(path)});
  }
}

void CredentialReloader::checkForChanges() {
  std::lock_guard lock(mutex_);
  std::vector<WatchedFile*> changed;
  for (WatchedFile& file : watched_) {
    if (FileStamp::of(file.path) != file.stamp) changed.push_back(&file);
  }
  if (!changed.empty()) reload(std::move(changed), "file_changed");
}

void CredentialReloader::reloadNow() {
  std::lock_guard lock(mutex_);
  std::vector<WatchedFile*> all;
  for (WatchedFile& file : watched_) all.push_back(&file);
  if (!all.empty()) reload(std::move(all), "host_reload");
}

// Called with mutex_ held. Each file is stamped before it is read, so a change made while it is
// being read is seen by the next check.
void CredentialReloader::reload(std::vector<WatchedFile*> files, std::string_view trigger) {
  AuthSettings candidate = settings_;
  std::vector<WatchedFile*> read;
  for (WatchedFile* file : files) {
    file->stamp = FileStamp::of(file->path);
    if (Status s = reloadAuthFile(file->which, candidate); !s.isOk()) {
      logger_.error("cannot reload an auth file; keeping its previous contents",
                    {{"file", file->path}, {"trigger", trigger}, {"error", s.message()}});
      if (metrics_) metrics_->countAuthReload(false);
      continue;
    }
    read.push_back(file);
  }
  if (read.empty()) return;
  auto next = Authenticator::create(candidate, clock_);
  if (!next.isOk()) {
    for (const WatchedFile* file : read) {
      logger_.error(
          "cannot reload an auth file; keeping its previous contents",
          {{"file", file->path}, {"trigger", trigger}, {"error", next.status().message()}});
      if (metrics_) metrics_->countAuthReload(false);
    }
    return;
  }
  slot_->replace(std::move(next).value());
  settings_ = std::move(candidate);
  for (const WatchedFile* file : read) {
    logReloaded(*file, trigger);
    if (metrics_) metrics_->countAuthReload(true);
  }
}

void CredentialReloader::logReloaded(const WatchedFile& file, std::string_view trigger) const {
  if (file.which != AuthFile::kTokens) {
    logger_.info("auth file reloaded", {{"file", file.path}, {"trigger", trigger}});
    return;
  }
  const auto tokens =
      static_cast<std::uint64_t>(settings_.token_hashes.size() - settings_.list_tokens);
  logger_.info("auth file reloaded",
               {{"file", file.path}, {"trigger", trigger}, {"tokens", tokens}});
  if (settings_.weak_tokens > settings_.list_weak_tokens) {
    logger_.warn("some API tokens are shorter than 16 characters; use long random tokens",
                 {{"file", file.path},
                  {"count", static_cast<std::uint64_t>(settings_.weak_tokens -
                                                       settings_.list_weak_tokens)}});
  }
}

}  // namespace appliance::plugins::task_api
