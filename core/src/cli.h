#pragma once
// The command line: GNU-style options, parsed without Poco::Util (whose Application drags
// PocoUtil, PocoXML and expat, about 1 MB of resident pages, into every process).
//
//   --role=ROLES | --role ROLES | -r ROLES    (repeatable; comma lists)
//   --config=FILE | -c FILE                   (repeatable, in order)
//   --env=NAME | -e NAME
//   --check-config, --list-plugins, --version (-v), --help (-h)

#include <optional>
#include <span>
#include <string>

#include "host.h"

namespace appliance::host {

struct CliOutcome {
  CommandLine command_line;
  // Set when the process should exit at once: --help/--version print `output` and exit 0; a
  // bad command line sets `error` (one line, without the program name) and exits 2.
  std::optional<int> exit_code;
  std::string output;
  std::string error;
};

// `args` excludes argv[0].
CliOutcome parseCommandLine(std::span<const char* const> args);

}  // namespace appliance::host
