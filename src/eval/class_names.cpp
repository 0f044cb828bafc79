// Class names from data.yaml or COCO categories. The YAML reader covers what Ultralytics writes
// for `names` (a block map `  0: person`, a block list `  - person`, or a flow list
// `[person, 'traffic light']`); it is not a general YAML parser.
#include "eval/class_names.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"

namespace qcal::eval {
namespace {

std::string trim(const std::string& s) {
  std::size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

// A scalar without its quotes ('a b' or "a b") and without a trailing # comment.
std::string scalar(std::string s) {
  s = trim(s);
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) {
    return s.substr(1, s.size() - 2);
  }
  if (const auto hash = s.find(" #"); hash != std::string::npos) s = trim(s.substr(0, hash));
  return s;
}

std::vector<std::string> flow_list(const std::string& body) {
  std::vector<std::string> out;
  std::string item;
  char quote = 0;
  for (char c : body) {
    if (quote) {
      if (c == quote) quote = 0;
      item += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      item += c;
    } else if (c == ',') {
      out.push_back(scalar(item));
      item.clear();
    } else {
      item += c;
    }
  }
  if (!trim(item).empty()) out.push_back(scalar(item));
  return out;
}

Error yaml_error(const std::string& what, int line, const std::string& message) {
  Error e(ErrorCode::kFormat, message);
  e.with("file", what).with("line", std::to_string(line));
  return e;
}

// The indented block under `names:`, from line index `first`.
std::vector<std::string> block_names(const std::vector<std::string>& lines, std::size_t first,
                                     const std::string& what) {
  std::map<long, std::string> by_id;
  std::vector<std::string> listed;
  for (std::size_t i = first; i < lines.size(); ++i) {
    const std::string& raw = lines[i];
    const std::string t = trim(raw);
    if (t.empty() || t[0] == '#') continue;
    if (!std::isspace(static_cast<unsigned char>(raw[0]))) break;  // the next top-level key
    if (t[0] == '-') {
      listed.push_back(scalar(t.substr(1)));
      continue;
    }
    const auto colon = t.find(':');
    char* end = nullptr;
    const std::string key = trim(t.substr(0, colon));
    const long id = std::strtol(key.c_str(), &end, 10);
    if (colon == std::string::npos || end != key.c_str() + key.size() || key.empty() || id < 0 ||
        id > 100000) {
      throw yaml_error(what, static_cast<int>(i + 1), "expected 'ID: name' under names:");
    }
    by_id[id] = scalar(t.substr(colon + 1));
  }
  if (!listed.empty()) return listed;
  std::vector<std::string> out;
  for (const auto& [id, name] : by_id) {
    out.resize(std::max<std::size_t>(out.size(), static_cast<std::size_t>(id) + 1));
    out[static_cast<std::size_t>(id)] = name;
  }
  return out;
}

}  // namespace

std::vector<std::string> parse_data_yaml_names(const std::string& text, const std::string& what) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("names:", 0) != 0) continue;
    const std::string rest = trim(lines[i].substr(6));
    std::vector<std::string> names;
    if (rest.empty()) {
      names = block_names(lines, i + 1, what);
    } else if (rest.front() == '[' && rest.back() == ']') {
      names = flow_list(rest.substr(1, rest.size() - 2));
    } else {
      throw yaml_error(what, static_cast<int>(i + 1),
                       "names: must be a list or an 'ID: name' block");
    }
    if (names.empty()) throw yaml_error(what, static_cast<int>(i + 1), "names: is empty");
    return names;
  }
  throw Error(ErrorCode::kFormat, "no top-level 'names:' key (Ultralytics data.yaml)")
      .with("file", what);
}

std::vector<std::string> parse_coco_category_names(const std::string& json_text,
                                                   const std::string& what) {
  std::vector<std::pair<std::int64_t, std::string>> cats;
  try {
    const auto j = nlohmann::json::parse(json_text);
    for (const auto& c : j.at("categories")) {
      cats.emplace_back(c.at("id").get<std::int64_t>(), c.at("name").get<std::string>());
    }
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kFormat,
                std::string("not a COCO JSON with categories [{id, name}]: ") + e.what())
        .with("file", what);
  }
  if (cats.empty()) throw Error(ErrorCode::kFormat, "no categories").with("file", what);
  std::sort(cats.begin(), cats.end());
  std::vector<std::string> names;
  for (auto& [id, name] : cats) names.push_back(std::move(name));
  return names;
}

std::vector<std::string> read_class_names(const std::filesystem::path& file) {
  std::string text;
  try {
    text = read_file(file);
  } catch (Error& e) {
    e.with("file", file.string());
    throw;
  }
  const std::string ext = file.extension().string();
  if (ext == ".json" || ext == ".JSON") return parse_coco_category_names(text, file.string());
  return parse_data_yaml_names(text, file.string());
}

}  // namespace qcal::eval
