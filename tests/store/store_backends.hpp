// The store backends the store contract tests run against. Each test gets a fresh, migrated,
// empty store from its backend, so tests never see each other's rows.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace job_fetcher::store::testing {

struct store_backend {
  std::string name;  // test name suffix: letters, digits and '_' only

  // Returns a fresh, migrated, empty store.
  std::function<std::unique_ptr<job_store>()> make_empty;

  // Returns `count` stores that share one fresh, migrated, empty database through separate
  // connections, as separate processes would. Leave empty when the backend cannot do that: the
  // tests that race several stores then skip.
  std::function<std::vector<std::unique_ptr<job_store>>(int count)> make_sharing;

  // Non-empty when the backend cannot run here (no server configured); its tests skip with it.
  std::string unavailable_reason;
};

// Every backend, SQLite first. Backends are added to the list in store_backends.cpp.
std::vector<store_backend>& store_backends();

// Returns the backend names, for INSTANTIATE_TEST_SUITE_P.
std::vector<std::string> store_backend_names();

// Returns the backend with this name; throws std::out_of_range for an unknown name.
const store_backend& find_store_backend(const std::string& name);

// Returns a new path for a SQLite database file in a directory that is removed when the test
// program exits.
std::string temp_sqlite_path();

}  // namespace job_fetcher::store::testing
