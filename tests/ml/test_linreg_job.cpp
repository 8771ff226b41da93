// The whole `ckks-ml linreg` job at 128-bit security (N = 2^14, 3 iterations) on Boston Housing.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "ckks/errors.h"
#include "ml/data/sklearn.h"
#include "ml/linreg/linreg_job.h"

using namespace ckks;

namespace {
ml::LinregJobOptions boston(int iterations) {
  ml::LinregJobOptions o;
  o.data = ckks::ml::sklearn_data("boston_house_prices.csv");
  o.target = "MEDV";
  o.iterations = iterations;
  o.params = Params::preset_n14();
  return o;
}
}  // namespace

TEST_CASE("ml/linreg_job: Boston at 128-bit security, encrypted R2 within 0.001 of plaintext") {
  const auto r = ml::run_linreg_job(boston(3));
  CHECK(r.security_bits == 128);
  CHECK(r.train_rows == 405);
  CHECK(r.test_rows == 101);
  CHECK(r.features == 13);
  CHECK(r.levels_used == 5);
  CHECK(r.galois_keys == 15);
  CHECK(std::fabs(r.encrypted.r2 - r.plaintext.r2) < 1e-3);
  CHECK(std::fabs(r.encrypted.rmse - r.plaintext.rmse) < 1e-2);
  CHECK(r.max_weight_error < 1e-4);
  CHECK(std::fabs(r.decrypted_constant - 1) < 1e-4);
  CHECK(r.closed_form.r2 == doctest::Approx(0.632322).epsilon(1e-5));  // same split as the plain tests
  MESSAGE("encrypted R2 " << r.encrypted.r2 << " plaintext R2 " << r.plaintext.r2 << " closed form R2 "
                          << r.closed_form.r2 << "; train " << r.seconds_train << " s");
}

TEST_CASE("ml/linreg_job: bad data and too many iterations give clear errors") {
  auto o = boston(3);
  o.target = "PRICE";
  CHECK_THROWS_WITH_AS(ml::run_linreg_job(o), doctest::Contains("no column named \"PRICE\""), InputError);
  o = boston(6);  // preset_n14 has L = 7: at most 5 iterations
  CHECK_THROWS_WITH_AS(ml::run_linreg_job(o), doctest::Contains("6 iterations need 8 levels"), LevelError);
  const std::string path = "/tmp/ckks_linreg_job_bad.csv";
  {
    std::ofstream f(path);
    f << "a,b,y\n1,2,3\n4,oops,6\n";
  }
  o = boston(3);
  o.data = path;
  o.target = "y";
  CHECK_THROWS_WITH_AS(ml::run_linreg_job(o), doctest::Contains("oops"), InputError);
  std::remove(path.c_str());
}
