// One CLI vocabulary (issue 19): every verb's --help is walked and must offer -o/--output,
// --json and -j/--threads where they apply, -n for "how many samples", the old spellings as
// aliases that still parse, and integer types for counts.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace qcal {
namespace {

// What each verb must offer. A verb missing here fails the test, so a new verb is checked too.
struct VerbShape {
  bool output = true;   // writes files: -o/--output
  bool threads = true;  // has worker threads: -j/--threads
  bool count = false;   // takes a number of samples: -n
};

const std::map<std::string, VerbShape>& expected_verbs() {
  static const std::map<std::string, VerbShape> kVerbs = {
      {"quickstart", {true, true, false}}, {"frames", {true, true, true}},
      {"select", {true, true, true}},      {"sample", {true, false, true}},
      {"pack", {true, true, true}},        {"config", {true, false, false}},
      {"check", {true, false, true}},      {"inspect", {false, false, false}},
      {"run", {true, true, false}},        {"calibrate", {true, true, true}},
      {"eval", {true, true, true}},        {"plan", {true, false, false}},
  };
  return kVerbs;
}

// The verbs `qcal --help` lists (CLI11: the lines after "Subcommands:", two spaces, a name).
std::vector<std::string> listed_verbs() {
  const auto r = test::run_command(test::qcal_bin() + " --help");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::vector<std::string> verbs;
  const auto start = r.output.find("Subcommands:");
  EXPECT_NE(start, std::string::npos) << r.output;
  if (start == std::string::npos) return verbs;
  std::istringstream in(r.output.substr(start));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    if (line.size() < 3 || line[0] != ' ' || line[2] == ' ' || line[2] == '-') continue;
    verbs.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return verbs;
}

// The help line of the option whose names start with `names` ("-o,--output"), or "".
std::string option_line(const std::string& help, const std::string& names) {
  std::istringstream in(help);
  std::string line;
  while (std::getline(in, line)) {
    const auto start = line.find_first_not_of(' ');
    if (start != std::string::npos && line.compare(start, names.size(), names) == 0 &&
        (line.size() == start + names.size() || line[start + names.size()] == ' ' ||
         line[start + names.size()] == ',')) {
      return line;
    }
  }
  return "";
}

std::string verb_help(const std::string& verb) {
  const auto r = test::run_command(test::qcal_bin() + " " + verb + " --help");
  EXPECT_EQ(r.exit_code, 0) << verb << ": " << r.output;
  return r.output;
}

TEST(CliVocabulary, EveryVerbIsListedAndChecked) {
  const auto verbs = listed_verbs();
  ASSERT_FALSE(verbs.empty());
  std::set<std::string> seen;
  for (const auto& verb : verbs) {
    EXPECT_TRUE(expected_verbs().count(verb)) << "verb '" << verb << "' has no vocabulary entry";
    seen.insert(verb);
  }
  for (const auto& [verb, shape] : expected_verbs()) {
    EXPECT_TRUE(seen.count(verb)) << "qcal --help does not list '" << verb << "'";
  }
}

TEST(CliVocabulary, SharedFlagsInEveryVerbsHelp) {
  for (const auto& [verb, shape] : expected_verbs()) {
    const std::string help = verb_help(verb);
    const std::string json = option_line(help, "--json");
    EXPECT_NE(json, "") << verb << " has no --json";
    EXPECT_EQ(json.find("TEXT"), std::string::npos) << verb << ": --json is a flag: " << json;
    EXPECT_EQ(option_line(help, "-o,--output") != "", shape.output) << verb << ":\n" << help;
    const std::string threads = option_line(help, "-j,--threads");
    EXPECT_EQ(threads != "", shape.threads) << verb << ":\n" << help;
    if (shape.threads) {
      EXPECT_NE(threads.find(" INT"), std::string::npos) << verb << threads;
    }
    const std::string count = option_line(help, "-n");
    EXPECT_EQ(count != "", shape.count) << verb << ":\n" << help;
    if (shape.count) {
      EXPECT_TRUE(count.find(" INT") != std::string::npos ||
                  count.find(" UINT") != std::string::npos)
          << verb << ": -n is a count: " << count;
    }
  }
}

// The spellings before issue 19 stay as aliases (docs/cli.md lists them).
TEST(CliVocabulary, OldSpellingsAreAliases) {
  const std::vector<std::pair<std::string, std::string>> aliases = {{"calibrate", "--out"},
                                                                    {"config", "--output-path"},
                                                                    {"pack", "--limit"},
                                                                    {"eval", "--limit"},
                                                                    {"calibrate", "--eval-samples"},
                                                                    {"frames", "--jobs"},
                                                                    {"check", "--output-dir"},
                                                                    {"plan", "--html"}};
  for (const auto& [verb, alias] : aliases) {
    const std::string help = verb_help(verb);
    EXPECT_NE(help.find("," + alias + " "), std::string::npos) << verb << " " << alias << help;
  }
}

// Counts are integers in the help, not FLOAT.
TEST(CliVocabulary, CountsShowIntegerTypes) {
  const std::string frames = verb_help("frames");
  for (const char* names : {"-n,--count", "--every", "-j,--threads,--jobs", "--max-per-video"}) {
    const std::string line = option_line(frames, names);
    EXPECT_NE(line.find(" INT"), std::string::npos) << names << ": " << line;
  }
}

// --json prints JSON on stdout where a verb printed text before (sample's list).
TEST(CliVocabulary, SampleJsonIsParseable) {
  test::TempDir dir;
  for (const char* name : {"a.jpg", "b.jpg", "c.jpg"}) std::ofstream(dir / name) << "x";
  const auto r = test::run_command(test::qcal_bin() + " sample " + dir.path().string() +
                                   " -n 2 --json 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"candidates\": 3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"chosen\": 2"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace qcal
