// ckks-ml: the command-line front end of the encrypted machine-learning layer.
//
//   ckks-ml linreg …   linear regression trained on encrypted data        (cmd_linreg.cpp)
//   ckks-ml lffr …     regression through the logistic function, encrypted (cmd_linreg.cpp)
//   ckks-ml logreg …   logistic regression trained on encrypted data      (cmd_logreg.cpp)
//   ckks-ml logreg-minibatch …  mini-batch logistic regression, Fashion-MNIST streamed from disk
//                                                   (cmd_logreg_minibatch.cpp)
//   ckks-ml mlp …      encrypted MLP inference on Fashion-MNIST           (cmd_mlp.cpp)
//   ckks-ml mlr …      multiclass logistic regression trained on encrypted data (cmd_mlr.cpp)
//   ckks-ml knn …      k-nearest neighbours on encrypted queries, two modes (cmd_knn.cpp)
//   ckks-ml unet …     encrypted U-Net segmentation of Fashion-MNIST scenes (cmd_unet.cpp)
//   ckks-ml keygen | encrypt | infer | decrypt …   the client/server workflow through files
//                                                   (cmd_workflow.cpp, ml/workflow/workflow.h)
//
// Every subcommand prints a table, or one JSON object with --json; `ckks-ml SUBCOMMAND --help`
// lists its options. Exit codes: 0 success, 1 usage error, 2 bad input or parameters (a
// ckks::Error, message on stderr), 3 internal error.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <vector>

#include "ckks/errors.h"
#include "ckks/math/memory.h"
#include "ml/apps/cli_common.h"

int main(int argc, char** argv) {
  using namespace ckks::ml::cli;
  ckks::math::keep_freed_memory_for_reuse();  // reuse freed ciphertext buffers (ckks/math/memory.h)
  CLI::App app{"ckks-ml: machine learning on CKKS-encrypted data"};
  app.require_subcommand(1);
  const std::vector<Command> commands = {add_linreg(app), add_lffr(app), add_logreg(app), add_logreg_minibatch(app),
                                         add_mlp(app), add_mlr(app), add_knn(app), add_resnet(app),
                                         add_transfer(app),  // cmd_transfer.cpp
                                         add_nn_train(app), add_unet(app),  // cmd_unet.cpp
                                         add_keygen(app), add_encrypt(app), add_infer(app), add_decrypt(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);  // --help: the help text, exit 0
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11's own codes (105, 106, …) would contradict the documented 1 for a usage error.
    app.exit(e);  // prints the message (and the hint to use --help)
    return 1;
  }
  try {
    for (const Command& c : commands)
      if (c.app->parsed()) return c.run();
  } catch (const ckks::Error& e) {
    std::fprintf(stderr, "ckks-ml: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ckks-ml: internal error: %s\n", e.what());
    return 3;
  }
  return 1;
}
