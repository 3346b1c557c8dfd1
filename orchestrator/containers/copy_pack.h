// The archiving half of `cp`: a file or directory tree, on the host or in a container, written
// as a tar stream (to standard output for `cp CONTAINER:PATH -`, else into a pipe that the
// extracting half reads). The tree is walked with *at calls that follow no symlink, so what
// a container changes meanwhile cannot lead the walk out of the tree.
#pragma once

#include <string>

#include "util/error.h"

namespace berth::containers {

/// The archive's reader went away (the extracting side failed and closed its end): its
/// error is the one to report.
class ReaderGone : public Error {
 public:
  using Error::Error;
};

/// Writes `source` (an O_PATH descriptor; a symlink is archived as the link) and, for a
/// directory, everything below it, to `out_fd` as a pax tar whose top entry is `top_name`
/// ("." puts a directory's entries at the archive's root, as "./<name>"). Owners, modes,
/// modification times, hard links (within the tree), devices and FIFOs are kept; sockets are
/// left out, as tar does. berth::Error `<label>: <why>` for what cannot be read.
void pack_archive(int source, const std::string& top_name, int out_fd, const std::string& label);

}  // namespace berth::containers
