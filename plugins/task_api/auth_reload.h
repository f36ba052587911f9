#pragma once
// CredentialReloader: keeps the Authenticator in an AuthenticatorSlot in step with the secret
// files the config names (auth.tokens_file, auth.jwt.hs256_secret_file,
// auth.jwt.rs256_public_key_file), so secrets rotate without a restart.
//
// checkForChanges() (the auth.reload_interval timer) stat()s each file, following symlinks, and
// re-reads the ones whose device, inode, size or mtime changed: a file renamed over the old one
// and Kubernetes' swap of a Secret volume's `..data` symlink both show up. reloadNow() (SIGHUP)
// re-reads every file. A new Authenticator is built from the last good contents of every file
// and swapped in whole. A file that became invalid (empty, unreadable, bad PEM, short secret)
// leaves that file's previous contents in use: the error is logged once per change, saying
// which file and what is wrong, and counted; the next valid version is picked up.
//
// Thread-safe: the timer thread and the host's reload thread may call it concurrently (one
// mutex, never taken by requests, which only read the slot). Never logs a token or a secret.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/context.h"
#include "appliance/logger.h"
#include "auth.h"
#include "metrics.h"

namespace appliance::plugins::task_api {

// What identifies one version of a file: stat() of its path, following symlinks.
struct FileStamp {
  int error = 0;  // errno of a failed stat(), else 0
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0;

  static FileStamp of(const std::string& path);
  bool operator==(const FileStamp&) const = default;
};

class CredentialReloader {
 public:
  // `settings` are the ones the slot's Authenticator was built from. `metrics` may be null.
  // `clock` and `logger` must outlive the reloader.
  CredentialReloader(AuthSettings settings, std::shared_ptr<AuthenticatorSlot> slot,
                     std::shared_ptr<TaskMetrics> metrics, const Clock& clock,
                     const Logger& logger);

  // False when auth is disabled or the config names no secret file: nothing to watch.
  bool watchesFiles() const { return !watched_.empty(); }

  void checkForChanges();  // re-reads the files whose stamp changed since the last read
  void reloadNow();        // re-reads every file

 private:
  struct WatchedFile {
    AuthFile which;
    std::string path;
    FileStamp stamp;  // of the version last read, valid or not
  };

  void reload(std::vector<WatchedFile*> files, std::string_view trigger);
  void logReloaded(const WatchedFile& file, std::string_view trigger) const;

  std::mutex mutex_;
  AuthSettings settings_;  // the last good contents of every file
  std::vector<WatchedFile> watched_;
  std::shared_ptr<AuthenticatorSlot> slot_;
  std::shared_ptr<TaskMetrics> metrics_;
  const Clock& clock_;
  const Logger& logger_;
};

}  // namespace appliance::plugins::task_api
