// SIGINT, SIGTERM and SIGHUP stop qcal cleanly: its temporaries are removed and it exits with
// 128 + the signal's number (130, 143, 129). See docs/guarantees.md.
#pragma once

namespace qcal::cli {

// Installs the handlers and starts the cleanup thread; call once, first thing in main.
void install_signal_cleanup();

}  // namespace qcal::cli
