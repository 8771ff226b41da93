// A first program against the installed library (examples/downstream/CMakeLists.txt builds it with
// find_package(ckks); the test suite also builds it with `pkg-config --cflags --libs ckks`).
//
// The data owner reads two columns x, y from a CSV file (ckks::ml::read_csv), encodes and
// encrypts them; the server computes x·y on the ciphertexts (multiply, relinearize, rescale); the
// owner decrypts and compares with the products in double precision. Exit code 0 when every slot
// is within 1e-6 of x·y, 1 otherwise.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/evaluator.h"
#include "ckks/keygen.h"
#include "ml/data/csv.h"

int main() {
  // The input file: a header, then one row per sample.
  const auto csv = std::filesystem::temp_directory_path() / "ckks_downstream_input.csv";
  std::ofstream(csv) << "x,y\n1.5,2\n-0.25,4\n3,-1.125\n0.5,0.5\n";
  const ckks::ml::Table table = ckks::ml::read_csv(csv.string());
  std::filesystem::remove(csv);
  std::vector<double> x, y;
  for (const auto& row : table.rows) {
    x.push_back(row[0]);
    y.push_back(row[1]);
  }

  // N = 2^13, q_0..q_2 of 60, 40, 40 bits, P of 60 bits, scale Δ = 2^40: depth 2, 128-bit secure.
  auto ctx = ckks::Context::create(ckks::Params::preset_n13());
  ckks::KeyGenerator keygen(ctx);
  const auto sk = keygen.secret_key();
  const auto pk = keygen.public_key(sk);
  const auto rk = keygen.relin_key(sk);

  ckks::Encoder encoder(ctx);
  ckks::Encryptor encryptor(ctx, pk);
  ckks::Evaluator ev(ctx);
  const int level = ctx->max_level();
  const auto ct_x = encryptor.encrypt(encoder.encode(x, level, ctx->default_scale()));
  const auto ct_y = encryptor.encrypt(encoder.encode(y, level, ctx->default_scale()));

  // x·y at scale Δ², relinearized back to two components, rescaled to level L−1 and scale ≈ Δ.
  const auto ct_xy = ev.rescale(ev.multiply_relin(ct_x, ct_y, rk));
  const std::vector<double> xy = encoder.decode(ckks::Decryptor(ctx, sk).decrypt(ct_xy));

  double max_err = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double want = x[i] * y[i];
    max_err = std::max(max_err, std::abs(xy[i] - want));
    std::printf("slot %zu: %g * %g = %.9f (decrypted), %.9f (plaintext)\n", i, x[i], y[i], xy[i], want);
  }
  const bool ok = max_err < 1e-6;
  std::printf("max error %.3g (%.1f bits of precision): %s\n", max_err, -std::log2(max_err),
              ok ? "OK" : "WRONG, above 1e-6");
  return ok ? 0 : 1;
}
