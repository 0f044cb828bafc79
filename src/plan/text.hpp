// Number formatting shared by the planner's explanations and reports (locale-independent).
#pragma once

#include <cstdio>
#include <string>

namespace qcal::plan {

// Fixed-point with `decimals` digits; "-0.0" is printed as "0.0".
inline std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  if (s.size() > 1 && s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

}  // namespace qcal::plan
