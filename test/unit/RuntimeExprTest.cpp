// Size expressions of the runtime's manifests (lib/Runtime/Expr.h).
#include "Expr.h"

#include "gtest/gtest.h"

#include <functional>
#include <map>
#include <string>

using attnc::rt::Expr;

namespace {
struct Names {
  std::map<std::string, int> ids;
  int operator()(const std::string &n) {
    auto it = ids.find(n);
    if (it != ids.end())
      return it->second;
    int id = (int)ids.size();
    ids[n] = id;
    return id;
  }
};
} // namespace

TEST(RuntimeExpr, DottedNamesAreOneName) {
  // Extras' sizes are named "extra_<n>.dim<d>": each is its own dim.
  Names names;
  Expr e;
  std::string err;
  std::function<int(const std::string &)> f = [&](const std::string &n) { return names(n); };
  ASSERT_TRUE(Expr::parse("extra_0.dim1 * extra_0.dim2 + Lq", f, e, err)) << err;
  EXPECT_EQ(names.ids.size(), 3u);
  EXPECT_TRUE(names.ids.count("extra_0.dim1") && names.ids.count("extra_0.dim2"));
  int64_t dims[3] = {0, 0, 0};
  dims[names.ids["extra_0.dim1"]] = 2;
  dims[names.ids["extra_0.dim2"]] = 278;
  dims[names.ids["Lq"]] = 5;
  int64_t v = 0;
  ASSERT_TRUE(e.eval(dims, v, err)) << err;
  EXPECT_EQ(v, 2 * 278 + 5);
}

TEST(RuntimeExpr, TrailingTextIsAnError) {
  Names names;
  std::function<int(const std::string &)> f = [&](const std::string &n) { return names(n); };
  Expr e;
  std::string err;
  EXPECT_FALSE(Expr::parse("Lq )", f, e, err));
  EXPECT_NE(err.find("column 4"), std::string::npos) << err;
  EXPECT_NE(err.find("unexpected"), std::string::npos) << err;
  err.clear();
  EXPECT_FALSE(Expr::parse("Lq Lk", f, e, err));
  EXPECT_NE(err.find("unexpected"), std::string::npos) << err;
}
