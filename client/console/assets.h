// File: client/console/assets.h
//
// The console's page, built into the binary (client/console/web/ and
// Debian's Chart.js, embedded by embed_assets.cmake): the console serves
// every asset itself, so nothing the page runs comes from the network or
// from a file someone could change on the workstation.
#ifndef SILTA_CLIENT_CONSOLE_ASSETS_H_
#define SILTA_CLIENT_CONSOLE_ASSETS_H_

#include "absl/strings/string_view.h"

namespace silta::console {

struct Asset {
  absl::string_view path;  // e.g. "/app.js"
  absl::string_view content_type;
  absl::string_view body;
};

// The asset served at `path`, or nullptr.
const Asset* FindAsset(absl::string_view path);

}  // namespace silta::console

#endif  // SILTA_CLIENT_CONSOLE_ASSETS_H_
