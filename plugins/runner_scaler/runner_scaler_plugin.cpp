// The plugin's one exported entry point.
#include "appliance/plugin.h"
#include "plugin.h"

APPLIANCE_PLUGIN(appliance::plugins::runner_scaler::RunnerScalerPlugin, "runner_scaler",
                 appliance::plugins::runner_scaler::kPluginVersion,
                 "GitHub Actions runner autoscaler: webhook and REST demand, scaling policy, "
                 "dry-run backend",
                 "", "")
