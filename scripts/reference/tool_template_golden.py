# Renders engine/data/fixtures/openai_tools.jsonl through the Qwen2.5 chat template the way
# transformers' apply_chat_template does (jinja2 sandbox, trim_blocks + lstrip_blocks,
# loopcontrols, its tojson filter: json.dumps with ensure_ascii=False), passing each row's
# messages and tools as they are in the file (content None included), as TRL does.
# Writes engine/data/fixtures/openai_tools.qwen2_5.golden.json: the rendered text of each row.
# Needs only jinja2 (any Python with it; Debian: apt-get install python3-jinja2).
# Run: python3 scripts/reference/tool_template_golden.py
import json
import os

import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
fixtures = os.path.join(root, "engine", "data", "fixtures")


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
with open(os.path.join(fixtures, "qwen2_5_chat_template.jinja"), encoding="utf-8") as f:
    template = env.from_string(f.read())

rows = []
with open(os.path.join(fixtures, "openai_tools.jsonl"), encoding="utf-8") as f:
    for line in f:
        row = json.loads(line)
        text = template.render(messages=row["messages"], tools=row.get("tools"), add_generation_prompt=False, eos_token="<|im_end|>", pad_token="<|im_end|>")
        rows.append({"text": text})

with open(os.path.join(fixtures, "openai_tools.qwen2_5.golden.json"), "w", encoding="utf-8") as f:
    json.dump({"template": "qwen2_5_chat_template.jinja", "rows": rows}, f, indent=1, ensure_ascii=False)
    f.write("\n")
