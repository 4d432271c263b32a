#pragma once
// IWYU pragma: private, include "scalpel/io/tokenizer.hpp"
/// @file
/// @brief The lookup structures behind `io::tokenizer`, sized for the 262k-token Gemma vocabulary:
/// - `tokenizer_source`: what a loader (tokenizer.json reader or the GGUF arrays) hands to the builder;
/// - `piece_index`: piece bytes -> id, open addressing over a string pool (no per-token allocation);
/// - `pair_table`: (left id, right id) -> (merge rank, merged id), open addressing on a 64-bit key;
/// - `added_matcher`: a byte trie over the added/special token strings answering "longest token starting here".

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "scalpel/config.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace io::detail {

/// A slice of a string pool.
struct piece_ref {
  std::uint32_t off = 0;
  std::uint32_t len = 0;
};

/// One added token as declared by the source (HF `added_tokens` entry or a CONTROL / USER_DEFINED GGUF token).
struct added_token_decl {
  std::string content;
  std::int64_t id = 0;
  bool special = false;  ///< matched only when special tokens are parsed; type CONTROL
  bool lstrip = false;   ///< whitespace before the token is dropped (HF semantics)
  bool rstrip = false;   ///< whitespace after the token is dropped
};

/// Everything a loader extracted, before the builder validates it.
struct tokenizer_source {
  std::string origin;  ///< file name (or "GGUF tokenizer.ggml.*") for error messages

  std::string vocab_pool;              ///< bytes of every vocabulary piece
  std::vector<piece_ref> vocab;        ///< piece of each vocab entry
  std::vector<std::int64_t> vocab_id;  ///< id of each vocab entry (same length as `vocab`)
  std::vector<std::int32_t> types;     ///< explicit GGUF token types by id (empty: derive from added tokens)

  std::string merge_pool;          ///< bytes of every merge operand
  std::vector<piece_ref> merge_a;  ///< left operand of merge k (rank k)
  std::vector<piece_ref> merge_b;  ///< right operand of merge k
  bool skip_invalid_merges = false;

  std::vector<added_token_decl> added;

  std::string unk_token;  ///< empty: none
  bool byte_fallback = true;
  bool ignore_merges = false;
  bool replace_spaces = true;  ///< normalizer maps U+0020 to U+2581

  std::int64_t bos_id = -1;  ///< explicit special ids (GGUF); -1: look the piece up
  std::int64_t eos_id = -1;
  std::int64_t unk_id = -1;
  std::int64_t pad_id = -1;

  [[nodiscard]] std::string_view vocab_piece(std::size_t k) const noexcept {
    return std::string_view(vocab_pool).substr(vocab[k].off, vocab[k].len);
  }
  [[nodiscard]] std::string_view merge_left(std::size_t k) const noexcept {
    return std::string_view(merge_pool).substr(merge_a[k].off, merge_a[k].len);
  }
  [[nodiscard]] std::string_view merge_right(std::size_t k) const noexcept {
    return std::string_view(merge_pool).substr(merge_b[k].off, merge_b[k].len);
  }
};

/// 64-bit FNV-1a; short strings dominate, so a simple byte loop is fine.
inline std::uint64_t hash_bytes(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

inline std::size_t next_pow2(std::size_t n) noexcept {
  std::size_t c = 16;
  while (c < n) c <<= 1;
  return c;
}

/// Piece bytes -> id. Slots hold (hash tag << 32) | (id + 1); the bytes are compared through the pool, which the
/// caller passes to every call (the index keeps no pointers, so its owner stays movable).
class piece_index {
 public:
  /// Index `pieces` (id = position). Returns -1, or the first id whose piece repeats an earlier one's.
  std::int64_t build(std::string_view pool, const std::vector<piece_ref>& pieces) {
    slots_.assign(next_pow2(pieces.size() * 2 + 1), 0);
    mask_ = slots_.size() - 1;
    for (std::size_t id = 0; id < pieces.size(); ++id) {
      const std::string_view s = slice(pool, pieces[id]);
      const std::uint64_t h = hash_bytes(s);
      std::size_t i = static_cast<std::size_t>(h) & mask_;
      const std::uint64_t tag = h >> 32;
      for (;;) {
        const std::uint64_t v = slots_[i];
        if (v == 0) {
          slots_[i] = (tag << 32) | (id + 1);
          break;
        }
        if ((v >> 32) == tag && slice(pool, pieces[(v & 0xFFFFFFFFull) - 1]) == s) {
          return static_cast<std::int64_t>(id);
        }
        i = (i + 1) & mask_;
      }
    }
    return -1;
  }
  /// Id of the piece `s`, or -1.
  [[nodiscard]] std::int32_t find(std::string_view s, std::string_view pool,
                                  const std::vector<piece_ref>& pieces) const noexcept {
    if (slots_.empty()) return -1;
    const std::uint64_t h = hash_bytes(s);
    std::size_t i = static_cast<std::size_t>(h) & mask_;
    const std::uint64_t tag = h >> 32;
    for (;;) {
      const std::uint64_t v = slots_[i];
      if (v == 0) return -1;
      const std::size_t id = static_cast<std::size_t>(v & 0xFFFFFFFFull) - 1;
      if ((v >> 32) == tag && slice(pool, pieces[id]) == s) return static_cast<std::int32_t>(id);
      i = (i + 1) & mask_;
    }
  }

 private:
  static std::string_view slice(std::string_view pool, piece_ref r) noexcept { return pool.substr(r.off, r.len); }
  std::vector<std::uint64_t> slots_;
  std::size_t mask_ = 0;
};

/// (left id, right id) -> (rank, merged id). A later duplicate of a pair overwrites the earlier one (as HF does).
class pair_table {
 public:
  struct slot {
    std::uint64_t key = empty_key;
    std::uint32_t rank = 0;
    std::int32_t result = -1;
  };
  static constexpr std::uint64_t empty_key = ~0ull;

  void reserve(std::size_t n) {
    slots_.assign(next_pow2(n * 2 + 1), slot{});
    mask_ = slots_.size() - 1;
    shift_ = 64;
    for (std::size_t c = slots_.size(); c > 1; c >>= 1) --shift_;
  }
  void insert(std::int32_t a, std::int32_t b, std::uint32_t rank, std::int32_t result) noexcept {
    const std::uint64_t k = key(a, b);
    std::size_t i = index(k);
    while (slots_[i].key != empty_key && slots_[i].key != k) i = (i + 1) & mask_;
    slots_[i] = slot{k, rank, result};
  }
  [[nodiscard]] const slot* find(std::int32_t a, std::int32_t b) const noexcept {
    const std::uint64_t k = key(a, b);
    std::size_t i = index(k);
    for (;;) {
      const slot& s = slots_[i];
      if (s.key == k) return &s;
      if (s.key == empty_key) return nullptr;
      i = (i + 1) & mask_;
    }
  }
  [[nodiscard]] const std::vector<slot>& slots() const noexcept { return slots_; }

 private:
  static std::uint64_t key(std::int32_t a, std::int32_t b) noexcept {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
  }
  [[nodiscard]] std::size_t index(std::uint64_t k) const noexcept {
    return static_cast<std::size_t>((k * 0x9E3779B97F4A7C15ull) >> shift_) & mask_;
  }
  std::vector<slot> slots_;
  std::size_t mask_ = 0;
  unsigned shift_ = 64;
};

/// Leftmost-longest matching of added-token strings on raw bytes (what HF's added-token splitter does).
class added_matcher {
 public:
  struct entry {
    std::string text;
    std::int32_t id = -1;
    bool special = false;
    bool lstrip = false;
    bool rstrip = false;
  };
  struct match {
    std::size_t len = 0;
    std::int32_t id = -1;
    bool lstrip = false;
    bool rstrip = false;
  };

  /// Build from `entries` (texts must be distinct and non-empty; the caller checks).
  void build(const std::vector<entry>& entries) {
    terms_.clear();
    nodes_.clear();
    edges_.clear();
    start_.fill(false);
    std::vector<std::map<unsigned char, std::uint32_t>> tmp(1);
    std::vector<std::int32_t> term(1, -1);
    for (const entry& e : entries) {
      std::uint32_t n = 0;
      for (const char ch : e.text) {
        const auto b = static_cast<unsigned char>(ch);
        auto it = tmp[n].find(b);
        if (it == tmp[n].end()) {
          const auto child = static_cast<std::uint32_t>(tmp.size());
          tmp[n].emplace(b, child);
          tmp.emplace_back();
          term.push_back(-1);
          n = child;
        } else {
          n = it->second;
        }
      }
      term[n] = static_cast<std::int32_t>(terms_.size());
      terms_.push_back(e);
      if (!e.text.empty()) start_[static_cast<unsigned char>(e.text[0])] = true;
    }
    nodes_.resize(tmp.size());
    for (std::size_t n = 0; n < tmp.size(); ++n) {
      nodes_[n].first_edge = static_cast<std::uint32_t>(edges_.size());
      nodes_[n].n_edges = static_cast<std::uint32_t>(tmp[n].size());
      nodes_[n].term = term[n];
      for (const auto& [b, child] : tmp[n]) edges_.push_back(edge{b, child});
    }
    root_.fill(0);
    for (std::uint32_t k = 0; k < nodes_[0].n_edges; ++k) {
      const edge& e = edges_[nodes_[0].first_edge + k];
      root_[e.byte] = e.child;
    }
  }

  [[nodiscard]] bool empty() const noexcept { return terms_.empty(); }
  /// Cheap pre-check: could a token start with byte `b`?
  [[nodiscard]] bool may_start(unsigned char b) const noexcept { return start_[b]; }

  /// Longest token starting at `p` (n bytes available); special tokens only when `allow_special`.
  bool longest(const unsigned char* p, std::size_t n, bool allow_special, match& m) const noexcept {
    if (n == 0 || nodes_.empty()) return false;
    std::uint32_t cur = root_[p[0]];
    if (cur == 0) return false;
    bool found = false;
    std::size_t i = 1;
    for (;;) {
      const std::int32_t t = nodes_[cur].term;
      if (t >= 0) {
        const entry& e = terms_[static_cast<std::size_t>(t)];
        if (allow_special || !e.special) {
          m = match{i, e.id, e.lstrip, e.rstrip};
          found = true;
        }
      }
      if (i >= n) break;
      const std::uint32_t child = step(cur, p[i]);
      if (child == 0) break;
      cur = child;
      ++i;
    }
    return found;
  }

 private:
  struct node {
    std::uint32_t first_edge = 0;
    std::uint32_t n_edges = 0;
    std::int32_t term = -1;
  };
  struct edge {
    unsigned char byte = 0;
    std::uint32_t child = 0;
  };
  [[nodiscard]] std::uint32_t step(std::uint32_t n, unsigned char b) const noexcept {
    const node& nd = nodes_[n];
    const edge* first = edges_.data() + nd.first_edge;
    const edge* last = first + nd.n_edges;
    if (nd.n_edges <= 8) {
      for (const edge* e = first; e != last; ++e)
        if (e->byte == b) return e->child;
      return 0;
    }
    const edge* it = std::lower_bound(first, last, b, [](const edge& e, unsigned char x) { return e.byte < x; });
    return (it != last && it->byte == b) ? it->child : 0;
  }

  std::vector<entry> terms_;
  std::vector<node> nodes_;
  std::vector<edge> edges_;
  std::array<std::uint32_t, 256> root_{};
  std::array<bool, 256> start_{};
};

}  // namespace io::detail
SCALPEL_END_NAMESPACE
