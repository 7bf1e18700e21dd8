"""Pure-Python byte-level BPE (GPT-2 style) and ChatML rendering for the tiny test checkpoints.

This is written independently of the TypeScript side (@huggingface/tokenizers + @huggingface/jinja)
so that the two can be checked against each other: the TS tests tokenize engine/model/fixtures/
sft_eval.jsonl and must get exactly the ids and loss masks written here.

  - bytes_to_unicode(): GPT-2's reversible byte -> printable-unicode map.
  - pretokenize(text): the GPT-2 split regex
      's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
    as a hand-written scanner (Python's `re` has no \\p{L}); returns (piece, start_char) pairs.
  - train_bpe(corpus, n_merges): the classic pair-count/merge loop, ties broken by the pair itself.
  - ByteBpe.encode(text): split on special tokens, pretokenize, map bytes, apply merges by rank.
  - render_chatml(messages, add_generation_prompt): SmolLM2-Instruct's template, by hand.
  - conversation_ids_and_mask(bpe, messages): ids + train mask, assistant content + <|im_end|> +
    the newline after it counted (what TRL's prefix split counts), computed from segments.
"""
import unicodedata

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

# SmolLM2-135M-Instruct's chat_template (ChatML with a default system prompt).
CHATML_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_TO_CHAR = bytes_to_unicode()


def _is_letter(c):
    return unicodedata.category(c).startswith("L")


def _is_number(c):
    return unicodedata.category(c).startswith("N")


def _is_space(c):
    return c.isspace()


def _run(text, i, pred):
    j = i
    while j < len(text) and pred(text[j]):
        j += 1
    return j


def pretokenize(text):
    """GPT-2 regex split; returns [(piece, start)]."""
    out = []
    i = 0
    n = len(text)
    other = lambda c: not (_is_space(c) or _is_letter(c) or _is_number(c))  # noqa: E731
    while i < n:
        j = None
        if text[i] == "'":
            for suf in ("s", "t", "re", "ve", "m", "ll", "d"):
                if text.startswith(suf, i + 1):
                    j = i + 1 + len(suf)
                    break
        if j is None:
            start = i + 1 if text[i] == " " and i + 1 < n else i
            for pred in (_is_letter, _is_number, other):
                if start < n and pred(text[start]) and (start == i or text[i] == " "):
                    j = _run(text, start, pred)
                    break
        if j is None and _is_space(text[i]):
            end = _run(text, i, _is_space)
            if end == n:
                j = end  # \s+(?!\S) at the end of the text
            elif end - i >= 2:
                j = end - 1  # leave one space for the next piece
            else:
                j = end  # \s+
        assert j is not None and j > i, (text, i)
        out.append((text[i:j], i))
        i = j
    return out


def _word_symbols(piece):
    return [BYTE_TO_CHAR[b] for b in piece.encode("utf-8")]


def train_bpe(corpus, n_merges):
    """Returns merges [(a, b)] in rank order."""
    counts = {}
    for piece, _ in pretokenize(corpus):
        key = tuple(_word_symbols(piece))
        counts[key] = counts.get(key, 0) + 1
    words = [[list(k), c] for k, c in sorted(counts.items())]
    merges = []
    for _ in range(n_merges):
        pairs = {}
        for syms, c in words:
            for a, b in zip(syms, syms[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        for w in words:
            w[0] = _merge_pair(w[0], best)
    return merges


def _merge_pair(syms, pair):
    out = []
    k = 0
    while k < len(syms):
        if k + 1 < len(syms) and (syms[k], syms[k + 1]) == pair:
            out.append(syms[k] + syms[k + 1])
            k += 2
        else:
            out.append(syms[k])
            k += 1
    return out


class ByteBpe:
    def __init__(self, merges):
        self.merges = merges
        self.ranks = {m: i for i, m in enumerate(merges)}
        # vocab: 256 byte symbols by byte value, then one token per merge, then the specials.
        self.vocab = {BYTE_TO_CHAR[b]: b for b in range(256)}
        for a, b in merges:
            self.vocab.setdefault(a + b, len(self.vocab))
        self.special = {}
        for s in SPECIAL_TOKENS:
            self.special[s] = len(self.vocab)
            self.vocab[s] = self.special[s]
        self.id_to_token = {i: t for t, i in self.vocab.items()}

    def bpe(self, piece):
        syms = _word_symbols(piece)
        while len(syms) > 1:
            ranked = [(self.ranks.get((a, b), None), k) for k, (a, b) in enumerate(zip(syms, syms[1:]))]
            ranked = [r for r in ranked if r[0] is not None]
            if not ranked:
                break
            best = min(ranked)[0]
            syms = _merge_pair(syms, self.merges[best])
        return [self.vocab[s] for s in syms]

    def split_special(self, text):
        """[(segment, is_special)] splitting on the special tokens (leftmost, longest)."""
        out = []
        i = 0
        buf_start = 0
        while i < len(text):
            hit = None
            for s in SPECIAL_TOKENS:
                if text.startswith(s, i) and (hit is None or len(s) > len(hit)):
                    hit = s
            if hit is None:
                i += 1
                continue
            if i > buf_start:
                out.append((text[buf_start:i], False))
            out.append((hit, True))
            i += len(hit)
            buf_start = i
        if buf_start < len(text):
            out.append((text[buf_start:], False))
        return out

    def encode_plain(self, text):
        """Encode text with no special tokens in it; returns (ids, char_start_of_each_id)."""
        ids, starts = [], []
        for piece, start in pretokenize(text):
            toks = self.bpe(piece)
            ids += toks
            starts += [start] * len(toks)
        return ids, starts

    def encode(self, text):
        ids = []
        for seg, special in self.split_special(text):
            ids += [self.special[seg]] if special else self.encode_plain(seg)[0]
        return ids

    def decode(self, ids):
        inv = {c: b for b, c in BYTE_TO_CHAR.items()}
        out = bytearray()
        for i in ids:
            t = self.id_to_token[i]
            if t in self.special:
                out += t.encode("utf-8")
            else:
                out += bytes(inv[c] for c in t)
        return out.decode("utf-8", errors="replace")


def render_chatml(messages, add_generation_prompt):
    s = ""
    if messages and messages[0]["role"] != "system":
        s += "<|im_start|>system\n" + DEFAULT_SYSTEM + "<|im_end|>\n"
    for m in messages:
        s += "<|im_start|>" + m["role"] + "\n" + m["content"] + "<|im_end|>\n"
    if add_generation_prompt:
        s += "<|im_start|>assistant\n"
    return s


def conversation_ids_and_mask(bpe, messages):
    """Token ids of render_chatml(messages) and a 0/1 mask: 1 on each assistant turn's content,
    its <|im_end|> and the newline after it. Computed segment by segment (special tokens cut the
    text, so each segment tokenizes on its own), not from prefix renderings."""
    ids, mask = [], []

    def plain(text, trained_from):
        toks, starts = bpe.encode_plain(text)
        ids.extend(toks)
        mask.extend(1 if st >= trained_from else 0 for st in starts)
        # the split must fall on a pre-token boundary for a clean mask
        assert trained_from >= len(text) or trained_from in [st for st in starts] + [len(text)]

    def special(name, trained):
        ids.append(bpe.special[name])
        mask.append(1 if trained else 0)

    turns = list(messages)
    if turns and turns[0]["role"] != "system":
        turns = [{"role": "system", "content": DEFAULT_SYSTEM}] + turns
    for m in turns:
        is_asst = m["role"] == "assistant"
        special("<|im_start|>", False)
        head = m["role"] + "\n"
        plain(head + m["content"], len(head) if is_asst else 10**9)
        special("<|im_end|>", is_asst)
        plain("\n", 0 if is_asst else 10**9)
    return ids, mask
