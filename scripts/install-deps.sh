#!/usr/bin/env bash
# Install what building, testing and running this project needs, from Debian 12's archive only.
# Idempotent: installs only the packages that are missing. Run as root (or through sudo).
set -euo pipefail
# build-essential, cmake: C++20 compiler and CMake 3.25 · libntl-dev, libgmp-dev: number theory and
# big integers · doctest-dev: tests · libbenchmark-dev: Google Benchmark · libcsv-dev: CSV parsing ·
# libcli11-dev: command line · nlohmann-json3-dev: JSON output and safetensors headers ·
# python3-sklearn: real data sets · dataset-fashion-mnist: Fashion-MNIST IDX files (in
# /usr/share/datasets/fashion-mnist) · zlib1g-dev: reading them gzipped · clang, libclang-rt-14-dev:
# libFuzzer for the fuzz targets of fuzz/ (run by .ci/run through fuzz/run.sh) · libpng-dev: the
# mask images of `ckks-ml unet --png` · libtbb-dev: oneTBB, the worker threads of the library's
# limb loops (ckks/math/threads.h) · libeigen3-dev: Eigen 3, the covariance eigensolver of
# `ckks-ml nn-train --features whiten` (ml/nn/nn_job.cpp; header-only, build time only).
# Not installed here: python3-torch (~900 MB), needed only to retrain ml/models/ with
# scripts/train_mlp.py; the library and tests use the committed weights.
packages=(
  build-essential cmake
  libntl-dev libgmp-dev
  doctest-dev
  libbenchmark-dev
  libcsv-dev
  libcli11-dev
  nlohmann-json3-dev
  python3-sklearn
  dataset-fashion-mnist zlib1g-dev
  clang libclang-rt-14-dev
  libpng-dev
  libtbb-dev
  libeigen3-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
