#include "image/curl_api.h"

#include <string>

#include "util/error.h"
#include "util/shared_library.h"

namespace berth::image {
namespace {

CurlApi load() {
  // Never unloaded: handles and the global state live until the process exits.
  static const SharedLibrary library({"libcurl.so.4"}, "libcurl4");
  CurlApi api;
#define BERTH_CURL_RESOLVE(name) \
  api.name = library.function<decltype(&::curl_##name)>("curl_" #name);
  BERTH_CURL_FUNCTIONS(BERTH_CURL_RESOLVE)
#undef BERTH_CURL_RESOLVE
  // Once per process, before any handle exists: curl_global_init is not thread-safe, and
  // the static initialisation around this call serialises the first users.
  const CURLcode code = api.global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) {
    throw Error(std::string("cannot initialise libcurl: ") + api.easy_strerror(code));
  }
  return api;
}

}  // namespace

const CurlApi& curl() {
  static const CurlApi api = load();
  return api;
}

}  // namespace berth::image
