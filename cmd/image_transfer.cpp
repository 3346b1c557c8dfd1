// `berth image pull|push|import|save|load` and `berth login|logout`: images moving in and out
// of the store.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "cmd/image_output.h"
#include "image/image_archive.h"
#include "image/import.h"
#include "image/pull.h"
#include "image/push.h"
#include "image/registry_auth.h"
#include "image/registry_client.h"
#include "util/error.h"

namespace berth::cmd {

namespace {

using image::ImageStore;

struct PullArgs {
  std::string name;
  std::string platform;
  bool quiet = false;
};

void run_pull(const GlobalOptions& global, const PullArgs& args) {
  global.prepare();
  const ImageStore store(global.root);
  const image::Reference reference = image::parse_reference(args.name);
  image::PullOptions options;
  if (!args.platform.empty()) options.platform = image::Platform::parse(args.platform);
  image::Progress progress(image::Progress::detect(args.quiet, stdout), stdout);
  options.progress = &progress;
  image::pull_image(store, reference, options);
  std::cout << reference.str() << "\n";
}

struct PushArgs {
  std::string name;
  bool quiet = false;
};

void run_push(const GlobalOptions& global, const PushArgs& args) {
  global.prepare();
  const ImageStore store(global.root);
  image::Progress progress(image::Progress::detect(args.quiet, stdout), stdout);
  image::PushOptions options;
  options.progress = &progress;
  image::push_image(store, image::parse_reference_name(args.name), options);
}

struct ImportArgs {
  std::string source;
  std::string name;
  std::vector<std::string> changes;
  std::string message;
  std::string platform;
};

void run_import(const GlobalOptions& global, const ImportArgs& args) {
  global.prepare();
  const ImageStore store(global.root);
  image::ImportOptions options;
  options.changes = args.changes;
  options.message = args.message;
  if (!args.platform.empty()) options.platform = image::Platform::parse(args.platform);
  std::optional<image::Reference> name;
  if (!args.name.empty()) name = image::parse_reference(args.name);
  std::cout << image::import_rootfs(store, args.source, name, options).str() << "\n";
}

void run_save(const GlobalOptions& global, const std::vector<std::string>& names,
              const std::string& output) {
  global.prepare();
  if ((output.empty() || output == "-") && ::isatty(STDOUT_FILENO) != 0) {
    throw Error("refusing to write an image archive to a terminal; use -o FILE or redirect");
  }
  const ImageStore store(global.root);
  image::save_images(store, names, output.empty() ? "-" : output);
}

void run_load(const GlobalOptions& global, const std::string& input, bool quiet) {
  global.prepare();
  const ImageStore store(global.root);
  for (const auto& loaded : image::load_images(store, input.empty() ? "-" : input)) {
    if (quiet) continue;
    for (const auto& name : loaded.names) std::cout << "Loaded image: " << name << "\n";
    if (loaded.names.empty()) std::cout << "Loaded image ID: " << loaded.id.str() << "\n";
  }
}

struct LoginArgs {
  std::string registry;
  std::string username;
  std::string password;
  bool password_stdin = false;
};

void run_login(const GlobalOptions& global, const LoginArgs& args) {
  global.prepare();
  image::Credentials credentials{args.username, args.password};
  if (args.password_stdin) {
    if (!args.password.empty())
      throw Error("--password and --password-stdin are mutually exclusive");
    std::getline(std::cin, credentials.password);
  }
  if (credentials.username.empty()) throw Error("login needs a username (-u)");
  if (credentials.password.empty()) throw Error("login needs a password (-p or --password-stdin)");
  const std::string domain = image::login_domain(args.registry);
  image::RegistryClient client(domain);
  client.check_login(credentials);
  image::store_credentials(domain, credentials);
  std::cout << "Login Succeeded\n";
}

void run_logout(const GlobalOptions& global, const std::string& registry) {
  global.prepare();
  const std::string domain = image::login_domain(registry);
  if (image::erase_credentials(domain)) {
    std::cout << "Removing login credentials for " << domain << "\n";
  } else {
    std::cout << "Not logged in to " << domain << "\n";
  }
}

}  // namespace

void add_image_transfer_commands(CLI::App& image, CLI::App& app, const GlobalOptions& global) {
  auto pull_args = std::make_shared<PullArgs>();
  CLI::App* pull = image.add_subcommand("pull", "Download an image from a registry");
  pull->add_option("name", pull_args->name, "Image reference")->required();
  pull->add_option("--platform", pull_args->platform, "os/arch[/variant] (default linux/amd64)");
  pull->add_flag("-q,--quiet", pull_args->quiet, "Print only the image name");
  pull->callback([&global, pull_args] { run_pull(global, *pull_args); });

  auto push_args = std::make_shared<PushArgs>();
  CLI::App* push = image.add_subcommand("push", "Upload an image to a registry");
  push->add_option("name", push_args->name, "Image reference (every tag when none is given)")
      ->required();
  push->add_flag("-q,--quiet", push_args->quiet, "Print nothing but errors");
  push->callback([&global, push_args] { run_push(global, *push_args); });

  auto import_args = std::make_shared<ImportArgs>();
  CLI::App* import = image.add_subcommand("import", "Make an image from a root filesystem tar");
  import->add_option("file", import_args->source, "Tar file, or - for standard input")->required();
  import->add_option("name", import_args->name, "Name for the image");
  import->add_option("-c,--change", import_args->changes, "Dockerfile instruction to apply")
      ->allow_extra_args(false);  // one instruction per flag, so FILE REF may follow
  import->add_option("-m,--message", import_args->message, "History comment");
  import->add_option("--platform", import_args->platform, "os/arch[/variant] of the image");
  import->callback([&global, import_args] { run_import(global, *import_args);
});

auto save_names = std::make_shared<std::vector<std::string>>();
auto save_output = std::make_shared<std::string>();
CLI::App* save = image.add_subcommand("save", "Write images to a tar archive");
save->add_option("image", *save_names, "Image names or ids")->required();
save->add_option("-o,--output", *save_output, "Archive file (default: standard output)");
save->callback([&global, save_names, save_output] { run_save(global, *save_names, *save_output); });

auto load_input = std::make_shared<std::string>();
auto load_quiet = std::make_shared<bool>(false);
CLI::App* load = image.add_subcommand("load", "Read images from a tar archive");
load->add_option("-i,--input", *load_input, "Archive file (default: standard input)");
load->add_flag("-q,--quiet", *load_quiet, "Print nothing");
load->callback([&global, load_input, load_quiet] { run_load(global, *load_input, *load_quiet); });

auto login_args = std::make_shared<LoginArgs>();
CLI::App* login = app.add_subcommand("login", "Log in to a registry");
login->add_option("registry", login_args->registry, "Registry (default: Docker Hub)");
login->add_option("-u,--username", login_args->username, "User name");
login->add_option("-p,--password", login_args->password, "Password");
login->add_flag("--password-stdin", login_args->password_stdin,
                "Read the password from standard input");
login->callback([&global, login_args] { run_login(global, *login_args); });

auto logout_registry = std::make_shared<std::string>();
CLI::App* logout = app.add_subcommand("logout", "Forget a registry's credentials");
logout->add_option("registry", *logout_registry, "Registry (default: Docker Hub)");
logout->callback([&global, logout_registry] { run_logout(global, *logout_registry); });
}  // namespace berth::cmd

}  // namespace berth::cmd
