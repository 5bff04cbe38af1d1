// Result<T>: an expected-style value-or-error used at every boundary of Augur.
//
// std::expected needs -std=c++23 with g++ 12, so Augur carries its own with the same member
// names (has_value, value, error, operator*, operator->) to make a later switch mechanical.
// Errors are values: no Augur API throws across a part boundary or a thread.
//
// Thread-safety: plain value types; distinct objects may be used from distinct threads.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace augur {

// A short, fixed list (like leveldb's Status). Codes map to HTTP statuses in server/ and to
// exit codes in cli/ only.
enum class ErrorCode {
  kInvalidArgument,   // the caller's input is wrong (bad option, empty sample, NaN under kReject)
  kNotFound,          // a named thing does not exist
  kUnavailable,       // an external part (Prometheus, router) cannot be reached
  kDeadlineExceeded,  // an external part was too slow
  kBadData,           // an external part answered something unparseable
  kConflict,          // the request conflicts with current state
  kPermissionDenied,  // an external part refused our credentials (HTTP 401/403)
  kInternal,          // a bug in Augur
};

// The stable lower-case name of a code, e.g. "invalid_argument".
const char* ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // names the field, file, URL or value at fault

  // Returns a copy whose message is "<context>: <message>", for adding context while an
  // error propagates outwards.
  Error WithContext(const std::string& context) const {
    return Error{code, context + ": " + message};
  }
};

inline Error InvalidArgument(std::string message) {
  return Error{ErrorCode::kInvalidArgument, std::move(message)};
}
inline Error BadData(std::string message) { return Error{ErrorCode::kBadData, std::move(message)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit, like std::expected
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  // REQUIRES: has_value().
  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !has_value().
  const Error& error() const {
    assert(!has_value());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success carries nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace augur
