#pragma once
/// @file
/// @brief Gemma 4 chat format: render a conversation into the prompt text the instruction-tuned models expect, and
/// split model output into its thinking and its final answer. A C++ rendering of the official chat template for
/// text conversations (not a Jinja engine); docs/tokenizer.md names the template revision it reproduces.
///
/// Rendered form (architecture spec §5.4):
/// ```
/// <bos><|turn>system\n{<|think|>}{system text, trimmed}<turn|>\n      (only with a system message or thinking)
/// <|turn>user\n{text, trimmed}<turn|>\n
/// <|turn>model\n{earlier answer, thinking stripped, trimmed}<turn|>\n
/// <|turn>model\n{<|channel>thought\n<channel|> for the 26B/31B templates when thinking is off}
/// ```

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "scalpel/config.hpp"
#include "scalpel/core/error.hpp"
#include "scalpel/io/detail/tokenizer_utf8.hpp"

SCALPEL_BEGIN_NAMESPACE
namespace gen {

/// The two template families Google ships: E2B/E4B ("small") and 26B-A4B/31B ("large"). They differ in one
/// place: with thinking off, the large template appends an empty thought block to the generation prompt.
enum class chat_family { small, large };

/// Roles of a message. `assistant` is read as `model`; `developer` is a system message.
enum class chat_role { system, developer, user, model };

struct chat_message {
  chat_role role = chat_role::user;
  std::string content;
};

struct chat_options {
  bool thinking = false;                    ///< put `<|think|>` in the system turn (enable_thinking)
  chat_family family = chat_family::small;  ///< which template: small (E2B/E4B) or large (26B/31B)
  bool add_generation_prompt = true;        ///< end with `<|turn>model\n` (+ the empty thought block, large family)
  bool add_bos = true;                      ///< start with `<bos>` (exactly one: the template writes it)
  /// Write `<|think|>\n` instead of `<|think|>`: the later revision of Google's template (see docs/tokenizer.md).
  bool think_newline = false;
};

/// The role name as the template writes it.
constexpr std::string_view role_name(chat_role r) noexcept {
  switch (r) {
    case chat_role::system:
      return "system";
    case chat_role::developer:
      return "developer";
    case chat_role::user:
      return "user";
    case chat_role::model:
      return "model";
  }
  return "user";
}

/// Parse a role name (`system`, `developer`, `user`, `model`, `assistant`); throws `errc::invalid_argument`.
inline chat_role parse_role(std::string_view s) {
  if (s == "system") return chat_role::system;
  if (s == "developer") return chat_role::developer;
  if (s == "user") return chat_role::user;
  if (s == "model" || s == "assistant") return chat_role::model;
  fail(errc::invalid_argument, "unknown chat role '" + std::string(s) +
                                   "' (expected system, developer, user, model or assistant; tool turns are not "
                                   "rendered by scalpel)");
}

/// The template family of a variant name as `scalpel info` prints it (`e2b`, `e4b`, `26b-a4b`, `31b`), or nullopt.
inline std::optional<chat_family> family_from_variant(std::string_view variant) noexcept {
  if (variant == "e2b" || variant == "e4b") return chat_family::small;
  if (variant == "26b-a4b" || variant == "31b") return chat_family::large;
  return std::nullopt;
}

/// Jinja's `trim` (Python `str.strip()`: Unicode whitespace at both ends).
inline std::string_view trim(std::string_view s) noexcept { return io::detail::py_trim(s); }

/// The template's `strip_thinking`: split on `<channel|>`, keep of each part what precedes `<|channel>`, join,
/// trim. Removes every thought block, a dangling close marker, and an unclosed trailing block.
inline std::string strip_thinking(std::string_view text) {
  constexpr std::string_view open = "<|channel>";
  constexpr std::string_view close = "<channel|>";
  std::string result;
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = text.find(close, start);
    const std::string_view part = text.substr(start, end == std::string_view::npos ? text.size() - start : end - start);
    const std::size_t o = part.find(open);
    result.append(o == std::string_view::npos ? part : part.substr(0, o));
    if (end == std::string_view::npos) break;
    start = end + close.size();
  }
  return std::string(trim(result));
}

/// Render `messages` as the Gemma 4 prompt text. A first `system`/`developer` message becomes the system turn;
/// later ones are rendered as ordinary turns under their own role name (as the template does).
inline std::string render_chat(std::span<const chat_message> messages, const chat_options& o = {}) {
  std::string out;
  if (o.add_bos) out += "<bos>";
  std::size_t first = 0;
  const bool has_system =
      !messages.empty() && (messages[0].role == chat_role::system || messages[0].role == chat_role::developer);
  if (o.thinking || has_system) {
    out += "<|turn>system\n";
    if (o.thinking) out += o.think_newline ? "<|think|>\n" : "<|think|>";
    if (has_system) {
      out += trim(messages[0].content);
      first = 1;
    }
    out += "<turn|>\n";
  }
  for (std::size_t k = first; k < messages.size(); ++k) {
    const chat_message& m = messages[k];
    out += "<|turn>";
    out += role_name(m.role);
    out += "\n";
    if (m.role == chat_role::model) {
      out += strip_thinking(m.content);
    } else {
      out += trim(m.content);
    }
    out += "<turn|>\n";
  }
  if (o.add_generation_prompt) {
    out += "<|turn>model\n";
    if (!o.thinking && o.family == chat_family::large) out += "<|channel>thought\n<channel|>";
  }
  return out;
}

/// Read a conversation: an array of messages, or an object with a `messages` array. A message is
/// `{"role": ..., "content": ...}` with content a string or an array of `{"type": "text", "text": ...}` parts
/// (joined, each part trimmed as the template does). `origin` names the source in errors (`errc::json`).
inline std::vector<chat_message> conversation_from_json(const nlohmann::json& j, const std::string& origin) {
  const nlohmann::json* list = &j;
  if (j.is_object()) {
    const auto it = j.find("messages");
    if (it == j.end()) fail(errc::json, origin + ": expected an array of messages or an object with \"messages\"");
    list = &*it;
  }
  if (!list->is_array()) fail(errc::json, origin + ": \"messages\" must be an array");
  std::vector<chat_message> out;
  for (std::size_t k = 0; k < list->size(); ++k) {
    const auto& m = (*list)[k];
    const std::string where = origin + ": messages[" + std::to_string(k) + "]";
    if (!m.is_object()) fail(errc::json, where + " must be an object");
    const auto role = m.find("role");
    if (role == m.end() || !role->is_string()) fail(errc::json, where + ".role is missing or not a string");
    for (const char* unsupported : {"tool_calls", "tool_responses"}) {
      if (m.contains(unsupported) && !m[unsupported].is_null()) {
        fail(errc::unsupported, where + "." + unsupported + ": tool turns are not rendered by scalpel");
      }
    }
    chat_message msg;
    try {
      msg.role = parse_role(role->get<std::string>());
    } catch (const error& e) {
      fail(errc::json, where + ": " + e.what());
    }
    const auto content = m.find("content");
    if (content == m.end() || content->is_null()) {
      // an empty message
    } else if (content->is_string()) {
      msg.content = content->get<std::string>();
    } else if (content->is_array()) {
      for (std::size_t p = 0; p < content->size(); ++p) {
        const auto& part = (*content)[p];
        const std::string pw = where + ".content[" + std::to_string(p) + "]";
        if (!part.is_object() || !part.contains("type") || !part["type"].is_string()) {
          fail(errc::json, pw + " must be an object with a string \"type\"");
        }
        if (part["type"].get<std::string>() != "text") {
          fail(errc::unsupported,
               pw + ": only text parts are rendered (found \"" + part["type"].get<std::string>() + "\")");
        }
        if (!part.contains("text") || !part["text"].is_string()) fail(errc::json, pw + ".text must be a string");
        const std::string text = part["text"].get<std::string>();
        // The template trims each text part (strip_thinking does so for model turns).
        msg.content += msg.role == chat_role::model ? strip_thinking(text) : std::string(trim(text));
      }
    } else {
      fail(errc::json, where + ".content must be a string or an array of parts");
    }
    out.push_back(std::move(msg));
  }
  return out;
}

/// Model output split into its parts.
struct model_output {
  std::string thinking;        ///< text of the thought block(s), without the `thought\n` channel label
  std::string answer;          ///< everything outside thought blocks (tool-call markers kept verbatim)
  bool thinking_open = false;  ///< a thought block was opened and never closed (generation stopped inside it)
  bool turn_ended = false;     ///< the text contained `<turn|>` or `<eos>`; what followed it is dropped
};

/// Split the text a model generated after the prompt (decoded with special tokens) into thinking and answer:
/// `<|channel>thought\n...<channel|>` blocks go to `thinking` (several are joined with "\n"); the text stops at the
/// first `<turn|>` / `<eos>`. `<|tool_call>...<tool_call|>` and other markers stay in `answer` unchanged.
inline model_output parse_model_output(std::string_view text) {
  constexpr std::string_view open = "<|channel>";
  constexpr std::string_view close = "<channel|>";
  model_output r;
  std::size_t stop = text.size();
  for (const std::string_view end : {std::string_view("<turn|>"), std::string_view("<eos>")}) {
    const std::size_t at = text.find(end);
    if (at != std::string_view::npos && at < stop) {
      stop = at;
      r.turn_ended = true;
    }
  }
  text = text.substr(0, stop);
  std::size_t i = 0;
  bool first_block = true;
  while (i < text.size()) {
    const std::size_t o = text.find(open, i);
    if (o == std::string_view::npos) {
      r.answer.append(text.substr(i));
      break;
    }
    r.answer.append(text.substr(i, o - i));
    const std::size_t body = o + open.size();
    const std::size_t c = text.find(close, body);
    std::string_view block = text.substr(body, c == std::string_view::npos ? text.size() - body : c - body);
    if (block.substr(0, 8) == "thought\n") {
      block.remove_prefix(8);
    } else if (block == "thought") {
      block = {};
    }
    if (!first_block) r.thinking += "\n";
    r.thinking.append(block);
    first_block = false;
    if (c == std::string_view::npos) {
      r.thinking_open = true;
      break;
    }
    i = c + close.size();
  }
  return r;
}

}  // namespace gen
SCALPEL_END_NAMESPACE
