#include "ckks/params.h"

#include <sstream>

namespace ckks {

namespace {
Params make(int log_n, std::vector<int> q, std::vector<int> p, int dnum = 0) {
  Params x;
  x.log_n = log_n;
  x.log_q = std::move(q);
  x.log_p = std::move(p);
  x.log_scale = 40;
  x.dnum = dnum;
  return x;
}
std::vector<int> chain(int first, int middle, int count) {
  std::vector<int> v{first};
  v.insert(v.end(), count, middle);
  return v;
}
}  // namespace

Params Params::preset_n13() { return make(13, {60, 40, 40}, {60}); }
Params Params::preset_n14() { return make(14, chain(60, 40, 7), {60}); }
Params Params::preset_n15() { return make(15, chain(60, 40, 18), {60}); }
Params Params::preset_n16() { return make(16, chain(60, 40, 38), {60, 60}, 20); }

std::string Params::describe() const {
  std::ostringstream s;
  auto list = [&](const std::vector<int>& v) {
    s << '{';
    for (std::size_t i = 0; i < v.size(); ++i) s << (i ? "," : "") << v[i];
    s << '}';
  };
  auto sizes = [&](const std::vector<std::uint64_t>& primes, const std::vector<int>& bits) {
    if (primes.empty()) return list(bits);
    std::vector<int> b;
    for (std::uint64_t q : primes) b.push_back(q ? 64 - __builtin_clzll(q) : 0);
    s << '!';
    list(b);
  };
  s << "N=2^" << log_n << " q=";
  sizes(q_primes, log_q);
  s << " p=";
  sizes(p_primes, log_p);
  s << " scale=2^" << log_scale;
  if (dnum) s << " dnum=" << dnum;
  return s.str();
}

int max_log_qp_128(int log_n) {
  switch (log_n) {
    case 10: return 27;
    case 11: return 54;
    case 12: return 109;
    case 13: return 218;
    case 14: return 438;
    case 15: return 881;
    case 16: return 1747;
    default: return 0;
  }
}

}  // namespace ckks
