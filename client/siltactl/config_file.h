// File: client/siltactl/config_file.h
//
// siltactl's small config file, so that the connection need not be typed
// on every command. TOML, read with CLI11's parser:
//
//   # ~/.config/silta/siltactl.toml
//   address = "silta.hyvinvointialue.fi:7443"
//   ca = "ca.pem"                  # relative paths are relative to this file
//   cert = "orgs/hml-youth.pem"
//   key = "orgs/hml-youth.key"
//   server-name = "silta.hyvinvointialue.fi"
//   keys-dir = "keys"
//   timeout = 20
//
// It is read from --config FILE, else $SILTA_CONFIG, else
// $XDG_CONFIG_HOME/silta/siltactl.toml (~/.config/... if unset) when that
// file exists. A setting applies only where neither a flag nor a SILTA_*
// environment variable gave one: flags > environment > file.
#ifndef SILTA_CLIENT_SILTACTL_CONFIG_FILE_H_
#define SILTA_CLIENT_SILTACTL_CONFIG_FILE_H_

#include <functional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"

namespace silta::siltactl {

// One setting of the file and the option it stands in for.
struct ConfigSetting {
  std::string key;       // as in the file, e.g. "server-name"
  CLI::Option* option;   // the flag; the file's value is used if it is unset
  bool is_path;          // resolve relative to the file's directory
  std::function<bool(const std::string&)> set;  // false if the value is unusable
};

// The default config file if it exists, else "".
std::string DefaultConfigPath();

// Applies `path` to every setting whose option is unset. INVALID_ARGUMENT
// naming the file and the key for an unknown key, a section, or a bad
// value; NOT_FOUND if the file does not exist.
absl::Status ApplyConfigFile(const std::string& path, const std::vector<ConfigSetting>& settings);

}  // namespace silta::siltactl

#endif  // SILTA_CLIENT_SILTACTL_CONFIG_FILE_H_
