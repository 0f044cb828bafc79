// Data movement: Transpose, Slice (negative steps, clamping), Concat, Split (attribute, input,
// num_outputs), Gather/GatherElements (negative and bad indices), Pad (all modes), Tile.
#include <limits>

#include "op_test_util.hpp"
#include "ops/pad_tile.hpp"
#include "ops/transpose_slice.hpp"

namespace qcal::test {
namespace {

TEST(Movement, TransposeMatchesNaivePermutation) {
  Rng rng(3);
  const Tensor x = random_tensor(rng, {2, 3, 4, 5});
  auto node = make_node("Transpose", 1);
  node.attributes["perm"] = std::vector<std::int64_t>{0, 2, 3, 1};
  const Tensor y = run1(node, {x}, 3);
  ASSERT_EQ(y.shape(), (Shape{2, 4, 5, 3}));
  for (int n = 0; n < 2; ++n)
    for (int h = 0; h < 4; ++h)
      for (int w = 0; w < 5; ++w)
        for (int c = 0; c < 3; ++c)
          ASSERT_EQ(y.data<float>()[((n * 4 + h) * 5 + w) * 3 + c],
                    x.data<float>()[((n * 3 + c) * 4 + h) * 5 + w]);
  EXPECT_EQ(run1(make_node("Transpose", 1), {x}).shape(), (Shape{5, 4, 3, 2}));  // default: reverse
  node.attributes["perm"] = std::vector<std::int64_t>{0, 0, 1, 2};
  expect_error([&] { run1(node, {x}); }, {"not a permutation"});
}

TEST(Movement, SliceNegativeStepAndClamping) {
  const Tensor x = tensor<float>({2, 5}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  // Reverse the last axis, all rows.
  const Tensor y = run1(make_node("Slice", 5, 1, 13),
                        {x, tensor<std::int64_t>({1}, {-1}), tensor<std::int64_t>({1}, {-big}),
                         tensor<std::int64_t>({1}, {1}), tensor<std::int64_t>({1}, {-1})});
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{4, 3, 2, 1, 0, 9, 8, 7, 6, 5}));
  // Step 2 from 1 to end, axis -1; rows 1..; ends past the dim clamp.
  const Tensor z =
      run1(make_node("Slice", 5, 1, 13),
           {x, tensor<std::int64_t>({2}, {1, 1}), tensor<std::int64_t>({2}, {100, big}),
            tensor<std::int64_t>({2}, {0, -1}), tensor<std::int64_t>({2}, {1, 2})});
  EXPECT_EQ(values_of<float>(z), (std::vector<float>{6, 8}));
  // Opset 1 attributes; empty result when start >= end.
  auto old = make_node("Slice", 1, 1, 9);
  old.attributes["starts"] = std::vector<std::int64_t>{3};
  old.attributes["ends"] = std::vector<std::int64_t>{2};
  old.attributes["axes"] = std::vector<std::int64_t>{1};
  EXPECT_EQ(run1(old, {x}).shape(), (Shape{2, 0}));
  expect_error(
      [&] {
        run1(make_node("Slice", 5, 1, 13),
             {x, tensor<std::int64_t>({1}, {0}), tensor<std::int64_t>({1}, {1}),
              tensor<std::int64_t>({1}, {0}), tensor<std::int64_t>({1}, {0})});
      },
      {"step must not be 0"});
}

TEST(Movement, SliceSweepMatchesReference) {
  Rng rng(11);
  for (int trial = 0; trial < 40; ++trial) {
    const Shape shape{1 + static_cast<std::int64_t>(rng.next_double() * 6),
                      1 + static_cast<std::int64_t>(rng.next_double() * 7),
                      1 + static_cast<std::int64_t>(rng.next_double() * 9)};
    const Tensor x = random_tensor(rng, shape);
    std::vector<std::int64_t> starts, ends, axes, steps;
    for (std::int64_t a = 0; a < 3; ++a) {
      if (rng.next_double() < 0.3) continue;
      const std::int64_t dim = shape[static_cast<std::size_t>(a)];
      axes.push_back(a - (rng.next_double() < 0.5 ? 3 : 0));
      starts.push_back(
          static_cast<std::int64_t>(rng.next_double() * static_cast<double>(2 * dim + 2)) - dim -
          1);
      ends.push_back(
          static_cast<std::int64_t>(rng.next_double() * static_cast<double>(2 * dim + 2)) - dim -
          1);
      steps.push_back((rng.next_double() < 0.5 ? -1 : 1) *
                      (1 + static_cast<std::int64_t>(rng.next_double() * 3)));
    }
    if (axes.empty()) continue;
    const auto n = static_cast<std::int64_t>(axes.size());
    const Tensor y = run1(make_node("Slice", 5, 1, 13),
                          {x, tensor<std::int64_t>({n}, starts), tensor<std::int64_t>({n}, ends),
                           tensor<std::int64_t>({n}, axes), tensor<std::int64_t>({n}, steps)},
                          2);
    ops::NodeDef node = make_node("Slice", 5, 1, 13);
    const ops::SliceRegion region = ops::infer_slice(node, shape, starts, ends, axes, steps);
    ASSERT_EQ(y.shape(), region.count);
    std::vector<float> ref(static_cast<std::size_t>(y.numel()));
    ops::slice_f32_ref(x.data<float>(), shape, region, ref.data());
    ASSERT_EQ(values_of<float>(y), ref) << "trial " << trial;
  }
}

TEST(Movement, ConcatAndSplit) {
  const Tensor a = tensor<float>({2, 1}, {1, 2});
  const Tensor b = tensor<float>({2, 2}, {3, 4, 5, 6});
  auto concat = make_node("Concat", 2);
  concat.attributes["axis"] = std::int64_t{-1};
  const Tensor c = run1(concat, {a, b});
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(values_of<float>(c), (std::vector<float>{1, 3, 4, 2, 5, 6}));
  concat.attributes["axis"] = std::int64_t{0};
  expect_error([&] { run1(concat, {a, b}); }, {"differ outside axis 0"});

  auto split = make_node("Split", 2, 2, 13);
  split.attributes["axis"] = std::int64_t{1};
  const auto parts = run_op(split, {c, tensor<std::int64_t>({2}, {1, 2})}, 1, {false, true});
  EXPECT_EQ(values_of<float>(parts.outputs[0]), (std::vector<float>{1, 2}));
  EXPECT_EQ(values_of<float>(parts.outputs[1]), (std::vector<float>{3, 4, 5, 6}));
  // Opset 18 num_outputs: uneven split, the last part smaller.
  auto split18 = make_node("Split", 1, 2, 18);
  split18.attributes["axis"] = std::int64_t{1};
  split18.attributes["num_outputs"] = std::int64_t{2};
  const auto uneven = run_op(split18, {c});
  EXPECT_EQ(uneven.outputs[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(uneven.outputs[1].shape(), (Shape{2, 1}));
  auto split11 = make_node("Split", 1, 2, 11);
  split11.attributes["axis"] = std::int64_t{1};
  expect_error([&] { run_op(split11, {c}); }, {"does not split evenly"});
}

TEST(Movement, LargeConcatIsIdenticalAcrossThreads) {
  Rng rng(5);
  const Tensor a = random_tensor(rng, {1, 64, 80, 80});
  const Tensor b = random_tensor(rng, {1, 32, 80, 80});
  auto concat = make_node("Concat", 2);
  concat.attributes["axis"] = std::int64_t{1};
  const Tensor one = run1(concat, {a, b}, 1);
  EXPECT_TRUE(same_bytes(one, run1(concat, {a, b}, 3)));
  EXPECT_EQ(one.data<float>()[64 * 6400], b.data<float>()[0]);
}

TEST(Movement, GatherWrapsNegativeIndicesAndRejectsBadOnes) {
  const Tensor data = tensor<float>({3, 2}, {1, 2, 3, 4, 5, 6});
  const Tensor y = run1(make_node("Gather", 2), {data, tensor<std::int64_t>({2, 1}, {-1, 0})});
  EXPECT_EQ(y.shape(), (Shape{2, 1, 2}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{5, 6, 1, 2}));
  auto axis1 = make_node("Gather", 2);
  axis1.attributes["axis"] = std::int64_t{1};
  EXPECT_EQ(values_of<float>(run1(axis1, {data, Tensor::scalar<std::int32_t>(1)})),
            (std::vector<float>{2, 4, 6}));
  expect_error(
      [&] {
        run1(make_node("Gather", 2), {data, tensor<std::int64_t>({1}, {3})});
      },
      {"outside [-3, 3)", "test_Gather"});
  const Tensor ge =
      run1(make_node("GatherElements", 2), {data, tensor<std::int64_t>({1, 2}, {2, 0})});
  EXPECT_EQ(values_of<float>(ge), (std::vector<float>{5, 2}));
}

TEST(Movement, PadModesMatchReference) {
  const Tensor x = tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor pads = tensor<std::int64_t>({4}, {1, 2, 0, 1});
  auto pad = make_node("Pad", 3, 1, 13);
  EXPECT_EQ(values_of<float>(run1(pad, {x, pads, Tensor::scalar<float>(9)})),
            (std::vector<float>{9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3, 9, 9, 9, 4, 5, 6, 9}));
  pad.attributes["mode"] = std::string("reflect");
  EXPECT_EQ(values_of<float>(run1(pad, {x, pads, Tensor()})),
            (std::vector<float>{6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5}));
  pad.attributes["mode"] = std::string("edge");
  EXPECT_EQ(values_of<float>(run1(pad, {x, pads, Tensor()})),
            (std::vector<float>{1, 1, 1, 2, 3, 3, 1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6}));
  // Negative pads crop.
  auto crop = make_node("Pad", 2, 1, 13);
  EXPECT_EQ(values_of<float>(run1(crop, {x, tensor<std::int64_t>({4}, {0, -1, -1, 0})})),
            (std::vector<float>{2, 3}));
  // Seeded comparison with the reference for every mode.
  Rng rng(9);
  const Tensor big = random_tensor(rng, {2, 3, 5, 7});
  const Tensor big_pads = tensor<std::int64_t>({8}, {0, 1, 2, 3, 1, 0, 4, 2});
  const char* modes[] = {"constant", "reflect", "edge", "wrap"};
  const ops::PadMode kinds[] = {ops::PadMode::kConstant, ops::PadMode::kReflect,
                                ops::PadMode::kEdge, ops::PadMode::kWrap};
  for (int m = 0; m < 4; ++m) {
    auto node = make_node("Pad", 2, 1, 19);
    node.attributes["mode"] = std::string(modes[m]);
    const Tensor y = run1(node, {big, big_pads}, 2);
    const ops::PadAmounts amounts{{0, 1, 2, 3}, {1, 0, 4, 2}};
    std::vector<float> ref(static_cast<std::size_t>(y.numel()));
    ops::pad_f32_ref(big.data<float>(), big.shape(), amounts, kinds[m], 0.0f, ref.data());
    EXPECT_EQ(values_of<float>(y), ref) << modes[m];
  }
  expect_error(
      [&] {
        run1(crop, {x, tensor<std::int64_t>({2}, {1, 1})});
      },
      {"pads has 2 values, expected 4"});
}

TEST(Movement, Tile) {
  const Tensor x = tensor<float>({2, 1}, {1, 2});
  const Tensor y =
      run1(make_node("Tile", 2), {x, tensor<std::int64_t>({2}, {2, 3})}, 1, {false, true});
  EXPECT_EQ(y.shape(), (Shape{4, 3}));
  EXPECT_EQ(values_of<float>(y), (std::vector<float>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2}));
}

}  // namespace
}  // namespace qcal::test
