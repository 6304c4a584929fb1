#include "client/siltactl/config_file.h"

#include <sys/stat.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/common/files.h"

namespace silta::siltactl {

std::string DefaultConfigPath() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  std::string dir;
  if (xdg != nullptr && *xdg != '\0') {
    dir = xdg;
  } else if (home != nullptr && *home != '\0') {
    dir = absl::StrCat(home, "/.config");
  } else {
    return "";
  }
  const std::string path = absl::StrCat(dir, "/silta/siltactl.toml");
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? path : "";
}

absl::Status ApplyConfigFile(const std::string& path, const std::vector<ConfigSetting>& settings) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat("config file ", path, " does not exist"));
  }
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_file(path);
  } catch (const CLI::Error& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.what()));
  }
  std::vector<std::string> keys;
  for (const ConfigSetting& s : settings) keys.push_back(s.key);
  for (const CLI::ConfigItem& item : items) {
    // CLI11 marks section starts and ends with these names.
    if (item.name == "++" || item.name == "--") continue;
    if (!item.parents.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": [", absl::StrJoin(item.parents, "."), "]: sections are not used; put ", 
          item.name, " at the top level"));
    }
    const ConfigSetting* setting = nullptr;
    for (const ConfigSetting& s : settings) {
      if (s.key == item.name) setting = &s;
    }
    if (setting == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": unknown setting '", item.name,
                                                     "'; use ", absl::StrJoin(keys, ", ")));
    }
    if (item.inputs.size() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", item.name, ": give exactly one value"));
    }
    if (setting->option->count() > 0) continue;  // a flag or variable wins
    const std::string value =
        setting->is_path ? common::ResolvePath(path, item.inputs[0]) : item.inputs[0];
    if (!setting->set(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", item.name, ": '", item.inputs[0], "' is not a valid value"));
    }
  }
  return absl::OkStatus();
}

}  // namespace silta::siltactl
