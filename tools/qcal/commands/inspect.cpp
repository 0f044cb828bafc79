// `qcal inspect MODEL.onnx`: wiring for engine::summarize_model; text or --json on stdout.
#include "engine/inspect.hpp"

#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands/commands.hpp"
#include "core/error.hpp"
#include "engine/model.hpp"

namespace qcal::cli {
namespace {

struct InspectArgs {
  std::string model;
  std::string input_size;
  CommonOptions common;
};

nlohmann::json io_json(const std::vector<engine::ValueInfo>& values) {
  auto arr = nlohmann::json::array();
  for (const auto& v : values) {
    nlohmann::json dims = nlohmann::json::array();
    for (std::size_t i = 0; i < v.shape.size(); ++i) {
      if (v.shape[i] >= 0)
        dims.push_back(v.shape[i]);
      else
        dims.push_back(v.dim_params[i].empty() ? nlohmann::json(-1)
                                               : nlohmann::json(v.dim_params[i]));
    }
    arr.push_back({{"name", v.name}, {"dtype", std::string(dtype_name(v.dtype))}, {"shape", dims}});
  }
  return arr;
}

std::string shape_text(const engine::ValueInfo& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.shape.size(); ++i) {
    if (i) s += ", ";
    s += v.shape[i] >= 0 ? std::to_string(v.shape[i])
                         : (v.dim_params[i].empty() ? "?" : v.dim_params[i]);
  }
  return s + "]";
}

int run_inspect(const InspectArgs& a) {
  const auto model = engine::Model::load(a.model, engine::LoadOptions{.check_ops = false});
  std::vector<Shape> shapes;
  std::string shapes_note;
  try {
    shapes = engine::resolve_input_shapes(model, a.input_size);
  } catch (const Error& e) {
    if (!a.input_size.empty()) throw;
    shapes_note = "dynamic input; pass --input-size for FLOPs";
  }
  const auto s = engine::summarize_model(model, shapes);
  if (a.common.json) {
    nlohmann::json j;
    j["model"] = a.model;
    j["opset"] = model.opsets();
    j["ir_version"] = model.ir_version();
    j["producer"] = model.producer();
    j["inputs"] = io_json(model.inputs());
    j["outputs"] = io_json(model.outputs());
    j["op_counts"] = s.op_counts;
    j["nodes"] = model.nodes().size();
    j["parameters"] = s.parameter_count;
    j["parameter_bytes"] = s.parameter_bytes;
    j["input_shapes"] = s.input_shapes;
    j["flops"] = s.flops >= 0 ? nlohmann::json(s.flops) : nlohmann::json(nullptr);
    auto un = nlohmann::json::array();
    for (const auto& n : s.unsupported) {
      un.push_back({{"node", n.name}, {"op", n.op_type}, {"domain", n.domain}, {"opset", n.opset}});
    }
    j["unsupported"] = un;
    std::cout << j.dump(2) << "\n";
    return s.unsupported.empty() ? kExitOk : kExitPartial;
  }
  std::printf("model:      %s\n", a.model.c_str());
  std::printf("producer:   %s (IR %lld, ai.onnx opset %d)\n", model.producer().c_str(),
              static_cast<long long>(model.ir_version()), model.onnx_opset());
  for (const auto& v : model.inputs()) {
    std::printf("input:      %s  %s %s\n", v.name.c_str(), std::string(dtype_name(v.dtype)).c_str(),
                shape_text(v).c_str());
  }
  for (const auto& v : model.outputs()) {
    std::printf("output:     %s  %s %s\n", v.name.c_str(), std::string(dtype_name(v.dtype)).c_str(),
                shape_text(v).c_str());
  }
  std::printf("nodes:      %zu\n", model.nodes().size());
  std::printf("parameters: %lld (%.2f MB)\n", static_cast<long long>(s.parameter_count),
              static_cast<double>(s.parameter_bytes) / 1e6);
  if (s.flops >= 0) {
    std::string sh;
    for (const auto& x : s.input_shapes) sh += (sh.empty() ? "" : ", ") + shape_to_string(x);
    std::printf("FLOPs:      %.3f G at %s (2 x multiply-adds of Conv/ConvTranspose/Gemm/MatMul)\n",
                static_cast<double>(s.flops) / 1e9, sh.c_str());
  } else {
    std::printf("FLOPs:      n/a (%s)\n",
                shapes_note.empty() ? s.flops_note.c_str() : shapes_note.c_str());
  }
  std::printf("ops:\n");
  for (const auto& [op, count] : s.op_counts) std::printf("  %-24s %d\n", op.c_str(), count);
  if (!s.unsupported.empty()) {
    std::printf("unsupported nodes: %zu\n", s.unsupported.size());
    for (const auto& n : s.unsupported) {
      std::printf("  %s: %s%s (opset %d)\n", n.name.c_str(),
                  n.domain.empty() ? "" : (n.domain + ".").c_str(), n.op_type.c_str(), n.opset);
    }
    return kExitPartial;
  }
  std::printf("unsupported nodes: none\n");
  return kExitOk;
}

}  // namespace

Runner register_inspect(CLI::App& app) {
  auto a = std::make_shared<InspectArgs>();
  auto* cmd = app.add_subcommand(
      "inspect", "Summarise an ONNX model: IO, opset, ops, parameters, FLOPs, unsupported ops");
  cmd->footer("Exit status 3 when the model has ops qcal cannot run (they are listed).");
  cmd->add_option("model", a->model, "ONNX model file")->required();
  cmd->add_option("--input-size", a->input_size,
                  "Input size for FLOPs: 640, 480x640 (fills dynamic dims of the first input) or a "
                  "full shape 1x3x640x640");
  add_json_flag(cmd, a->common);
  return [a] { return run_inspect(*a); };
}

}  // namespace qcal::cli
