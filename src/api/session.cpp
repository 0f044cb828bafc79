// qcal::Session: the public face of engine::Session (arrays in place in, new arrays out).
#include "qcal/session.hpp"

#include <algorithm>

#include "api/convert.hpp"
#include "core/error.hpp"
#include "engine/session.hpp"

namespace qcal {
namespace {

std::vector<TensorInfo> infos(const std::vector<engine::ValueInfo>& values) {
  std::vector<TensorInfo> out;
  for (const auto& v : values) {
    TensorInfo t;
    t.name = v.name;
    t.type = v.dtype == DType::kUndefined ? ElementType::kFloat32 : api::to_element_type(v.dtype);
    t.shape = v.shape;
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

struct Session::Impl {
  std::string path;
  std::shared_ptr<const engine::Model> model;
  engine::Session session;
  std::vector<TensorInfo> inputs, outputs;

  Impl(std::string model_path, std::shared_ptr<const engine::Model> m, int threads)
      : path(std::move(model_path)),
        model(m),
        session(m, engine::SessionOptions{.num_threads = threads}),
        inputs(infos(m->inputs())),
        outputs(infos(m->outputs())) {}
};

Session::Session(const std::string& model, int threads) {
  try {
    auto m = std::make_shared<const engine::Model>(engine::Model::load(model));
    impl_ = std::make_unique<Impl>(model, std::move(m), threads);
  } catch (Error& e) {
    e.with("file", model);
    throw;
  }
}

Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

const std::vector<TensorInfo>& Session::inputs() const { return impl_->inputs; }
const std::vector<TensorInfo>& Session::outputs() const { return impl_->outputs; }

std::map<std::string, Array> Session::run(const std::map<std::string, Array>& inputs) {
  std::map<std::string, Tensor> in;
  for (const auto& [name, array] : inputs) {
    const auto it = std::find_if(impl_->inputs.begin(), impl_->inputs.end(),
                                 [&](const TensorInfo& t) { return t.name == name; });
    if (it != impl_->inputs.end() && it->type != array.type) {
      throw Error(ErrorCode::kInvalidArgument,
                  "input '" + name + "' is " + std::string(element_type_name(it->type)) +
                      ", the array is " + std::string(element_type_name(array.type)))
          .with("file", impl_->path)
          .with("tensor", name);
    }
    in.emplace(name, api::to_tensor(array));
  }
  std::map<std::string, Array> out;
  try {
    for (auto& [name, tensor] : impl_->session.run(in)) out.emplace(name, api::to_array(tensor));
  } catch (Error& e) {
    e.with("file", impl_->path);
    throw;
  }
  return out;
}

}  // namespace qcal
