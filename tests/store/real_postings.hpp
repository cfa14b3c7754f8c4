// Real Upwork postings from the shared data set, normalized into upwork::posting values for
// store tests.
#pragma once

#include <cstddef>
#include <vector>

#include "upwork/posting.hpp"

namespace job_fetcher::store::testing {

// Returns the first `count` postings of JOB_FETCHER_DATA_DIR/upwork/postings.jsonl, normalized,
// with content hashes. Postings without a publish time get distinct synthetic ones, newest
// first, and every other posting gets a created_at, so both forms of each column occur.
std::vector<upwork::posting> real_postings(std::size_t count);

// Recomputes the content hash after a test changed a posting.
void rehash(upwork::posting& posting);

}  // namespace job_fetcher::store::testing
