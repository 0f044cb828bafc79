// Plan outputs: the stdout table, the --json document, and the self-contained HTML page.
#pragma once

#include <string>

#include "plan/planner.hpp"
#include "plan/profile.hpp"

namespace qcal::plan {

// Fixed-width table of every configuration with its verdict, the choice, the reasons, the
// unusable rows (the first `max_rejected_lines`, then a count) and warnings.
std::string format_plan_text(const Plan& plan, const ProfileSet& profiles,
                             std::size_t max_rejected_lines = 20);

// JSON document (schema "qcal.plan/1", documented in docs/formats.md), 2-space indented.
std::string format_plan_json(const Plan& plan, const ProfileSet& profiles,
                             const AccuracyTable& accuracy);

// One self-contained HTML page (inline CSS and SVG, no script, no network): the latency-versus-
// power chart with the chosen point, the table and the explanations.
std::string format_plan_html(const Plan& plan, const ProfileSet& profiles);

}  // namespace qcal::plan
