#pragma once
// IWYU pragma: private, include "scalpel/io/tokenizer.hpp"
/// @file
/// @brief Construction of an `io::tokenizer` from a `tokenizer_source`: id table, piece index, merge table
/// (validated against the vocabulary), added-token matcher, the Gemma 4 special-token patch, special ids.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scalpel/io/tokenizer.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace io {
namespace detail {

/// The byte of a `<0xXX>` piece, or -1.
inline int byte_piece_value(std::string_view s) noexcept {
  if (s.size() != 6 || s[0] != '<' || s[1] != '0' || s[2] != 'x' || s[5] != '>') return -1;
  int v = 0;
  for (std::size_t k = 3; k < 5; ++k) {
    const char h = s[k];
    v <<= 4;
    if (h >= '0' && h <= '9') {
      v |= h - '0';
    } else if (h >= 'A' && h <= 'F') {
      v |= h - 'A' + 10;
    } else if (h >= 'a' && h <= 'f') {
      v |= h - 'a' + 10;
    } else {
      return -1;
    }
  }
  return v;
}

inline std::string quoted(std::string_view s) {
  std::string q = "'";
  for (const char c : s) {
    if (c == '\n') {
      q += "\\n";
    } else if (c == '\t') {
      q += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      q += "\\x";
      q += "0123456789abcdef"[(static_cast<unsigned char>(c) >> 4) & 0xF];
      q += "0123456789abcdef"[static_cast<unsigned char>(c) & 0xF];
    } else {
      q += c;
    }
  }
  return q + "'";
}

}  // namespace detail

inline void tokenizer::build(detail::tokenizer_source src, const load_options& opts) {
  origin_ = src.origin;
  const std::string& o = origin_;
  replace_spaces_ = src.replace_spaces;
  byte_fallback_ = src.byte_fallback;
  ignore_merges_ = src.ignore_merges;
  unk_piece_ = src.unk_token;
  explicit_bos_ = src.bos_id;
  explicit_eos_ = src.eos_id;
  explicit_unk_ = src.unk_id;
  explicit_pad_ = src.pad_id;

  // ---- ids: vocab entries, then added tokens (whose content wins for an id they share, as in HF) ----
  std::int64_t max_id = -1;
  for (const std::int64_t id : src.vocab_id) max_id = std::max(max_id, id);
  for (const auto& a : src.added) {
    if (a.id < 0 || a.id > 0x7FFFFFFE) {
      fail(errc::tokenizer, o + ": added token " + detail::quoted(a.content) + " has id " + std::to_string(a.id));
    }
    max_id = std::max(max_id, a.id);
  }
  if (max_id < 0) fail(errc::tokenizer, o + ": the vocabulary is empty");
  const auto size = static_cast<std::size_t>(max_id + 1);
  if (size > src.vocab.size() + src.added.size()) {  // checked before allocating an id table of that size
    fail(errc::tokenizer, o + ": the largest id is " + std::to_string(max_id) + " but there are only " +
                              std::to_string(src.vocab.size() + src.added.size()) +
                              " pieces (ids must cover 0..N-1 without holes)");
  }
  pool_ = std::move(src.vocab_pool);
  pieces_.assign(size, detail::piece_ref{});
  std::vector<bool> seen(size, false);
  for (std::size_t k = 0; k < src.vocab.size(); ++k) {
    const auto id = static_cast<std::size_t>(src.vocab_id[k]);
    if (seen[id]) {
      fail(errc::tokenizer, o + ": id " + std::to_string(id) + " is given to both " + detail::quoted(piece_of(id)) +
                                " and " +
                                detail::quoted(std::string_view(pool_).substr(src.vocab[k].off, src.vocab[k].len)));
    }
    pieces_[id] = src.vocab[k];
    seen[id] = true;
  }
  for (const auto& a : src.added) {
    if (a.content.empty()) fail(errc::tokenizer, o + ": added token " + std::to_string(a.id) + " has empty content");
    const auto id = static_cast<std::size_t>(a.id);
    if (!seen[id] || piece_of(id) != a.content) {
      pieces_[id] = detail::pool_append(pool_, a.content, o);
      seen[id] = true;
    }
  }
  for (std::size_t id = 0; id < size; ++id) {
    if (!seen[id]) {
      fail(errc::tokenizer, o + ": no piece has id " + std::to_string(id) + " (ids must cover 0.." +
                                std::to_string(size - 1) + " without holes)");
    }
  }

  // ---- types and byte pieces ----
  types_.assign(size, token_type::normal);
  if (!src.types.empty()) {
    for (std::size_t id = 0; id < size && id < src.types.size(); ++id) {
      types_[id] = static_cast<token_type>(src.types[id]);
    }
  } else {
    for (const auto& a : src.added) {
      types_[static_cast<std::size_t>(a.id)] = a.special ? token_type::control : token_type::user_defined;
    }
  }
  byte_value_.assign(size, -1);
  byte_token_.fill(-1);
  for (std::size_t id = 0; id < size; ++id) {
    const int v = detail::byte_piece_value(piece_of(id));
    if (v < 0) continue;
    byte_value_[id] = static_cast<std::int16_t>(v);
    types_[id] = token_type::byte;
    if (byte_token_[static_cast<std::size_t>(v)] < 0)
      byte_token_[static_cast<std::size_t>(v)] = static_cast<std::int32_t>(id);
  }

  // ---- piece index (pieces must be distinct) ----
  if (const std::int64_t dup = index_.build(pool_, pieces_); dup >= 0) {
    const std::string_view s = piece_of(static_cast<std::size_t>(dup));
    fail(errc::tokenizer, o + ": piece " + detail::quoted(s) + " has two ids (" +
                              std::to_string(index_.find(s, pool_, pieces_)) + " and " + std::to_string(dup) + ")");
  }

  // ---- merges, rank = position; each must join two pieces into a piece (spec §7 item 13) ----
  const std::size_t n_merges = src.merge_a.size();
  if (n_merges >= (1u << 24)) fail(errc::unsupported, o + ": more than 16M merges");
  merges_.reserve(n_merges);
  merge_count_ = 0;
  std::string joined;
  for (std::size_t k = 0; k < n_merges; ++k) {
    const std::string_view a = src.merge_left(k);
    const std::string_view b = src.merge_right(k);
    joined.assign(a);
    joined.append(b);
    const std::int32_t ia = index_.find(a, pool_, pieces_);
    const std::int32_t ib = index_.find(b, pool_, pieces_);
    const std::int32_t ir = index_.find(joined, pool_, pieces_);
    if (ia < 0 || ib < 0 || ir < 0) {
      if (src.skip_invalid_merges) continue;
      const std::string what = ia < 0   ? detail::quoted(a) + " is not a piece"
                               : ib < 0 ? detail::quoted(b) + " is not a piece"
                                        : "the merged piece " + detail::quoted(joined) + " is not in the vocabulary";
      fail(errc::tokenizer,
           o + ": merges[" + std::to_string(k) + "] = [" + detail::quoted(a) + ", " + detail::quoted(b) + "]: " + what);
    }
    merges_.insert(ia, ib, static_cast<std::uint32_t>(k), ir);
    ++merge_count_;
  }

  // ---- added tokens ----
  added_.clear();
  for (const auto& a : src.added) {
    added_.push_back(
        detail::added_matcher::entry{a.content, static_cast<std::int32_t>(a.id), a.special, a.lstrip, a.rstrip});
  }

  // ---- Gemma 4 special-token table ----
  const auto piece_is = [&](std::size_t id, std::string_view s) { return id < pieces_.size() && piece_of(id) == s; };
  const bool gemma3 = pieces_.size() >= static_cast<std::size_t>(gemma4_vocab_size) &&
                      piece_is(105, "<start_of_turn>") && piece_is(106, "<end_of_turn>");
  const bool gemma4 = pieces_.size() >= static_cast<std::size_t>(gemma4_vocab_size) && piece_is(105, "<|turn>") &&
                      piece_is(106, "<turn|>");
  switch (opts.specials) {
    case special_table::automatic:
      if (gemma3 || gemma4) apply_gemma4(gemma3);
      break;
    case special_table::gemma4:
      if (!gemma3 && !gemma4) {
        fail(errc::tokenizer, o + ": the Gemma 4 special-token table needs a Gemma 3 or Gemma 4 vocabulary of " +
                                  std::to_string(gemma4_vocab_size) +
                                  "+ pieces with id 105 = <start_of_turn> or "
                                  "<|turn> (this one has " +
                                  std::to_string(pieces_.size()) + " pieces)");
      }
      apply_gemma4(gemma3);
      break;
    case special_table::keep:
      break;
  }
  finish_tables();
}

// Rename the Gemma 3 slots (when `rename`), type the Gemma 4 tokens CONTROL, register them as atomic specials.
inline void tokenizer::apply_gemma4(bool rename) {
  const auto table = gemma4_special_table();
  if (rename) {
    for (const special_slot& e : table) {
      const auto id = static_cast<std::size_t>(e.id);
      const std::string old(piece_of(id));
      if (old == e.text) continue;
      if (const std::int32_t other = index_.find(e.text, pool_, pieces_); other >= 0 && other != e.id) {
        fail(errc::tokenizer, origin_ + ": cannot name id " + std::to_string(e.id) + " " + std::string(e.text) +
                                  ": the piece already has id " + std::to_string(other));
      }
      aliases_[old] = e.id;
      pieces_[id] = detail::pool_append(pool_, e.text, origin_);
      // The Gemma 3 name stays matchable, but only where special tokens are parsed.
      for (auto& a : added_)
        if (a.id == e.id && a.text == old) a.special = true;
    }
    const auto v = static_cast<std::size_t>(gemma4_vocab_size);
    if (pieces_.size() > v) {
      for (const auto& s : merges_.slots()) {
        if (s.key == detail::pair_table::empty_key) continue;
        if ((s.key >> 32) >= v || (s.key & 0xFFFFFFFFull) >= v || static_cast<std::size_t>(s.result) >= v) {
          fail(errc::tokenizer, origin_ + ": a merge uses an id past Gemma 4's vocabulary of " + std::to_string(v));
        }
      }
      pieces_.resize(v);
      types_.resize(v);
      byte_value_.resize(v);
      for (auto& b : byte_token_)
        if (b >= static_cast<std::int32_t>(v)) b = -1;
      std::erase_if(added_, [&](const auto& a) { return a.id >= static_cast<std::int32_t>(v); });
    }
    if (const std::int64_t dup = index_.build(pool_, pieces_); dup >= 0) {
      fail(errc::tokenizer, origin_ + ": the Gemma 4 table made piece " + std::to_string(dup) + " a duplicate");
    }
    patched_ = true;
  }
  for (const special_slot& e : table) {
    const auto id = static_cast<std::size_t>(e.id);
    if (id >= pieces_.size() || piece_of(id) != e.text) continue;
    types_[id] = token_type::control;
    bool found = false;
    for (auto& a : added_) {
      if (a.text == e.text) {
        a.special = true;
        found = true;
      }
    }
    if (!found) added_.push_back(detail::added_matcher::entry{std::string(e.text), e.id, true, false, false});
  }
}

// Code-point table, added-token matcher, special ids.
inline void tokenizer::finish_tables() {
  const std::string& o = origin_;
  cp_bmp_.assign(0x10000, -1);
  cp_astral_.clear();
  for (std::size_t id = 0; id < pieces_.size(); ++id) {
    if (types_[id] == token_type::byte) continue;
    const std::string_view s = piece_of(id);
    if (s.empty() || s.size() > 4) continue;
    const detail::utf8_step st = detail::utf8_next(reinterpret_cast<const unsigned char*>(s.data()), s.size());
    if (!st.valid || st.len != s.size()) continue;
    if (st.cp < 0x10000) {
      if (cp_bmp_[st.cp] < 0) cp_bmp_[st.cp] = static_cast<std::int32_t>(id);
    } else {
      cp_astral_.emplace(st.cp, static_cast<std::int32_t>(id));
    }
  }

  // Characters that precede `▁` inside some piece (merges may join across such a boundary; see bpe_words).
  joins_space_ascii_.fill(false);
  joins_space_other_.clear();
  for (std::size_t id = 0; id < pieces_.size(); ++id) {
    const std::string_view s = piece_of(id);
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    char32_t prev = 0;
    bool have_prev = false;
    for (std::size_t i = 0; i < s.size();) {
      const detail::utf8_step st = detail::utf8_next(p + i, s.size() - i);
      const std::size_t l = st.valid ? st.len : 1;
      if (st.valid && st.cp == 0x2581 && have_prev) {
        if (prev < 128) {
          joins_space_ascii_[prev] = true;
        } else {
          joins_space_other_.push_back(prev);
        }
      }
      have_prev = st.valid;
      prev = st.cp;
      i += l;
    }
  }
  std::sort(joins_space_other_.begin(), joins_space_other_.end());
  joins_space_other_.erase(std::unique(joins_space_other_.begin(), joins_space_other_.end()), joins_space_other_.end());

  std::sort(added_.begin(), added_.end(), [](const auto& a, const auto& b) { return a.text < b.text; });
  for (std::size_t k = 1; k < added_.size(); ++k) {
    if (added_[k].text == added_[k - 1].text && added_[k].id != added_[k - 1].id) {
      fail(errc::tokenizer, o + ": added token " + detail::quoted(added_[k].text) + " has two ids (" +
                                std::to_string(added_[k - 1].id) + " and " + std::to_string(added_[k].id) + ")");
    }
  }
  added_.erase(std::unique(added_.begin(), added_.end(), [](const auto& a, const auto& b) { return a.text == b.text; }),
               added_.end());
  matcher_.build(added_);

  const auto pick = [&](std::int64_t explicit_id, std::string_view piece, const char* what) -> std::int32_t {
    if (explicit_id >= 0) {
      if (explicit_id >= static_cast<std::int64_t>(pieces_.size())) {
        fail(errc::tokenizer, o + ": the " + what + " id " + std::to_string(explicit_id) + " is outside [0, " +
                                  std::to_string(pieces_.size()) + ")");
      }
      return static_cast<std::int32_t>(explicit_id);
    }
    return piece.empty() ? -1 : index_.find(piece, pool_, pieces_);
  };
  specials_ = special_tokens{};
  specials_.pad = pick(explicit_pad_, "<pad>", "pad");
  specials_.eos = pick(explicit_eos_, "<eos>", "eos");
  specials_.bos = pick(explicit_bos_, "<bos>", "bos");
  specials_.unk = pick(explicit_unk_, unk_piece_.empty() ? std::string_view("<unk>") : unk_piece_, "unk");
  const auto find = [&](std::string_view s) { return index_.find(s, pool_, pieces_); };
  specials_.mask = find("<mask>");
  specials_.tool_start = find("<|tool>");
  specials_.tool_end = find("<tool|>");
  specials_.tool_call_start = find("<|tool_call>");
  specials_.tool_call_end = find("<tool_call|>");
  specials_.tool_response_start = find("<|tool_response>");
  specials_.tool_response_end = find("<tool_response|>");
  specials_.string_delim = find("<|\"|>");
  specials_.think = find("<|think|>");
  specials_.channel_start = find("<|channel>");
  specials_.channel_end = find("<channel|>");
  specials_.turn_start = find("<|turn>");
  specials_.turn_end = find("<turn|>");
  specials_.newline = find("\n");
  eog_.clear();
  for (const std::int32_t id : {specials_.eos, specials_.turn_end, specials_.tool_response_start}) {
    if (id >= 0 && std::find(eog_.begin(), eog_.end(), id) == eog_.end()) eog_.push_back(id);
  }
}

}  // namespace io
SCALPEL_END_NAMESPACE
