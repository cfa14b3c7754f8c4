#include "graphql.hpp"

#include <charconv>
#include <string>

namespace job_fetcher::upwork_sim {
namespace {

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

// A recursive-descent reader for GraphQL input values (the argument syntax of the spec,
// October 2021 edition), without block strings.
class value_reader {
 public:
  value_reader(std::string_view text, std::size_t pos, const nlohmann::json& variables,
               std::vector<std::string>& variable_paths)
      : text_(text), pos_(pos), variables_(variables), variable_paths_(variable_paths) {}

  nlohmann::json read_arguments() {
    expect('(');
    nlohmann::json arguments = nlohmann::json::object();
    skip_ignored();
    while (peek() != ')') {
      const std::string name = read_name();
      expect(':');
      arguments[name] = read_value(name);
      skip_ignored();
    }
    expect(')');
    return arguments;
  }

 private:
  nlohmann::json read_value(const std::string& path) {
    skip_ignored();
    const char c = peek();
    if (c == '$') {
      ++pos_;
      const std::string name = read_name();
      variable_paths_.push_back(path);
      auto found = variables_.is_object() ? variables_.find(name) : variables_.end();
      return found == variables_.end() ? nlohmann::json(nullptr) : *found;
    }
    if (c == '"') {
      return read_string();
    }
    if (c == '[') {
      return read_list(path);
    }
    if (c == '{') {
      return read_object(path);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      return read_number();
    }
    if (is_name_start(c)) {
      const std::string name = read_name();
      if (name == "true") return true;
      if (name == "false") return false;
      if (name == "null") return nullptr;
      return name;  // an enum value
    }
    fail("expected a value");
  }

  nlohmann::json read_list(const std::string& path) {
    expect('[');
    nlohmann::json list = nlohmann::json::array();
    skip_ignored();
    while (peek() != ']') {
      list.push_back(read_value(path));
      skip_ignored();
    }
    expect(']');
    return list;
  }

  nlohmann::json read_object(const std::string& path) {
    expect('{');
    nlohmann::json object = nlohmann::json::object();
    skip_ignored();
    while (peek() != '}') {
      const std::string name = read_name();
      expect(':');
      object[name] = read_value(path + "." + name);
      skip_ignored();
    }
    expect('}');
    return object;
  }

  nlohmann::json read_string() {
    expect('"');
    std::string raw = "\"";
    while (true) {
      if (pos_ >= text_.size()) {
        fail("unterminated string");
      }
      const char c = text_[pos_++];
      raw.push_back(c);
      if (c == '\\' && pos_ < text_.size()) {
        raw.push_back(text_[pos_++]);
      } else if (c == '"') {
        break;
      }
    }
    // GraphQL string escapes are a subset of JSON's.
    try {
      return nlohmann::json::parse(raw);
    } catch (const nlohmann::json::exception&) {
      fail("invalid string");
    }
  }

  nlohmann::json read_number() {
    const std::size_t start = pos_;
    if (peek() == '-') ++pos_;
    bool is_float = false;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '.' || c == 'e' || c == 'E' || c == '+') {
        is_float = true;
      } else if (!(c >= '0' && c <= '9') && !(c == '-' && is_float)) {
        break;
      }
      ++pos_;
    }
    const std::string digits(text_.substr(start, pos_ - start));
    try {
      if (is_float) return std::stod(digits);
      return std::stoll(digits);
    } catch (const std::exception&) {
      fail("invalid number");
    }
  }

  std::string read_name() {
    skip_ignored();
    if (pos_ >= text_.size() || !is_name_start(text_[pos_])) {
      fail("expected a name");
    }
    const std::size_t start = pos_;
    while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  void expect(char c) {
    skip_ignored();
    if (peek() != c) {
      fail(std::string("expected '") + c + "'");
    }
    ++pos_;
  }

  char peek() {
    skip_ignored();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }

  // Commas, white space and comments are insignificant in GraphQL.
  void skip_ignored() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',') {
        ++pos_;
      } else {
        break;
      }
    }
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw graphql_syntax_error(what + " at offset " + std::to_string(pos_));
  }

  std::string_view text_;
  std::size_t pos_;
  const nlohmann::json& variables_;
  std::vector<std::string>& variable_paths_;
};

// Calls visit(name, offset_after_name) for each name outside strings and comments.
template <typename Visit>
void scan_names(std::string_view query, Visit visit) {
  std::size_t pos = 0;
  while (pos < query.size()) {
    const char c = query[pos];
    if (c == '#') {
      while (pos < query.size() && query[pos] != '\n') ++pos;
    } else if (c == '"') {
      ++pos;
      while (pos < query.size() && query[pos] != '"') {
        pos += query[pos] == '\\' ? 2 : 1;
      }
      ++pos;
    } else if (is_name_start(c)) {
      const std::size_t start = pos;
      while (pos < query.size() && is_name_char(query[pos])) ++pos;
      if (!visit(query.substr(start, pos - start), pos)) {
        return;
      }
    } else {
      ++pos;
    }
  }
}

}  // namespace

bool field_arguments::from_variable(std::string_view path) const {
  for (const auto& used : variable_paths) {
    const bool contains_path = path.size() >= used.size() &&
                               path.substr(0, used.size()) == used &&
                               (path.size() == used.size() || path[used.size()] == '.');
    const bool inside_path = used.size() > path.size() &&
                             std::string_view(used).substr(0, path.size()) == path &&
                             used[path.size()] == '.';
    if (contains_path || inside_path) {
      return true;
    }
  }
  return false;
}

std::optional<field_arguments> read_field_arguments(std::string_view query, std::string_view field,
                                                    const nlohmann::json& variables) {
  std::optional<std::size_t> after_name;
  scan_names(query, [&](std::string_view name, std::size_t end) {
    if (name == field) {
      after_name = end;
      return false;
    }
    return true;
  });
  if (!after_name) {
    return std::nullopt;
  }

  field_arguments arguments;
  std::size_t pos = *after_name;
  while (pos < query.size() && (query[pos] == ' ' || query[pos] == '\n' || query[pos] == '\t' ||
                                query[pos] == '\r')) {
    ++pos;
  }
  if (pos >= query.size() || query[pos] != '(') {
    return arguments;  // the field takes no arguments here
  }
  value_reader reader(query, pos, variables, arguments.variable_paths);
  arguments.values = reader.read_arguments();
  return arguments;
}

std::set<std::string, std::less<>> query_names(std::string_view query) {
  std::set<std::string, std::less<>> names;
  scan_names(query, [&](std::string_view name, std::size_t) {
    names.emplace(name);
    return true;
  });
  return names;
}

std::string graphql_error_body(const std::string& message, const nlohmann::json& extensions) {
  nlohmann::ordered_json error{{"message", message}};
  if (!extensions.is_null()) {
    error["extensions"] = extensions;
  }
  nlohmann::ordered_json body{{"errors", nlohmann::ordered_json::array({error})},
                              {"data", nullptr}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace job_fetcher::upwork_sim
