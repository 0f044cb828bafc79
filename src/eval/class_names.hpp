// Class names for reports and tables: an Ultralytics data.yaml ("names:" as a list or an
// id: name map) or a COCO JSON's categories (class k = the k-th category by id, the mapping
// detection evaluation uses).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace qcal::eval {

// Index = class id; ids a map skips are "". Throws kFormat naming the file (and the line for
// YAML) when it holds no names; kIo when it cannot be read.
std::vector<std::string> read_class_names(const std::filesystem::path& file);
std::vector<std::string> parse_data_yaml_names(const std::string& text, const std::string& what);
std::vector<std::string> parse_coco_category_names(const std::string& json_text,
                                                   const std::string& what);

}  // namespace qcal::eval
