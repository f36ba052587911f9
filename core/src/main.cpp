// appliance: one binary, many roles. See README.md and `appliance --help`.

#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <span>

#include "cli.h"
#include "host.h"

int main(int argc, char** argv) {
  // Block the termination signals and SIGHUP before any thread exists, so every thread inherits
  // the mask and only the main thread's sigwait below ever receives them. SIGHUP (reload) thus
  // never kills the process, not even during start-up, when it waits until serving begins.
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGQUIT);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &handled, nullptr);
  // glibc gives each busy thread its own malloc arena; with one HTTP thread per keep-alive
  // connection that costs megabytes of RSS for no measurable throughput (bench/README.md).
  if (!std::getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 2);
  // libpq (storage_postgres) links libldap, which links GnuTLS, whose load-time constructor
  // initialises p11-kit and the system crypto policy: 0.8 MB of RSS for a library nothing
  // here calls (libpq uses OpenSSL; libldap initialises GnuTLS itself if it ever needs TLS).
  // Set before any plugin is loaded; a value in the environment wins.
  setenv("GNUTLS_NO_IMPLICIT_INIT", "1", /*overwrite=*/0);

  using namespace appliance::host;
  const CliOutcome cli =
      parseCommandLine(std::span<const char* const>(argv + 1, argc > 0 ? argc - 1 : 0));
  if (cli.exit_code) {
    if (!cli.error.empty()) std::fprintf(stderr, "appliance: %s\n", cli.error.c_str());
    std::fputs(cli.output.c_str(), stdout);
    return *cli.exit_code;
  }
  try {
    Host host;
    if (cli.command_line.list_plugins) return host.listPlugins(cli.command_line);
    if (!cli.command_line.check_rules.empty() || !cli.command_line.test_rules.empty()) {
      return host.runRuleTool(cli.command_line);
    }
    const int rc = host.startUp(cli.command_line);
    if (rc >= 0) return rc;
    for (;;) {
      int signal_number = 0;
      if (sigwait(&handled, &signal_number) != 0) continue;
      if (signal_number != SIGHUP) break;
      host.reload();
    }
    return host.shutDown();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "appliance: %s\n", e.what());
    return kExitFailure;
  }
}
