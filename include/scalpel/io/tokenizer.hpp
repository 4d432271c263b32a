#pragma once
/// @file
/// @brief `io::tokenizer`: the Gemma tokenizer (SentencePiece-style BPE with byte fallback, ~262k pieces,
/// ~515k merges), loaded from an HF `tokenizer.json` or from plain arrays (the GGUF `tokenizer.ggml.*` keys),
/// with exact-reference encoding, byte-exact decoding and a streaming decoder. See docs/tokenizer.md.
///
/// Encoding (identical to HF `tokenizers` / transformers.js on Gemma files):
/// 1. added tokens are matched on the raw text first, leftmost-longest (special ones only when
///    `encode_options::parse_specials`);
/// 2. in the text between them every U+0020 becomes U+2581 `▁` (no dummy prefix);
/// 3. that text is cut into runs of `\n` and runs of anything else; a newline run that is a piece is emitted whole;
/// 4. each run is one BPE unit: start from single code points and repeatedly merge the adjacent pair of lowest
///    merge rank (leftmost on ties) — a binary heap over a linked list, O(n log n) per run;
/// 5. a final symbol that is not a piece (a character outside the vocabulary, or an invalid UTF-8 byte) becomes its
///    UTF-8 bytes as `<0xXX>` tokens.
///
/// Gemma 4 special tokens: the only real tokenizer.json available offline is Gemma 3's (same vocabulary and merges).
/// When such a file is loaded, the Gemma 4 special-token table (`gemma4_special_table()`) is applied: the slots
/// are renamed (`<start_of_turn>` 105 -> `<|turn>` ...), the Gemma 4 strings become atomic special tokens, the
/// Gemma 3 names stay accepted as input aliases, and id 262144 (`<image_soft_token>`, past Gemma 4's vocabulary)
/// is dropped. On a real Gemma 4 file the table is a no-op.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/core/mapped_file.hpp"
#include "scalpel/io/detail/tokenizer_json.hpp"
#include "scalpel/io/detail/tokenizer_tables.hpp"
#include "scalpel/io/detail/tokenizer_utf8.hpp"
#include "scalpel/io/gguf.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace io {

/// Token types, numbered as GGUF's `tokenizer.ggml.token_type` (llama.cpp `llama_token_type`).
enum class token_type : std::int32_t {
  undefined = 0,
  normal = 1,        ///< an ordinary BPE piece
  unknown = 2,       ///< `<unk>`
  control = 3,       ///< a special token: `<bos>`, `<|turn>`, ... (matched in text only with parse_specials)
  user_defined = 4,  ///< an added, non-special token, always matched atomically (`\n\n`, `<unused0>`, `<table>`)
  unused = 5,
  byte = 6,  ///< a byte-fallback token `<0xXX>`
};

/// How the Gemma 4 special-token table is applied at load time.
enum class special_table {
  automatic,  ///< patch a recognisable Gemma 3 file (id 105 is `<start_of_turn>`); no-op otherwise
  gemma4,     ///< as `automatic`, but fail unless the file is Gemma 3 or Gemma 4
  keep,       ///< never patch: the file's own special tokens (exactly the reference tokenizer of the file)
};

struct load_options {
  special_table specials = special_table::automatic;
  /// GGUF only (`from_vocab`): skip merges whose operands or result are not pieces instead of failing.
  bool skip_invalid_merges = false;
};

struct encode_options {
  /// Prepend `<bos>`, unless the text already starts with it (a sequence gets exactly one).
  bool add_bos = false;
  /// Match special (CONTROL) token strings in the text, as HF does by default. When false, `<|turn>` in user
  /// text is encoded as ordinary characters; non-special added tokens (newline runs, ...) are still atomic.
  bool parse_specials = true;
};

struct decode_options {
  /// Omit special (CONTROL) tokens such as `<bos>` and `<|turn>`.
  bool skip_specials = false;
};

/// The ids of the tokens Gemma 4 gives a role; `none` where the vocabulary has no such token.
struct special_tokens {
  static constexpr std::int32_t none = -1;
  std::int32_t pad = none;                  ///< `<pad>` 0
  std::int32_t eos = none;                  ///< `<eos>` 1
  std::int32_t bos = none;                  ///< `<bos>` 2
  std::int32_t unk = none;                  ///< `<unk>` 3
  std::int32_t mask = none;                 ///< `<mask>` 4
  std::int32_t tool_start = none;           ///< `<|tool>` 46
  std::int32_t tool_end = none;             ///< `<tool|>` 47
  std::int32_t tool_call_start = none;      ///< `<|tool_call>` 48
  std::int32_t tool_call_end = none;        ///< `<tool_call|>` 49
  std::int32_t tool_response_start = none;  ///< `<|tool_response>` 50 (also a stop token)
  std::int32_t tool_response_end = none;    ///< `<tool_response|>` 51
  std::int32_t string_delim = none;         ///< `<|"|>` 52
  std::int32_t think = none;                ///< `<|think|>` 98
  std::int32_t channel_start = none;        ///< `<|channel>` 100
  std::int32_t channel_end = none;          ///< `<channel|>` 101
  std::int32_t turn_start = none;           ///< `<|turn>` 105
  std::int32_t turn_end = none;             ///< `<turn|>` 106
  std::int32_t newline = none;              ///< `\n` 107
};

/// One row of the Gemma 4 special-token table (architecture spec §5.2).
struct special_slot {
  std::int32_t id;
  std::string_view text;
};

/// The Gemma 4 names of the slots that differ from Gemma 3 (spec §5.2/§5.3).
inline constexpr std::array<special_slot, 19> gemma4_special_table() noexcept {
  return {{{46, "<|tool>"},
           {47, "<tool|>"},
           {48, "<|tool_call>"},
           {49, "<tool_call|>"},
           {50, "<|tool_response>"},
           {51, "<tool_response|>"},
           {52, "<|\"|>"},
           {98, "<|think|>"},
           {100, "<|channel>"},
           {101, "<channel|>"},
           {105, "<|turn>"},
           {106, "<turn|>"},
           {255999, "<|image>"},
           {256000, "<|audio>"},
           {258880, "<|image|>"},
           {258881, "<|audio|>"},
           {258882, "<image|>"},
           {258883, "<audio|>"},
           {258884, "<|video|>"}}};
}

/// Gemma 4's vocabulary size; ids at or above it are dropped when a Gemma 3 file is patched.
inline constexpr std::int32_t gemma4_vocab_size = 262144;

/// The explicit special ids a GGUF carries (`tokenizer.ggml.{bos,eos,unknown,padding}_token_id`); -1: absent.
struct vocab_special_ids {
  std::int32_t bos = -1;
  std::int32_t eos = -1;
  std::int32_t unk = -1;
  std::int32_t pad = -1;
};

/// A loaded tokenizer. Immutable after construction: `encode`/`decode` are const and safe to call from several
/// threads at once. Copyable and movable (it holds no pointers into itself).
class tokenizer {
 public:
  /// An empty tokenizer (no pieces); load one with the factory functions below.
  tokenizer() { byte_token_.fill(-1); }

  /// Load an HF `tokenizer.json`. Throws `errc::io` (unreadable), `errc::json` (malformed or a field of the wrong
  /// type), `errc::tokenizer` (inconsistent: duplicate ids, merges naming unknown pieces, holes in the ids),
  /// `errc::unsupported` (a valid file of a kind scalpel does not implement, e.g. a WordPiece model).
  [[nodiscard]] static tokenizer from_json_file(const std::string& path, const load_options& opts = {}) {
    const auto file = mapped_file::open(path);
    const std::string_view text(reinterpret_cast<const char*>(file->data()), file->size());
    return from_json(text, path, opts);
  }

  /// Load from the text of a tokenizer.json; `origin` names it in error messages.
  [[nodiscard]] static tokenizer from_json(std::string_view json_text, const std::string& origin = "tokenizer.json",
                                           const load_options& opts = {}) {
    tokenizer t;
    t.build(detail::read_tokenizer_json(json_text, origin), opts);
    return t;
  }

  /// Build from plain arrays, as a GGUF stores them: `tokens[id]`, `types[id]` (GGUF token types; empty: all
  /// normal, `<0xXX>` pieces as bytes), `merges` as "left right" strings in rank order. CONTROL, UNKNOWN and
  /// USER_DEFINED tokens become atomic added tokens (CONTROL = special). Spaces are mapped to `▁` (Gemma).
  [[nodiscard]] static tokenizer from_vocab(std::vector<std::string> tokens, std::vector<std::int32_t> types,
                                            std::vector<std::string> merges, vocab_special_ids ids = {},
                                            const load_options& opts = {}) {
    detail::tokenizer_source src;
    src.origin = "GGUF tokenizer.ggml.*";
    if (!types.empty() && types.size() != tokens.size()) {
      fail(errc::tokenizer, src.origin + ": token_type has " + std::to_string(types.size()) + " entries, tokens has " +
                                std::to_string(tokens.size()));
    }
    for (std::size_t id = 0; id < tokens.size(); ++id) {
      src.vocab.push_back(detail::pool_append(src.vocab_pool, tokens[id], src.origin));
      src.vocab_id.push_back(static_cast<std::int64_t>(id));
      const std::int32_t ty = types.empty() ? 1 : types[id];
      if (ty < 0 || ty > 6) {
        fail(errc::tokenizer,
             src.origin + ": token " + std::to_string(id) + " has type " + std::to_string(ty) + ", expected 0..6");
      }
      if (ty == 3 || ty == 4 || ty == 2) {
        src.added.push_back(detail::added_token_decl{tokens[id], static_cast<std::int64_t>(id), ty != 4, false, false});
      }
    }
    src.types = std::move(types);
    for (std::size_t k = 0; k < merges.size(); ++k) {
      const std::string& m = merges[k];
      const std::size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
      if (sp == std::string::npos || sp + 1 >= m.size()) {
        fail(errc::tokenizer,
             src.origin + ": merges[" + std::to_string(k) + "] = \"" + m + "\" is not two tokens separated by a space");
      }
      src.merge_a.push_back(detail::pool_append(src.merge_pool, std::string_view(m).substr(0, sp), src.origin));
      src.merge_b.push_back(detail::pool_append(src.merge_pool, std::string_view(m).substr(sp + 1), src.origin));
    }
    src.skip_invalid_merges = opts.skip_invalid_merges;
    src.byte_fallback = true;
    src.replace_spaces = true;
    src.bos_id = ids.bos;
    src.eos_id = ids.eos;
    src.unk_id = ids.unk;
    src.pad_id = ids.pad;
    tokenizer t;
    t.build(std::move(src), opts);
    return t;
  }

  // ---- encoding ------------------------------------------------------------------------------------------

  /// Token ids of `text` (any bytes; invalid UTF-8 bytes become byte tokens, see docs/tokenizer.md).
  [[nodiscard]] std::vector<std::int32_t> encode(std::string_view text, const encode_options& o = {}) const {
    std::vector<std::int32_t> out;
    out.reserve(text.size() / 3 + 2);
    encode_into(text, out, o);
    return out;
  }

  /// As `encode`, appending to `out` (`add_bos` looks at what this call appends).
  void encode_into(std::string_view text, std::vector<std::int32_t>& out, const encode_options& o = {}) const {
    if (text.size() >= 0x7FFFFFFFu) fail(errc::invalid_argument, "tokenizer: text longer than 2 GiB");
    const std::size_t first = out.size();
    scratch sc;
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t seg = 0;
    std::size_t i = 0;
    detail::added_matcher::match m;
    while (i < n) {
      if (!matcher_.may_start(p[i]) || !matcher_.longest(p + i, n - i, o.parse_specials, m)) {
        ++i;
        continue;
      }
      std::size_t seg_end = i;
      if (m.lstrip) {
        while (seg_end > seg && is_ascii_space(p[seg_end - 1])) --seg_end;
      }
      encode_text(text.substr(seg, seg_end - seg), out, sc);
      out.push_back(m.id);
      i += m.len;
      if (m.rstrip) {
        while (i < n && is_ascii_space(p[i])) ++i;
      }
      seg = i;
    }
    encode_text(text.substr(seg), out, sc);
    if (o.add_bos && specials_.bos >= 0 && (out.size() == first || out[first] != specials_.bos)) {
      out.insert(out.begin() + static_cast<std::ptrdiff_t>(first), specials_.bos);
    }
  }

  // ---- decoding ------------------------------------------------------------------------------------------

  /// The bytes of `ids`: `▁` -> space, `<0xXX>` runs re-assembled. Byte-exact inverse of `encode` (invalid UTF-8
  /// in the input comes back as the same bytes). Throws `errc::out_of_range` for an id outside the vocabulary.
  [[nodiscard]] std::string decode(std::span<const std::int32_t> ids, const decode_options& o = {}) const {
    std::string out;
    out.reserve(ids.size() * 4);
    for (const std::int32_t id : ids) append_token(out, id, o);
    return out;
  }

  /// Append the bytes of one token to `out` (what `decode` does per id).
  void append_token(std::string& out, std::int32_t id, const decode_options& o = {}) const {
    check_id(id);
    const auto k = static_cast<std::size_t>(id);
    if (byte_value_[k] >= 0) {
      out.push_back(static_cast<char>(byte_value_[k]));
      return;
    }
    if (o.skip_specials && types_[k] == token_type::control) return;
    const std::string_view s = piece_of(k);
    if (!replace_spaces_) {
      out.append(s);
      return;
    }
    std::size_t start = 0;
    for (;;) {
      const std::size_t hit = s.find("\xE2\x96\x81", start);
      if (hit == std::string_view::npos) break;
      out.append(s.substr(start, hit - start));
      out.push_back(' ');
      start = hit + 3;
    }
    out.append(s.substr(start));
  }

  // ---- vocabulary ----------------------------------------------------------------------------------------

  [[nodiscard]] std::int32_t vocab_size() const noexcept { return static_cast<std::int32_t>(pieces_.size()); }
  [[nodiscard]] std::size_t merge_count() const noexcept { return merge_count_; }
  /// The merge rules as "left right" strings in rank order (what GGUF's `tokenizer.ggml.merges` holds).
  [[nodiscard]] std::vector<std::string> merges() const {
    std::vector<std::pair<std::uint32_t, std::uint64_t>> ranked;
    ranked.reserve(merge_count_);
    for (const auto& s : merges_.slots())
      if (s.key != detail::pair_table::empty_key) ranked.emplace_back(s.rank, s.key);
    std::sort(ranked.begin(), ranked.end());
    std::vector<std::string> out;
    out.reserve(ranked.size());
    for (const auto& [rank, key] : ranked) {
      const auto a = static_cast<std::int32_t>(key >> 32), b = static_cast<std::int32_t>(key & 0xffffffffu);
      std::string m(piece_of(static_cast<std::size_t>(a)));
      m += ' ';
      m += piece_of(static_cast<std::size_t>(b));
      out.push_back(std::move(m));
    }
    return out;
  }
  /// The piece of `id` as stored (with `▁`, `<0xXX>`); throws `errc::out_of_range`.
  [[nodiscard]] std::string_view token_text(std::int32_t id) const {
    check_id(id);
    return piece_of(static_cast<std::size_t>(id));
  }
  /// The id of a piece (canonical name, or a Gemma 3 alias after patching), or -1.
  [[nodiscard]] std::int32_t token_id(std::string_view piece) const {
    const std::int32_t id = index_.find(piece, pool_, pieces_);
    if (id >= 0) return id;
    const auto it = aliases_.find(std::string(piece));
    return it == aliases_.end() ? -1 : it->second;
  }
  [[nodiscard]] token_type type(std::int32_t id) const {
    check_id(id);
    return types_[static_cast<std::size_t>(id)];
  }
  /// A special (CONTROL) token: `<bos>`, `<eos>`, `<|turn>`, `<|channel>`, ...
  [[nodiscard]] bool is_special(std::int32_t id) const { return type(id) == token_type::control; }
  [[nodiscard]] const special_tokens& specials() const noexcept { return specials_; }
  /// End-of-generation ids: `<eos>`, `<turn|>`, `<|tool_response>` (those present), spec §7 item 14.
  [[nodiscard]] std::span<const std::int32_t> eog_ids() const noexcept { return eog_; }
  [[nodiscard]] bool is_eog(std::int32_t id) const noexcept {
    for (const std::int32_t e : eog_)
      if (e == id) return true;
    return false;
  }
  /// Whether the Gemma 4 table renamed this file's slots (it was a Gemma 3 file).
  [[nodiscard]] bool gemma4_patched() const noexcept { return patched_; }
  /// Whether the vocabulary carries the Gemma 4 chat tokens (`<|turn>` ...), natively or by patching.
  [[nodiscard]] bool has_gemma4_specials() const noexcept {
    return specials_.turn_start >= 0 && specials_.turn_end >= 0;
  }
  [[nodiscard]] const std::string& origin() const noexcept { return origin_; }

 private:
  struct scratch {
    std::string norm;
    std::vector<std::int32_t> id;
    std::vector<std::int32_t> prev;
    std::vector<std::int32_t> next;
    std::vector<std::uint32_t> start;
    std::vector<std::uint32_t> len;
    std::vector<std::uint64_t> heap;
  };

  static bool is_ascii_space(unsigned char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  }
  void check_id(std::int32_t id) const {
    if (id < 0 || id >= vocab_size()) {
      fail(errc::out_of_range, "token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                                   std::to_string(vocab_size()) + ") of " + origin_);
    }
  }
  [[nodiscard]] std::string_view piece_of(std::size_t id) const noexcept {
    return std::string_view(pool_).substr(pieces_[id].off, pieces_[id].len);
  }

  // Steps 2-5 of the algorithm on text between added tokens.
  void encode_text(std::string_view text, std::vector<std::int32_t>& out, scratch& sc) const {
    if (text.empty()) return;
    std::string_view t = text;
    if (replace_spaces_ && text.find(' ') != std::string_view::npos) {
      sc.norm.clear();
      for (const char c : text) {
        if (c == ' ') {
          sc.norm.append("\xE2\x96\x81");
        } else {
          sc.norm.push_back(c);
        }
      }
      t = sc.norm;
    }
    std::size_t i = 0;
    while (i < t.size()) {
      std::size_t j = i;
      const bool nl = t[i] == '\n';
      while (j < t.size() && (t[j] == '\n') == nl) ++j;
      const std::string_view run = t.substr(i, j - i);
      const std::int32_t whole = nl ? index_.find(run, pool_, pieces_) : -1;
      if (whole >= 0) {
        out.push_back(whole);
      } else if (nl || ignore_merges_) {
        bpe(run, out, sc);
      } else {
        bpe_words(run, out, sc);
      }
      i = j;
    }
  }

  // A run cut before every `▁` whose preceding character never precedes `▁` inside a piece: no merge can cross
  // such a cut (a merge result is a piece), so BPE on the parts equals BPE on the run — and small parts keep the
  // heap in cache. For Gemma only `>` precedes `▁` inside a piece (`>▁</`).
  void bpe_words(std::string_view run, std::vector<std::int32_t>& out, scratch& sc) const {
    const auto* p = reinterpret_cast<const unsigned char*>(run.data());
    std::size_t word = 0;
    std::size_t pos = 0;
    for (;;) {
      const std::size_t hit = run.find("\xE2\x96\x81", pos);
      if (hit == std::string_view::npos) break;
      pos = hit + 3;
      if (hit == word) continue;
      // The character before `hit`: step back over continuation bytes (at most 3).
      std::size_t b = hit - 1;
      while (b > word && hit - b < 4 && (p[b] & 0xC0u) == 0x80u) --b;
      const detail::utf8_step st = detail::utf8_next(p + b, hit - b);
      if (st.valid && st.len == hit - b && joins_space(st.cp)) continue;
      bpe(run.substr(word, hit - word), out, sc);
      word = hit;
    }
    bpe(run.substr(word), out, sc);
  }

  [[nodiscard]] bool joins_space(char32_t cp) const noexcept {
    if (cp < 128) return joins_space_ascii_[cp];
    return std::binary_search(joins_space_other_.begin(), joins_space_other_.end(), cp);
  }

  [[nodiscard]] std::int32_t char_id(char32_t cp) const noexcept {
    if (cp < cp_bmp_.size()) return cp_bmp_[cp];
    const auto it = cp_astral_.find(cp);
    return it == cp_astral_.end() ? -1 : it->second;
  }

  // One BPE unit: merge the lowest-rank adjacent pair until none is left. Heap keys are (rank << 40 | position),
  // so ties go to the leftmost pair; stale keys are recognised by re-checking the pair's current rank.
  void bpe(std::string_view s, std::vector<std::int32_t>& out, scratch& sc) const {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    sc.id.clear();
    sc.start.clear();
    sc.len.clear();
    for (std::size_t i = 0; i < s.size();) {
      const detail::utf8_step st = detail::utf8_next(p + i, s.size() - i);
      const std::size_t l = st.valid ? st.len : 1;  // each invalid byte is its own (non-vocab) symbol
      sc.id.push_back(st.valid ? char_id(st.cp) : -1);
      sc.start.push_back(static_cast<std::uint32_t>(i));
      sc.len.push_back(static_cast<std::uint32_t>(l));
      i += l;
    }
    const std::size_t n = sc.id.size();
    if (n == 0) return;
    if (n > 1 && ignore_merges_) {
      const std::int32_t whole = index_.find(s, pool_, pieces_);
      if (whole >= 0) {
        out.push_back(whole);
        return;
      }
    }
    if (n > 1) {
      sc.prev.resize(n);
      sc.next.resize(n);
      sc.heap.clear();
      for (std::size_t i = 0; i < n; ++i) {
        sc.prev[i] = static_cast<std::int32_t>(i) - 1;
        sc.next[i] = i + 1 < n ? static_cast<std::int32_t>(i + 1) : -1;
        if (i + 1 < n) push_pair(sc, i, static_cast<std::size_t>(i + 1));
      }
      const auto cmp = [](std::uint64_t a, std::uint64_t b) { return a > b; };
      std::make_heap(sc.heap.begin(), sc.heap.end(), cmp);
      while (!sc.heap.empty()) {
        std::pop_heap(sc.heap.begin(), sc.heap.end(), cmp);
        const std::uint64_t key = sc.heap.back();
        sc.heap.pop_back();
        const auto pos = static_cast<std::size_t>(key & ((1ull << 40) - 1));
        if (sc.len[pos] == 0) continue;  // merged into its left neighbour
        const std::int32_t nx = sc.next[pos];
        if (nx < 0) continue;
        const auto nxu = static_cast<std::size_t>(nx);
        const detail::pair_table::slot* m = merges_.find(sc.id[pos], sc.id[nxu]);
        if (m == nullptr || m->rank != (key >> 40)) continue;  // stale: the pair changed
        sc.id[pos] = m->result;
        sc.len[pos] += sc.len[nxu];
        sc.len[nxu] = 0;
        sc.next[pos] = sc.next[nxu];
        if (sc.next[nxu] >= 0) sc.prev[static_cast<std::size_t>(sc.next[nxu])] = static_cast<std::int32_t>(pos);
        if (sc.prev[pos] >= 0) push_heap_pair(sc, static_cast<std::size_t>(sc.prev[pos]), pos, cmp);
        if (sc.next[pos] >= 0) push_heap_pair(sc, pos, static_cast<std::size_t>(sc.next[pos]), cmp);
      }
    }
    for (std::int64_t i = 0; i >= 0; i = n > 1 ? sc.next[static_cast<std::size_t>(i)] : -1) {
      const auto k = static_cast<std::size_t>(i);
      if (sc.id[k] >= 0) {
        out.push_back(sc.id[k]);
      } else {
        emit_bytes(s.substr(sc.start[k], sc.len[k]), out);
      }
    }
  }

  void push_pair(scratch& sc, std::size_t a, std::size_t b) const {
    if (sc.id[a] < 0 || sc.id[b] < 0) return;
    const detail::pair_table::slot* m = merges_.find(sc.id[a], sc.id[b]);
    if (m != nullptr) sc.heap.push_back((static_cast<std::uint64_t>(m->rank) << 40) | a);
  }
  template <class Cmp>
  void push_heap_pair(scratch& sc, std::size_t a, std::size_t b, Cmp cmp) const {
    const std::size_t before = sc.heap.size();
    push_pair(sc, a, b);
    if (sc.heap.size() != before) std::push_heap(sc.heap.begin(), sc.heap.end(), cmp);
  }

  // Byte fallback of a symbol outside the vocabulary (HF: all byte pieces present, else one `<unk>`).
  void emit_bytes(std::string_view bytes, std::vector<std::int32_t>& out) const {
    bool all = byte_fallback_;
    for (const char c : bytes) all = all && byte_token_[static_cast<unsigned char>(c)] >= 0;
    if (all) {
      for (const char c : bytes) out.push_back(byte_token_[static_cast<unsigned char>(c)]);
      return;
    }
    if (specials_.unk < 0) {
      fail(errc::tokenizer, origin_ + ": cannot encode the bytes of '" + std::string(bytes) +
                                "': not a piece, no byte-fallback pieces and no <unk>");
    }
    out.push_back(specials_.unk);
  }

  void build(detail::tokenizer_source src, const load_options& opts);
  void finish_tables();
  void apply_gemma4(bool rename);

  std::string origin_;
  std::string pool_;                            // bytes of every piece
  std::vector<detail::piece_ref> pieces_;       // id -> piece
  std::vector<token_type> types_;               // id -> type
  std::vector<std::int16_t> byte_value_;        // id -> byte of a `<0xXX>` piece, or -1
  std::array<std::int32_t, 256> byte_token_{};  // byte -> id of its `<0xXX>` piece, or -1
  detail::piece_index index_;
  std::unordered_map<std::string, std::int32_t> aliases_;  // Gemma 3 names of patched slots
  detail::pair_table merges_;
  std::size_t merge_count_ = 0;
  std::vector<std::int32_t> cp_bmp_;                      // code point < 0x10000 -> single-char piece id or -1
  std::unordered_map<char32_t, std::int32_t> cp_astral_;  // code point >= 0x10000 -> id
  std::array<bool, 128> joins_space_ascii_{};             // ASCII c with "c▁" inside some piece
  std::vector<char32_t> joins_space_other_;               // the same for non-ASCII c, sorted
  std::vector<detail::added_matcher::entry> added_;
  detail::added_matcher matcher_;
  special_tokens specials_;
  std::vector<std::int32_t> eog_;
  std::int64_t explicit_bos_ = -1;
  std::int64_t explicit_eos_ = -1;
  std::int64_t explicit_unk_ = -1;
  std::int64_t explicit_pad_ = -1;
  std::string unk_piece_;
  bool replace_spaces_ = true;
  bool byte_fallback_ = true;
  bool ignore_merges_ = false;
  bool patched_ = false;
};

/// Incremental decoding for streaming generation: `push` returns only complete, valid UTF-8 (a token that ends
/// inside a multi-byte character is held back until the character completes). Bytes that can never form valid
/// UTF-8 come out as U+FFFD, one per maximal invalid subpart; `flush` ends the stream (an unfinished character
/// becomes U+FFFD). For valid output the concatenation of everything returned equals `tokenizer::decode`.
class stream_decoder {
 public:
  explicit stream_decoder(const tokenizer& t, decode_options o = {}) : t_(&t), o_(o) {}

  /// Feed one id; returns the text that became complete.
  std::string push(std::int32_t id) {
    std::string out;
    push_into(id, out);
    return out;
  }
  /// Feed one id, appending the completed text to `out`.
  void push_into(std::int32_t id, std::string& out) {
    t_->append_token(pending_, id, o_);
    drain(out, false);
  }
  /// End of stream: whatever is held back (an incomplete character) as U+FFFD.
  std::string flush() {
    std::string out;
    drain(out, true);
    return out;
  }
  void reset() noexcept { pending_.clear(); }
  /// Bytes held back (0..3).
  [[nodiscard]] std::size_t pending_bytes() const noexcept { return pending_.size(); }

 private:
  void drain(std::string& out, bool final) {
    const auto* p = reinterpret_cast<const unsigned char*>(pending_.data());
    const std::size_t n = pending_.size();
    std::size_t done = 0;
    std::size_t i = 0;
    while (i < n) {
      if (p[i] < 0x80) {
        ++i;
        continue;
      }
      const detail::utf8_step st = detail::utf8_next(p + i, n - i);
      if (st.valid) {
        i += st.len;
        continue;
      }
      if (st.incomplete && !final) break;
      out.append(pending_, done, i - done);
      out.append("\xEF\xBF\xBD");
      i += st.len;
      done = i;
    }
    out.append(pending_, done, i - done);
    pending_.erase(0, i);
  }

  const tokenizer* t_;
  decode_options o_;
  std::string pending_;
};

/// The tokenizer a GGUF carries (`tokenizer.ggml.tokens`, `.token_type`, `.merges` and the special ids).
/// Throws errc::tokenizer / errc::format naming the missing key.
[[nodiscard]] inline tokenizer tokenizer_from_gguf(const gguf_metadata& m, const load_options& opts = {}) {
  const std::string model = m.contains("tokenizer.ggml.model") ? m.get_string("tokenizer.ggml.model") : "";
  if (model != "gemma4" && model != "llama" && model != "gemma")
    fail(errc::unsupported, m.source() + ": tokenizer.ggml.model is '" + model +
                                "'; only SentencePiece-style BPE vocabularies (gemma4) are supported");
  auto id_or = [&](const char* key, std::int32_t fallback) {
    return m.contains(key) ? m.get_integer<std::int32_t>(key) : fallback;
  };
  const vocab_special_ids ids{.bos = id_or("tokenizer.ggml.bos_token_id", 2),
                              .eos = id_or("tokenizer.ggml.eos_token_id", 1),
                              .unk = id_or("tokenizer.ggml.unknown_token_id", 3),
                              .pad = id_or("tokenizer.ggml.padding_token_id", 0)};
  std::vector<std::int32_t> types;
  if (m.contains("tokenizer.ggml.token_type")) types = m.get_integer_array<std::int32_t>("tokenizer.ggml.token_type");
  std::vector<std::string> merges;
  if (m.contains("tokenizer.ggml.merges")) merges = m.get_array<std::string>("tokenizer.ggml.merges");
  return tokenizer::from_vocab(m.get_array<std::string>("tokenizer.ggml.tokens"), std::move(types), std::move(merges),
                               ids, opts);
}

/// The tokenizer of a model path: an HF checkpoint directory (its `tokenizer.json`), a `tokenizer.json` file, or a
/// `.gguf` file (its embedded `tokenizer.ggml.*` vocabulary, so a GGUF is self-sufficient).
[[nodiscard]] inline tokenizer load_tokenizer(const std::string& path, const load_options& opts = {}) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec)) {
    const fs::path f = p / "tokenizer.json";
    if (!fs::exists(f, ec)) fail(errc::io, "model directory '" + path + "' has no tokenizer.json");
    return tokenizer::from_json_file(f.string(), opts);
  }
  if (p.extension() == ".gguf") return tokenizer_from_gguf(read_gguf(path).metadata, opts);
  return tokenizer::from_json_file(path, opts);
}

}  // namespace io
SCALPEL_END_NAMESPACE

#include "scalpel/io/detail/tokenizer_build.hpp"  // IWYU pragma: export
