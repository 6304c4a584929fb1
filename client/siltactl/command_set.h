// File: client/siltactl/command_set.h
//
// A group of siltactl subcommands: each registers its CLI11 subcommands
// with Add(), and after parsing Run() runs the one chosen.
#ifndef SILTA_CLIENT_SILTACTL_COMMAND_SET_H_
#define SILTA_CLIENT_SILTACTL_COMMAND_SET_H_

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"

namespace silta::siltactl {

class CommandSet {
 public:
  virtual ~CommandSet() = default;

  // The chosen command's exit code, or nullopt if none of this set was chosen.
  std::optional<int> Run() {
    for (auto& [command, run] : commands_) {
      if (command->parsed()) return run();
    }
    return std::nullopt;
  }

 protected:
  void Add(CLI::App* command, std::function<int()> run) {
    commands_.emplace_back(command, std::move(run));
  }

 private:
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands_;
};

}  // namespace silta::siltactl

#endif  // SILTA_CLIENT_SILTACTL_COMMAND_SET_H_
