#pragma once
// The whole plugin SDK. A plugin may include this one header.
#include "appliance/config.h"
#include "appliance/context.h"
#include "appliance/http.h"
#include "appliance/logger.h"
#include "appliance/plugin.h"
#include "appliance/status.h"
#include "appliance/task_store.h"
#include "appliance/time.h"
