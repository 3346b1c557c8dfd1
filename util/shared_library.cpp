#include "util/shared_library.h"

#include <dlfcn.h>

#include "util/error.h"

namespace berth {

SharedLibrary::SharedLibrary(std::initializer_list<const char*> sonames, const char* package) {
  std::string reasons;
  for (const char* soname : sonames) {
    m_handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (m_handle != nullptr) {
      m_soname = soname;
      return;
    }
    if (!reasons.empty()) reasons += "; ";
    reasons += dlerror();
  }
  throw Error("cannot load " + std::string(*sonames.begin()) + ": " + reasons + "; is the " +
              package + " package installed?");
}

// The library stays loaded: pointers into it may outlive this object in static tables, and
// unloading curl or libarchive at exit buys nothing.
SharedLibrary::~SharedLibrary() = default;

void* SharedLibrary::symbol(const char* name) const {
  dlerror();
  void* address = dlsym(m_handle, name);
  if (address == nullptr) {
    const char* reason = dlerror();
    throw Error("cannot find " + std::string(name) + " in " + m_soname + ": " +
                (reason != nullptr ? reason : "null symbol"));
  }
  return address;
}

}  // namespace berth
