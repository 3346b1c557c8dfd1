#include "image/remove.h"

#include <map>
#include <set>

#include "util/error.h"

namespace berth::image {

namespace {

std::string familiar_of(const std::string& stored_name) {
  try {
    return parse_reference(stored_name).familiar();
  } catch (const Error&) {
    return stored_name;  // written by berth, so parseable; keep the raw text just in case
  }
}

bool is_tag_reference(const std::string& stored_name) {
  return stored_name.find('@') == std::string::npos;
}

/// The image id (config digest) of every record, read once.
std::map<std::string, Digest> ids_by_name(const ImageStore& store,
                                          const std::vector<ImageRecord>& records) {
  std::map<Digest, Digest> id_of_manifest;
  std::map<std::string, Digest> ids;
  for (const auto& record : records) {
    auto [it, fresh] = id_of_manifest.try_emplace(record.manifest.digest);
    if (fresh) it->second = store.manifest(record.manifest).config.digest;
    ids[record.name] = it->second;
  }
  return ids;
}

void remove_names(const ImageStore& store, const std::vector<std::string>& names,
                  RemoveReport& report) {
  for (const auto& name : names) {
    if (store.remove_reference(parse_reference(name))) report.untagged.push_back(familiar_of(name));
  }
}

/// Removes every remaining reference to an image whose tags are all gone (its digest
/// references alone keep nothing alive, as in Docker) and reports it deleted.
void drop_untagged(const ImageStore& store, const Digest& id, RemoveReport& report) {
  const auto records = store.records();
  const auto ids = ids_by_name(store, records);
  std::vector<std::string> digest_names;
  for (const auto& record : records) {
    if (ids.at(record.name) != id) continue;
    if (is_tag_reference(record.name)) return;  // still tagged elsewhere: the image stays
    digest_names.push_back(record.name);
  }
  remove_names(store, digest_names, report);
  report.deleted.push_back(id);
}

}  // namespace

RemoveReport remove_images(const ImageStore& store, const std::vector<std::string>& names,
                           bool force) {
  RemoveReport report;
  std::vector<std::string> missing;
  for (const auto& name : names) {
    const auto found = store.find(name);
    if (!found) {
      missing.push_back(name);
      continue;
    }
    const Digest id = store.manifest(*found).config.digest;
    const auto records = store.records();
    const auto ids = ids_by_name(store, records);

    // A name that is a stored reference removes just that reference.
    std::optional<Reference> reference;
    try {
      reference = parse_reference(name);
    } catch (const Error&) {
    }
    if (reference && store.remove_reference(*reference)) {
      report.untagged.push_back(reference->familiar());
      drop_untagged(store, id, report);
      continue;
    }

    // An id removes every name of the image.
    std::vector<std::string> image_names;
    std::set<std::string> repositories;
    for (const auto& record : records) {
      if (ids.at(record.name) != id) continue;
      image_names.push_back(record.name);
      if (is_tag_reference(record.name))
        repositories.insert(parse_reference(record.name).repository());
    }
    if (repositories.size() > 1 && !force) {
      throw Error("conflict: unable to delete " + id.short_hex() +
                  " (must be forced) - image is referenced in multiple repositories");
    }
    remove_names(store, image_names, report);
    store.remove_unnamed(found->digest);
    report.deleted.push_back(id);
  }
  if (!report.deleted.empty() || !report.untagged.empty()) {
    const StoreLock lock = store.lock_exclusive();
    report.reclaimed = store.collect_garbage();
  }
  if (!missing.empty()) {
    std::string message = "No such image: " + missing.front();
    for (std::size_t i = 1; i < missing.size(); ++i) message += ", " + missing[i];
    throw Error(message);
  }
  return report;
}

RemoveReport prune_images(const ImageStore& store) {
  RemoveReport report;
  for (const auto& image : store.images()) {
    if (!image.repo_tags.empty()) continue;
    remove_names(store, image.repo_digests, report);
    store.remove_unnamed(image.manifest.digest);
    report.deleted.push_back(image.id);
  }
  report.untagged.clear();  // prune reports images, not the digest names they had
  const StoreLock lock = store.lock_exclusive();
  report.reclaimed = store.collect_garbage();
  return report;
}

}  // namespace berth::image
