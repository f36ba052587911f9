#include "cli.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "appliance/plugin.h"
#include "plugin_loader.h"

namespace appliance::host {
namespace {

enum class OptionId {
  kRole,
  kConfig,
  kEnv,
  kCheckConfig,
  kListPlugins,
  kCheckRules,
  kTestRules,
  kVersion,
  kHelp
};

struct OptionDef {
  OptionId id;
  std::string_view name;      // long, without "--"
  char short_name;            // 0: none
  std::string_view argument;  // empty: a flag
  std::string_view help;
};

constexpr std::array kOptions = {
    OptionDef{OptionId::kRole, "role", 'r', "ROLES",
              "roles to run: api, scaler, alerts, all, or a comma list (default all); "
              "repeatable"},
    OptionDef{OptionId::kConfig, "config", 'c', "FILE",
              "a YAML config file; repeat to overlay later files on earlier ones"},
    OptionDef{OptionId::kEnv, "env", 'e', "NAME",
              "environment: loads base.yaml and NAME.yaml from the config folder"},
    OptionDef{OptionId::kCheckConfig, "check-config", 0, "",
              "validate the configuration, print it with secrets redacted, exit"},
    OptionDef{OptionId::kListPlugins, "list-plugins", 0, "",
              "list installed plugins (name, version, ABI, services, file)"},
    OptionDef{OptionId::kCheckRules, "check-rules", 0, "FILE",
              "check a Prometheus rule file as `promtool check rules` does (repeatable); "
              "exit 0 when every file loads, else 1"},
    OptionDef{OptionId::kTestRules, "test-rules", 0, "FILE",
              "run a promtool rule unit-test file through the alert evaluator (repeatable); "
              "exit 0 when every case passes, else 1"},
    OptionDef{OptionId::kVersion, "version", 'v', "", "print the version and exit"},
    OptionDef{OptionId::kHelp, "help", 'h', "", "show this help"},
};

const OptionDef* findLong(std::string_view name) {
  for (const auto& option : kOptions)
    if (option.name == name) return &option;
  return nullptr;
}

const OptionDef* findShort(char name) {
  for (const auto& option : kOptions)
    if (option.short_name == name) return &option;  // name is never 0: argv strings end there
  return nullptr;
}

std::string versionText() {
  return std::string("appliance ") + APPLIANCE_VERSION + " (SDK " + APPLIANCE_SDK_VERSION +
         ", ABI " + std::to_string(APPLIANCE_SDK_ABI_VERSION) + ")\n";
}

std::string helpText() {
  std::string text =
      "usage: appliance [--role=ROLES] [--env=NAME] [--config=FILE]... "
      "[--check-config | --list-plugins | --check-rules=FILE... | --test-rules=FILE...]\n\n"
      "One binary for the Task Manager platform: task API, storage, metrics, alerts, runner "
      "scaler.\n\n";
  for (const auto& option : kOptions) {
    std::string left = "  ";
    left += option.short_name != 0 ? std::string("-") + option.short_name + ", " : "    ";
    left += "--";
    left += option.name;
    if (!option.argument.empty()) {
      left += '=';
      left += option.argument;
    }
    left.resize(std::max<std::size_t>(left.size() + 2, 26), ' ');
    text += left;
    text += option.help;
    text += '\n';
  }
  text +=
      "\nExit codes: 0 ok, 1 start-up or runtime failure, 2 bad command line, configuration or "
      "plugin.\n";
  return text;
}

}  // namespace

CliOutcome parseCommandLine(std::span<const char* const> args) {
  CliOutcome out;
  const auto fail = [&out](std::string message) {
    out.exit_code = kExitConfig;
    out.error = std::move(message) + "; see --help";
    return out;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    const OptionDef* option = nullptr;
    std::optional<std::string_view> value;
    std::string spelled;  // as the user wrote the option, for messages
    if (arg.starts_with("--") && arg.size() > 2) {
      const auto eq = arg.find('=');
      const std::string_view name = arg.substr(2, eq == std::string_view::npos ? eq : eq - 2);
      spelled = "--" + std::string(name);
      option = findLong(name);
      if (eq != std::string_view::npos) value = arg.substr(eq + 1);
    } else if (arg.size() >= 2 && arg[0] == '-' && arg[1] != '-') {
      spelled = std::string(arg.substr(0, 2));
      option = findShort(arg[1]);
      if (arg.size() > 2) value = arg.substr(arg[2] == '=' ? 3 : 2);
    } else {
      return fail("unexpected argument '" + std::string(arg) + "'");
    }
    if (option == nullptr) return fail("unknown option '" + spelled + "'");
    if (option->argument.empty() && value) {
      return fail("option '" + spelled + "' takes no value");
    }
    if (!option->argument.empty() && !value) {
      if (i + 1 == args.size()) {
        return fail("option '" + spelled + "' needs a value (" + std::string(option->argument) +
                    ")");
      }
      value = args[++i];
    }
    if (!option->argument.empty() && value->empty()) {
      return fail("option '" + spelled + "' needs a non-empty value (" +
                  std::string(option->argument) + ")");
    }
    switch (option->id) {
      case OptionId::kRole:
        for (auto& role : splitList(*value)) out.command_line.roles.push_back(role);
        break;
      case OptionId::kConfig:
        out.command_line.config_files.emplace_back(*value);
        break;
      case OptionId::kEnv:
        out.command_line.env = std::string(*value);
        break;
      case OptionId::kCheckConfig:
        out.command_line.check_config = true;
        break;
      case OptionId::kListPlugins:
        out.command_line.list_plugins = true;
        break;
      case OptionId::kCheckRules:
        out.command_line.check_rules.emplace_back(*value);
        break;
      case OptionId::kTestRules:
        out.command_line.test_rules.emplace_back(*value);
        break;
      case OptionId::kVersion:
        out.output = versionText();
        out.exit_code = kExitOk;
        return out;
      case OptionId::kHelp:
        out.output = helpText();
        out.exit_code = kExitOk;
        return out;
    }
  }
  if (out.command_line.roles.empty()) out.command_line.roles = {"all"};
  return out;
}

}  // namespace appliance::host
