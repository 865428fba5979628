// A small block-style YAML writer for Kubernetes manifests with comments.
//
// yaml-cpp's emitter places comments awkwardly around block sequences, and ambient-guard's
// translations need comments exactly "next to where a field would go". This writer emits a
// JSON value as block YAML in insertion order, quotes every string that a YAML 1.1 or 1.2 reader
// could take for something else, and places comments by JSON Pointer path. Its output parses
// back (model/state_file.h parseDocuments) to the same JSON.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ambient_guard {

// One YAML document: a value plus comments anchored to paths inside it.
struct YamlDocument {
  nlohmann::ordered_json value = nlohmann::ordered_json::object();
  // Comment lines by anchor. The anchor is a JSON Pointer ("/spec/rules/0"; "" for the document):
  // the lines go right before that node. An anchor ending in "/$end" ("/spec/rules/0/$end")
  // places the lines after the last entry of that mapping, at its entries' indentation.
  std::map<std::string, std::vector<std::string>> comments;

  // Appends comment lines (split on newlines) at `anchor`.
  void comment(const std::string& anchor, const std::string& text);
};

// Returns `text` as a YAML scalar: plain when no YAML reader could misread it, else
// double-quoted with JSON escapes (which YAML double-quoted scalars share).
std::string yamlScalar(const std::string& text);

// Returns the documents as one multi-document YAML stream ("---" before each document).
std::string writeYaml(const std::vector<YamlDocument>& docs);

// Returns a JSON Pointer for `parent` + one more step (an object key or an array index), with
// "~" and "/" escaped as RFC 6901 requires.
std::string pointerAppend(const std::string& parent, const std::string& key);
std::string pointerAppend(const std::string& parent, size_t index);

}  // namespace ambient_guard
