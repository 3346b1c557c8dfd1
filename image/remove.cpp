#include "image/remove.h"

#include <algorithm>
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

/// The first user of image `id` (the running one first), if any.
const ImageUser* user_of(const std::vector<ImageUser>& users, const Digest& id) {
  const ImageUser* found = nullptr;
  for (const auto& user : users) {
    if (user.image_id != id) continue;
    if (user.running) return &user;
    if (found == nullptr) found = &user;
  }
  return found;
}

std::string short_id(const std::string& id) {
  return id.substr(0, 12);
}

std::set<std::string> layers_of(const std::vector<ImageUser>& users) {
  std::set<std::string> layers;
  for (const auto& user : users) layers.insert(user.layer_dirs.begin(), user.layer_dirs.end());
  return layers;
}

}  // namespace

RemoveReport remove_images(const ImageStore& store, const std::vector<std::string>& names,
                           bool force, const std::vector<ImageUser>& users) {
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
    const ImageUser* user = user_of(users, id);

    // A name that is a stored reference removes just that reference; the last tag of an
    // image a container uses only with force, so that it does not silently go dangling.
    std::optional<Reference> reference;
    try {
      reference = parse_reference(name);
    } catch (const Error&) {
    }
    if (reference && store.resolve(*reference) && is_tag_reference(reference->str()) &&
        user != nullptr && !force) {
      const auto tags = std::count_if(records.begin(), records.end(), [&](const auto& record) {
        return ids.at(record.name) == id && is_tag_reference(record.name);
      });
      if (tags == 1) {
        throw Error("conflict: unable to remove repository reference \"" + name +
                    "\" (must force) - container " + short_id(user->container_id) +
                    " is using its referenced image " + id.short_hex());
      }
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
    if (user != nullptr && user->running) {
      throw Error("conflict: unable to delete " + id.short_hex() +
                  " (cannot be forced) - image is being used by running container " +
                  short_id(user->container_id));
    }
    if (user != nullptr && !force) {
      throw Error("conflict: unable to delete " + id.short_hex() +
                  " (must be forced) - image is being used by stopped container " +
                  short_id(user->container_id));
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
    report.reclaimed = store.collect_garbage(layers_of(users));
  }
  if (!missing.empty()) {
    std::string message = "No such image: " + missing.front();
    for (std::size_t i = 1; i < missing.size(); ++i) message += ", " + missing[i];
    throw Error(message);
  }
  return report;
}

RemoveReport prune_images(const ImageStore& store, const std::vector<ImageUser>& users) {
  RemoveReport report;
  for (const auto& image : store.images()) {
    if (!image.repo_tags.empty() || user_of(users, image.id) != nullptr) continue;
    remove_names(store, image.repo_digests, report);
    store.remove_unnamed(image.manifest.digest);
    report.deleted.push_back(image.id);
  }
  report.untagged.clear();  // prune reports images, not the digest names they had
  const StoreLock lock = store.lock_exclusive();
  report.reclaimed = store.collect_garbage(layers_of(users));
  return report;
}

}  // namespace berth::image
