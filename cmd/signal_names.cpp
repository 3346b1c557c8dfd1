#include "cmd/signal_names.h"

#include <signal.h>
#include <string.h>

#include <cctype>

#include "util/error.h"

namespace berth::cmd {

int signal_number(const std::string& text) {
  std::string name = text;
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name.starts_with("SIG")) name = name.substr(3);
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
    const int number = std::stoi(name);
    if (number > 0 && number < NSIG) return number;
  }
  for (int number = 1; number < NSIG; ++number) {
    const char* abbrev = ::sigabbrev_np(number);
    if (abbrev != nullptr && name == abbrev) return number;
  }
  throw Error("invalid signal \"" + text + "\"");
}

}  // namespace berth::cmd
