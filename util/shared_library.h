// Loading a shared library when it is first needed instead of at start-up.
//
// libcurl and libarchive pull in ~40 shared objects between them, which would add several
// milliseconds to every berth command (bench/startup.sh); only image transfers need them, so
// they are opened with dlopen on first use and their functions resolved by name.
#pragma once

#include <string>

namespace berth {

class SharedLibrary {
 public:
  /// Opens the first of `sonames` that loads (e.g. {"libcurl.so.4"}); throws berth::Error
  /// `cannot load <soname>: <dlerror>; is the <package> package installed?`.
  SharedLibrary(std::initializer_list<const char*> sonames, const char* package);
  ~SharedLibrary();
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;

  /// The address of `symbol`; throws berth::Error naming the symbol and the library.
  void* symbol(const char* name) const;

  /// `symbol` cast to the type of the function it names, e.g.
  /// `lib.function<decltype(&curl_easy_init)>("curl_easy_init")`.
  template <typename Function>
  Function function(const char* name) const {
    return reinterpret_cast<Function>(symbol(name));
  }

 private:
  void* m_handle = nullptr;
  std::string m_soname;
};

}  // namespace berth
