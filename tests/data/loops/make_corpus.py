#!/usr/bin/env python3
"""Generates tests/data/loops/generated.jsonl: labelled looping and non-looping model outputs.

Deterministic (fixed seed); re-run after changing it and commit the output:
    python3 tests/data/loops/make_corpus.py > tests/data/loops/generated.jsonl

Each line: {"id", "source": "generated", "label", "detector"?, "stop_reason", "text" | ("ids" + "pieces"), "notes"}
label: token_loop | list_collapse | doom_loop | engine_bug | none (see docs/detectors.md, "Labelled corpus").
detector: the detector that must be among those that fired (only where the item targets one).
About a third of the items carry "ids" + "pieces" from a BPE-like chunker (words split into 2-6 character
pieces, a leading space kept on the first piece, control tags atomic with their Gemma 4 ids), so the per-token
path is exercised with a segmentation different from scalpel's text-only one.
Gold lists come from include/scalpel/analysis/probes_builtin.hpp (the single source of truth).
"""
import json
import os
import random
import re
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.join(HERE, "..", "..", "..", "include", "scalpel", "analysis", "probes_builtin.hpp")

rng = random.Random(20260613)


def load_gold():
    src = open(HEADER, encoding="utf-8").read()
    pieces = re.findall(r'R"json\((.*?)\)json"', src, flags=re.S)
    suite = json.loads("".join(pieces))
    gold = {}
    for p in suite["probes"]:
        gold[p["id"]] = [i if isinstance(i, str) else i["name"] for i in p["gold"]["items"]]
    return gold


GOLD = load_gold()
WIRE_SEASONS = [13, 12, 12, 13, 10]

# ---- tokenisation for the ids/pieces variant ------------------------------------------------------------------
CONTROL_IDS = {"<|channel>": 100, "<channel|>": 101, "<turn|>": 106, "<|turn>": 105, "<pad>": 0, "<bos>": 2}


def piece_id(piece):
    if piece in CONTROL_IDS:
        return CONTROL_IDS[piece]
    m = re.fullmatch(r"<unused(\d+)>", piece)
    if m:
        return 6 + int(m.group(1))
    return 1000 + zlib.crc32(piece.encode("utf-8")) % 261000


def chunk(text):
    out = []
    for part in re.split(r"(<\|?[A-Za-z0-9_]+\|?>)", text):
        if re.fullmatch(r"<\|?[A-Za-z0-9_]+\|?>", part):
            out.append(part)
        elif part:
            out.extend(chunk_plain(part))
    assert "".join(out) == text, (text[:80], "".join(out)[:80])
    return out


def chunk_plain(text):
    out = []
    for tok in re.findall(r"\n+| ?[^\W\d_]+| ?\d| ?[^\w\s]+| ?_+|[ \t]+|.", text, flags=re.U | re.S):
        if len(tok) <= 6:
            out.append(tok)
            continue
        h = zlib.crc32(tok.encode("utf-8"))
        i = 0
        while i < len(tok):
            n = 2 + (h >> (i % 24)) % 5
            out.append(tok[i:i + n])
            i += n
    assert "".join(out) == text, (text[:80], "".join(out)[:80])
    return out


ITEMS = []


def add(label, text, notes, stop="max_tokens", detector=None, tokens=None):
    item = {"id": "gen-%03d" % (len(ITEMS) + 1), "source": "generated", "label": label}
    if detector:
        item["detector"] = detector
    item["stop_reason"] = stop
    use_tokens = tokens if tokens is not None else (len(ITEMS) % 3 == 1)
    if use_tokens:  # the text is the concatenation of the pieces
        pieces = chunk(text)
        item["ids"] = [piece_id(p) for p in pieces]
        item["pieces"] = pieces
    else:
        item["text"] = text
    item["notes"] = notes
    ITEMS.append(item)


# ---- building blocks --------------------------------------------------------------------------------------------
INTROS = [
    "Sure! Here is the complete list:\n\n",
    "Here you go:\n\n",
    "Of course. Below is the full list.\n\n",
    "Certainly! Here they are:\n\n",
    "",
    "Here's a list of all of them, in order:\n\n",
]
OUTROS = ["\n\nLet me know if you would like more details about any of them!",
          "\n\nI hope this helps.", "", "\n\nThat's the complete list."]


def numbered(items, start=1, style="{n}. {x}", bold=False):
    lines = []
    for k, x in enumerate(items):
        x2 = "**%s**" % x if bold else x
        lines.append(style.format(n=start + k, x=x2))
    return "\n".join(lines)


def bulleted(items, bullet="-"):
    return "\n".join("%s %s" % (bullet, x) for x in items)


DESCR = {
    "iau_constellations": ["the Great Dog", "a northern constellation", "visible in winter", "a zodiac constellation",
                           "named by Lacaille", "one of Ptolemy's 48"],
    "pokemon_gen1": ["Grass/Poison", "Fire", "Water", "Bug", "Normal/Flying", "Electric", "Psychic"],
    "the_wire_episodes": ["directed by Clark Johnson", "written by David Simon", "aired on HBO"],
}

THINK_SENTENCES = [
    "I need to recall the full list carefully.",
    "Let me start from the beginning and go in order.",
    "The first few are easy, it is the middle that I keep getting stuck on.",
    "I am fairly sure about the ones from the first season.",
    "The user asked for every single one, so I should not skip any.",
    "I think there were thirteen in that season, or maybe twelve.",
    "That one was directed by someone else, I believe.",
    "I should double count to make sure the total matches.",
    "The total should be around sixty if I remember right.",
    "Let me list what I have so far and see what is missing.",
    "I remember the title had something to do with a storm.",
    "The one after that is the hard one to remember.",
    "I keep mixing up the order of the middle episodes.",
    "There is also the one that everyone talks about, the finale.",
    "I am not confident about the spelling of that title.",
    "I could check the numbering against the air dates.",
    "Maybe I should organise them by season first.",
    "That gives me eleven so far, which is not enough.",
    "The constellation near Orion is the one I cannot place.",
    "There are eighty-eight in total according to the IAU.",
    "I have listed the zodiac ones already, so now the southern ones.",
    "The southern sky has many small constellations named after instruments.",
    "One of them is a chisel and another one is a clock.",
    "I think the compass one is Pyxis and the other one is Circinus.",
    "The Pokédex number of that one is somewhere around the eighties.",
    "It evolves from the one before it, so the numbers should be consecutive.",
    "The fossil ones come near the end of the list.",
    "The legendary birds are 144, 145 and 146.",
]
MARKERS = ["Wait, ", "Actually, ", "Hmm, ", "Hold on. ", "Wait, let me re-check. ", "Actually no, ",
           "Let me double-check that. ", "On second thought, ", "Hmm, wait. ", "Let me reconsider. "]


def thinking_text(n_sentences, marker_rate):
    out = []
    prev = None
    for _ in range(n_sentences):
        s = rng.choice(THINK_SENTENCES)
        while s == prev:
            s = rng.choice(THINK_SENTENCES)
        prev = s
        if rng.random() < marker_rate:
            m = rng.choice(MARKERS)
            s = m + s[0].lower() + s[1:]
        out.append(s)
        if rng.random() < 0.25:
            out.append("\n\n")
    return " ".join(out).replace(" \n\n ", "\n\n")


# ---- positives: tight verbatim loops ---------------------------------------------------------------------------
PHRASES = [
    "I'm sorry, but I can't help with that.",
    "The answer is Canis Major.",
    "Canis Major",
    "and so on,",
    "Episode 14: Ebb Tide",
    "Let me check again.",
    "Mewtwo",
    "the the",
    "Yes.",
    "I think the next one is Hamsterdam.",
    "Nidoran Nidoran",
    "Wait, that's not right.",
    "0,",
    "ha",
    "Thunderbolts* (2025)",
]
for k in range(24):
    phrase = PHRASES[k % len(PHRASES)]
    sep = rng.choice([" ", " ", "\n", ", "]) if not phrase.endswith(",") else " "
    reps = rng.randint(16, 60) if len(phrase) > 6 else rng.randint(40, 90)
    prefix = rng.choice([
        "Here is the list of the constellations:\n\n1. Andromeda\n2. Antlia\n3. Apus\n4. Aquarius\n",
        "Sure. ",
        "The episodes of The Wire are:\n\nSeason 2:\n",
        "",
        "Let me think about this. The first Pokémon is Bulbasaur, then Ivysaur, then Venusaur. After that ",
        "Okay.\n\n",
    ])
    body = sep.join([phrase] * reps)
    add("token_loop", prefix + body, "tight verbatim loop of %r x%d" % (phrase, reps))

# phrase cycles: 2-4 sentences repeated
CYCLE_POOL = [
    "Next comes Canis Minor.", "Then we have Canis Major.", "After that there is Carina.",
    "I should make sure I have not skipped any.", "Let me continue with the list.",
    "The next episode is Hamsterdam.", "Then comes Straight and True.",
    "So far I have listed forty-two of them.", "I will keep going.",
    "Wait, I already listed that one.", "Let me go back to the start of season three.",
]
for k in range(14):
    cyc = rng.sample(CYCLE_POOL, rng.randint(2, 4))
    reps = rng.randint(5, 14)
    lead = thinking_text(rng.randint(2, 5), 0.2) + " "
    in_think = k % 2 == 0
    body = (" ".join(cyc) + " ") * reps
    text = ("<|channel>thought\n" + lead + body) if in_think else (lead + body)
    add("token_loop", text.rstrip(), "phrase cycle of %d sentences x%d%s" % (len(cyc), reps,
                                                                          " inside thinking" if in_think else ""))

# long paragraph loops (period > 64 tokens, < 1024 characters): the character detector sees them first
for k in range(8):
    para = " ".join(rng.sample(THINK_SENTENCES, rng.randint(4, 7)))
    reps = rng.randint(4, 7)
    text = "Let me try to list them.\n\n" + ("\n\n".join([para] * reps))
    add("token_loop", text, "paragraph of %d characters repeated %d times" % (len(para), reps),
        detector="char_repeat")

# near-verbatim cycles with a counter: only the n-gram detector sees them
for k in range(8):
    fixed = ("I will now carefully go through the remaining constellations in the southern sky one by one and "
             "make sure that each of them is written down exactly once in the final list that I give")
    words = fixed.split()
    rng.shuffle(words)
    fixed = " ".join(words) if k % 2 else fixed
    reps = rng.randint(22, 30)
    lines = ["Pass %d: %s." % (i + 1, fixed) for i in range(reps)]
    add("token_loop", "\n".join(lines), "cycle with a changing counter (pass N) x%d" % reps, detector="ngram",
        tokens=False)

# ---- positives: list collapse ----------------------------------------------------------------------------------
for k in range(30):
    probe = rng.choice(["iau_constellations", "pokemon_gen1", "the_wire_episodes", "us_presidents", "mcu_films",
                        "eu_member_states"])
    gold = GOLD[probe]
    good = rng.randint(8, min(45, len(gold) - 1))
    correct = gold[:good] if probe in ("pokemon_gen1", "the_wire_episodes", "us_presidents", "mcu_films") \
        else sorted(rng.sample(gold, good))
    stuck = [rng.choice(gold[good // 2:])]
    mode = k % 6
    if mode == 4:
        stuck = rng.sample(gold, 2)  # alternating decay onto two answers
    n_bad = rng.randint(max(12, good + 2), good + 40) if mode in (0, 1, 4) else rng.randint(14, 30)
    bad = [stuck[i % len(stuck)] for i in range(n_bad)]
    if mode == 2:  # formatting noise on the repeated entry
        bad = [rng.choice([b, b.upper(), b.lower(), b + ".", "**%s**" % b, b.replace(" ", "  ")]) for b in bad]
    if mode == 3 and probe in DESCR:  # descriptions attached
        d = rng.choice(DESCR[probe])
        bad = ["%s (%s)" % (b, d) for b in bad]
    entries = correct + bad
    if mode == 5:
        body = bulleted(entries, rng.choice(["-", "*", "•"]))
    else:
        body = numbered(entries, bold=(k % 7 == 3))
    text = rng.choice(INTROS) + body
    add("list_collapse", text, "%s: %d correct entries then decay onto %s x%d (mode %d)" %
        (probe, good, " / ".join(stuck), n_bad, mode))

# Wire episodes with an "Episode N: title" prefix decaying onto one title
for k in range(5):
    eps = GOLD["the_wire_episodes"]
    good = rng.randint(10, 30)
    stuck = rng.choice(eps[5:good])
    n_bad = rng.randint(good, good + 25)
    lines = ["%d. Episode %d: \"%s\"" % (i + 1, i + 1, t) for i, t in enumerate(eps[:good])]
    lines += ["%d. Episode %d: \"%s\"" % (good + i + 1, good + i + 1, stuck) for i in range(n_bad)]
    add("list_collapse", "Here are all the episodes of The Wire:\n\n" + "\n".join(lines),
        "episode list decays onto %r x%d" % (stuck, n_bad))

# ---- positives: doom loops -------------------------------------------------------------------------------------
for k in range(28):
    marker_rate = [0.05, 0.3, 0.6][k % 3]
    n = rng.randint(25, 90)
    text = "<|channel>thought\n" + thinking_text(n, marker_rate)
    if k % 4 == 0:
        text = "<|channel>thought\nThe user wants a list of all episodes of The Wire. " + thinking_text(n, marker_rate)
    add("doom_loop", text, "thinking never closed, budget ended (marker rate %.2f, %d sentences)" % (marker_rate, n))

# ---- positives: engine bugs ------------------------------------------------------------------------------------
for k in range(18):
    junk = rng.choice(["<unused49>", "<unused12>", "<pad>", "mixed"])
    n = rng.randint(10, 300)
    if junk == "mixed":
        run = "".join(rng.choice(["<unused49>", "<unused12>", "<unused0>", "<unused7>"]) for _ in range(n))
    else:
        sep = rng.choice(["", "", " ", "\n"])
        run = sep.join([junk] * n)
    prefix = rng.choice(["", "The noble gases are helium, neon, argon", "1. Bulbasaur\n2. Ivysaur\n3.",
                         "<|channel>thought\nLet me think.", "Sure"])
    add("engine_bug", prefix + run, "engine bug: %s x%d" % (junk, n))

# ---- negatives: long correct enumerations ----------------------------------------------------------------------
for probe in ["pokemon_gen1", "iau_constellations", "us_presidents", "mcu_films", "eu_member_states",
              "the_wire_episodes", "firefly_episodes", "noble_gases"]:
    gold = GOLD[probe]
    for variant in range(3):
        items = list(gold)
        if probe == "us_presidents":
            # by presidency: Cleveland (22nd, 24th) and Trump (45th, 47th) appear twice
            items = items[:23] + [items[21]] + items[23:] + [items[43]]
        if probe == "the_wire_episodes" and variant == 0:
            parts = []
            start = 0
            for s, n in enumerate(WIRE_SEASONS):
                parts.append("### Season %d\n\n%s" % (s + 1, numbered(items[start:start + n], start=1)))
                start += n
            body = "\n\n".join(parts)
        elif variant == 0:
            body = numbered(items, bold=probe == "mcu_films")
        elif variant == 1:
            if probe in DESCR:
                items = ["%s - %s" % (x, rng.choice(DESCR[probe])) for x in items]
            body = bulleted(items)
        else:
            if len(items) > 40:
                body = "| # | Name |\n|---|---|\n" + "\n".join("| %d | %s |" % (i + 1, x) for i, x in enumerate(items))
            else:
                body = "The full list is: " + ", ".join(items[:-1]) + ", and " + items[-1] + "."
        stop = "eos"
        text = rng.choice(INTROS) + body + rng.choice(OUTROS)
        add("none", text, "correct, complete %s list (variant %d)" % (probe, variant), stop=stop)

# truncated enumerations (budget ended mid-list, no loop)
for k in range(6):
    gold = GOLD[rng.choice(["pokemon_gen1", "iau_constellations", "the_wire_episodes"])]
    cut = rng.randint(20, len(gold) - 1)
    add("none", rng.choice(INTROS) + numbered(gold[:cut]) + "\n%d. " % (cut + 1),
        "progressing enumeration cut by the budget after %d items" % cut, stop="max_tokens")

# counting and tables that repeat structure but progress
for k in range(4):
    n = rng.randint(60, 200)
    lines = ["Number %d is %s." % (i, "even" if i % 2 == 0 else "odd") for i in range(1, n + 1)]
    add("none", "\n".join(lines), "counting with a repeated template (%d lines)" % n, stop="eos")
for k in range(3):
    m = rng.randint(2, 12)
    lines = ["%d x %d = %d" % (m, i, m * i) for i in range(1, 41)]
    add("none", "Multiplication table of %d:\n\n" % m + "\n".join(lines), "multiplication table", stop="eos")
for k in range(4):
    cols = rng.randint(8, 16)
    header = "| Feature | " + " | ".join("Model %d" % (c + 1) for c in range(cols)) + " |"
    sep = "|---|" + "---|" * cols
    rows = []
    for r in range(rng.randint(8, 20)):
        rows.append("| Feature %d | " % (r + 1) + " | ".join(rng.choice(["Yes", "Yes", "No", "N/A", "✓"]) for _ in range(cols)) + " |")
    add("none", "Here is the comparison:\n\n" + "\n".join([header, sep] + rows), "wide markdown table (%d columns)" % cols,
        stop="eos")
for k in range(3):
    rule = rng.choice(["-" * rng.randint(60, 120), "=" * rng.randint(60, 120), "*" * 80, "_" * 100])
    sections = []
    for s in range(rng.randint(3, 6)):
        sections.append("Section %d\n%s\n%s" % (s + 1, rule, thinking_text(3, 0.0)))
    add("none", "\n\n".join(sections), "markdown / plain-text rules between sections", stop="eos")

# lists with a few duplicates (wrong but not looping)
for k in range(5):
    gold = GOLD[rng.choice(["iau_constellations", "pokemon_gen1"])]
    items = list(gold[:rng.randint(40, len(gold))])
    for _ in range(rng.randint(1, 4)):
        items.insert(rng.randint(1, len(items)), rng.choice(items))
    add("none", numbered(items), "list with %d scattered duplicates" % (len(items) - len(set(items))), stop="eos")

# thinking that closes, then an answer
for k in range(8):
    think = thinking_text(rng.randint(5, 30), 0.3)
    gold = GOLD[rng.choice(["noble_gases", "firefly_episodes", "eu_member_states"])]
    add("none", "<|channel>thought\n" + think + "<channel|>" + rng.choice(INTROS) + numbered(gold) + "<turn|>",
        "thinking closed, complete answer", stop="eos")

print("\n".join(json.dumps(i, ensure_ascii=False) for i in ITEMS))
counts = {}
for i in ITEMS:
    counts[i["label"]] = counts.get(i["label"], 0) + 1
print(counts, file=sys.stderr)
