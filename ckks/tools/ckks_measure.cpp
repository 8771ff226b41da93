// ckks-measure: the measurements behind the plots of docs/ (scripts/plot_measurements.py draws them).
//   ckks-measure --out DIR      writes DIR/precision_depth.csv, DIR/noise_ops.csv, DIR/runtime_n.csv
//
//  precision_depth.csv  log_scale,depth,bits — N = 2^15, q = {60, s × 12}, p = {60} for s = 30, 40, 50
//                       (all within the 128-bit bound 881): a running product of ciphertexts holding
//                       values on the unit circle (so magnitudes stay 1), multiplied, relinearised
//                       and rescaled once per level; precision (worst of 16384 slots) after each.
//  noise_ops.csv        operation,bits,log2_error_times_scale — Params::preset_n14(): the precision
//                       after each basic operation on fresh inputs, and the error in units of the
//                       scale's integer grid (log2(max error · Δ)): "how many bits of noise".
//  runtime_n.csv        log_n,operation,ms — N = 2^12 … 2^16 with the same chain q = {60, 40, 40},
//                       p = {60} (L = 2; N = 2^12 is then outside the 128-bit table and is measured
//                       with allow_insecure, marked in the file), median of 5 runs, one thread.
// Fixed seeds throughout; timings depend on the machine (the file records nothing else about it).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "ckks/context.h"
#include "ckks/decryptor.h"
#include "ckks/encoder.h"
#include "ckks/encryptor.h"
#include "ckks/evaluator.h"
#include "ckks/keygen.h"
#include "ckks/math/errors.h"
#include "ckks/precision.h"

namespace {

using cvec = std::vector<std::complex<double>>;
using ckks::math::Csprng;

cvec unit_circle(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  cvec z(n);
  for (auto& v : z) v = std::polar(1.0, static_cast<double>(g() >> 11) * 0x1p-53 * 2 * M_PI);
  return z;
}

cvec random_unit_square(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  cvec z(n);
  for (auto& v : z) v = {static_cast<double>(g() >> 11) * 0x1p-52 - 1, static_cast<double>(g() >> 11) * 0x1p-52 - 1};
  return z;
}

struct Kit {
  ckks::ContextPtr ctx;
  ckks::KeyGenerator kg;
  ckks::SecretKey sk;
  ckks::PublicKey pk;
  ckks::Encoder enc;
  ckks::Encryptor pk_enc, sk_enc;
  ckks::Decryptor dec;
  ckks::Evaluator ev;
  explicit Kit(const ckks::Params& p)
      : ctx(ckks::Context::create(p)),
        kg(ctx, Csprng::insecure_fixed_seed_for_testing(1)),
        sk(kg.secret_key()),
        pk(kg.public_key(sk)),
        enc(ctx),
        pk_enc(ctx, pk, Csprng::insecure_fixed_seed_for_testing(2)),
        sk_enc(ctx, sk, Csprng::insecure_fixed_seed_for_testing(3)),
        dec(ctx, sk),
        ev(ctx) {}
  ckks::Ciphertext encrypt(const cvec& z, int level) {
    return pk_enc.encrypt(enc.encode(z, level, ctx->default_scale()));
  }
  cvec decrypt(const ckks::Ciphertext& c) { return enc.decode_complex(dec.decrypt(c)); }
};

void precision_vs_depth(const std::string& path) {
  std::ofstream out(path);
  out << "log_scale,depth,bits\n";
  for (int s : {30, 40, 50}) {
    ckks::Params p;
    p.log_n = 15;
    p.log_q = std::vector<int>(13, s);
    p.log_q[0] = 60;
    p.log_p = {60};
    p.log_scale = s;
    Kit k(p);
    const auto rk = k.kg.relin_key(k.sk);
    const std::size_t n = k.ctx->max_slots();
    cvec want = unit_circle(n, 10);
    ckks::Ciphertext acc = k.encrypt(want, k.ctx->max_level());
    out << s << ",0," << ckks::precision_bits(k.decrypt(acc), want) << "\n";
    for (int d = 1; d <= k.ctx->max_level(); ++d) {
      const cvec z = unit_circle(n, 10 + d);
      const ckks::Ciphertext f = k.encrypt(z, acc.level);
      acc = k.ev.rescale(k.ev.multiply_relin(acc, f, rk));
      for (std::size_t i = 0; i < n; ++i) want[i] *= z[i];
      out << s << "," << d << "," << ckks::precision_bits(k.decrypt(acc), want) << "\n";
      std::fprintf(stderr, "precision_depth: log_scale %d depth %d\n", s, d);
    }
  }
}

void noise_per_operation(const std::string& path) {
  std::ofstream out(path);
  out << "operation,bits,log2_error_times_scale\n";
  Kit k(ckks::Params::preset_n14());
  const auto rk = k.kg.relin_key(k.sk);
  const auto gk = k.kg.galois_keys(k.sk, {1}, true);
  const std::size_t n = k.ctx->max_slots();
  const int L = k.ctx->max_level();
  const double delta = k.ctx->default_scale();
  const cvec x = random_unit_square(n, 20), y = random_unit_square(n, 21);
  auto row = [&](const char* op, const cvec& got, const cvec& want) {
    const double bits = ckks::precision_bits(got, want);
    out << op << "," << bits << "," << std::log2(delta) - bits << "\n";
  };
  const ckks::Ciphertext cx = k.encrypt(x, L), cy = k.encrypt(y, L);
  const ckks::Ciphertext sx = k.sk_enc.encrypt(k.enc.encode(x, L, delta));
  cvec sum(n), prod(n), rot(n), conj(n), twice(n);
  for (std::size_t i = 0; i < n; ++i) {
    sum[i] = x[i] + y[i];
    prod[i] = x[i] * y[i];
    rot[i] = x[(i + 1) % n];
    conj[i] = std::conj(x[i]);
    twice[i] = 0.75 * x[i];
  }
  row("encode only", k.enc.decode_complex(k.enc.encode(x, L, delta)), x);
  row("encrypt (secret key)", k.decrypt(sx), x);
  row("encrypt (public key)", k.decrypt(cx), x);
  row("add", k.decrypt(k.ev.add(cx, cy)), sum);
  row("multiply by constant + rescale", k.decrypt(k.ev.rescale(k.ev.multiply_const(cx, 0.75))), twice);
  const ckks::Ciphertext m = k.ev.multiply_relin(cx, cy, rk);
  row("multiply + relinearise", k.decrypt(m), prod);
  row("multiply + relinearise + rescale", k.decrypt(k.ev.rescale(m)), prod);
  row("rotate by 1", k.decrypt(k.ev.rotate(cx, 1, gk)), rot);
  row("conjugate", k.decrypt(k.ev.conjugate(cx, gk)), conj);
}

double median_ms(const std::function<void()>& f, int reps = 5) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void runtime_vs_n(const std::string& path) {
  std::ofstream out(path);
  out << "log_n,operation,ms,secure\n";
  for (int log_n = 12; log_n <= 16; ++log_n) {
    ckks::Params p;
    p.log_n = log_n;
    p.log_q = {60, 40, 40};
    p.log_p = {60};
    p.log_scale = 40;
    p.allow_insecure = log_n < 13;
    Kit k(p);
    const auto rk = k.kg.relin_key(k.sk);
    const auto gk = k.kg.galois_keys(k.sk, {1});
    const cvec x = random_unit_square(k.ctx->max_slots(), 30);
    const int L = k.ctx->max_level();
    const ckks::Ciphertext c = k.encrypt(x, L);
    const ckks::Ciphertext m = k.ev.multiply_relin(c, c, rk);
    const int secure = k.ctx->security_bits() >= 128;
    auto row = [&](const char* op, const std::function<void()>& f) {
      out << log_n << "," << op << "," << median_ms(f) << "," << secure << "\n";
    };
    row("encode", [&] { (void)k.enc.encode(x, L, k.ctx->default_scale()); });
    row("encrypt (public key)", [&] { (void)k.encrypt(x, L); });
    row("multiply + relinearise", [&] { (void)k.ev.multiply_relin(c, c, rk); });
    row("rescale", [&] { (void)k.ev.rescale(m); });
    row("rotate", [&] { (void)k.ev.rotate(c, 1, gk); });
    std::fprintf(stderr, "runtime_n: log_n %d\n", log_n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ckks-measure: the measurements behind the plots of docs/"};
  std::string out_dir;
  app.add_option("--out", out_dir, "directory for the CSV files")->required();
  CLI11_PARSE(app, argc, argv);
  try {
    std::filesystem::create_directories(out_dir);
    precision_vs_depth(out_dir + "/precision_depth.csv");
    noise_per_operation(out_dir + "/noise_ops.csv");
    runtime_vs_n(out_dir + "/runtime_n.csv");
    std::printf("ckks-measure: wrote %s/{precision_depth,noise_ops,runtime_n}.csv\n", out_dir.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ckks-measure: error: %s\n", e.what());
    return 2;
  }
}
