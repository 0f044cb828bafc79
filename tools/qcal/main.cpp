// qcal entry point: builds the CLI from the verb table, runs the chosen verb, maps errors to
// exit codes (1 error, 2 usage, 70 internal; 130/143 after SIGINT/SIGTERM, see signals.hpp and
// docs/guarantees.md) and prints them as "qcal: error: ...".
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "commands/commands.hpp"
#include "core/error.hpp"
#include "core/temp_files.hpp"
#include "signals.hpp"

namespace {

// Every verb, in the order `qcal --help` lists them.
const qcal::cli::Register kVerbs[] = {
    qcal::cli::register_quickstart,  // the main job
    // 1. calibration sets
    qcal::cli::register_frames,
    qcal::cli::register_select,
    qcal::cli::register_sample,
    // 2. preprocessing
    qcal::cli::register_pack,
    qcal::cli::register_config,
    qcal::cli::register_check,
    // 3. the engine
    qcal::cli::register_inspect,
    qcal::cli::register_run,
    // 4. calibration
    qcal::cli::register_calibrate,
    // 5. accuracy evidence
    qcal::cli::register_eval,
    // 6. deployment planning
    qcal::cli::register_plan,
};

int report(const qcal::Error& e) {
  std::cerr << "qcal: error: " << e.describe() << "\n";
  return e.code() == qcal::ErrorCode::kInternal ? qcal::cli::kExitInternal : qcal::cli::kExitError;
}

// An unknown verb is a usage error that lists the verbs (CLI11 would print the main help, or
// "A subcommand is required", even for `qcal preprocess --help`).
bool unknown_verb(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return false;
  const std::string verb = argv[1];
  std::string verbs;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->get_name() == verb) return false;
    verbs += (verbs.empty() ? "" : ", ") + sub->get_name();
  }
  std::cerr << "qcal: error: unknown verb '" << verb << "'; the verbs are: " << verbs
            << "\nRun 'qcal --help' for what each does.\n";
  return true;
}

// Runs the chosen verb. A file-system failure that reaches here (a folder that cannot be made, a
// read-only disk) is the user's environment, not a bug: exit 1 naming the path.
int run_verb(const std::vector<std::pair<CLI::App*, qcal::cli::Runner>>& runners) {
  try {
    for (const auto& [sub, run] : runners) {
      if (sub->parsed()) return run();
    }
    return qcal::cli::kExitUsage;
  } catch (const qcal::Error& e) {
    return report(e);
  } catch (const std::filesystem::filesystem_error& e) {
    std::cerr << "qcal: error: " << e.code().message() << "\n  path: " << e.path1().string()
              << "\n";
    return qcal::cli::kExitError;
  } catch (const std::bad_alloc&) {
    std::cerr << "qcal: error: out of memory\n";
    return qcal::cli::kExitError;
  } catch (const std::exception& e) {
    std::cerr << "qcal: internal error: " << e.what() << "\n";
    return qcal::cli::kExitInternal;
  }
}

}  // namespace

int main(int argc, char** argv) {
  qcal::cli::install_signal_cleanup();
  CLI::App app{"qcal: from camera footage and image folders to an INT8-deployable ONNX model"};
  app.set_version_flag("--version", "qcal " QCAL_VERSION);
  app.require_subcommand(1);
  std::vector<std::pair<CLI::App*, qcal::cli::Runner>> runners;
  for (auto reg : kVerbs) {
    std::size_t before = app.get_subcommands({}).size();
    qcal::cli::Runner run = reg(app);
    auto subs = app.get_subcommands({});
    if (subs.size() > before) runners.emplace_back(subs.back(), std::move(run));
  }
  if (unknown_verb(app, argc, argv)) return qcal::cli::kExitUsage;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : qcal::cli::kExitUsage;
  }
  const int rc = run_verb(runners);
  // A signal whose cleanup has begun decides the exit status (130/143): wait for it here.
  const qcal::TempLock settled;
  return rc;
}
