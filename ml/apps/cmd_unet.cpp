// ckks-ml unet [--images K] [--plain-images M] [--model PATH] [--data DIR] [--png DIR] [--json]
//
// Leveled encrypted segmentation with the HE-friendly U-Net on 32 × 32 Fashion-MNIST scenes
// (ml/unet/unet_encrypted.h): plaintext mean IoU and pixel accuracy on the test scenes (C++ forward
// pass, ml/unet/unet_plain.h), then K test scenes encrypted one at a time at 128-bit parameters,
// evaluated by the server without the secret key and decrypted: encrypted mean IoU and pixel
// accuracy, the fraction of pixels whose decrypted label equals the plaintext one, seconds per
// layer type, the level plan, key sizes and peak memory. --png DIR writes, per encrypted scene,
// the input, the plaintext mask and the decrypted mask side by side (libpng).
#include <png.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "ckks/errors.h"
#include "ml/apps/cli_common.h"
#include "ml/unet/unet_job.h"

namespace ckks::ml::cli {
namespace {

struct UNetOptions {
  std::size_t images = 10;
  std::size_t plain_images = kUNetTestScenes;
  std::string model;  // empty: the committed model
  std::string data = kDebianFashionMnistDir;
  std::string png_dir;
  bool json = false;
};

// Colours of the six scene labels (background, tops, trousers, dress, footwear, bag).
constexpr std::array<std::array<unsigned char, 3>, kSceneClasses> kPalette = {{
    {0, 0, 0}, {230, 80, 60}, {70, 130, 230}, {240, 200, 40}, {80, 200, 90}, {190, 90, 220}}};

/// Writes `rgb` (width × height × 3 bytes, row-major) as an 8-bit RGB PNG. Throws InputError naming
/// the file and --png if it cannot be written.
void write_png(const std::string& path, std::size_t width, std::size_t height, const std::vector<unsigned char>& rgb) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw InputError("unet: cannot write " + path + "; check that the --png directory is writable");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
    throw InputError("unet: libpng failed to write " + path + " (--png)");
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (std::size_t y = 0; y < height; ++y)
    png_write_row(png, const_cast<png_bytep>(rgb.data() + y * width * 3));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(f);
}

/// One scene as three 32 × 32 panels (input grey, plaintext mask, decrypted mask), each pixel
/// drawn as a zoom × zoom square, with a 4-pixel white gutter between the panels.
void write_scene_png(const std::string& path, const UNetSceneResult& r) {
  constexpr std::size_t zoom = 4, gutter = 4, side = kSceneSize * zoom;
  const std::size_t width = 3 * side + 2 * gutter;
  std::vector<unsigned char> rgb(width * side * 3, 255);
  for (std::size_t y = 0; y < side; ++y)
    for (std::size_t x = 0; x < side; ++x) {
      const std::size_t p = (y / zoom) * kSceneSize + x / zoom;
      const auto grey = static_cast<unsigned char>(std::lround(255.0 * std::clamp(r.scene.image[p], 0.0f, 1.0f)));
      const std::array<std::array<unsigned char, 3>, 3> px = {
          {{grey, grey, grey}, kPalette[static_cast<std::size_t>(r.plain_mask[p])],
           kPalette[static_cast<std::size_t>(r.encrypted_mask[p])]}};
      for (std::size_t panel = 0; panel < 3; ++panel)
        for (std::size_t ch = 0; ch < 3; ++ch) rgb[(y * width + panel * (side + gutter) + x) * 3 + ch] = px[panel][ch];
    }
  write_png(path, width, side, rgb);
}

/// The report as the JSON object `--json` prints (and the table is read from).
nlohmann::json to_json(const UNetReport& r) {
  nlohmann::json j;
  j["model"] = "unet (enc 8/16/32 channels, quadratic activations, mean pooling, ConvTranspose2d k=2 s=2)";
  j["dataset"] = "32x32 scenes of 2-4 Fashion-MNIST test garments (ml/unet/scenes.h, seed 20), 6 labels";
  j["plaintext"]["images"] = r.plain_images;  // the scores only when there are images
  if (r.plain_images > 0) {
    j["plaintext"]["mean_iou"] = r.plain_mean_iou;
    j["plaintext"]["pixel_accuracy"] = r.plain_pixel_accuracy;
  }
  j["images_encrypted"] = r.encrypted_images;
  if (r.encrypted_images > 0) {
    const double nd = static_cast<double>(r.encrypted_images);
    const int ni = static_cast<int>(r.encrypted_images);
    nlohmann::json layers, plan = nlohmann::json::array();
    for (const auto& [kind, c] : r.timings.cost)  // one object per layer type: time and operation counts
      layers[kind] = {{"seconds", r.timings.seconds.at(kind) / nd},
                      {"cpu_seconds", r.timings.cpu_seconds.at(kind) / nd},
                      {"rotations", c.rotations / ni},
                      {"plaintext_products", c.plaintext_products / ni},
                      {"levels", c.levels / ni}};
    for (const auto& s : r.plan) plan.push_back({{"layer", s.layer}, {"levels", s.levels}, {"how", s.how}});
    j["plaintext_on_encrypted_scenes"] = {{"mean_iou", r.plain_k_mean_iou}, {"pixel_accuracy", r.plain_k_pixel_accuracy}};
    j["encrypted"] = {{"mean_iou", r.encrypted_mean_iou}, {"pixel_accuracy", r.encrypted_pixel_accuracy},
                      {"images", r.encrypted_images}};
    j["agreement"] = r.agreement;
    j["max_logit_error"] = r.max_logit_error;
    j["logit_error_bits"] = r.max_logit_error > 0 ? std::log2(r.max_logit_error) : -100.0;
    j["max_abs_logit"] = r.max_abs_logit;
    j["levels"] = {{"plan", plan}, {"needed", r.levels_needed}, {"used", r.levels_used}};
    j["params"] = {{"log_n", r.params.log_n}, {"log_q", r.params.log_q}, {"log_p", r.params.log_p},
                   {"log_scale", r.params.log_scale}, {"dnum", r.dnum}, {"log_qp", r.log_qp},
                   {"security_bits", r.security_bits}};
    j["keys"] = {{"galois_keys", r.galois_keys}, {"galois_bytes", r.galois_bytes}, {"relin_bytes", r.relin_bytes}};
    j["per_layer_type_per_image"] = layers;
    j["seconds"] = {{"keygen", r.seconds_keygen}, {"encrypt_per_image", r.seconds_encrypt / nd},
                    {"infer_per_image", r.seconds_infer / nd}, {"infer_cpu_per_image", r.cpu_seconds_infer / nd},
                    {"decrypt_per_image", r.seconds_decrypt / nd}};
  }
  j["seconds"]["plaintext"] = r.seconds_plain;
  j["seconds"]["total"] = r.seconds_total;
  j["peak_memory_bytes"] = r.peak_memory_bytes;
  return j;
}

void print_table(const UNetReport& r, const nlohmann::json& j) {
  std::printf("Encrypted U-Net segmentation (quadratic activations, leveled, no bootstrapping), Fashion-MNIST scenes\n");
  if (r.plain_images)
    std::printf("  plaintext (%zu test scenes): mean IoU %.4f, pixel accuracy %.4f\n", r.plain_images, r.plain_mean_iou,
                r.plain_pixel_accuracy);
  if (r.encrypted_images > 0) {
    const auto& p = j["params"];
    std::printf("  params: N = 2^%d, %zu data primes (Δ = 2^%g), %zu special primes, dnum %d, log QP %.0f, security: %s\n",
                p["log_n"].get<int>(), p["log_q"].size(), p["log_scale"].get<double>(), p["log_p"].size(),
                p["dnum"].get<int>(), p["log_qp"].get<double>(),
                p["security_bits"].get<int>() >= 128 ? "128-bit" : "INSECURE");
    std::printf("  %zu encrypted scenes: mean IoU %.4f, pixel accuracy %.4f (plaintext on them: %.4f, %.4f)\n",
                r.encrypted_images, r.encrypted_mean_iou, r.encrypted_pixel_accuracy, r.plain_k_mean_iou,
                r.plain_k_pixel_accuracy);
    std::printf("  agreement with the plaintext masks: %.5f of the pixels; max logit error %.3e (logits up to %.1f)\n",
                r.agreement, r.max_logit_error, r.max_abs_logit);
    std::printf("  levels: %d planned, %d used\n", r.levels_needed, r.levels_used);
    std::printf("  seconds per scene: encrypt %.2f, inference %.1f (CPU %.1f), decrypt %.3f\n",
                j["seconds"]["encrypt_per_image"].get<double>(), j["seconds"]["infer_per_image"].get<double>(),
                j["seconds"]["infer_cpu_per_image"].get<double>(), j["seconds"]["decrypt_per_image"].get<double>());
    for (const auto& [kind, c] : j["per_layer_type_per_image"].items())
      std::printf("    %-15s %7.1f s, CPU %6.1f s  (%d rotations, %d plaintext products, %d levels)\n", kind.c_str(),
                  c["seconds"].get<double>(), c["cpu_seconds"].get<double>(), c["rotations"].get<int>(),
                  c["plaintext_products"].get<int>(), c["levels"].get<int>());
    std::printf("  keys: %zu Galois keys %.2f GiB, relinearisation key %.0f MiB (generated in %.1f s)\n", r.galois_keys,
                r.galois_bytes / (1 << 30), r.relin_bytes / (1 << 20), r.seconds_keygen);
  }
  std::printf("  peak memory %.2f GiB; total %.1f s\n", r.peak_memory_bytes / (1 << 30), r.seconds_total);
}

int run_unet(const UNetOptions& o) {
  if (!o.png_dir.empty() && o.images == 0)
    throw InputError("unet: --png writes the encrypted scenes' masks but --images is 0; give --images 1 or more");
  UNetJobOptions jo;
  jo.images = o.images;
  jo.plain_images = o.plain_images;
  jo.model = o.model.empty() ? std::string(CKKS_MODELS_DIR) + "/unet_fmnist_scenes.safetensors" : o.model;
  jo.data = o.data;
  if (!o.png_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.png_dir, ec);
    if (ec) throw InputError("unet: cannot create the --png directory " + o.png_dir + ": " + ec.message());
  }
  const UNetReport r = run_unet_job(jo, [](const std::string& line) { std::fputs(line.c_str(), stderr); });
  for (std::size_t i = 0; i < r.scenes.size() && !o.png_dir.empty(); ++i) {
    const std::string path = (std::filesystem::path(o.png_dir) / ("scene" + std::to_string(i) + ".png")).string();
    write_scene_png(path, r.scenes[i]);
    std::fprintf(stderr, "[unet] wrote %s (input | plaintext mask | decrypted mask)\n", path.c_str());
  }
  const nlohmann::json j = to_json(r);
  if (o.json) std::cout << j.dump(2) << "\n";
  else print_table(r, j);
  return 0;
}

}  // namespace

Command add_unet(CLI::App& app) {
  auto uo = std::make_shared<UNetOptions>();
  auto* u = app.add_subcommand("unet", "leveled encrypted U-Net segmentation of Fashion-MNIST scenes at 128-bit security");
  u->add_option("--images", uo->images, "test scenes to encrypt and segment one at a time (default 10; 0: plaintext only)");
  u->add_option("--plain-images", uo->plain_images, "test scenes for the plaintext scores (default 5000, all)");
  u->add_option("--model", uo->model, "safetensors weights (default: the committed ml/models/unet_fmnist_scenes.safetensors)");
  u->add_option("--data", uo->data, "directory of the Fashion-MNIST IDX files (default: Debian's)");
  u->add_option("--png", uo->png_dir, "write sceneI.png per encrypted scene into this directory: input | plaintext mask | decrypted mask");
  u->add_flag("--json", uo->json, "print one JSON object instead of the table");
  return {u, [uo] { return run_unet(*uo); }};
}

}  // namespace ckks::ml::cli
