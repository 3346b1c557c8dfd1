// Merging of canonical compose trees: several `-f` files, `extends`, and the unicity pass.
//
// The rules follow compose-go's override package: mappings merge key by key, scalars are
// replaced, sequences are appended (dropping entries identical to one already there) and then
// made unique by a per-path key; a table of path patterns holds the exceptions (command is
// replaced, environment merges by key, logging options merge only for the same driver, ...).
// `!reset` removes a key, `!override` replaces a value without merging; results carry neither.
#pragma once

#include <yaml-cpp/yaml.h>

namespace berth::compose {

/// Merges an override document over a base document (both whole compose files, canonical),
/// returning a new tree (inputs untouched, no aliasing into them). Applies !reset (key removed)
/// and !override (value replaced whole); the result carries neither tag.
/// merge_documents(YAML::Node(YAML::NodeType::Map), doc) just strips tags/resets.
YAML::Node merge_documents(const YAML::Node& base, const YAML::Node& override_doc);

/// What merge_documents(empty mapping, document) returns, without copying what need not be:
/// the first file of a project becomes the model as it is, except that merge tags are consumed
/// and every node reachable twice (a YAML alias) is copied, so that later in-place phases never
/// change two places at once. `document` must not be used afterwards.
YAML::Node adopt_document(const YAML::Node& document);

/// Merges one service definition over another (extends: the local service over the base one),
/// same rules; error messages name keys relative to the service.
YAML::Node merge_services(const YAML::Node& base, const YAML::Node& override_service);

/// merge_services without the defensive copies: the result may share nodes with its inputs and
/// keep merge tags below the keys it merged. Only for a result that goes through
/// adopt_document or merge_documents next (the loader's extends), which copy what is shared
/// and consume the tags; it saves copying every extended service twice.
YAML::Node merge_services_shared(const YAML::Node& base, const YAML::Node& override_service);

/// Makes sequences that must be unique unique by their key, the later entry replacing the
/// earlier one in its position (compose-go EnforceUnicity). Applied after merging, in place:
/// `document` must not share nodes with other trees (merge results never do).
void enforce_unicity(YAML::Node& document);

}  // namespace berth::compose
