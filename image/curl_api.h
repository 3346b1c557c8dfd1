// libcurl, opened with dlopen on first use (util/shared_library.h) and initialised once.
#pragma once

#include <curl/curl.h>

namespace berth::image {

// Every libcurl function berth calls. Members drop the `curl_` prefix: libcurl's headers
// wrap curl_easy_setopt and curl_easy_getinfo in type-checking macros under GCC, and a
// member of the same name followed by `(` would be expanded by them.
#define BERTH_CURL_FUNCTIONS(X) \
  X(global_init)                \
  X(easy_init)                  \
  X(easy_cleanup)               \
  X(easy_reset)                 \
  X(easy_setopt)                \
  X(easy_getinfo)               \
  X(easy_perform)               \
  X(easy_strerror)              \
  X(easy_escape)                \
  X(free)                       \
  X(slist_append)               \
  X(slist_free_all)             \
  X(url)                        \
  X(url_cleanup)                \
  X(url_set)                    \
  X(url_get)

struct CurlApi {
#define BERTH_CURL_MEMBER(name) decltype(&::curl_##name) name = nullptr;
  BERTH_CURL_FUNCTIONS(BERTH_CURL_MEMBER)
#undef BERTH_CURL_MEMBER
};

/// libcurl's functions, loaded and curl_global_init'ed on the first call (thread-safe);
/// throws berth::Error when libcurl cannot be loaded or initialised.
const CurlApi& curl();

}  // namespace berth::image
